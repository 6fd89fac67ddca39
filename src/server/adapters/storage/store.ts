/**
 * The port every object store implements: local disk (HMAC-signed URLs served by our own
 * `/files/*` route) and S3-compatible storage (AWS S3, Cloudflare R2, MinIO; presigned URLs).
 *
 * Services never touch the filesystem or the S3 API for media: they put, get and sign URLs for
 * keys through this interface. One contract suite (tests/contract/storage.test.ts) runs against
 * every implementation.
 *
 * Keys. A key is `^[a-z0-9][a-z0-9/_.-]{0,255}$`: lowercase segments separated by `/`, no empty
 * segment, no segment starting with `.` (so no `.` or `..`) or longer than 200 characters, no
 * leading or trailing `/`. Keys never
 * contain user-supplied names: callers build them from ids with `objectKey('media', id, 'video.mp4')`.
 * A user's file name only ever appears in a signed URL's `downloadName` (Content-Disposition), which
 * is sanitized here.
 */
import type { Readable } from 'node:stream';

export type ObjectStoreKind = 'disk' | 's3';

export interface PutOptions {
  /** e.g. `video/mp4`; stored and served as the object's Content-Type */
  contentType: string;
  /** when known; a body of another length fails the put (nothing is stored) */
  contentLength?: number;
  /** stored with the object where the store serves it directly (S3); the disk route sets its own */
  cacheControl?: string;
}

export interface PutResult {
  key: string;
  /** bytes stored */
  size: number;
  /** opaque entity tag, without quotes (disk: the sha256; S3: the store's ETag) */
  etag: string;
  /** lowercase hex sha256 of the bytes stored, computed while streaming */
  sha256: string;
}

/**
 * A byte range, inclusive at both ends like HTTP: `{start: 0, end: 99}` is the first 100 bytes,
 * `{start: 100}` is everything from byte 100, `{suffix: 100}` is the last 100 bytes. An `end` past
 * the last byte is clamped; a `start` at or past the size throws RangeNotSatisfiable.
 */
export type ByteRange = { start: number; end?: number } | { suffix: number };

export interface ObjectInfo {
  key: string;
  /** total size of the object in bytes */
  size: number;
  contentType: string;
  /** opaque entity tag, without quotes */
  etag: string;
  lastModified: Date;
  /** known for every disk object; for S3, for objects uploaded in one part */
  sha256?: string;
  cacheControl?: string;
}

export interface GetResult extends ObjectInfo {
  /** the whole object, or only the requested range */
  body: Readable;
  /** the bytes `body` holds (inclusive), when a range was asked for */
  range?: { start: number; end: number };
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ListOptions {
  /** from the previous page's `cursor` */
  cursor?: string;
  /** page size, 1..1000 */
  limit: number;
}

export interface ListPage {
  /** in key order (byte order of the key) */
  items: ListedObject[];
  /** set when more objects may follow: pass it back to get the next page */
  cursor?: string;
}

export interface SignedUrlOptions {
  /** default 3600 (one hour); at most 7 days (S3's own limit); more is rejected */
  expiresInSeconds?: number;
  /**
   * Serve as a download (`Content-Disposition: attachment`) under this name. Any text is allowed:
   * it is reduced to a safe ASCII `filename` plus an RFC 5987 `filename*` (UTF-8).
   */
  downloadName?: string;
  /** `Content-Disposition: inline` (with the file name, when one is given) rather than attachment */
  inline?: boolean;
  /** override the stored Content-Type for this URL only */
  contentType?: string;
}

export const DEFAULT_SIGNED_URL_SECONDS = 3600;
export const MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600;

export interface ObjectStore {
  readonly kind: ObjectStoreKind;
  /**
   * Store an object. A stream is never held in memory as a whole: size and sha256 are computed
   * while it flows. The object appears atomically (readers see the old object or the new one).
   */
  put(key: string, body: Readable | Buffer, options: PutOptions): Promise<PutResult>;
  /** Throws ObjectNotFound, or RangeNotSatisfiable for a range past the end. */
  get(key: string, options?: { range?: ByteRange }): Promise<GetResult>;
  /** Throws ObjectNotFound. */
  head(key: string): Promise<ObjectInfo>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  /** Idempotent, like delete; batched where the store supports it. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Objects whose key starts with `prefix` (`''` for all), one page at a time (purge jobs). */
  list(prefix: string, options: ListOptions): Promise<ListPage>;
  /**
   * An absolute URL anyone holding it can GET (and HEAD) until it expires, with Range support.
   * Does not check that the object exists.
   */
  signedUrl(key: string, options?: SignedUrlOptions): Promise<string>;
  /** Release sockets. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// errors

export type ObjectStoreErrorCode = 'not_found' | 'range_not_satisfiable' | 'invalid_key' | 'invalid_argument' | 'size_mismatch' | 'storage_failure';

export class ObjectStoreError extends Error {
  readonly code: ObjectStoreErrorCode;
  constructor(code: ObjectStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ObjectStoreError';
    this.code = code;
  }
}

export class ObjectNotFound extends ObjectStoreError {
  readonly key: string;
  constructor(key: string, options?: { cause?: unknown }) {
    super('not_found', `No object stored under ${key}.`, options);
    this.name = 'ObjectNotFound';
    this.key = key;
  }
}

export class RangeNotSatisfiable extends ObjectStoreError {
  readonly key: string;
  /** the object's total size, for `Content-Range: bytes *\/size` */
  readonly size: number;
  constructor(key: string, size: number) {
    super('range_not_satisfiable', `The requested range is outside ${key} (${size} bytes).`);
    this.name = 'RangeNotSatisfiable';
    this.key = key;
    this.size = size;
  }
}

export class InvalidObjectKey extends ObjectStoreError {
  constructor(key: string, why: string) {
    super('invalid_key', `Invalid object key ${JSON.stringify(key.slice(0, 300))}: ${why}.`);
    this.name = 'InvalidObjectKey';
  }
}

export const isObjectNotFound = (err: unknown): err is ObjectNotFound => err instanceof ObjectNotFound;

// ---------------------------------------------------------------------------------------------
// keys

const KEY_RE = /^[a-z0-9][a-z0-9/_.-]{0,255}$/;
const SEGMENT_RE = /^[a-z0-9_-][a-z0-9_.-]*$/;
const MAX_SEGMENT = 200;

/** Why `key` is not a valid key, or null when it is. */
export function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return 'not a string';
  if (!KEY_RE.test(key)) return 'use 1-256 characters of a-z 0-9 / _ . - starting with a letter or digit';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty path segment';
    if (!SEGMENT_RE.test(segment)) return 'a path segment starts with "."';
    // the disk store adds up to 18 characters to a segment; file names stop at 255 bytes
    if (segment.length > MAX_SEGMENT) return `a path segment is longer than ${MAX_SEGMENT} characters`;
  }
  return null;
}

export const isValidKey = (key: unknown): key is string => keyProblem(key) === null;

/** Throws InvalidObjectKey unless `key` is valid; returns it. */
export function assertKey(key: string): string {
  const problem = keyProblem(key);
  if (problem) throw new InvalidObjectKey(key, problem);
  return key;
}

/**
 * Build a key from parts (ids and fixed names), e.g. `objectKey('media', videoId, 'poster.jpg')`.
 * Every part must be one valid segment (no `/`); throws InvalidObjectKey otherwise.
 */
export function objectKey(...parts: string[]): string {
  if (parts.length === 0) throw new InvalidObjectKey('', 'no parts');
  for (const part of parts) {
    if (typeof part !== 'string' || part.includes('/') || !SEGMENT_RE.test(part)) {
      throw new InvalidObjectKey(part, 'each part must be one segment of a-z 0-9 _ . - not starting with "."');
    }
  }
  return assertKey(parts.join('/'));
}

/** A list prefix: `''` or the start of a key (may end with `/`, may end inside a segment). */
export function assertPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const segments = typeof prefix === 'string' ? prefix.split('/') : [];
  const last = segments.pop();
  const ok =
    typeof prefix === 'string' &&
    prefix.length <= 256 &&
    /^[a-z0-9][a-z0-9/_.-]*$/.test(prefix) &&
    segments.every((s) => SEGMENT_RE.test(s)) &&
    (last === '' || SEGMENT_RE.test(last ?? ''));
  if (!ok) throw new InvalidObjectKey(prefix, 'invalid list prefix');
  return prefix;
}

// ---------------------------------------------------------------------------------------------
// shared helpers for adapters and routes

export function assertPutOptions(options: PutOptions): void {
  if (typeof options.contentType !== 'string' || !isSafeContentType(options.contentType)) {
    throw new ObjectStoreError('invalid_argument', 'contentType must be a MIME type such as video/mp4.');
  }
  if (options.contentLength !== undefined && (!Number.isSafeInteger(options.contentLength) || options.contentLength < 0)) {
    throw new ObjectStoreError('invalid_argument', 'contentLength must be a whole number of bytes.');
  }
  if (options.cacheControl !== undefined && !/^[\x20-\x7e]{1,200}$/.test(options.cacheControl)) {
    throw new ObjectStoreError('invalid_argument', 'cacheControl must be printable ASCII.');
  }
}

/** `type/subtype` with optional parameters, printable ASCII, no quotes games. */
export function isSafeContentType(value: string): boolean {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}(\s*;\s*[a-z0-9_-]+=[a-z0-9_.+-]+)*$/i.test(value);
}

/** Validates and defaults `expiresInSeconds`; throws ObjectStoreError('invalid_argument'). */
export function signedUrlLifetime(options: SignedUrlOptions | undefined): number {
  const seconds = options?.expiresInSeconds ?? DEFAULT_SIGNED_URL_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SIGNED_URL_SECONDS) {
    throw new ObjectStoreError('invalid_argument', `expiresInSeconds must be a whole number from 1 to ${MAX_SIGNED_URL_SECONDS} (7 days).`);
  }
  if (options?.contentType !== undefined && !isSafeContentType(options.contentType)) {
    throw new ObjectStoreError('invalid_argument', 'contentType must be a MIME type such as video/mp4.');
  }
  if (options?.downloadName !== undefined && typeof options.downloadName !== 'string') {
    throw new ObjectStoreError('invalid_argument', 'downloadName must be a string.');
  }
  return seconds;
}

/**
 * The Content-Disposition value for a signed URL, or undefined when the URL needs none.
 * The result is printable ASCII only: `attachment; filename="safe.mp4"; filename*=UTF-8''...`.
 */
export function dispositionFor(options: SignedUrlOptions | undefined): string | undefined {
  const name = options?.downloadName;
  if (name === undefined) return options?.inline ? 'inline' : undefined;
  return contentDisposition(options?.inline ? 'inline' : 'attachment', name);
}

/**
 * A safe Content-Disposition for any file name: path separators, control characters, quotes and
 * other specials are replaced in the ASCII `filename`; the full (cleaned) name travels UTF-8
 * percent-encoded in `filename*` (RFC 6266 / RFC 5987).
 */
export function contentDisposition(type: 'inline' | 'attachment', fileName: string): string {
  // the name a user sees: no paths, no control or bidi-override characters, bounded length
  let clean = fileName
    .normalize('NFC')
    // lone surrogates (not encodable), control characters and bidi overrides
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .replace(/[/\\]/g, '_')
    .trim()
    .replace(/^\.+/, '');
  clean = Array.from(clean).slice(0, 150).join('').trim();
  if (!clean) clean = 'download';
  const ascii =
    clean
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9 ._()+,=@-]/g, '_')
      .replace(/^\.+/, '')
      .trim() || 'download';
  const encoded = encodeURIComponent(clean).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return ascii === clean ? `${type}; filename="${ascii}"` : `${type}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * Parse an HTTP `Range` header into a ByteRange, or null when there is no usable single byte range
 * (absent, malformed, another unit, several ranges): then the whole object is served (RFC 9110).
 */
export function parseRangeHeader(header: string | undefined): ByteRange | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    return Number.isSafeInteger(suffix) ? { suffix } : null;
  }
  const start = Number(m[1]);
  if (!Number.isSafeInteger(start)) return null;
  if (m[2] === '') return { start };
  const end = Number(m[2]);
  if (!Number.isSafeInteger(end) || end < start) return null;
  return { start, end };
}

/**
 * Resolve a ByteRange against a size (the adapters' shared rule). Throws RangeNotSatisfiable.
 * Invalid ranges (negative, end before start) throw invalid_argument.
 */
export function resolveRange(key: string, range: ByteRange, size: number): { start: number; end: number } {
  if ('suffix' in range) {
    if (!Number.isSafeInteger(range.suffix) || range.suffix < 0) throw new ObjectStoreError('invalid_argument', 'range.suffix must be a whole number.');
    if (range.suffix === 0 || size === 0) throw new RangeNotSatisfiable(key, size);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  assertRange(range);
  if (range.start >= size) throw new RangeNotSatisfiable(key, size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

export function assertRange(range: ByteRange): void {
  if ('suffix' in range) {
    if (!Number.isSafeInteger(range.suffix) || range.suffix < 0) throw new ObjectStoreError('invalid_argument', 'range.suffix must be a whole number.');
    return;
  }
  if (!Number.isSafeInteger(range.start) || range.start < 0) throw new ObjectStoreError('invalid_argument', 'range.start must be a whole number.');
  if (range.end !== undefined && (!Number.isSafeInteger(range.end) || range.end < range.start)) {
    throw new ObjectStoreError('invalid_argument', 'range.end must be a whole number not before range.start.');
  }
}

export function assertListOptions(options: ListOptions): void {
  if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 1000) {
    throw new ObjectStoreError('invalid_argument', 'limit must be a whole number from 1 to 1000.');
  }
}
