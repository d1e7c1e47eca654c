import type { VideoMeta } from '../../../app/contract/video.js';

// The part every ffmpeg command of the services shares: quiet except for errors, no stdin, only local files (a
// playlist inside a file cannot reach the network), the one video stream chosen at probe time and nothing else.

export type InputSource = Pick<VideoMeta, 'path' | 'videoStreamIndex'>;

/** `before` are input options (seeking, timestamps); the output options follow the returned list. */
export function ffmpegInput(source: InputSource, before: readonly string[] = []): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'error',
    '-protocol_whitelist',
    'file,pipe',
    ...before,
    '-i',
    `file:${source.path}`,
    '-map',
    `0:${source.videoStreamIndex}`,
    '-an',
    '-sn',
    '-dn',
  ];
}

/** Output options for raw RGB24 frames on stdout, scaled to the plan's size. */
export function rgbOutput(width: number, height: number, filtersBefore: readonly string[] = []): string[] {
  return [
    '-vf',
    [...filtersBefore, `scale=${width}:${height}:flags=bicubic`, 'format=rgb24'].join(','),
    '-vsync',
    '0',
  ];
}
