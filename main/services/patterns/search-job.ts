import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { SearchOutcome } from '../../../app/contract/patterns.js';
import { parsePatternFile } from '../../../app/domain/pattern-file-check.js';
import { summarizePatternFile } from '../../../app/domain/pattern-summary.js';
import type { Video } from '../../../native/model.js';
import { searchPatterns, type CalibrationPrompt } from '../../../native/patterns.js';
import { encodeVideo, loadModel, videoPrompt } from '../engine/video-prompt.js';
import type { WorkerJob, WorkerProgress } from './worker-protocol.js';

// The offline search in the worker: every calibration video decoded and encoded, its prompt built as for a first
// question, then the engine's search over all of them with the checkpoint beside the output file. The checkpoint
// is deleted once the file is saved; a cancelled or failed search leaves it for `resume`.

export async function runSearch(
  job: Extract<WorkerJob, { kind: 'search' }>,
  emit: (progress: WorkerProgress) => void,
  signal: AbortSignal,
): Promise<SearchOutcome> {
  const started = performance.now();
  if (!job.resume) await rm(job.checkpoint, { force: true });
  const resuming = job.resume && existsSync(job.checkpoint);
  const { model, rules } = await loadModel(job.model.dir, {
    threads: job.model.threads || undefined,
    signal,
    progress: (stage, done, total) => emit({ stage, done, total }),
  });
  const videos: Video[] = [];
  try {
    const prompts: CalibrationPrompt[] = [];
    for (const [i, { name, input }] of job.videos.entries()) {
      const { video } = await encodeVideo(model, input, signal, (stage, done, total) =>
        emit({ stage, done, total, item: name, video: i, videos: job.videos.length }),
      );
      videos.push(video);
      prompts.push({
        name,
        ...videoPrompt(rules, video, input.plan.sampleFps, job.question),
        videos: [video],
      });
    }
    let resumedUnits: number | null = null;
    const text = await searchPatterns(
      model,
      prompts,
      {
        ...(job.settings.costTarget !== undefined ? { costTarget: job.settings.costTarget } : {}),
        ...(job.settings.recallSamples !== undefined ? { recallSamples: job.settings.recallSamples } : {}),
        ...(job.settings.candidates ? { candidates: job.settings.candidates } : {}),
      },
      {
        checkpoint: job.checkpoint,
        out: job.out,
        signal,
        onProgress: (p) => {
          // The first report counts the units the checkpoint already held; the last repeats the last layer's.
          resumedUnits ??= resuming ? p.done : 0;
          if (p.stage === 'done') return;
          emit({
            stage: 'search',
            done: p.done,
            total: p.total,
            item: job.videos[p.prompt]?.name,
            video: p.prompt,
            videos: p.prompts,
            layer: p.layer,
            layers: p.layers,
          });
        },
      },
    );
    const file = parsePatternFile(text, job.out);
    await rm(job.checkpoint, { force: true });
    return {
      out: job.out,
      summary: summarizePatternFile(file),
      resumedUnits: resumedUnits ?? 0,
      elapsedMs: performance.now() - started,
    };
  } finally {
    for (const video of videos) video.dispose();
    model.dispose();
  }
}
