import { stat } from 'node:fs/promises';
import type { VideoMeta } from '../../../app/contract/video.js';
import { probeVideo } from './probe.js';
import type { VideoTools } from './tools.js';

// Probing twice per file is common (open, then a timeline of thumbnails, then decode); results are kept per file
// version (size and mtime), failures are not. A probe is short and bounded by its own time limit, so it runs to
// the end even when the caller that started it leaves: another caller may be waiting for the same result.

const maxEntries = 64;

export class ProbeCache {
  private readonly entries = new Map<string, Promise<VideoMeta>>();

  constructor(private readonly tools: VideoTools) {}

  async probe(file: string): Promise<VideoMeta> {
    const info = await stat(file).catch(() => null);
    // Missing or unreadable files go straight to the probe, which reports them with the right code.
    if (info === null) return probeVideo(this.tools, file);
    const key = `${file}\0${info.size}\0${info.mtimeMs}`;
    const hit = this.entries.get(key);
    if (hit) return hit;
    const pending = probeVideo(this.tools, file);
    this.entries.set(key, pending);
    pending.catch(() => this.entries.delete(key));
    if (this.entries.size > maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return pending;
  }
}
