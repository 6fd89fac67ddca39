import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { FILES_PATH_PREFIX, verifyDiskSignature, type DiskSignatureVerdict, type SignedFileParams } from '../../adapters/storage/disk';
import type { ObjectStore } from '../../adapters/storage/store';
import { errorPayload } from '../errors';
import { sendStoredObject } from '../send-file';

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
  const { signingSecret } = opts;
  const verify = signingSecret ? (p: SignedFileParams) => verifyDiskSignature(signingSecret, p, now()) : storeVerify ? storeVerify.bind(opts.store) : undefined;
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
    // the quarantine area (moderation evidence) is served by the moderators' evidence route only, never by a link
    if (key.startsWith('quarantine/')) return deny(reply, 'invalid_signature');
    const maxAge = Math.max(0, verdict.expiresAt - Math.floor(now() / 1000));
    reply
      .header('cache-control', `private, max-age=${maxAge}`)
      .header('x-content-type-options', 'nosniff')
      .header('x-robots-tag', 'noindex, nofollow')
      // whatever was stored, it never runs as a page of our origin
      .header('content-security-policy', "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox")
      .header('accept-ranges', 'bytes');

    return sendStoredObject(req, reply, store, key, {
      ...(verdict.contentType ? { contentType: verdict.contentType } : {}),
      ...(verdict.disposition ? { disposition: verdict.disposition } : {}),
    });
  };

  app.route({ method: ['GET', 'HEAD'], url: `${FILES_PATH_PREFIX}*`, schema: { hide: true }, handler });
};

function deny(reply: FastifyReply, reason: 'invalid_signature' | 'url_expired') {
  const message = reason === 'url_expired' ? 'This link has expired. Open the file again from the app to get a new one.' : 'This link is not valid.';
  return reply.status(403).header('cache-control', 'no-store').send(errorPayload(reason, message));
}
