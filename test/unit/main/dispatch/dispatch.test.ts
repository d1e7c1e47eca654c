import { describe, expect, it } from 'vitest';
import { commands, events, SamplingRequestSchema } from '../../../../app/contract/contract.js';
import { AppError } from '../../../../app/contract/errors.js';
import {
  ThumbnailQuerySchema,
  thumbnailUrl,
  videoUrl,
  VideoQuerySchema,
} from '../../../../app/contract/media.js';
import { defaultSamplingOptions } from '../../../../app/domain/sampling.js';
import { dispatch, respond, type ApiContext, type Handlers } from '../../../../main/dispatch/index.js';
import { eventMessage } from '../../../../main/dispatch/events.js';
import { handlers } from '../../../../main/dispatch/handlers.js';
import { createServices } from '../../../../main/services/services.js';
import { ChosenFilesPolicy } from '../../../../main/services/files/policy.js';

// A context whose services are never reached: every case here is decided before a handler runs, or by a handler
// table given to dispatch explicitly.
function context(): ApiContext {
  return {
    services: createServices(),
    files: new ChosenFilesPolicy(),
    emit: () => undefined,
    signal: new AbortController().signal,
  };
}

const fakeMeta = {
  path: '/v.mp4',
  sizeBytes: 1,
  container: 'mp4',
  durationSec: 1,
  startSec: 0,
  videoStreamIndex: 0,
  codec: 'h264',
  width: 2,
  height: 2,
  rotation: 0,
  fps: 1,
  nominalFps: 1,
  variableFrameRate: false,
  frameCount: 1,
  streams: [],
};

function table(overrides: Partial<Handlers>): Handlers {
  return { ...handlers, ...overrides };
}

/** video.probe dispatched to a handler that throws `err`. */
function probeThrowing(err: Error) {
  return dispatch(
    'video.probe',
    { path: '/v.mp4' },
    context(),
    table({
      'video.probe': async () => {
        throw err;
      },
    }),
  );
}

describe('dispatch', () => {
  it('rejects an unknown method with BAD_REQUEST', async () => {
    const outcome = await dispatch('video.delete', {}, context());
    expect(outcome).toEqual({
      ok: false,
      error: { code: 'BAD_REQUEST', message: 'Unknown method: video.delete' },
    });
  });

  it('does not treat inherited object keys as methods', async () => {
    for (const method of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      const outcome = await dispatch(method, {}, context());
      expect(outcome.ok ? null : outcome.error.code).toBe('BAD_REQUEST');
    }
  });

  it.each([
    ['video.probe', {}],
    ['video.probe', { path: '' }],
    ['video.probe', { path: 42 }],
    ['video.probe', null],
    ['video.decode', { path: '/v.mp4' }],
    ['video.decode', { path: '/v.mp4', options: { ...defaultSamplingOptions, fps: 0 } }],
    ['video.decode', { path: '/v.mp4', options: { ...defaultSamplingOptions, fps: 61 } }],
    ['video.decode', { path: '/v.mp4', options: { ...defaultSamplingOptions, maxFrames: 2.5 } }],
    ['video.decode', { path: '/v.mp4', options: { ...defaultSamplingOptions, minFrames: 10, maxFrames: 4 } }],
    ['video.decode', { path: '/v.mp4', options: { ...defaultSamplingOptions, minPixels: 10, maxPixels: 4 } }],
    ['job.cancel', { jobId: '' }],
    ['files.list', { dir: 7 }],
  ])('rejects invalid params of %s %j with BAD_REQUEST and the schema’s reason', async (method, params) => {
    let called = false;
    const spy = async (): Promise<never> => {
      called = true;
      throw new Error('handler must not run');
    };
    const outcome = await dispatch(method, params, context(), table({ [method]: spy } as Partial<Handlers>));
    expect(called).toBe(false);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error.code).toBe('BAD_REQUEST');
      expect(outcome.error.detail).toBeTruthy();
    }
  });

  it('passes validated params to the handler and returns its result', async () => {
    let seen: unknown;
    const outcome = await dispatch(
      'video.probe',
      { path: '/v.mp4', extra: 'dropped' },
      context(),
      table({
        'video.probe': async (params) => {
          seen = params;
          return fakeMeta;
        },
      }),
    );
    expect(seen).toEqual({ path: '/v.mp4' });
    expect(outcome).toEqual({ ok: true, result: fakeMeta });
  });

  it('returns a handler’s AppError as its data', async () => {
    const outcome = await probeThrowing(
      new AppError('NOT_MEDIA', 'Not a media file: /v.mp4', 'ffprobe said so'),
    );
    expect(outcome).toEqual({
      ok: false,
      error: { code: 'NOT_MEDIA', message: 'Not a media file: /v.mp4', detail: 'ffprobe said so' },
    });
  });

  it('turns an unexpected exception into INTERNAL without a stack', async () => {
    const outcome = await probeThrowing(new TypeError('boom'));
    expect(outcome).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  });

  it('refuses a result that breaks the contract', async () => {
    const outcome = await dispatch(
      'video.probe',
      { path: '/v.mp4' },
      context(),
      table({ 'video.probe': async () => ({ ...fakeMeta, width: -1 }) }),
    );
    expect(outcome.ok ? null : outcome.error.code).toBe('INTERNAL');
  });

  it('refuses a path the file policy does not allow, before touching the file', async () => {
    const outcome = await dispatch('video.probe', { path: '/etc/passwd' }, context());
    expect(outcome.ok ? null : outcome.error.code).toBe('NOT_ALLOWED');
  });

  it('answers JOB_NOT_FOUND for a job that is not running', async () => {
    const outcome = await dispatch('job.cancel', { jobId: 'nope' }, context());
    expect(outcome.ok ? null : outcome.error.code).toBe('JOB_NOT_FOUND');
  });

  it('wraps outcomes in response messages carrying the request id', async () => {
    const response = await respond({ kind: 'request', id: 7, method: 'nope', params: {} }, context());
    expect(response).toMatchObject({ kind: 'response', id: 7, ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('requires one handler per command (a missing one does not compile)', () => {
    // @ts-expect-error 'files.list' and others are missing
    const incomplete: Handlers = { 'video.probe': handlers['video.probe'] };
    expect(Object.keys(incomplete)).not.toEqual(Object.keys(commands));
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(commands).sort());
  });
});

describe('contract schemas', () => {
  it('accepts the default sampling options and refuses inconsistent budgets', () => {
    expect(SamplingRequestSchema.safeParse(defaultSamplingOptions).success).toBe(true);
    expect(SamplingRequestSchema.safeParse({ ...defaultSamplingOptions, minFrames: 800 }).success).toBe(
      false,
    );
  });

  it('checks event payloads before they leave', () => {
    expect(eventMessage('job.progress', { jobId: 'j', done: 1, total: 2 })).toEqual({
      kind: 'event',
      event: 'job.progress',
      payload: { jobId: 'j', done: 1, total: 2 },
    });
    expect(() => eventMessage('job.progress', { jobId: 'j', done: -1, total: 2 })).toThrow();
    expect(
      events['job.failed'].safeParse({ jobId: 'j', error: { code: 'NOPE', message: 'x' } }).success,
    ).toBe(false);
    expect(
      events['job.done'].safeParse({
        jobId: 'j',
        result: {
          kind: 'video.decode',
          summary: { frames: 2, width: 28, height: 28, bytes: 4704, elapsedSec: 0.1 },
        },
      }).success,
    ).toBe(true);
  });

  it('builds media URLs that its own query schemas read back', () => {
    const path = '/videos/a b&c?.mp4';
    const video = new URL(videoUrl(path), 'http://host');
    expect(VideoQuerySchema.parse(Object.fromEntries(video.searchParams))).toEqual({ path });
    const thumb = new URL(thumbnailUrl(path, 12.5, 120), 'http://host');
    expect(ThumbnailQuerySchema.parse(Object.fromEntries(thumb.searchParams))).toEqual({
      path,
      t: 12.5,
      h: 120,
    });
    expect(ThumbnailQuerySchema.safeParse({ path, t: '-1', h: '90' }).success).toBe(false);
    expect(ThumbnailQuerySchema.safeParse({ path, t: '1', h: '5000' }).success).toBe(false);
  });
});
