import { EngineService, type EngineServiceOptions } from './engine/service.js';
import { JobRegistry } from './jobs/registry.js';
import { PatternsService, type PatternsServiceOptions } from './patterns/service.js';
import { killAllChildren } from './video/child-processes.js';
import { ProbeCache } from './video/probe-cache.js';
import { ThumbnailService } from './video/thumbnails.js';
import { createVideoTools, type VideoTools } from './video/tools.js';
import type { ToolSettings } from './video/binaries.js';

// The one set of services behind every host (Electron, web host, CLI).

export interface Services {
  readonly tools: VideoTools;
  readonly jobs: JobRegistry;
  readonly thumbnails: ThumbnailService;
  /** Probes a file, reusing the result while the file is unchanged. */
  readonly probes: ProbeCache;
  /** The model runtime in its own process: model choice, conversations, questions as jobs. */
  readonly engine: EngineService;
  /** Pattern files and the jobs that make and compare them, each in a worker process of its own. */
  readonly patterns: PatternsService;
  /** Cancels every job, ends the engine process and kills every ffmpeg/ffprobe still running; hosts call it when
   * they shut down. */
  close(): Promise<void>;
}

export interface ServicesOptions {
  /** Explicit ffmpeg/ffprobe paths (a user setting); otherwise the environment, npm packages, then PATH. */
  tools?: ToolSettings;
  env?: NodeJS.ProcessEnv;
  engine?: EngineServiceOptions;
  patterns?: PatternsServiceOptions;
}

export function createServices(options: ServicesOptions = {}): Services {
  const tools = createVideoTools(options.tools, options.env);
  const jobs = new JobRegistry();
  const engine = new EngineService(options.engine);
  return {
    tools,
    jobs,
    thumbnails: new ThumbnailService(tools),
    probes: new ProbeCache(tools),
    engine,
    // Workers start the way the engine host does (Electron's launcher too).
    patterns: new PatternsService({
      ...(options.engine?.launcher ? { launcher: options.engine.launcher } : {}),
      ...options.patterns,
    }),
    close: async () => {
      await jobs.cancelAll();
      await engine.close();
      await killAllChildren();
    },
  };
}
