import { timingSafeEqual } from 'node:crypto';

// Who may talk to the web host. A request needs the per-run token, a Host header naming this server (a page on
// another site that rebinds its DNS name to 127.0.0.1 still sends its own name) and, when the browser sends an
// Origin, the page's origin must be this server (so no other site's script can use a user's open tab).

export interface GuardConfig {
  token: string;
  /** Accepted Host header values (`name:port`), lower case; null accepts any (an explicit non-loopback bind). */
  allowedHosts: ReadonlySet<string> | null;
}

export interface RequestFacts {
  host: string | undefined;
  origin: string | undefined;
  token: string | null;
}

export type GuardVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export function loopbackHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Host and Origin only: what every request, including the page's own files, must pass. */
export function checkSite(facts: Omit<RequestFacts, 'token'>, config: GuardConfig): GuardVerdict {
  const host = facts.host?.toLowerCase();
  if (!host) return { ok: false, status: 403, reason: 'missing Host header' };
  if (config.allowedHosts && !config.allowedHosts.has(host))
    return { ok: false, status: 403, reason: `foreign Host ${host}` };
  if (facts.origin !== undefined && facts.origin.toLowerCase() !== `http://${host}`) {
    return { ok: false, status: 403, reason: `foreign Origin ${facts.origin}` };
  }
  return { ok: true };
}

/** Host, Origin and the token: what the API (WebSocket and /api/ fetches) requires. */
export function checkApiRequest(facts: RequestFacts, config: GuardConfig): GuardVerdict {
  const site = checkSite(facts, config);
  if (!site.ok) return site;
  if (facts.token === null || !sameSecret(facts.token, config.token)) {
    return { ok: false, status: 401, reason: 'missing or wrong token' };
  }
  return { ok: true };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
