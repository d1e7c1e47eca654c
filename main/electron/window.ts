import { BrowserWindow } from 'electron';
import { electronOrigin } from '../../app/contract/host.js';

// The app's one window: sandboxed, isolated, no Node in the page, web security on. The page comes from app://
// (never file://), so the CSP and same-origin rules apply to it like to any site.
export function createMainWindow(preloadPath: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    title: 'MMI Studio',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(`${electronOrigin}/index.html`);
  return win;
}
