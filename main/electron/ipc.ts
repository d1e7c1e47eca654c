import { BrowserWindow, dialog, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ipcChannels } from '../../app/api/host.js';
import { RequestMessageSchema, type ResponseMessage } from '../../app/api/protocol.js';
import type { HostBackend } from '../web/host.js';
import { isTrustedSender } from './sender-check.js';

// The IPC adapter: the same wire messages as the web host's socket, on fixed channels, from trusted senders
// only, each validated before it reaches the dispatcher. Files enter only through the native dialog or a drop,
// and main adds each one to the paths the services will open.

export interface IpcOptions {
  backend: HostBackend;
  /** Lets the services open this file from now on. */
  allowFile(filePath: string): void;
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

  ipcMain.handle(ipcChannels.request, async (event, raw: unknown): Promise<ResponseMessage> => {
    const parsed = RequestMessageSchema.safeParse(raw);
    const id = parsed.success ? parsed.data.id : 0;
    if (!trusted(event)) return refusal(id, 'NOT_ALLOWED', 'This page may not call the app');
    if (!parsed.success) return refusal(id, 'BAD_REQUEST', 'A message is not a valid request');
    return backend.dispatch(parsed.data, new AbortController().signal);
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
    if (!chosen) return null;
    options.allowFile(chosen);
    return chosen;
  });

  ipcMain.handle(ipcChannels.allowDropped, async (event, raw: unknown) => {
    if (!trusted(event)) return null;
    const parsed = DroppedPathSchema.safeParse(raw);
    if (!parsed.success || !path.isAbsolute(parsed.data)) return null;
    const isFile = await stat(parsed.data).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!isFile) return null;
    options.allowFile(parsed.data);
    return parsed.data;
  });

  backend.onEvent((message) => {
    for (const win of BrowserWindow.getAllWindows()) win.webContents.send(ipcChannels.event, message);
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
