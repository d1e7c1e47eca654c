// The native engine from TypeScript: the addon loader, typed errors, the attention core, the model runtime and the
// offline pattern search.
export { addonPath, API_VERSION, loadAddon } from './addon.js';
export * from './errors.js';
export * from './attention.js';
export * from './model.js';
export * from './patterns.js';
