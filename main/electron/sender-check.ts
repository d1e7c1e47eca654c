import { electronOrigin } from '../../app/contract/host.js';

// Which IPC senders main answers: the top frame of one of the app's windows, showing the app's own page. A
// sub-frame, a webview, or a page that somehow navigated elsewhere gets nothing. Pure, so it is unit-tested
// without Electron; ipc.ts feeds it the facts of each event.

export interface SenderFacts {
  /** The sending frame's URL, or null when the frame is gone. */
  frameUrl: string | null;
  /** Whether the frame is its window's top frame. */
  isTopFrame: boolean;
  /** Whether the web contents belongs to one of the app's windows. */
  isAppWindow: boolean;
}

export function isTrustedSender(facts: SenderFacts): boolean {
  if (!facts.isAppWindow || !facts.isTopFrame || facts.frameUrl === null) return false;
  return isAppUrl(facts.frameUrl);
}

const app = new URL(electronOrigin);

/** Whether a URL is on the app's own scheme and host. (URL.origin is "null" for custom schemes, so compare parts.) */
export function isAppUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (
      parsed.protocol === app.protocol &&
      parsed.host === app.host &&
      parsed.username === '' &&
      parsed.port === ''
    );
  } catch {
    return false;
  }
}
