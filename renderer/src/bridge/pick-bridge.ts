import type { PreloadApi } from '../../../app/contract/host.js';
import type { HostBridge } from './bridge.js';
import { createElectronBridge } from './electron-bridge.js';
import { createWebBridge } from './web-bridge.js';

declare global {
  interface Window {
    /** Present only in the Electron window (set by the preload). */
    readonly mmi?: PreloadApi;
  }
}

/** Electron's preload API when the page runs in the app's window, else the web host's WebSocket. */
export function pickBridge(win: Window): HostBridge {
  return win.mmi?.host === 'electron' ? createElectronBridge(win.mmi) : createWebBridge(win.location);
}
