import { createStore, type StoreApi } from 'zustand/vanilla';
import { toErrorData, type AppErrorData } from '../../../app/api/errors.js';
import type { VideoMeta } from '../../../app/api/video.js';
import type { ConnectionState, HostBridge } from '../bridge/bridge.js';

// The renderer's state: a replica of what the services report (video, jobs) plus what only the UI owns
// (sampling choices). Actions call the bridge; results and events land here; views only read and call actions.

export type VideoState =
  | { status: 'empty' }
  | { status: 'probing'; path: string }
  | { status: 'ready'; path: string; meta: VideoMeta }
  | { status: 'failed'; path: string; error: AppErrorData };

export interface AppState {
  connection: ConnectionState;
  video: VideoState;
  openVideo(path: string): Promise<void>;
}

export function createAppStore(bridge: HostBridge): StoreApi<AppState> {
  const store = createStore<AppState>()((set, get) => ({
    connection: 'connecting',
    video: { status: 'empty' },

    async openVideo(path) {
      set({ video: { status: 'probing', path } });
      try {
        const meta = await bridge.call('video.probe', { path });
        if (isCurrent(get().video, path)) set({ video: { status: 'ready', path, meta } });
      } catch (err) {
        if (isCurrent(get().video, path)) set({ video: { status: 'failed', path, error: toErrorData(err) } });
      }
    },
  }));
  bridge.onConnection((connection) => store.setState({ connection }));
  return store;
}

/** A slow answer for a video the user has since replaced must not overwrite the newer one. */
function isCurrent(video: VideoState, path: string): boolean {
  return video.status !== 'empty' && video.path === path;
}
