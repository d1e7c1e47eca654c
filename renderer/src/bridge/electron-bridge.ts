import { z } from 'zod';
import { AppError } from '../../../app/contract/errors.js';
import { electronOrigin, type PreloadApi } from '../../../app/contract/host.js';
import type { HostBridge } from './bridge.js';
import { createWireClient } from './wire-client.js';

// Electron: the preload's `window.mmi` carries raw wire messages over IPC; everything is validated here.
export function createElectronBridge(preload: PreloadApi): HostBridge {
  const wire = createWireClient((message) => {
    preload.request(message).then(wire.receive, (err: unknown) => {
      wire.receive({
        kind: 'response',
        id: message.id,
        ok: false,
        error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) },
      });
    });
  });
  preload.onEvent(wire.receive);
  return {
    host: 'electron',
    call: wire.call,
    on: wire.on,
    resolveUrl: (apiPath) => new URL(apiPath, electronOrigin).href,
    onConnection(listener) {
      listener('open');
      return () => {};
    },
    chooseVideo: async () => chosenPath(await preload.chooseVideo()),
    chooseModelFolder: async () => chosenPath(await preload.chooseModelFolder()),
    allowDroppedFile: async (file) => chosenPath(await preload.allowDroppedFile(file)),
  };
}

const ChosenPathSchema = z.string().min(1).nullable();

function chosenPath(raw: unknown): string | null {
  const parsed = ChosenPathSchema.safeParse(raw);
  if (!parsed.success)
    throw new AppError('INTERNAL', 'Main answered a file choice with something that is not a path');
  return parsed.data;
}
