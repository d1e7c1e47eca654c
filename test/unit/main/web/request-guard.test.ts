import { describe, expect, it } from 'vitest';
import {
  checkApiRequest,
  checkSite,
  loopbackHosts,
  type GuardConfig,
} from '../../../../main/web/request-guard.js';

const port = 41234;
const loopback: GuardConfig = { token: 'secret-token-value', allowedHosts: loopbackHosts(port) };
const ours = { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` };

describe('web host request guard', () => {
  it('lets the page, on any loopback name, call the API with the token', () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect(checkApiRequest({ host, origin: `http://${host}`, token: loopback.token }, loopback)).toEqual({
        ok: true,
      });
    }
  });

  it('accepts a client that sends no Origin (a script, curl) when it has the token', () => {
    expect(checkApiRequest({ host: ours.host, origin: undefined, token: loopback.token }, loopback).ok).toBe(
      true,
    );
  });

  it('refuses a missing, wrong, or differently sized token with 401', () => {
    for (const token of [null, '', 'secret-token-valuf', 'secret-token-value-longer', 'SECRET-TOKEN-VALUE']) {
      expect(checkApiRequest({ ...ours, token }, loopback)).toMatchObject({ ok: false, status: 401 });
    }
  });

  it('refuses a foreign Host (DNS rebinding) even with the token', () => {
    for (const host of [`evil.example:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1', undefined]) {
      const verdict = checkApiRequest({ host, origin: undefined, token: loopback.token }, loopback);
      expect(verdict).toMatchObject({ ok: false, status: 403 });
    }
  });

  it('refuses a foreign Origin (another site, another port, https, the null origin) even with the token', () => {
    for (const origin of [
      'http://evil.example',
      `http://localhost:${port}`,
      `http://127.0.0.1:${port + 1}`,
      `https://127.0.0.1:${port}`,
      'null',
      'file://',
    ]) {
      const verdict = checkApiRequest({ host: ours.host, origin, token: loopback.token }, loopback);
      expect(verdict, origin).toMatchObject({ ok: false, status: 403 });
    }
  });

  it('checks Host and Origin but not the token for the page itself', () => {
    expect(checkSite({ host: ours.host, origin: undefined }, loopback)).toEqual({ ok: true });
    expect(checkSite({ host: `evil.example:${port}`, origin: undefined }, loopback).ok).toBe(false);
    expect(checkSite({ host: ours.host, origin: 'http://evil.example' }, loopback).ok).toBe(false);
  });

  it('accepts any Host when bound to a non-loopback address, but still wants a matching Origin and the token', () => {
    const open: GuardConfig = { token: 't', allowedHosts: null };
    expect(
      checkApiRequest({ host: 'gpu-box:8080', origin: 'http://gpu-box:8080', token: 't' }, open).ok,
    ).toBe(true);
    expect(
      checkApiRequest({ host: 'gpu-box:8080', origin: 'http://evil.example', token: 't' }, open).ok,
    ).toBe(false);
    expect(checkApiRequest({ host: 'gpu-box:8080', origin: undefined, token: 'x' }, open).ok).toBe(false);
  });
});
