import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../app/contract/errors.js';
import { defaultSamplingOptions, planSampling } from '../../app/domain/sampling.js';
import { probeVideo } from '../../main/services/video/probe.js';
import { createVideoTools, type VideoTools } from '../../main/services/video/tools.js';
import {
  resolvedTools,
  syntheticSpecs,
  syntheticVideo,
  type SyntheticKind,
  type VideoFacts,
} from '../support/synthetic-videos.js';

const run = promisify(execFile);

/** ffprobe's own, unprocessed view of the first video stream: the reference the probe is held to. */
async function ffprobeView(file: string): Promise<{
  codec: string;
  width: number;
  height: number;
  rotation: number;
  nbFrames: number | null;
  duration: number;
}> {
  const { ffprobe } = await resolvedTools();
  const { stdout } = await run(ffprobe.path, [
    '-v',
    'error',
    '-of',
    'json',
    '-show_streams',
    '-show_format',
    file,
  ]);
  const json = JSON.parse(stdout) as {
    streams: Array<Record<string, unknown>>;
    format: { duration?: string };
  };
  const v = json.streams.find((s) => s.codec_type === 'video');
  if (!v) throw new Error('no video stream in ffprobe output');
  const side = (v.side_data_list as Array<{ rotation?: number }> | undefined)?.find(
    (d) => d.rotation !== undefined,
  );
  const tags = (v.tags ?? {}) as Record<string, string>;
  const rotation = Math.abs(side?.rotation ?? Number(tags.rotate ?? 0)) % 360;
  const durationTag = tags.DURATION?.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  return {
    codec: String(v.codec_name),
    width: Number(v.width),
    height: Number(v.height),
    rotation,
    nbFrames: v.nb_frames === undefined ? null : Number(v.nb_frames),
    duration: Number(v.duration ?? durationTag ?? json.format.duration),
  };
}

const videoKinds = (Object.keys(syntheticSpecs) as SyntheticKind[]).filter(
  (k) => 'facts' in syntheticSpecs[k],
);
const probeErrorKinds = (Object.keys(syntheticSpecs) as SyntheticKind[]).filter(
  (k) => 'probeError' in syntheticSpecs[k],
);

let tools: VideoTools;
beforeAll(async () => {
  tools = createVideoTools();
  await Promise.all((Object.keys(syntheticSpecs) as SyntheticKind[]).map((kind) => syntheticVideo(kind)));
});

describe('probeVideo on synthetic videos', () => {
  it.each(videoKinds)('%s: matches how it was made and ffprobe’s own view', async (kind) => {
    const spec = syntheticSpecs[kind];
    const facts = (spec as { facts: VideoFacts }).facts;
    const file = await syntheticVideo(kind);
    const meta = await probeVideo(tools, file);
    const view = await ffprobeView(file);

    expect(meta.codec).toBe(facts.codec);
    expect(meta.codec).toBe(view.codec);
    expect([meta.width, meta.height]).toEqual([facts.width, facts.height]);
    const quarter = view.rotation % 180 === 90;
    expect([meta.width, meta.height]).toEqual(
      quarter ? [view.height, view.width] : [view.width, view.height],
    );
    expect(meta.rotation % 180).toBe(facts.rotation % 180);
    expect(meta.durationSec).toBeCloseTo(view.duration, 3);
    expect(Math.abs(meta.durationSec - facts.durationSec)).toBeLessThanOrEqual(facts.durationSlackSec);
    expect(meta.frameCount).toBe(view.nbFrames);
    if (meta.frameCount !== null) expect(meta.frameCount).toBe(facts.frames);
    expect(meta.variableFrameRate).toBe(facts.variableFrameRate);
    expect(meta.sizeBytes).toBeGreaterThan(0);
    expect(meta.streams.some((s) => s.type === 'video' && s.index === meta.videoStreamIndex)).toBe(true);
  });

  it('reports the average rate of a variable-rate MP4 (80 frames in 3.93 s) apart from its nominal 30 fps', async () => {
    const meta = await probeVideo(tools, await syntheticVideo('vfrMp4'));
    expect(meta.nominalFps).toBe(30);
    expect(meta.fps).toBeCloseTo(80 / meta.durationSec, 1);
  });

  it('plans frames at the presentation times ffprobe reads from the packets of a B-frame video', async () => {
    const file = await syntheticVideo('reordered');
    const meta = await probeVideo(tools, file);
    expect(meta.variableFrameRate).toBe(false);
    const { ffprobe } = await resolvedTools();
    const { stdout } = await run(ffprobe.path, [
      ...[
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-show_entries',
        'packet=pts_time',
        '-of',
        'csv=p=0',
        file,
      ],
    ]);
    const pts = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number)
      .sort((a, b) => a - b);
    expect(pts).toHaveLength(300);
    const plan = planSampling(meta, defaultSamplingOptions);
    // Frame i of the plan's rule (index / fps) is the i-th frame in presentation order; Matroska rounds to 1 ms.
    for (const t of plan.times) {
      const index = Math.round(t * meta.fps);
      expect(Math.abs((pts[index] ?? NaN) - t)).toBeLessThanOrEqual(0.0006);
    }
  });

  it('lists the audio stream of a video with sound', async () => {
    const meta = await probeVideo(tools, await syntheticVideo('normal'));
    expect(meta.streams.map((s) => s.type).sort()).toEqual(['audio', 'video']);
  });

  it.each(probeErrorKinds)('%s: fails with its typed error, naming the file', async (kind) => {
    const spec = syntheticSpecs[kind] as { probeError: string };
    const file = await syntheticVideo(kind);
    const error = await probeVideo(tools, file).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(spec.probeError);
    expect((error as AppError).message).toContain(file);
  });

  it('fails with FILE_NOT_FOUND for a missing file', async () => {
    await expect(probeVideo(tools, '/nonexistent/video.mp4')).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
    });
  });

  it('fails with UNSUPPORTED_CODEC when the ffmpeg in use has no decoder for the codec', async () => {
    const withoutH264: VideoTools = { ...tools, decoders: async () => new Set(['mpeg4']) };
    await expect(probeVideo(withoutH264, await syntheticVideo('normal'))).rejects.toMatchObject({
      code: 'UNSUPPORTED_CODEC',
    });
  });

  it('knows the decoders of the resolved ffmpeg', async () => {
    const decoders = await tools.decoders();
    expect(decoders.has('h264')).toBe(true);
    expect(decoders.has('ffv1')).toBe(true);
    expect(decoders.has('no-such-codec')).toBe(false);
  });
});
