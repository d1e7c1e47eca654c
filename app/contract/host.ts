// What the Electron preload exposes on `window.mmi`, and the IPC channels behind it. Shared by the preload
// (main/electron/) and the renderer's Electron client. Everything that arrives through it is still validated by
// the renderer against the contract: the preload only carries wire messages.

export const ipcChannels = {
  /** Renderer → main: one RequestMessage; answered with one ResponseMessage. */
  request: 'mmi:request',
  /** Main → renderer: one EventMessage. */
  event: 'mmi:event',
  /** Renderer → main: show the native open dialog; answers the chosen path or null. */
  chooseVideo: 'mmi:choose-video',
  /** Renderer → main: a path the user dropped on the window; main adds it to the file policy. */
  allowDropped: 'mmi:allow-dropped',
  /** Renderer → main: show the native folder dialog for a model folder; answers the chosen folder or null. */
  chooseModelFolder: 'mmi:choose-model-folder',
} as const;

/** The scheme and host the Electron renderer is served from; media and binary data live under /api/. */
export const electronOrigin = 'app://bundle';

export interface PreloadApi {
  readonly host: 'electron';
  /** Sends a request message; resolves with the raw response message (validated by the caller). */
  request(message: unknown): Promise<unknown>;
  /** Receives raw event messages; returns the function that stops listening. */
  onEvent(listener: (message: unknown) => void): () => void;
  /** Native open dialog; the chosen file is added to the paths main lets the renderer open. Answers its path or null. */
  chooseVideo(): Promise<unknown>;
  /** A file dropped on the window: main allows it and answers its path, or null if it is not a file on disk. */
  allowDroppedFile(file: File): Promise<unknown>;
  /** Native folder dialog for a model folder; the chosen folder may then be inspected and chosen. Answers its path
   * or null. */
  chooseModelFolder(): Promise<unknown>;
}
