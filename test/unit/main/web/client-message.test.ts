import { describe, expect, it } from 'vitest';
import { parseClientMessage } from '../../../../main/web/client-message.js';

describe('web host client messages', () => {
  it('accepts a well-formed request and keeps its params for the dispatcher to check', () => {
    const text = JSON.stringify({
      kind: 'request',
      id: 7,
      method: 'video.probe',
      params: { path: '/v.mp4' },
    });
    expect(parseClientMessage(text)).toEqual({
      ok: true,
      request: { kind: 'request', id: 7, method: 'video.probe', params: { path: '/v.mp4' } },
    });
  });

  it('answers a malformed request that has an id with BAD_REQUEST for that id', () => {
    for (const raw of [
      { kind: 'request', id: 3, params: {} },
      { kind: 'response', id: 3, method: 'video.probe', params: {} },
      { kind: 'request', id: 3, method: 42, params: {} },
    ]) {
      const verdict = parseClientMessage(JSON.stringify(raw));
      expect(verdict).toMatchObject({ ok: false, id: 3, error: { code: 'BAD_REQUEST' } });
    }
  });

  it('gives no id (the client is dropped) for non-JSON, non-objects, and unusable ids', () => {
    for (const text of [
      'not json',
      '[]',
      'null',
      '"request"',
      JSON.stringify({ kind: 'request', id: -1, method: 'video.probe', params: {} }),
      JSON.stringify({ kind: 'request', id: 1.5, method: 'video.probe', params: {} }),
      JSON.stringify({ kind: 'request', id: '1', method: 'video.probe', params: {} }),
    ]) {
      expect(parseClientMessage(text), text).toMatchObject({
        ok: false,
        id: null,
        error: { code: 'BAD_REQUEST' },
      });
    }
  });
});
