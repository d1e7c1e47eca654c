import { describe, expect, it } from 'vitest';
import { toolFailure } from '../../../../../main/services/video/tool-errors.js';
import { parseDecoders, parseHwaccels } from '../../../../../main/services/video/tools.js';

describe('toolFailure: ffmpeg’s words → error codes', () => {
  it.each([
    ['/v.mp4: No such file or directory', 'FILE_NOT_FOUND'],
    ['/v.mp4: Permission denied', 'NOT_ALLOWED'],
    [
      '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found\n/v.mp4: Invalid data found when processing input',
      'CORRUPT_MEDIA',
    ],
    ['[matroska,webm @ 0x1] File ended prematurely', 'CORRUPT_MEDIA'],
    ['/v.bin: Invalid data found when processing input', 'NOT_MEDIA'],
    ['Decoder (codec av1) not found for input stream #0:0', 'UNSUPPORTED_CODEC'],
    ['Conversion failed!', 'FFMPEG_FAILED'],
  ])('%s → %s', (stderr, code) => {
    const error = toolFailure('ffprobe', '/v.mp4', 1, stderr);
    expect(error.code).toBe(code);
    expect(error.message).toContain('/v.mp4');
    expect(error.detail).toBe(stderr);
  });

  it('names the exit code when ffmpeg said nothing', () => {
    expect(toolFailure('ffmpeg', '/v.mp4', 69, '').message).toContain('exit code 69');
  });

  it('names the signal that ended it, even after words that would read as a damaged file', () => {
    const error = toolFailure('ffmpeg', '/v.mp4', null, 'error while decoding MB 3 4', 'SIGKILL');
    expect(error.code).toBe('FFMPEG_FAILED');
    expect(error.message).toBe('ffmpeg was stopped by SIGKILL while reading /v.mp4');
  });
});

describe('parsing ffmpeg’s lists', () => {
  const decoders = `Decoders:
 V..... = Video
 A..... = Audio
 ------
 V....D 012v                 Uncompressed 4:2:2 10-bit
 VFS..D h264                 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10
 V..... h264_cuvid           Nvidia CUVID H264 decoder (codec h264)
 V....D libdav1d             dav1d AV1 decoder by VideoLAN (codec av1)
 A....D aac                  AAC (Advanced Audio Coding)
`;
  it('keeps video decoders and the codecs they decode', () => {
    const set = parseDecoders(decoders);
    expect([...set].sort()).toEqual(['012v', 'av1', 'h264', 'h264_cuvid', 'libdav1d']);
  });
  it('reads the hardware acceleration methods', () => {
    expect(parseHwaccels('Hardware acceleration methods:\nvdpau\ncuda\nvaapi\n\n')).toEqual([
      'vdpau',
      'cuda',
      'vaapi',
    ]);
  });
});
