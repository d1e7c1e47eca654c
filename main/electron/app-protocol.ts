import { protocol } from 'electron';
import { electronOrigin } from '../../app/contract/host.js';
import type { HostBackend } from '../web/backend.js';
import { contentSecurityPolicy, createRendererFiles } from '../web/renderer-files.js';

const scheme = new URL(electronOrigin).protocol.slice(0, -1);
const bundleHost = new URL(electronOrigin).host;

/**
 * Must run before the app is ready. `standard` + `secure` give the page a real origin and secure context;
 * `supportFetchAPI` lets it fetch binary data; `stream` is what <video> needs to read media.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme,
      privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true },
    },
  ]);
}

/** app://bundle/ serves the built renderer; app://bundle/api/… the same media handlers as the web host. */
export function serveAppProtocol(rendererDir: string, backend: HostBackend): void {
  const files = createRendererFiles(rendererDir, () => contentSecurityPolicy());
  protocol.handle(scheme, async (request) => {
    const url = new URL(request.url);
    if (url.host !== bundleHost) return new Response('Not found', { status: 404 });
    try {
      return url.pathname.startsWith('/api/') ? await backend.http(request) : await files(request);
    } catch {
      return new Response('Internal error', { status: 500 });
    }
  });
}
