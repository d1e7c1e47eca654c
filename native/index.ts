// The native engine from TypeScript: the addon loader and the attention core's typed API.
export { addonPath, API_VERSION, loadAddon } from './addon.js';
export * from './attention.js';
