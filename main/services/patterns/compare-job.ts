import { performance } from 'node:perf_hooks';
import type { PatternName } from '../../../app/contract/engine.js';
import type { PatternFile as PatternFileJson } from '../../../app/contract/pattern-file.js';
import type { Comparison, CompareRun, PatternStage } from '../../../app/contract/patterns.js';
import { answerAgreement, predictedPrefillMs } from '../../../app/domain/pattern-compare.js';
import type { PromptRules } from '../../../models/family.js';
import type { HeadReport, Model, PatternFile, Video } from '../../../native/model.js';
import { encodeVideo, loadModel, videoPrompt } from '../engine/video-prompt.js';
import { openPatternFile } from './pattern-files.js';
import type { WorkerJob, WorkerProgress } from './worker-protocol.js';

// Two pattern files (or one against dense) on one video: the video encoded once, then for the dense reference and
// each file a fresh pre-fill of the same prompt, every head reporting what ran, its density and the recall of its
// estimated index, then a greedy answer. Each file's own calibration costs predict its pre-fill time from the dense
// run's per-head attention time; the measured time stands beside it.

/** Measuring recall needs a recall floor; this one sends no head that keeps any attention to dense. */
const measureRecallOnly = Number.MIN_VALUE;

type StageProgress = (stage: PatternStage, done: number, total: number | null) => void;

interface RunInput {
  run: CompareRun['run'];
  path: string | null;
  native: PatternFile | null;
  json: PatternFileJson | null;
}

interface RunResult {
  summary: Omit<CompareRun, 'predictedMs'>;
  reports: HeadReport[];
}

async function runOnce(
  loaded: { model: Model; rules: PromptRules },
  prompt: { ids: Int32Array; positions: BigInt64Array },
  video: Video,
  input: RunInput,
  maxTokens: number,
  signal: AbortSignal,
  progress: StageProgress,
): Promise<RunResult> {
  const session = loaded.model.createSession();
  const reports: HeadReport[] = [];
  try {
    const t0 = performance.now();
    await session.prefill(
      {
        ...prompt,
        videos: [video],
        attention: {
          patterns: input.native,
          denseBelowTokens: 0,
          ...(input.native ? { recallFloor: measureRecallOnly } : {}),
        },
      },
      {
        signal,
        onProgress: (done, total) => progress('prefill', done, total),
        onHead: (r) => reports.push(r),
      },
    );
    const prefillMs = performance.now() - t0;
    // Heads finish in parallel: in (layer, head) order, runs line up head by head.
    reports.sort((x, y) => x.layer - y.layer || x.head - y.head);
    const out = await session.decode(
      { maxTokens, stopIds: loaded.rules.stopIds },
      { signal, onProgress: (done) => progress('decode', done, maxTokens) },
    );
    const tokens = Array.from(out.tokens);
    const measured = reports.filter((r) => r.recall !== null).map((r) => r.recall ?? 0);
    return {
      reports,
      summary: {
        run: input.run,
        patterns: input.path,
        prefillMs,
        attentionMs: reports.reduce((s, r) => s + r.attentionMs, 0),
        estimationMs: reports.reduce((s, r) => s + r.estimationMs, 0),
        density: reports.length ? reports.reduce((s, r) => s + r.density, 0) / reports.length : 1,
        meanRecall: measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : null,
        tokens,
        answer: loaded.rules.answerText(tokens),
      },
    };
  } finally {
    session.dispose();
  }
}

function headUnder(report: HeadReport, json: PatternFileJson | null) {
  const cost = json ? (json.layers[report.layer]?.heads[report.head]?.calibration?.cost ?? null) : 1;
  return {
    pattern: report.planned as PatternName,
    applied: report.applied as PatternName,
    density: report.density,
    recall: report.recall,
    cost,
    attentionMs: report.attentionMs,
  };
}

export async function runCompare(
  job: Extract<WorkerJob, { kind: 'compare' }>,
  emit: (progress: WorkerProgress) => void,
  signal: AbortSignal,
): Promise<Comparison> {
  const loaded = await loadModel(job.model.dir, {
    threads: job.model.threads || undefined,
    signal,
    progress: (stage, done, total) => emit({ stage, done, total }),
  });
  const { model, rules } = loaded;
  const natives: PatternFile[] = [];
  let video: Video | null = null;
  try {
    const inputs: RunInput[] = [{ run: 'dense', path: null, native: null, json: null }];
    for (const [run, path] of [
      ['a', job.a],
      ['b', job.b],
    ] as const) {
      if (path === null) continue;
      const { json, native } = await openPatternFile(model, job.model.dir, path, signal);
      natives.push(native);
      inputs.push({ run, path, native, json });
    }
    const encoded = await encodeVideo(model, job.video.input, signal, (stage, done, total) =>
      emit({ stage, done, total, item: job.video.name }),
    );
    video = encoded.video;
    const prompt = videoPrompt(rules, video, job.video.input.plan.sampleFps, job.question);
    const results: RunResult[] = [];
    for (const input of inputs) {
      results.push(
        await runOnce(loaded, prompt, video, input, job.maxTokens, signal, (stage, done, total) =>
          emit({ stage, done, total, item: input.run }),
        ),
      );
    }
    const [dense, a, b = dense] = results as [RunResult, RunResult, RunResult?];
    const threads = model.info().threads;
    const runs: CompareRun[] = results.map((r, i) => ({
      ...r.summary,
      predictedMs:
        i === 0
          ? null
          : predictedPrefillMs(
              dense.summary.prefillMs,
              dense.reports.map((d) => d.attentionMs),
              r.reports.map((x) => headUnder(x, inputs[i]?.json ?? null).cost ?? x.density),
              threads,
            ),
    }));
    const bJson = job.b === null ? null : (inputs[2]?.json ?? null);
    return {
      video: job.video.input.source.path,
      plan: job.video.input.plan,
      promptTokens: prompt.ids.length,
      runs,
      heads: a.reports.map((r, i) => ({
        layer: r.layer,
        head: r.head,
        a: headUnder(r, inputs[1]?.json ?? null),
        b: headUnder(b.reports[i] ?? r, bJson),
      })),
      agreement: answerAgreement(a.summary.tokens, b.summary.tokens),
    };
  } finally {
    video?.dispose();
    for (const native of natives) native.dispose();
    model.dispose();
  }
}
