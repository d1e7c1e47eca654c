import { describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../../../app/contract/errors.js';
import type { RequestMessage } from '../../../../../app/contract/protocol.js';
import { createWireClient } from '../../../../../renderer/src/bridge/wire-client.js';
import { sampleMeta as meta } from '../../../../support/sample-meta.js';

function setup() {
  const sent: RequestMessage[] = [];
  const client = createWireClient((message) => sent.push(message));
  return { sent, client };
}

describe('renderer wire client', () => {
  it('numbers requests and resolves each with its validated result', async () => {
    const { sent, client } = setup();
    const first = client.call('video.probe', { path: '/v.mp4' });
    const second = client.call('job.cancel', { jobId: 'j' });
    expect(sent.map((m) => [m.id, m.method])).toEqual([
      [1, 'video.probe'],
      [2, 'job.cancel'],
    ]);
    client.receive({ kind: 'response', id: 2, ok: true, result: {} });
    client.receive({ kind: 'response', id: 1, ok: true, result: meta });
    await expect(first).resolves.toEqual(meta);
    await expect(second).resolves.toEqual({});
  });

  it('rejects with the AppError the host sent', async () => {
    const { client } = setup();
    const call = client.call('video.probe', { path: '/missing.mp4' });
    client.receive({
      kind: 'response',
      id: 1,
      ok: false,
      error: { code: 'FILE_NOT_FOUND', message: 'No such file' },
    });
    const error = await call.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).toData()).toEqual({ code: 'FILE_NOT_FOUND', message: 'No such file' });
  });

  it('rejects a result that does not match the contract instead of passing it on', async () => {
    const { client } = setup();
    const call = client.call('video.probe', { path: '/v.mp4' });
    client.receive({ kind: 'response', id: 1, ok: true, result: { ...meta, width: -3 } });
    await expect(call).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('delivers only events that match their schema, to the listeners of that event', () => {
    const { client } = setup();
    const progress = vi.fn();
    const done = vi.fn();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const stop = client.on('job.progress', progress);
    client.on('job.done', done);
    client.receive({ kind: 'event', event: 'job.progress', payload: { jobId: 'j', done: 1, total: 4 } });
    client.receive({ kind: 'event', event: 'job.progress', payload: { jobId: 'j', done: 'one', total: 4 } });
    client.receive({ kind: 'event', event: 'no.such.event', payload: {} });
    client.receive({ kind: 'nonsense' });
    stop();
    client.receive({ kind: 'event', event: 'job.progress', payload: { jobId: 'j', done: 2, total: 4 } });
    expect(progress.mock.calls).toEqual([[{ jobId: 'j', done: 1, total: 4 }]]);
    expect(done).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledTimes(3);
    warn.mockRestore();
  });

  it('fails every waiting request when the connection is lost', async () => {
    const { client } = setup();
    const a = client.call('video.probe', { path: '/a.mp4' });
    const b = client.call('app.diagnostics', {});
    client.failPending(new AppError('INTERNAL', 'connection closed'));
    await expect(a).rejects.toThrow('connection closed');
    await expect(b).rejects.toThrow('connection closed');
  });
});
