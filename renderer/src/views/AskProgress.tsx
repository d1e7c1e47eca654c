import { askStages, type AskStage } from '../../../app/contract/engine.js';
import type { AskTurn } from '../state/ask-slice.js';
import { formatCount } from './format.js';

/** What each stage counts, as the engine reports it (app/contract/engine.ts, AskProgressSchema). */
const stageLabels: Record<AskStage, { title: string; unit: string }> = {
  queued: {
    title: 'Waiting for the engine',
    unit: 'it runs one job at a time, and starts this one when free',
  },
  load: { title: 'Loading the model', unit: '' },
  video: { title: 'Decoding frames', unit: 'frames decoded' },
  vision: { title: 'Encoding frames', unit: 'frame pairs encoded' },
  prefill: { title: 'Pre-filling', unit: 'layers' },
  decode: { title: 'Answering', unit: 'tokens' },
};

/** One bar per stage reached so far; the current one is marked. */
export function AskProgress(props: { turn: AskTurn }) {
  const { turn } = props;
  const reached = askStages.filter((stage) => turn.stages[stage] !== undefined);
  if (reached.length === 0) {
    return (
      <p role="status" className="muted">
        {turn.status === 'cancelling' ? 'Cancelling…' : 'Starting…'}
      </p>
    );
  }
  return (
    <ol className="stages" aria-label="Progress by stage">
      {reached.map((stage) => {
        const progress = turn.stages[stage];
        if (!progress) return null;
        const { title, unit } = stageLabels[stage];
        const current = stage === turn.stage;
        return (
          <li key={stage} className={current ? 'current' : 'past'} data-stage={stage}>
            <span className="stage-title">{title}</span>
            <progress
              aria-label={title}
              max={progress.total ?? undefined}
              value={progress.total === null ? undefined : progress.done}
            />
            <span className="stage-count">
              {stage === 'queued' ? '' : formatCount(progress.done)}
              {progress.total !== null ? ` / ${formatCount(progress.total)}` : ''} {unit}
            </span>
          </li>
        );
      })}
      {turn.status === 'cancelling' ? (
        <li role="status" className="current">
          Cancelling…
        </li>
      ) : null}
    </ol>
  );
}
