import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ipcChannels } from '../../app/contract/host.js';
import { RequestMessageSchema, type ResponseMessage } from '../../app/contract/protocol.js';
import type { Caller, HostBackend } from '../web/backend.js';
import { isTrustedSender } from './sender-check.js';

// The IPC adapter: the same wire messages as the web host's socket, on fixed channels, from trusted senders
// only, each validated before it reaches the dispatcher. Files enter only through the native dialog or a drop,
// and main adds each one to the file policy before the renderer learns its path.

export interface IpcOptions {
  backend: HostBackend;
  /** Lets the services open this file from now on; answers its real path. */
  allowFile(filePath: string): Promise<string>;
  /** Lets the services read this folder as a model folder from now on; answers its real path. */
  allowFolder(dirPath: string): Promise<string>;
}

const videoExtensions = [
  'mp4',
  'm4v',
  'mkv',
  'webm',
  'mov',
  'avi',
  'ts',
  'mts',
  'm2ts',
  'mpg',
  'mpeg',
  'wmv',
  'flv',
];
const DroppedPathSchema = z.string().min(1).max(4096);

export function serveIpc(options: IpcOptions): void {
  const { backend } = options;
  const callers = new WeakMap<WebContents, Caller>();

  /** One caller per window: its events go back to it, and its jobs stop when it is destroyed. */
  const callerFor = (contents: WebContents): Caller => {
    const known = callers.get(contents);
    if (known) return known;
    const gone = new AbortController();
    contents.once('destroyed', () => gone.abort());
    const caller: Caller = {
      emit: (message) => {
        if (!contents.isDestroyed()) contents.send(ipcChannels.event, message);
      },
      signal: gone.signal,
    };
    callers.set(contents, caller);
    return caller;
  };

  ipcMain.handle(ipcChannels.request, async (event, raw: unknown): Promise<ResponseMessage> => {
    const parsed = RequestMessageSchema.safeParse(raw);
    const id = parsed.success ? parsed.data.id : 0;
    if (!trusted(event)) return refusal(id, 'NOT_ALLOWED', 'This page may not call the app');
    if (!parsed.success) return refusal(id, 'BAD_REQUEST', 'A message is not a valid request');
    return backend.respond(parsed.data, callerFor(event.sender));
  });

  ipcMain.handle(ipcChannels.chooseVideo, async (event) => {
    if (!trusted(event)) return null;
    const win = BrowserWindow.fromWebContents(event.sender);
    const dialogOptions: Electron.OpenDialogOptions = {
      title: 'Open a video',
      properties: ['openFile'],
      filters: [
        { name: 'Videos', extensions: videoExtensions },
        { name: 'All files', extensions: ['*'] },
      ],
    };
    const choice = win
      ? await dialog.showOpenDialog(win, dialogOptions)
      : await dialog.showOpenDialog(dialogOptions);
    const chosen = choice.canceled ? undefined : choice.filePaths[0];
    return chosen ? options.allowFile(chosen).catch(() => null) : null;
  });

  ipcMain.handle(ipcChannels.chooseModelFolder, async (event) => {
    if (!trusted(event)) return null;
    const win = BrowserWindow.fromWebContents(event.sender);
    const dialogOptions: Electron.OpenDialogOptions = {
      title: 'Choose a model folder',
      properties: ['openDirectory'],
    };
    const choice = win
      ? await dialog.showOpenDialog(win, dialogOptions)
      : await dialog.showOpenDialog(dialogOptions);
    const chosen = choice.canceled ? undefined : choice.filePaths[0];
    return chosen ? options.allowFolder(chosen).catch(() => null) : null;
  });

  ipcMain.handle(ipcChannels.allowDropped, async (event, raw: unknown) => {
    if (!trusted(event)) return null;
    const parsed = DroppedPathSchema.safeParse(raw);
    if (!parsed.success || !path.isAbsolute(parsed.data)) return null;
    const isFile = await stat(parsed.data).then(
      (s) => s.isFile(),
      () => false,
    );
    return isFile ? options.allowFile(parsed.data).catch(() => null) : null;
  });
}

function trusted(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  return isTrustedSender({
    frameUrl: frame?.url ?? null,
    isTopFrame: frame !== null && frame.parent === null,
    isAppWindow: BrowserWindow.fromWebContents(event.sender) !== null,
  });
}

function refusal(id: number, code: 'NOT_ALLOWED' | 'BAD_REQUEST', message: string): ResponseMessage {
  return { kind: 'response', id, ok: false, error: { code, message } };
}
