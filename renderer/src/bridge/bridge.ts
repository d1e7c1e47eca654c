import type { AppApi } from '../../../app/contract/contract.js';

/** The app's API as the renderer sees it, plus what differs between the two hosts. */
export interface HostBridge extends AppApi {
  readonly host: 'electron' | 'web';
  /** Turns an API path such as `/api/media/…` into a URL the page may load (adds the web host's token). */
  resolveUrl(apiPath: string): string;
  /** Connection state; Electron's IPC is always 'open'. Returns the function that stops listening. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
  /** Electron only: the native open dialog. */
  chooseVideo?(): Promise<string | null>;
  /** Electron only: the native folder dialog for a model folder; null when the user cancelled. */
  chooseModelFolder?(): Promise<string | null>;
  /** Electron only: a file dropped on the window, allowed by main; null when it is not a file. */
  allowDroppedFile?(file: File): Promise<string | null>;
}

export type ConnectionState = 'connecting' | 'open' | 'lost';
