import type { EventName, EventPayload } from '../../app/contract/contract.js';
import {
  AskStartedSchema,
  defaultMaxAnswerTokens,
  ModelChoiceSchema,
  type AskParams,
  type AskResult,
  type AskStarted,
} from '../../app/contract/engine.js';
import { AppError } from '../../app/contract/errors.js';
import { defaultSamplingOptions } from '../../app/domain/sampling.js';
import { absolute, call, parseCli, withCliContext } from './context.js';
import { number } from './frames.js';
import { reportError, usageError, type CliIo } from './io.js';
import { JobEventRouter, type Settle } from './job-events.js';
import { samplingFlags, samplingFrom } from './sampling-flags.js';

export const askUsage = `Usage: mmi ask [--model DIR] [--video FILE] "QUESTION" [options]

Asks a question about a video; the answer streams to stdout as it is generated. With no --model, the embedded
demo model answers (a small Qwen2.5-VL trained only on synthetic videos of coloured shapes), about its bundled
needle video when no --video is given. The engine runs in its own process on the CPU.

  --model DIR          a Qwen2.5-VL model folder (Hugging Face layout)
  --video FILE         the video (required with --model)
  --patterns FILE      a pattern file for sparse pre-fill (default: the embedded model's; none for --model)
  --dense              dense attention, whatever the model's pattern file
  --follow-up Q        a follow-up question in the same conversation (repeatable): only its turn is pre-filled
  --max-tokens N       answer tokens at most (default ${defaultMaxAnswerTokens})
  --temperature T      0 (default): greedy
  --top-p P, --top-k K, --seed S
  --fps F              frames per second of video to sample (default ${defaultSamplingOptions.fps})
  --max-frames N       at most N frames (default ${defaultSamplingOptions.maxFrames})
  --max-pixels P       per-frame pixel budget (default ${defaultSamplingOptions.maxPixels})
  --min-pixels P       per-frame pixel floor (default ${defaultSamplingOptions.minPixels})
  --json               print one JSON result when done instead of streaming`;

interface Turn {
  question: string;
  started: AskStarted;
  result: AskResult;
}

export async function runAsk(argv: string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseCli({
      args: argv,
      options: {
        model: { type: 'string' },
        video: { type: 'string' },
        patterns: { type: 'string' },
        dense: { type: 'boolean', default: false },
        'follow-up': { type: 'string', multiple: true },
        'max-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        'top-k': { type: 'string' },
        seed: { type: 'string' },
        ...samplingFlags,
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
    if (values.help) {
      io.out(`${askUsage}\n`);
      return 0;
    }
    if (positionals.length !== 1 || !positionals[0]?.trim())
      throw usageError('expected one QUESTION (see mmi ask --help)');
    if (values.model !== undefined && values.video === undefined)
      throw usageError('--video is required with --model');
    if (values.dense && values.patterns !== undefined)
      throw usageError('--dense and --patterns exclude each other');
    const optional = (flag: string, text: string | undefined): number | undefined =>
      text === undefined ? undefined : number(flag, text);
    const sampling = samplingFrom(values);
    const generation = Object.fromEntries(
      Object.entries({
        maxTokens: optional('--max-tokens', values['max-tokens']),
        temperature: optional('--temperature', values.temperature),
        topP: optional('--top-p', values['top-p']),
        topK: optional('--top-k', values['top-k']),
        seed: optional('--seed', values.seed),
      }).filter(([, v]) => v !== undefined),
    );
    const base: Omit<AskParams, 'question'> = {
      ...(values.video !== undefined ? { video: absolute(values.video) } : {}),
      ...(values.dense ? { patterns: null } : {}),
      ...(values.patterns !== undefined ? { patterns: absolute(values.patterns) } : {}),
      sampling,
      generation,
    };
    const questions = [positionals[0], ...(values['follow-up'] ?? [])];
    const stream = !values.json;

    const jobs = new JobEvents();
    return await withCliContext(async (ctx) => {
      const choice = ModelChoiceSchema.parse(
        await call(ctx, 'model.choose', { dir: values.model === undefined ? null : absolute(values.model) }),
      );
      const turns: Turn[] = [];
      for (const question of questions) {
        const conversationId = turns[0]?.started.conversationId;
        if (stream && turns.length > 0) io.out(`\n> ${question}\n`);
        const job = await jobs.run(
          async (jobId) =>
            AskStartedSchema.parse(
              await call(ctx, 'engine.ask', {
                ...base,
                question,
                ...(conversationId ? { conversationId } : {}),
                jobId,
              }),
            ),
          {
            onToken: (text) => {
              if (stream) io.out(text);
            },
            onProgress: (stage, done, total) => {
              if (stream && io.interactive)
                io.err(`\r${stage} ${done}${total === null ? '' : `/${total}`}   `);
            },
          },
        );
        const { started } = job;
        if (turns.length === 0 && choice.notice) io.err(`note: ${choice.notice}\n`);
        const result = await job.result;
        if (stream) {
          if (io.interactive) io.err('\r\x1b[K');
          io.out('\n');
          io.err(`${timingLine(result)}\n`);
        }
        turns.push({ question, started, result });
      }
      if (!stream) io.out(`${JSON.stringify(jsonResult(turns), null, 2)}\n`);
      return 0;
    }, jobs.emit);
  } catch (err) {
    return reportError(io, err);
  }
}

/** What `--json` prints: the first question's result with the video and plan, and its follow-ups. */
function jsonResult(turns: Turn[]) {
  const [first, ...rest] = turns as [Turn, ...Turn[]];
  return {
    question: first.question,
    video: first.started.video,
    plan: first.started.plan,
    ...first.result,
    followUps: rest.map((t) => ({ question: t.question, ...t.result })),
  };
}

function timingLine(r: AskResult): string {
  const t = r.timings;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const parts = [
    t.loadMs > 0 ? `load ${ms(t.loadMs)}` : '',
    r.turn === 0 || r.cachedTokens === 0 ? `video ${ms(t.videoMs)}, vision ${ms(t.visionMs)}` : '',
    `pre-fill ${ms(t.prefillMs)} (${r.prefilledTokens} tokens${r.cachedTokens > 0 ? `, ${r.cachedTokens} cached` : ''})`,
    `${r.tokens.length} tokens in ${ms(t.decodeMs)} (${t.decodeTokensPerSec.toFixed(1)}/s)`,
    `${r.device}`,
  ];
  return parts.filter((p) => p !== '').join(' · ');
}

interface AskHandlers {
  onToken(text: string): void;
  onProgress(stage: string, done: number, total: number | null): void;
}

/** Routes the context's events to the question's job. */
class JobEvents extends JobEventRouter<AskHandlers, AskResult> {
  protected deliver(watch: AskHandlers & Settle<AskResult>, event: EventName, raw: unknown): void {
    const payload = raw as EventPayload<EventName>;
    switch (event) {
      case 'engine.token':
        watch.onToken((payload as EventPayload<'engine.token'>).text);
        return;
      case 'engine.progress': {
        const p = payload as EventPayload<'engine.progress'>;
        watch.onProgress(p.stage, p.done, p.total);
        return;
      }
      case 'job.done': {
        const { result } = payload as EventPayload<'job.done'>;
        if (result.kind === 'engine.ask') watch.resolve(result.answer);
        else watch.reject(new AppError('INTERNAL', `unexpected job result ${result.kind}`));
        return;
      }
      case 'job.failed':
        watch.reject(AppError.fromData((payload as EventPayload<'job.failed'>).error));
        return;
    }
  }
}
