import { AppError } from '../../../app/contract/errors.js';
import type { PatternFile as PatternFileJson } from '../../../app/contract/pattern-file.js';
import type { CapturedHead, HeatmapsOutcome } from '../../../app/contract/patterns.js';
import type { HeadHeatmap, HeadReport, PatternFile, Video } from '../../../native/model.js';
import { headReportPayload, heatmapPayload } from '../engine/runner.js';
import { encodeVideo, loadModel, videoPrompt } from '../engine/video-prompt.js';
import { openPatternFile } from './pattern-files.js';
import type { WorkerJob, WorkerProgress } from './worker-protocol.js';

// Heatmaps of chosen heads under a pattern file: one pre-fill of the video's first-question prompt with the file
// applied at any length (a calibration video is usually shorter than the length where sparse pre-fill pays), the
// engine capturing each chosen head's attention in original and kernel order with the mask that ran.

export async function runHeatmaps(
  job: Extract<WorkerJob, { kind: 'heatmaps' }>,
  emit: (progress: WorkerProgress) => void,
  signal: AbortSignal,
): Promise<HeatmapsOutcome> {
  const { model, rules } = await loadModel(job.model.dir, {
    threads: job.model.threads || undefined,
    signal,
    progress: (stage, done, total) => emit({ stage, done, total }),
  });
  let patterns: PatternFile | null = null;
  let patternsJson: PatternFileJson | null = null;
  let video: Video | null = null;
  try {
    const info = model.info();
    for (const h of job.heads) {
      if (h.layer >= info.textLayers || h.head >= info.heads) {
        throw new AppError(
          'BAD_REQUEST',
          `Head (${h.layer}, ${h.head}) is outside the model's ${info.textLayers} layers × ${info.heads} heads`,
        );
      }
    }
    if (job.patterns !== null) {
      const opened = await openPatternFile(model, job.model.dir, job.patterns, signal);
      patterns = opened.native;
      patternsJson = opened.json;
    }
    video = (
      await encodeVideo(model, job.video.input, signal, (stage, done, total) =>
        emit({ stage, done, total, item: job.video.name }),
      )
    ).video;
    const prompt = videoPrompt(rules, video, job.video.input.plan.sampleFps, job.question);
    const heatmaps: HeadHeatmap[] = [];
    const reports: HeadReport[] = [];
    const session = model.createSession();
    try {
      await session.prefill(
        {
          ...prompt,
          videos: [video],
          attention: {
            patterns,
            denseBelowTokens: 0,
            heatmaps: { heads: job.heads, grid: job.grid, samples: job.samples },
          },
        },
        {
          signal,
          onProgress: (done, total) => emit({ stage: 'prefill', done, total }),
          onHead: (r) => reports.push(r),
          onHeatmap: (h) => heatmaps.push(h),
        },
      );
    } finally {
      session.dispose();
    }
    const heads: CapturedHead[] = [];
    for (const h of heatmaps) {
      const report = reports.find((r) => r.layer === h.layer && r.head === h.head);
      if (!report) continue;
      heads.push({
        heatmap: heatmapPayload(h),
        report: headReportPayload(report, patternsJson),
      });
    }
    heads.sort((x, y) => x.heatmap.layer - y.heatmap.layer || x.heatmap.head - y.heatmap.head);
    return {
      video: job.video.input.source.path,
      patterns: job.patterns,
      promptTokens: prompt.ids.length,
      heads,
    };
  } finally {
    video?.dispose();
    patterns?.dispose();
    model.dispose();
  }
}
