import type { CommandName, CommandParams, CommandResult, EmitEvent } from '../../app/contract/contract.js';
import type { FileAccessPolicy } from '../services/files/policy.js';
import type { Services } from '../services/services.js';

/** What a handler gets besides its params: supplied by the host for each request. */
export interface ApiContext {
  services: Services;
  /** Which files this caller may read or list (web host: its roots; Electron: the files the user chose). */
  files: FileAccessPolicy;
  /** Pushes an event to this caller (jobs keep it to report progress after the command has answered). */
  emit: EmitEvent;
  /** Aborts when the caller goes away (socket closed, window gone): its jobs are cancelled. */
  signal: AbortSignal;
}

/** One handler per command: adding a command to app/contract/contract.ts makes this table incomplete until handled. */
export type Handlers = {
  [K in CommandName]: (params: CommandParams<K>, ctx: ApiContext) => Promise<CommandResult<K>>;
};
