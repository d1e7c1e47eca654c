import { useMemo } from 'react';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import type { SamplingPlan } from '../../../app/contract/video.js';
import { planSampling, sampleSpacing, sizeFactor } from '../../../app/domain/sampling.js';
import { samplingFrom } from '../state/store.js';
import { useAppState } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';
import { formatCount } from './format.js';
import { NumberField } from './NumberField.js';

/** Per-frame pixel budgets offered, in 28×28 patches (the model's default is 768). */
const pixelBudgets = [64, 128, 256, 448, 768, 1024].map((patches) => patches * sizeFactor * sizeFactor);

/** fps, frame cap and per-frame resolution, with the plan the services will run computed live by the same rule. */
export function SamplingPanel() {
  const sampling = useAppState((s) => s.sampling);
  const setSampling = useAppState((s) => s.setSampling);
  const video = useAppState((s) => s.video);
  const meta = video.status === 'ready' ? video.meta : null;

  const estimate = useMemo((): { plan: SamplingPlan } | { error: AppErrorData } | null => {
    if (!meta) return null;
    try {
      return { plan: planSampling(meta, samplingFrom(sampling)) };
    } catch (err) {
      return { error: toErrorData(err) };
    }
  }, [meta, sampling]);

  return (
    <section className="panel" aria-label="Sampling">
      <h2>Sampling</h2>
      <div className="form-grid">
        <NumberField
          id="sampling-fps"
          label="Frames per second"
          value={sampling.fps}
          min={0.05}
          max={60}
          step={0.05}
          isValid={(fps) => fps > 0 && fps <= 60}
          onCommit={(fps) => setSampling({ fps })}
        />
        <NumberField
          id="sampling-max-frames"
          label="Max frames"
          value={sampling.maxFrames}
          min={2}
          max={100000}
          step={2}
          isValid={(n) => Number.isInteger(n) && n >= 2}
          onCommit={(maxFrames) => setSampling({ maxFrames })}
        />
        <label htmlFor="sampling-resolution">Max pixels per frame</label>
        <select
          id="sampling-resolution"
          value={sampling.maxPixels}
          onChange={(e) => setSampling({ maxPixels: Number(e.target.value) })}
        >
          {pixelBudgets.map((pixels) => (
            <option key={pixels} value={pixels}>
              {formatCount(pixels)} ({pixels / (sizeFactor * sizeFactor)} × 28²)
            </option>
          ))}
        </select>
      </div>
      {estimate === null ? <p className="muted">Open a video to see what the model will get.</p> : null}
      {estimate && 'error' in estimate ? (
        <ErrorMessage title="This video cannot be sampled" error={estimate.error} />
      ) : null}
      {estimate && 'plan' in estimate ? (
        <p className="estimate" data-testid="token-estimate">
          <strong>{formatCount(estimate.plan.visualTokens)}</strong> visual tokens:{' '}
          {formatCount(estimate.plan.times.length)} frames at {estimate.plan.width}×{estimate.plan.height} (
          {estimate.plan.sampleFps.toFixed(3)} fps sampled)
        </p>
      ) : null}
      {estimate && 'plan' in estimate ? <SpacingNote times={estimate.plan.times} /> : null}
    </section>
  );
}

/** How far apart the sampled frames are, and why the steps can differ by a frame. */
function SpacingNote(props: { times: readonly number[] }) {
  const spacing = sampleSpacing(props.times);
  if (spacing === null) return null;
  const { shortest, longest } = spacing;
  const even = longest - shortest < 1e-6;
  return (
    <p
      className="muted"
      data-testid="sample-spacing"
      title="Qwen2.5-VL's processor picks whole frames spread evenly over the video's frame indices, so steps can alternate between two neighbouring frame counts; the model sees the frames' average rate."
    >
      One frame every {shortest.toFixed(3)}
      {even ? '' : `–${longest.toFixed(3)}`} s{even ? '' : ' (whole frames, spread evenly over the video)'}
    </p>
  );
}
