import { app, BrowserWindow } from 'electron';
import { ChosenFilesPolicy, createServices } from '../dispatch/index.js';
import { embeddedDefault } from '../services/engine/embedded.js';
import { resourcePaths, type AppLayout } from '../services/resources.js';
import { createHostBackend } from '../web/backend.js';
import { utilityLauncher } from './engine-launcher.js';
import { registerAppScheme, serveAppProtocol } from './app-protocol.js';
import { serveIpc } from './ipc.js';
import { lockDownWebContents } from './lockdown.js';
import { createMainWindow } from './window.js';

// Electron's entry: registers the app:// scheme, locks every web contents down, and wires the one set of
// services to the window through the IPC adapter (commands, events) and the protocol (page, media).

registerAppScheme();
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // resources/app.asar once installed, the package folder under `electron .` (main/services/resources.ts).
  const layout: AppLayout = { root: app.getAppPath(), packaged: app.isPackaged };
  const paths = resourcePaths(layout);
  const services = createServices({
    engine: { launcher: utilityLauncher, embedded: embeddedDefault(layout) },
  });
  const files = new ChosenFilesPolicy();

  app.on('second-instance', () => {
    const [win] = BrowserWindow.getAllWindows();
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', (event) => {
    // Stop every job and ffmpeg before leaving, once.
    event.preventDefault();
    app.removeAllListeners('will-quit');
    void services.close().finally(() => app.quit());
  });

  void app.whenReady().then(() => {
    lockDownWebContents();
    const backend = createHostBackend(services, files);
    serveAppProtocol(paths.renderer, backend);
    serveIpc({
      backend,
      allowFile: (file) => files.allow(file),
      allowFolder: (dir) => files.allowFolder(dir),
    });
    createMainWindow(paths.preload);
  });
}
