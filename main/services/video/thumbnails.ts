import { stat } from 'node:fs/promises';
import { thumbnailJpeg, type ThumbnailSource } from './thumbnail.js';
import type { VideoTools } from './tools.js';

// Timeline thumbnails on demand: a timeline asks for a few dozen at once, so at most `concurrency` ffmpeg seeks run
// together, and recent results are kept (keyed by the file's size and mtime, so an edited file is not served stale).

const maxCached = 256;

export class ThumbnailService {
  private readonly cache = new Map<string, Buffer>();
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly tools: VideoTools,
    private readonly concurrency = 2,
  ) {}

  async jpeg(
    source: ThumbnailSource,
    timeSec: number,
    height: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const info = await stat(source.path);
    const key = `${source.path}\0${info.size}\0${info.mtimeMs}\0${source.videoStreamIndex}\0${timeSec}\0${height}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const { ffmpeg } = await this.tools.require();
    await this.acquire(signal);
    try {
      const jpeg = await thumbnailJpeg(ffmpeg.path, source, timeSec, height, signal);
      this.cache.set(key, jpeg);
      if (this.cache.size > maxCached) this.cache.delete(this.cache.keys().next().value as string);
      return jpeg;
    } finally {
      this.release();
    }
  }

  private async acquire(signal?: AbortSignal): Promise<void> {
    while (this.active >= this.concurrency) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    signal?.throwIfAborted();
    this.active += 1;
  }

  private release(): void {
    this.active -= 1;
    this.waiting.shift()?.();
  }
}
