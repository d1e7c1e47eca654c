import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { ipcChannels, type PreloadApi } from '../../app/contract/host.js';

// The only bridge between the sandboxed page and main: a handful of functions with fixed channels, never
// ipcRenderer itself. Listeners get the message alone, not the IPC event (which would expose the sender).
// Bundled into one CommonJS file (vite --mode preload): a sandboxed preload can't require relative modules.

const api: PreloadApi = {
  host: 'electron',
  request: (message) => ipcRenderer.invoke(ipcChannels.request, message),
  onEvent(listener) {
    const forward = (_event: Electron.IpcRendererEvent, message: unknown): void => listener(message);
    ipcRenderer.on(ipcChannels.event, forward);
    return () => {
      ipcRenderer.removeListener(ipcChannels.event, forward);
    };
  },
  chooseVideo: () => ipcRenderer.invoke(ipcChannels.chooseVideo),
  chooseModelFolder: () => ipcRenderer.invoke(ipcChannels.chooseModelFolder),
  allowDroppedFile(file) {
    // Only a File the user really dropped has a path; one the page built itself answers ''.
    const filePath = webUtils.getPathForFile(file);
    return filePath ? ipcRenderer.invoke(ipcChannels.allowDropped, filePath) : Promise.resolve(null);
  },
};

contextBridge.exposeInMainWorld('mmi', api);
