import { lookup as dnsLookup } from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isPublicAddress } from './public-url';

/**
 * Fetch a URL a user gave us into a file, safely (SSRF-proof, bounded).
 *
 * - http(s) only, no credentials in the URL.
 * - We resolve the host ourselves, check every address with `isPublicAddress`, and connect to the
 *   checked address (the socket's `lookup` is pinned to it), so DNS rebinding cannot swap the
 *   address between the check and the connection.
 * - Redirects are followed by hand (at most `maxRedirects`, default 5) and every hop is checked
 *   again: a public URL that redirects into 127.0.0.1, 10.x or 169.254.169.254 is refused.
 * - `allowHosts` (`host` or `host:port`) lifts the address check for named hosts (intranet/dev).
 * - A declared Content-Length above `maxBytes` is refused before reading; a body that grows past
 *   it is aborted. One overall timeout covers DNS, connects, redirects and the body.
 *
 * Errors are SafeFetchError with a message meant to follow "The URL ...", e.g. "points to a
 * private or reserved network address", "is larger than 50 MB", "timed out after 30 s",
 * "answered 404".
 */
export class SafeFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafeFetchError';
  }
}

export interface SafeFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /** hosts (`example.test` or `example.test:8080`) allowed even when they resolve to private addresses */
  allowHosts?: readonly string[];
  /** file to write the body to (created or truncated) */
  to: string;
  maxRedirects?: number;
  userAgent?: string;
}

export interface SafeFetchResult {
  /** the Content-Type the server declared (not trusted: sniff the bytes) */
  contentType: string | null;
  size: number;
  /** the URL the body came from, after redirects */
  finalUrl: string;
}

/** decimal megabytes, like the catalog's limits (1 MB = 1,000,000 bytes) */
const MB = 1_000_000;
export const formatMb = (bytes: number) => (bytes < MB ? `${Math.round(bytes / 1000)} KB` : `${Number((bytes / MB).toFixed(1))} MB`);

/** a checked URL and the address to connect to (pin the socket's lookup to it) */
export interface Target {
  url: URL;
  address: string;
  family: 4 | 6;
}

export function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export function defaultPort(u: URL): string {
  return u.port || (u.protocol === 'https:' ? '443' : '80');
}

function isAllowed(u: URL, allowHosts: readonly string[]): boolean {
  const host = hostOf(u);
  const withPort = `${host}:${defaultPort(u)}`;
  return allowHosts.some((entry) => {
    const e = entry
      .trim()
      .toLowerCase()
      .replace(/^\[([^\]]+)\]/, '$1');
    return e !== '' && (e === host || e === withPort);
  });
}

export function parseAllowHosts(setting: string | undefined): string[] {
  return (setting ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Resolve and check `raw` (see the header comment); throws SafeFetchError. Shared with safe-post.ts. */
export async function resolveTarget(raw: string | URL, allowHosts: readonly string[]): Promise<Target> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new SafeFetchError('is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SafeFetchError('must be an http(s) URL');
  if (u.username || u.password) throw new SafeFetchError('must not contain credentials');
  const host = hostOf(u);
  let addresses: { address: string; family: number }[];
  if (net.isIP(host)) addresses = [{ address: host, family: net.isIP(host) }];
  else {
    addresses = await dnsLookup(host, { all: true, verbatim: true }).catch(() => []);
  }
  const [first] = addresses;
  if (!first) throw new SafeFetchError(`host ${host} could not be resolved`);
  if (!isAllowed(u, allowHosts) && !addresses.every((a) => isPublicAddress(a.address))) {
    throw new SafeFetchError('points to a private or reserved network address');
  }
  return { url: u, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * Throws SafeFetchError unless `url` is an http(s) URL without credentials whose host resolves only
 * to public addresses (or is in `allowHosts`): the check safeFetch makes before each request, for
 * refusing a URL early (at submit) without fetching it.
 */
export async function assertFetchableUrl(url: string, allowHosts: readonly string[] = []): Promise<void> {
  await resolveTarget(url, allowHosts);
}

/**
 * What node:http(s).request needs to reach `target` at the address that passed the check and no
 * other: the DNS lookup is pinned, so a rebinding between the check and the connection cannot move
 * it; TLS still verifies the host name.
 */
export function pinnedRequest(
  target: Target,
  opts: { method: 'GET' | 'POST'; headers: Record<string, string>; signal: AbortSignal },
): { mod: typeof http | typeof https; options: https.RequestOptions } {
  const { url, address, family } = target;
  const pinnedLookup = (_host: string, options: { all?: boolean } | number | null | undefined, cb: (...args: unknown[]) => void) => {
    if (typeof options === 'object' && options?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  };
  const host = hostOf(url);
  return {
    mod: url.protocol === 'https:' ? https : http,
    options: {
      protocol: url.protocol,
      hostname: host,
      port: defaultPort(url),
      path: `${url.pathname}${url.search}`,
      method: opts.method,
      headers: opts.headers,
      lookup: pinnedLookup as unknown as net.LookupFunction,
      agent: false,
      signal: opts.signal,
      ...(url.protocol === 'https:' && !net.isIP(host) ? { servername: host } : {}),
    },
  };
}

/** One request to the checked address; resolves with the response (headers only read). */
function request(target: Target, opts: { signal: AbortSignal; userAgent: string }): Promise<http.IncomingMessage> {
  const { mod, options } = pinnedRequest(target, {
    method: 'GET',
    headers: { 'user-agent': opts.userAgent, accept: 'image/*, video/*, audio/*, */*;q=0.5', 'accept-encoding': 'identity' },
    signal: opts.signal,
  });
  return new Promise((resolve, reject) => {
    const req = mod.request(options, resolve);
    req.on('error', reject);
    req.end();
  });
}

/**
 * One deadline for a whole request (DNS, connect, redirects, body): `signal` aborts the sockets,
 * `guard(p)` rejects with a SafeFetchError when the time runs out first, `timedOut()` tells a
 * socket error caused by the abort from another, `clear()` stops the timer.
 */
export function createDeadline(timeoutMs: number) {
  const controller = new AbortController();
  const message = `timed out after ${Number((timeoutMs / 1000).toFixed(1))} s`;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new SafeFetchError(message));
  }, timeoutMs);
  return {
    signal: controller.signal,
    message,
    timedOut: () => timedOut,
    clear: () => clearTimeout(timer),
    guard: <T>(p: Promise<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (controller.signal.aborted) return reject(new SafeFetchError(message));
        const onAbort = () => reject(new SafeFetchError(message));
        controller.signal.addEventListener('abort', onAbort, { once: true });
        p.then(resolve, reject).finally(() => controller.signal.removeEventListener('abort', onAbort));
      }),
  };
}

export async function safeFetch(rawUrl: string, options: SafeFetchOptions): Promise<SafeFetchResult> {
  const { maxBytes, timeoutMs, to } = options;
  const allowHosts = options.allowHosts ?? [];
  const maxRedirects = options.maxRedirects ?? 5;
  const deadline = createDeadline(timeoutMs);
  const { guard } = deadline;
  try {
    let current: string | URL = rawUrl;
    for (let hop = 0; ; hop++) {
      const target: Target = await guard(resolveTarget(current, allowHosts));
      let res: http.IncomingMessage;
      try {
        res = await guard(request(target, { signal: deadline.signal, userAgent: options.userAgent ?? 'SaveSora-ReferenceFetcher/1.0' }));
      } catch (err) {
        if (err instanceof SafeFetchError) throw err;
        if (deadline.timedOut()) throw new SafeFetchError(deadline.message);
        const code = (err as NodeJS.ErrnoException).code;
        throw new SafeFetchError(`could not be fetched${code ? ` (${code})` : ''}`);
      }
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.destroy();
        if (hop >= maxRedirects) throw new SafeFetchError(`redirected more than ${maxRedirects} times`);
        try {
          current = new URL(res.headers.location, target.url);
        } catch {
          throw new SafeFetchError('redirected to an invalid URL');
        }
        continue;
      }
      if (status < 200 || status >= 300) {
        res.destroy();
        throw new SafeFetchError(`answered ${status}`);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        res.destroy();
        throw new SafeFetchError(`is larger than ${formatMb(maxBytes)}`);
      }
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (size > maxBytes) cb(new SafeFetchError(`is larger than ${formatMb(maxBytes)}`));
          else cb(null, chunk);
        },
      });
      try {
        await pipeline(res, counter, fs.createWriteStream(to));
      } catch (err) {
        if (err instanceof SafeFetchError) throw err;
        if (deadline.timedOut()) throw new SafeFetchError(deadline.message);
        throw new SafeFetchError('could not be read to the end');
      }
      const type = res.headers['content-type'];
      return { contentType: typeof type === 'string' ? type : null, size, finalUrl: target.url.toString() };
    }
  } finally {
    deadline.clear();
  }
}
