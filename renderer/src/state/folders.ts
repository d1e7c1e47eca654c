import type { AppErrorData } from '../../../app/contract/errors.js';
import type { FileListing } from '../../../app/contract/files.js';
import type { HostBridge } from '../bridge/bridge.js';

// Browsing the folders the host allows: for a video (files) and for a model (folders).

export type BrowserState =
  | { status: 'idle' }
  | { status: 'loading'; dir: string | null }
  | { status: 'ready'; listing: FileListing }
  | { status: 'failed'; dir: string | null; error: AppErrorData };

/** Lists a folder, or the roots; with a single allowed folder there is nothing to choose, so it goes straight in. */
export async function listFolder(bridge: HostBridge, dir: string | undefined): Promise<FileListing> {
  const listing = await bridge.call('files.list', dir === undefined ? {} : { dir });
  const [only] = listing.roots;
  if (dir === undefined && listing.roots.length === 1 && only !== undefined) {
    return bridge.call('files.list', { dir: only });
  }
  return listing;
}
