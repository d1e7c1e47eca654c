import { z } from 'zod';
import { VideoMetaSchema } from './video.js';

// The one typed API every process shares. A command is a method name with a params schema and a result schema;
// an event is a name with a payload schema. Both hosts serve the same handler table for `commands`, and the
// renderer's clients are typed from it. Add a command here and the compiler asks every side for it.

export const commands = {
  'video.probe': {
    params: z.object({ path: z.string().min(1) }),
    result: VideoMetaSchema,
  },
} as const;

export const events = {
  'job.progress': z.object({
    jobId: z.string(),
    done: z.number().nonnegative(),
    total: z.number().nonnegative(),
    message: z.string().optional(),
  }),
} as const;

export type Commands = typeof commands;
export type CommandName = keyof Commands;
export type CommandParams<K extends CommandName> = z.infer<Commands[K]['params']>;
export type CommandResult<K extends CommandName> = z.infer<Commands[K]['result']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<K extends EventName> = z.infer<Events[K]>;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(commands, name);
}
export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}

/** What the renderer calls, whichever transport carries it. */
export interface AppApi {
  call<K extends CommandName>(method: K, params: CommandParams<K>): Promise<CommandResult<K>>;
  on<K extends EventName>(event: K, listener: (payload: EventPayload<K>) => void): () => void;
}
