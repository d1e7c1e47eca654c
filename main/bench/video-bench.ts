import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SamplingOptions } from '../../app/contract/video.js';
import { defaultSamplingOptions, planSampling } from '../../app/domain/sampling.js';
import { liveChildPids } from '../services/video/child-processes.js';
import { decodeArgs, decodeFrames } from '../services/video/decode.js';
import { probeVideo } from '../services/video/probe.js';
import { createVideoTools } from '../services/video/tools.js';
import { longVideo, runFfmpeg } from './synthetic.js';

// `npm run bench:video`: the decode pipeline against plain ffmpeg, and its memory over a long video.
//  1. Throughput: a synthetic video of at least an hour, sampled at 1 fps and resized by the model's rule, through
//     decodeFrames (one ffmpeg, RGB24 through a pipe into this process) versus the same ffmpeg command with the
//     same filters writing to `-f null -`. Ratio = ffmpeg alone time / pipeline time (goal ≥ 0.9), best of N runs
//     each (other work on the machine only ever adds time); the CPU-time ratio is printed beside it.
//  2. Memory: a 3-hour video decoded the same way in a fresh Node process; its peak RSS (goal < 300 MB), and
//     ffmpeg's own peak beside it.
// Synthetic videos (testsrc2, 480×270 at 10 fps) are made once and cached in the temp folder.

const samplingAt = (fps: number): SamplingOptions => ({
  ...defaultSamplingOptions,
  fps,
  maxFrames: 1_000_000,
  // No total budget: every frame keeps the per-frame size, so the pipe carries the full load.
  totalPixels: Number.MAX_SAFE_INTEGER,
});

interface Timing {
  seconds: number;
  /** CPU time of this process and of the ffmpeg it waited for, in clock ticks. */
  cpuTicks: number;
}

/** CPU ticks used so far by this process (utime + stime) and its waited-for children (cutime + cstime). */
async function cpuTicks(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  return (fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0);
}

async function measure(work: () => Promise<void>): Promise<Timing> {
  const cpuBefore = await cpuTicks();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  return { seconds, cpuTicks: (await cpuTicks()) - cpuBefore };
}

async function planFor(ffmpeg: string, file: string, fps: number) {
  const meta = await probeVideo(createVideoTools({ ffmpegPath: ffmpeg }), file);
  return { meta, plan: planSampling(meta, samplingAt(fps)) };
}

async function timePipeline(ffmpeg: string, file: string, fps: number): Promise<Timing & { frames: number }> {
  const { meta, plan } = await planFor(ffmpeg, file, fps);
  let frames = 0;
  const timing = await measure(async () => {
    for await (const frame of decodeFrames(ffmpeg, meta, plan)) {
      if (frame.data.length > 0) frames += 1;
    }
  });
  return { ...timing, frames };
}

async function timeFfmpegAlone(ffmpeg: string, file: string, fps: number): Promise<Timing> {
  const { meta, plan } = await planFor(ffmpeg, file, fps);
  const args = decodeArgs(meta, plan, plan.times.length);
  // Same input, filters and frame count; only the output differs: ffmpeg's null muxer instead of our pipe.
  const nullArgs = [...args.slice(0, args.indexOf('-f')), '-f', 'null', '-'];
  return measure(() =>
    runFfmpeg(
      ffmpeg,
      nullArgs.filter((a) => a !== '-hide_banner' && a !== '-nostdin'),
    ),
  );
}

/** Peak resident memory of a process in MB, from /proc (Linux), or null once it has gone. */
async function peakRssMb(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const match = status === null ? null : /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match?.[1] === undefined ? null : Number(match[1]) / 1024;
}

interface MemoryRun {
  frames: number;
  seconds: number;
  nodePeakMb: number;
  ffmpegPeakMb: number;
}

/** Child mode: decode the whole plan and report this process's peak RSS and ffmpeg's. */
async function decodeForMemory(ffmpeg: string, file: string, fps: number): Promise<void> {
  let ffmpegPeakMb = 0;
  const timer = setInterval(() => {
    for (const pid of liveChildPids()) {
      void peakRssMb(pid).then((mb) => {
        if (mb !== null) ffmpegPeakMb = Math.max(ffmpegPeakMb, mb);
      });
    }
  }, 250);
  const { seconds, frames } = await timePipeline(ffmpeg, file, fps);
  clearInterval(timer);
  const run: MemoryRun = { frames, seconds, nodePeakMb: process.resourceUsage().maxRSS / 1024, ffmpegPeakMb };
  process.stdout.write(`${JSON.stringify(run)}\n`);
}

async function measureMemory(ffmpeg: string, file: string, fps: number): Promise<MemoryRun> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    [script, '--child-decode', file, '--ffmpeg', ffmpeg, '--fps', String(fps)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => (out += text));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`the memory run failed (exit ${String(code)})`);
  return JSON.parse(out) as MemoryRun;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      fps: { type: 'string', default: '1' },
      'throughput-hours': { type: 'string', default: '1' },
      'memory-hours': { type: 'string', default: '3' },
      'child-decode': { type: 'string' },
      ffmpeg: { type: 'string' },
    },
  });
  const fps = Number(values.fps);
  if (values['child-decode'] !== undefined && values.ffmpeg !== undefined) {
    await decodeForMemory(values.ffmpeg, values['child-decode'], fps);
    return;
  }
  const runs = Math.max(1, Number(values.runs));
  const { ffmpeg } = await createVideoTools().require();
  console.log(`ffmpeg: ${ffmpeg.path}\n        ${ffmpeg.version} (from ${ffmpeg.source})`);
  console.log('making the synthetic videos (cached after the first run)...');
  const hourFile = await longVideo(ffmpeg.path, Number(values['throughput-hours']));
  const longFile = await longVideo(ffmpeg.path, Number(values['memory-hours']));
  const { meta, plan } = await planFor(ffmpeg.path, hourFile, fps);
  console.log(
    `throughput video: ${hourFile}\n  ${meta.width}x${meta.height} ${meta.codec} at ${meta.fps} fps, ` +
      `${(meta.durationSec / 3600).toFixed(2)} h; plan: ${plan.times.length} frames at ${fps} fps, ` +
      `resized to ${plan.width}x${plan.height}`,
  );

  const pipeline: Timing[] = [];
  const alone: Timing[] = [];
  for (let i = 0; i < runs; i++) {
    const p = await timePipeline(ffmpeg.path, hourFile, fps);
    if (p.frames !== plan.times.length)
      throw new Error(`expected ${plan.times.length} frames, got ${p.frames}`);
    const a = await timeFfmpegAlone(ffmpeg.path, hourFile, fps);
    pipeline.push(p);
    alone.push(a);
    console.log(
      `  run ${i + 1}: pipeline ${p.seconds.toFixed(2)} s (${p.cpuTicks} CPU ticks), ` +
        `ffmpeg -f null ${a.seconds.toFixed(2)} s (${a.cpuTicks} CPU ticks)`,
    );
  }
  const best = (timings: Timing[], key: keyof Timing): number => Math.min(...timings.map((t) => t[key]));
  const pipelineSec = best(pipeline, 'seconds');
  const aloneSec = best(alone, 'seconds');
  const ratio = aloneSec / pipelineSec;
  const cpuRatio = best(alone, 'cpuTicks') / best(pipeline, 'cpuTicks');
  const memory = await measureMemory(ffmpeg.path, longFile, fps);
  const memoryHours = (await planFor(ffmpeg.path, longFile, fps)).meta.durationSec / 3600;

  const result = {
    ffmpeg: ffmpeg.version,
    throughput: {
      videoHours: meta.durationSec / 3600,
      frames: plan.times.length,
      size: `${plan.width}x${plan.height}`,
      runs,
      pipelineSec,
      ffmpegNullSec: aloneSec,
      ratio,
      cpuRatio,
      framesPerSec: plan.times.length / pipelineSec,
    },
    memory: { videoHours: memoryHours, ...memory },
  };
  console.log('');
  console.log(
    `throughput (best of ${runs}): pipeline ${pipelineSec.toFixed(2)} s vs ffmpeg alone ${aloneSec.toFixed(2)} s ` +
      `→ ratio ${ratio.toFixed(3)} (goal ≥ 0.9); CPU-time ratio ${cpuRatio.toFixed(3)}; ` +
      `${result.throughput.framesPerSec.toFixed(0)} frames/s, ${(meta.durationSec / pipelineSec).toFixed(0)}× real time`,
  );
  console.log(
    `memory (${memoryHours.toFixed(1)} h video, ${memory.frames} frames in ${memory.seconds.toFixed(1)} s): ` +
      `peak RSS of the decoding Node process ${memory.nodePeakMb.toFixed(0)} MB (goal < 300 MB); ` +
      `ffmpeg's own peak ${memory.ffmpegPeakMb.toFixed(0)} MB`,
  );
  console.log(JSON.stringify(result));
  console.log(ratio >= 0.9 && memory.nodePeakMb < 300 ? 'goals met' : 'GOALS NOT MET');
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
