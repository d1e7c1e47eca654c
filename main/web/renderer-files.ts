import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

// The built renderer (dist/renderer) as a `(Request) => Response` function, so the web host and Electron's
// app:// protocol serve the page the same way: only files inside the folder, a strict CSP on the page.

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/**
 * The page's Content Security Policy. Scripts, styles, images and media come from the page's own origin only;
 * `connectSrc` adds the web host's WebSocket URL (Electron's renderer needs no socket).
 */
export function contentSecurityPolicy(connectSrc: readonly string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    `connect-src ${["'self'", ...connectSrc].join(' ')}`,
    "font-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

export const securityHeaders: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export type RequestHandler = (request: Request) => Promise<Response>;

export function createRendererFiles(rootDir: string, csp: (request: Request) => string): RequestHandler {
  const root = path.resolve(rootDir);
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('Method not allowed', { status: 405, headers: { allow: 'GET, HEAD' } });
    }
    const file = resolveInside(root, new URL(request.url).pathname);
    if (file === null) return new Response('Not found', { status: 404 });
    let body: Buffer;
    try {
      if (!(await stat(file)).isFile()) return new Response('Not found', { status: 404 });
      body = await readFile(file);
    } catch {
      return new Response('Not found', { status: 404 });
    }
    const ext = path.extname(file);
    const headers = new Headers(securityHeaders);
    headers.set('content-type', contentTypes[ext] ?? 'application/octet-stream');
    headers.set('content-length', String(body.byteLength));
    if (ext === '.html') {
      headers.set('content-security-policy', csp(request));
      headers.set('cache-control', 'no-store');
    }
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
  };
}

/** The file a URL path names inside root, or null when it would leave root (`..`, encoded slashes, NUL). */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const relative = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = path.resolve(root, relative);
  const rel = path.relative(root, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return file;
}
