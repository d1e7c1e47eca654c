import type { VideoMeta } from '../../app/contract/video.js';

/** A plausible probe answer for a 20 s 320×240 H.264 clip, for tests that need one that passes the schema. */
export const sampleMeta: VideoMeta = {
  path: '/v.mp4',
  sizeBytes: 1000,
  container: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 20,
  startSec: 0,
  videoStreamIndex: 0,
  codec: 'h264',
  width: 320,
  height: 240,
  rotation: 0,
  fps: 25,
  nominalFps: 25,
  variableFrameRate: false,
  frameCount: 500,
  streams: [{ index: 0, type: 'video', codec: 'h264' }],
};
