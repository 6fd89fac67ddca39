import fs from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ObjectNotFound,
  parseRangeHeader,
  RangeNotSatisfiable,
  resolveRange,
  type ByteRange,
  type GetResult,
  type ObjectInfo,
  type ObjectStore,
} from '../adapters/storage/store';
import { errorPayload } from './errors';

/**
 * Stream a file with HTTP Range support (video players seek with Range requests). One range per
 * request; an unsatisfiable range answers 416.
 */
export async function sendFile(req: FastifyRequest, reply: FastifyReply, file: string, contentType: string): Promise<FastifyReply> {
  let size: number;
  try {
    size = (await fs.promises.stat(file)).size;
  } catch {
    return reply.status(404).send({ error: { code: 'not_found', message: 'That file is no longer available.' } });
  }
  reply.header('accept-ranges', 'bytes').header('content-type', contentType);
  const range = req.headers.range;
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
  if (range && m && (m[1] || m[2])) {
    let start = m[1] ? Number(m[1]) : Math.max(0, size - Number(m[2]));
    let end = m[1] && m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    if (!m[1]) end = size - 1;
    if (start >= size || start > end) {
      return reply
        .status(416)
        .header('content-range', `bytes */${size}`)
        .send({ error: { code: 'range_not_satisfiable', message: 'Requested range not satisfiable.' } });
    }
    start = Math.max(0, start);
    return reply
      .status(206)
      .header('content-range', `bytes ${start}-${end}/${size}`)
      .header('content-length', String(end - start + 1))
      .send(fs.createReadStream(file, { start, end }));
  }
  return reply.header('content-length', String(size)).send(fs.createReadStream(file));
}

/**
 * Answer GET or HEAD with an object of the store: one byte range (206; 416 past the end), ETag and
 * If-None-Match (304), If-Range, Last-Modified, and Content-Type / Content-Disposition (the given
 * ones, else the stored type). Used by the disk store's signed URLs and by `/v1` content downloads.
 */
export async function sendStoredObject(
  req: FastifyRequest,
  reply: FastifyReply,
  store: ObjectStore,
  key: string,
  opts: {
    contentType?: string;
    disposition?: string;
    /** answer a missing object (404) or a range past its end (416) in the caller's error shape (throw) */
    fail?: (status: 404 | 416, code: 'not_found' | 'range_not_satisfiable', message: string) => never;
  } = {},
): Promise<FastifyReply> {
  reply.header('accept-ranges', 'bytes');
  const describe = (info: ObjectInfo) => {
    reply
      .header('content-type', opts.contentType ?? info.contentType)
      .header('etag', `"${info.etag}"`)
      .header('last-modified', info.lastModified.toUTCString());
    if (opts.disposition) reply.header('content-disposition', opts.disposition);
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
        return await reply.status(304).send();
      }
    }
    // If-Range names another version: send the whole current object instead
    if (range && ifRange && info && !ifRangeHolds(ifRange, info)) range = null;

    if (req.method === 'HEAD') {
      const head = info ?? (await store.head(key)); // (fetched above for every HEAD)
      describe(head);
      if (range) {
        const r = resolveRange(key, range, head.size);
        return await reply
          .status(206)
          .header('content-range', `bytes ${r.start}-${r.end}/${head.size}`)
          .header('content-length', String(r.end - r.start + 1))
          .send();
      }
      return await reply.status(200).header('content-length', String(head.size)).send();
    }

    const got: GetResult = await store.get(key, range ? { range } : {});
    describe(got);
    if (got.range) {
      return await reply
        .status(206)
        .header('content-range', `bytes ${got.range.start}-${got.range.end}/${got.size}`)
        .header('content-length', String(got.range.end - got.range.start + 1))
        .send(got.body);
    }
    return await reply.status(200).header('content-length', String(got.size)).send(got.body);
  } catch (err) {
    const answer = (status: 404 | 416, code: 'not_found' | 'range_not_satisfiable', message: string) => {
      opts.fail?.(status, code, message);
      return reply.status(status).send(errorPayload(code, message));
    };
    if (err instanceof ObjectNotFound) {
      reply.header('cache-control', 'no-store');
      return answer(404, 'not_found', 'That file is no longer available.');
    }
    if (err instanceof RangeNotSatisfiable) {
      reply.header('content-range', `bytes */${err.size}`);
      return answer(416, 'range_not_satisfiable', 'The requested range is outside the file.');
    }
    throw err;
  }
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
