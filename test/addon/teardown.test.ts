// The addon in a worker thread that is terminated while a long job runs: the environment's teardown cancels and
// joins the job's thread (no crash, no hang), and the addon keeps working elsewhere.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';

import { addonPath, attentionDense } from '../../native/index.js';
import { randomTensor } from './reference.js';

const workerCode = `
const { workerData, parentPort } = require('node:worker_threads');
const addon = require(workerData);
const tokens = 8192, dim = 64;
const q = { dtype: 'f32', data: new Float32Array(8 * tokens * dim).fill(0.01), heads: 8, tokens, dim };
const k = { dtype: 'f32', data: new Float32Array(tokens * dim).fill(0.02), heads: 1, tokens, dim };
const job = addon.attentionDense(q, k, k, {}, null, () => {});
job.promise.then(() => parentPort.postMessage('finished'), (e) => parentPort.postMessage(e.code));
parentPort.postMessage('started');
`;

it('cancels and joins a running job when its worker is terminated', async () => {
  const worker = new Worker(workerCode, { eval: true, workerData: addonPath() });
  const [first] = (await once(worker, 'message')) as [string];
  expect(first).toBe('started');
  expect(await worker.terminate()).toBe(1);
  const q = randomTensor(1, 10, 64, 1);
  expect((await attentionDense(q, q, q)).length).toBe(640);
});
