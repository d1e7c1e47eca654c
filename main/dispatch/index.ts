// What a host needs to serve the app's API (web host, Electron main, CLI):
//  - createServices(): the one set of services; call close() on shutdown (cancels jobs, kills ffmpeg).
//  - dispatch(method, params, ctx) / respond(request, ctx): run one command, errors as values, never throws.
//  - ApiContext: per caller — services, a FileAccessPolicy, emit(event, payload), and a signal that aborts when
//    the caller goes away (its jobs are cancelled).
//  - rootsPolicy(roots) for the web host, ChosenFilesPolicy (allow() each chosen/dropped file) for Electron.
//  - createMediaHandler(services, policy): `(Request) => Promise<Response>` for GET /api/media/* (video bytes with
//    Range, thumbnails); URLs are built with app/contract/media.ts.
//  - eventMessage(event, payload): an event in the wire format, checked against the contract.
export { dispatch, respond, type DispatchOutcome } from './dispatch.js';
export { eventMessage } from './events.js';
export type { ApiContext, Handlers } from './context.js';
export { handlers } from './handlers.js';
export { createServices, type Services, type ServicesOptions } from '../services/services.js';
export { rootsPolicy, ChosenFilesPolicy, type FileAccessPolicy } from '../services/files/policy.js';
export { createMediaHandler, type MediaHandler } from '../services/media/handler.js';
