import { describe, expect, it } from 'vitest';
import { isAppUrl, isTrustedSender } from '../../../../main/electron/sender-check.js';

describe('Electron IPC sender check', () => {
  const page = { frameUrl: 'app://bundle/index.html', isTopFrame: true, isAppWindow: true };

  it("answers the top frame of the app's window showing the app's page", () => {
    expect(isTrustedSender(page)).toBe(true);
    expect(isTrustedSender({ ...page, frameUrl: 'app://bundle/index.html?x=1#y' })).toBe(true);
  });

  it('refuses sub-frames, other web contents and frames that are gone', () => {
    expect(isTrustedSender({ ...page, isTopFrame: false })).toBe(false);
    expect(isTrustedSender({ ...page, isAppWindow: false })).toBe(false);
    expect(isTrustedSender({ ...page, frameUrl: null })).toBe(false);
  });

  it('refuses every other origin, including look-alikes of the app scheme', () => {
    for (const url of [
      'https://bundle/index.html',
      'file:///index.html',
      'app://bundle.evil/index.html',
      'app://evil/index.html',
      'app://user@bundle/index.html',
      'app://bundle:8080/index.html',
      'apps://bundle/index.html',
      'about:blank',
      'data:text/html,hi',
      'not a url',
    ]) {
      expect(isAppUrl(url), url).toBe(false);
      expect(isTrustedSender({ ...page, frameUrl: url }), url).toBe(false);
    }
  });
});
