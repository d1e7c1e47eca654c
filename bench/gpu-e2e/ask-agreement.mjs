// `mmi ask`'s GPU answer against the CPU backend, compared as the runtime's GPU tests compare greedy tokens: the
// prompt the ask pre-filled (its video decoded with the ask's sampling plan, the chat template, the same ids and
// M-RoPE positions) goes through a GPU and a CPU model, teacher-forced on the GPU answer. At every step the GPU's
// greedy choice must be the CPU's wherever the CPU's two best logits are further apart than twice the largest logit
// difference between the backends; the first step's logits must agree within the runtime's stated CUDA-vs-CPU
// tolerance (3e-2, max-abs over max-abs). Prints one JSON object; exits 1 when either fails.
//
//   node bench/gpu-e2e/ask-agreement.mjs GPU_ASK.json [CPU_ASK.json]     (repository root, after npm run build:ts)
import { readFileSync } from 'node:fs';

import { probeVideo } from '../../dist/main/services/video/probe.js';
import { decodeFrames } from '../../dist/main/services/video/decode.js';
import { createVideoTools } from '../../dist/main/services/video/tools.js';
import { buildPrompt, loadPromptRules, secondPerGrid } from '../../dist/models/qwen2_5_vl/prompt.js';
import { Model } from '../../dist/native/model.js';

const tolerance = 3e-2;
const [gpuFile, cpuFile] = process.argv.slice(2);
const ask = JSON.parse(readFileSync(gpuFile, 'utf8'));
const cpuAsk = cpuFile ? JSON.parse(readFileSync(cpuFile, 'utf8')) : null;
if (ask.device !== 'gpu') throw new Error(`${gpuFile} ran on the ${ask.device}, not the GPU`);
const dir = ask.model.dir;
const tools = createVideoTools();
const meta = await probeVideo(tools, ask.video);
const { ffmpeg } = await tools.require();
const rules = await loadPromptRules(dir);

async function prefilled(device) {
  const model = await Model.load(dir, { device });
  const encoder = model.createEncoder(ask.plan.height, ask.plan.width);
  for await (const frame of decodeFrames(ffmpeg.path, meta, ask.plan)) await encoder.push(frame.data, 1);
  const video = await encoder.finish();
  encoder.dispose();
  const { t, h, w } = video.info();
  const prompt = buildPrompt(
    rules,
    [{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: ask.question }] }],
    [{ t, h, w, secondPerGrid: secondPerGrid(rules, ask.plan.sampleFps) }],
  );
  const session = model.createSession();
  const { logits } = await session.prefill({
    ids: Int32Array.from(prompt.ids),
    positions: BigInt64Array.from(prompt.positions.rows.flat(), (p) => BigInt(p)),
    videos: [video],
  });
  video.dispose();
  return { model, session, logits, tokens: prompt.ids.length };
}

function top2(l) {
  let a = 0;
  let b = 1;
  if (l[b] > l[a]) [a, b] = [b, a];
  for (let i = 2; i < l.length; i++) {
    if (l[i] > l[a]) [a, b] = [i, a];
    else if (l[i] > l[b]) b = i;
  }
  return [a, b];
}

const gpu = await prefilled('gpu');
const cpu = await prefilled('cpu');
if (gpu.tokens !== ask.prefilledTokens) {
  throw new Error(`rebuilt prompt has ${gpu.tokens} tokens, the ask pre-filled ${ask.prefilledTokens}`);
}
const steps = [];
let firstRelative = null;
for (let i = 0; i < ask.tokens.length; i++) {
  let err = 0;
  let scale = 0;
  for (let j = 0; j < cpu.logits.length; j++) {
    err = Math.max(err, Math.abs(gpu.logits[j] - cpu.logits[j]));
    scale = Math.max(scale, Math.abs(cpu.logits[j]));
  }
  firstRelative ??= err / scale;
  const [best, second] = top2(cpu.logits);
  const gap = cpu.logits[best] - cpu.logits[second];
  const gpuChoice = top2(gpu.logits)[0];
  steps.push({ step: i, answer: ask.tokens[i], gpu: gpuChoice, cpu: best, gap, err, clear: gap > 2 * err });
  const ids = Int32Array.from([ask.tokens[i]]);
  gpu.logits = (await gpu.session.prefill({ ids })).logits;
  cpu.logits = (await cpu.session.prefill({ ids })).logits;
}
const clear = steps.filter((s) => s.clear);
const disagree = clear.filter((s) => s.gpu !== s.cpu);
const sameAsCpuAsk = cpuAsk ? ask.tokens.findIndex((t, i) => t !== cpuAsk.tokens[i]) : null;
const pass = disagree.length === 0 && firstRelative < tolerance;
console.log(
  JSON.stringify({
    pass,
    model: dir,
    prefilledTokens: gpu.tokens,
    firstLogitsRelativeError: firstRelative,
    tolerance,
    steps: steps.length,
    clearSteps: clear.length,
    clearStepsDisagreeing: disagree.length,
    gpuReproducesItsAnswer: steps.every((s) => s.gpu === s.answer),
    cpuAskTokensEqual: cpuAsk ? sameAsCpuAsk === -1 : null,
    cpuAskFirstDifference: sameAsCpuAsk,
    detail: steps,
  }),
);
for (const m of [gpu, cpu]) {
  m.session.dispose();
  m.model.dispose();
}
process.exitCode = pass ? 0 : 1;
