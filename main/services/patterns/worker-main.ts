import { toErrorData } from '../../../app/contract/errors.js';
import { runCompare } from './compare-job.js';
import { patternsError } from './errors.js';
import { runHeatmaps } from './heatmaps-job.js';
import { runSearch } from './search-job.js';
import {
  ToWorkerSchema,
  type FromWorker,
  type WorkerJob,
  type WorkerProgress,
  type WorkerResult,
} from './worker-protocol.js';
import { useLayoutAddon } from '../resources.js';

// A pattern worker's entry point (forked by the app with an IPC channel; Electron's utilityProcess gives the same
// through process.parentPort): one search, comparison or heatmap capture, then it exits. The model's work runs
// here, so a crash or a long computation never touches the app's own process.

interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

useLayoutAddon();

const parentPort = (process as NodeJS.Process & { parentPort?: ParentPort }).parentPort;

function send(message: FromWorker): void {
  if (parentPort) parentPort.postMessage(message);
  else process.send?.(message);
}

async function run(
  job: WorkerJob,
  emit: (p: WorkerProgress) => void,
  signal: AbortSignal,
): Promise<WorkerResult> {
  switch (job.kind) {
    case 'search':
      return { kind: 'patterns.search', search: await runSearch(job, emit, signal) };
    case 'compare':
      return { kind: 'patterns.compare', comparison: await runCompare(job, emit, signal) };
    case 'heatmaps':
      return { kind: 'patterns.heatmaps', heatmaps: await runHeatmaps(job, emit, signal) };
  }
}

const controller = new AbortController();
let started = false;

function receive(raw: unknown): void {
  const parsed = ToWorkerSchema.safeParse(raw);
  if (!parsed.success) return;
  const message = parsed.data;
  if (message.type === 'cancel') {
    controller.abort();
    return;
  }
  if (started) return;
  started = true;
  run(message.job, (progress) => send({ type: 'progress', progress }), controller.signal).then(
    (result) => finish({ type: 'done', result }),
    (err: unknown) => finish({ type: 'failed', error: toErrorData(patternsError(err)) }),
  );
}

/** Sends the outcome, then exits once it has left (the model and its threads go with the process). */
function finish(message: FromWorker): void {
  if (parentPort) {
    parentPort.postMessage(message);
    setImmediate(() => process.exit(0));
  } else {
    process.send?.(message, () => process.exit(0));
  }
}

if (parentPort) parentPort.on('message', (event) => receive(event.data));
else process.on('message', receive);
// The app went away: nothing is left to report to.
process.on('disconnect', () => process.exit());
send({ type: 'ready', pid: process.pid });
