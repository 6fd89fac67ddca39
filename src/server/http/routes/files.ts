import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { FILES_PATH_PREFIX, verifyDiskSignature, type DiskSignatureVerdict, type SignedFileParams } from '../../adapters/storage/disk';
import {
  ObjectNotFound,
  parseRangeHeader,
  RangeNotSatisfiable,
  resolveRange,
  type ByteRange,
  type GetResult,
  type ObjectInfo,
  type ObjectStore,
} from '../../adapters/storage/store';
import { errorPayload } from '../errors';

export interface FilesRouteOptions {
  store: ObjectStore;
  /**
   * The keys disk URLs are signed with (newest first). Optional when `store` is the disk store,
   * which verifies with its own keys.
   */
  signingSecret?: string | readonly string[];
  /** clock in milliseconds (tests) */
  now?: () => number;
}

/**
 * `GET|HEAD /files/<key>?exp=&dl=&ct=&sig=`: the disk store's signed URLs. No session: the
 * signature is the permission. Checks the HMAC (403 `invalid_signature`), then the expiry (403
 * `url_expired`), then streams the object with Range (206/416), ETag/If-None-Match (304) and
 * If-Range, the signed Content-Disposition / Content-Type, and a private cache lifetime that ends
 * when the URL does.
 *
 * The key is taken from the raw request path and never decoded: keys only use characters that need
 * no escaping, so `%` anywhere, `..`, `//` or a leading `.` in a segment is refused as an invalid
 * signature before the store is touched.
 */
export const filesRoutes: FastifyPluginAsyncZod<FilesRouteOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now;
  const storeVerify = (opts.store as { verify?: (p: SignedFileParams) => DiskSignatureVerdict }).verify;
  const verify = opts.signingSecret
    ? (p: SignedFileParams) => verifyDiskSignature(opts.signingSecret!, p, now())
    : storeVerify
      ? storeVerify.bind(opts.store)
      : undefined;
  if (!verify) throw new Error('filesRoutes needs signingSecret unless its store is the disk store');
  const { store } = opts;

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.raw.url ?? req.url;
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    if (!rawPath.startsWith(FILES_PATH_PREFIX)) return deny(reply, 'invalid_signature');
    if (['exp', 'sig', 'dl', 'ct'].some((name) => query.getAll(name).length > 1)) return deny(reply, 'invalid_signature');
    const params: SignedFileParams = { key: rawPath.slice(FILES_PATH_PREFIX.length) };
    for (const name of ['exp', 'sig', 'dl', 'ct'] as const) {
      const value = query.get(name);
      if (value !== null) params[name] = value;
    }
    const verdict = verify(params);
    if (!verdict.ok) return deny(reply, verdict.reason);

    const key = verdict.key;
    const maxAge = Math.max(0, verdict.expiresAt - Math.floor(now() / 1000));
    reply
      .header('cache-control', `private, max-age=${maxAge}`)
      .header('x-content-type-options', 'nosniff')
      .header('x-robots-tag', 'noindex, nofollow')
      // whatever was stored, it never runs as a page of our origin
      .header('content-security-policy', "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox")
      .header('accept-ranges', 'bytes');

    const describe = (info: ObjectInfo) => {
      reply
        .header('content-type', verdict.contentType ?? info.contentType)
        .header('etag', `"${info.etag}"`)
        .header('last-modified', info.lastModified.toUTCString());
      if (verdict.disposition) reply.header('content-disposition', verdict.disposition);
    };

    try {
      const ifNoneMatch = headerValue(req.headers['if-none-match']);
      const ifRange = headerValue(req.headers['if-range']);
      let range: ByteRange | null = parseRangeHeader(req.headers.range);
      let info: ObjectInfo | undefined;
      if (ifNoneMatch || req.method === 'HEAD' || (range && ifRange)) {
        info = await store.head(key);
        if (ifNoneMatch && etagMatches(ifNoneMatch, info.etag)) {
          reply.header('etag', `"${info.etag}"`);
          return reply.status(304).send();
        }
      }
      // If-Range names another version: send the whole current object instead
      if (range && ifRange && info && !ifRangeHolds(ifRange, info)) range = null;

      if (req.method === 'HEAD') {
        const head = info!;
        describe(head);
        if (range) {
          const r = resolveRange(key, range, head.size);
          return reply
            .status(206)
            .header('content-range', `bytes ${r.start}-${r.end}/${head.size}`)
            .header('content-length', String(r.end - r.start + 1))
            .send();
        }
        return reply.status(200).header('content-length', String(head.size)).send();
      }

      const got: GetResult = await store.get(key, range ? { range } : {});
      describe(got);
      if (got.range) {
        return reply
          .status(206)
          .header('content-range', `bytes ${got.range.start}-${got.range.end}/${got.size}`)
          .header('content-length', String(got.range.end - got.range.start + 1))
          .send(got.body);
      }
      return reply.status(200).header('content-length', String(got.size)).send(got.body);
    } catch (err) {
      if (err instanceof ObjectNotFound) {
        return reply.status(404).header('cache-control', 'no-store').send(errorPayload('not_found', 'That file is no longer available.'));
      }
      if (err instanceof RangeNotSatisfiable) {
        return reply
          .status(416)
          .header('content-range', `bytes */${err.size}`)
          .send(errorPayload('range_not_satisfiable', 'The requested range is outside the file.'));
      }
      throw err;
    }
  };

  app.route({ method: ['GET', 'HEAD'], url: `${FILES_PATH_PREFIX}*`, schema: { hide: true }, handler });
};

function deny(reply: FastifyReply, reason: 'invalid_signature' | 'url_expired') {
  const message = reason === 'url_expired' ? 'This link has expired. Open the file again from the app to get a new one.' : 'This link is not valid.';
  return reply.status(403).header('cache-control', 'no-store').send(errorPayload(reason, message));
}

/** If-None-Match: `*` or a list of (weak or strong) tags; weak comparison as RFC 9110 asks. */
function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === `"${etag}"`);
}

/** If-Range: a strong ETag that must match exactly, or a date no older than the object. */
function ifRangeHolds(header: string, info: ObjectInfo): boolean {
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === `"${info.etag}"`;
  const date = Date.parse(value);
  return Number.isFinite(date) && Math.floor(info.lastModified.getTime() / 1000) <= Math.floor(date / 1000);
}

const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(', ') : v);
