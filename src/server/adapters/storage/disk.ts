import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertKey,
  assertListOptions,
  assertPrefix,
  assertPutOptions,
  dispositionFor,
  isSafeContentType,
  isValidKey,
  ObjectNotFound,
  ObjectStoreError,
  resolveRange,
  signedUrlLifetime,
  type ByteRange,
  type GetResult,
  type ListedObject,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type SignedUrlOptions,
} from './store';

/**
 * The local-disk object store (the default; one machine or a shared volume).
 *
 * Layout under `root`:
 *   objects/<key dirs>/<name>~meta.json    the object's metadata; its rename is the commit point
 *   objects/<key dirs>/<name>~<ver>.data    the bytes of one version (named by the metadata)
 *   tmp/                                    uploads in progress (swept when older than a day)
 * Keys cannot contain `~`, so a key's files never collide with another key's directory, and the
 * tree mirrors the keys (an operator can find `media/<id>/video.mp4~….data` by eye).
 *
 * A put streams into tmp/ while hashing, renames the data into place under a fresh version name,
 * then atomically replaces the metadata: readers see the old object or the new one, never a mix.
 *
 * Signed URLs point at our own `/files/<key>` route (routes/files.ts), which checks an HMAC over
 * every query parameter that changes the response (see `canonicalString`).
 */

export const FILES_PATH_PREFIX = '/files/';

const META_SUFFIX = '~meta.json';
const TMP_MAX_AGE_MS = 24 * 3600 * 1000;

export interface DiskStoreOptions {
  /** the store's own directory (e.g. DATA_DIR/storage) */
  root: string;
  /** the public origin (and path) the app is served at, e.g. https://video.example.com */
  publicUrl: string;
  /**
   * HMAC key for signed URLs (at least 32 characters). Several keys (newest first) let you rotate:
   * URLs are signed with the first and accepted with any.
   */
  signingSecret: string | readonly string[];
  /** clock in milliseconds: signed URLs expire by it, objects are dated by it (default Date.now) */
  now?: () => number;
}

export interface DiskObjectStore extends ObjectStore {
  readonly kind: 'disk';
  readonly root: string;
  /** check a `/files/<key>?...` request's parameters against this store's signing keys */
  verify(params: SignedFileParams): DiskSignatureVerdict;
}

interface MetaFile {
  v: 1;
  key: string;
  size: number;
  contentType: string;
  cacheControl?: string;
  sha256: string;
  etag: string;
  /** file name of the data version, in the same directory */
  data: string;
  createdAt: string;
}

export function createDiskStore(options: DiskStoreOptions): DiskObjectStore {
  const root = path.resolve(options.root);
  const objectsDir = path.join(root, 'objects');
  const tmpDir = path.join(root, 'tmp');
  const secrets = normalizeSecrets(options.signingSecret);
  const now = options.now ?? Date.now;
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s?#]+$/.test(publicUrl)) throw new Error('publicUrl must be an absolute http(s) URL without query or fragment');
  fs.mkdirSync(objectsDir, { recursive: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  void sweepTmp(tmpDir, Date.now());

  /** [directory, object name] of a valid key */
  const locate = (key: string): [string, string] => {
    assertKey(key);
    const slash = key.lastIndexOf('/');
    const parts = slash < 0 ? [] : key.slice(0, slash).split('/');
    return [path.join(objectsDir, ...parts), key.slice(slash + 1)];
  };

  async function readMeta(key: string): Promise<{ meta: MetaFile; dir: string }> {
    const [dir, name] = locate(key);
    let text: string;
    try {
      text = await fs.promises.readFile(path.join(dir, name + META_SUFFIX), 'utf8');
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFound(key);
      throw new ObjectStoreError('storage_failure', `Cannot read ${key}: ${(err as Error).message}`, { cause: err });
    }
    let meta: MetaFile;
    try {
      meta = JSON.parse(text) as MetaFile;
    } catch (err) {
      throw new ObjectStoreError('storage_failure', `Corrupt metadata for ${key}.`, { cause: err });
    }
    // the data file is a sibling named after the object: never follow a path out of the directory
    if (
      typeof meta.data !== 'string' ||
      !meta.data.startsWith(`${name}~`) ||
      !/^[a-z0-9_.-]+~[0-9a-f]{12}\.data$/.test(meta.data) ||
      !Number.isSafeInteger(meta.size)
    ) {
      throw new ObjectStoreError('storage_failure', `Corrupt metadata for ${key}.`);
    }
    return { meta, dir };
  }

  const infoOf = (meta: MetaFile): ObjectInfo => ({
    key: meta.key,
    size: meta.size,
    contentType: meta.contentType,
    etag: meta.etag,
    lastModified: new Date(meta.createdAt),
    sha256: meta.sha256,
    ...(meta.cacheControl ? { cacheControl: meta.cacheControl } : {}),
  });

  async function removeEmptyDirs(dir: string): Promise<void> {
    while (dir.startsWith(objectsDir + path.sep)) {
      try {
        await fs.promises.rmdir(dir);
      } catch {
        return; // not empty (or already gone, or re-filled by a concurrent put)
      }
      dir = path.dirname(dir);
    }
  }

  async function deleteOne(key: string): Promise<void> {
    let found: { meta: MetaFile; dir: string };
    try {
      found = await readMeta(key);
    } catch (err) {
      if (err instanceof ObjectNotFound) return;
      throw err;
    }
    const [dir, name] = locate(key);
    await fs.promises.rm(path.join(dir, name + META_SUFFIX), { force: true });
    await fs.promises.rm(path.join(found.dir, found.meta.data), { force: true });
    await removeEmptyDirs(dir);
  }

  const store: DiskObjectStore = {
    kind: 'disk',
    root,

    async put(key: string, body: Readable | Buffer, putOptions: PutOptions): Promise<PutResult> {
      const [dir, name] = locate(key);
      assertPutOptions(putOptions);
      const tmp = path.join(tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);
      const hash = createHash('sha256');
      let size = 0;
      const expected = putOptions.contentLength;
      try {
        if (Buffer.isBuffer(body)) {
          hash.update(body);
          size = body.length;
          if (expected !== undefined && size !== expected) throw sizeMismatch(key, expected, size);
          await fs.promises.writeFile(tmp, body, { flag: 'wx', mode: 0o640 });
        } else {
          const meter = new Transform({
            transform(chunk: Buffer, _enc, done) {
              size += chunk.length;
              if (expected !== undefined && size > expected) {
                done(sizeMismatch(key, expected, size));
                return;
              }
              hash.update(chunk);
              done(null, chunk);
            },
          });
          await pipeline(body, meter, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o640 }));
          if (expected !== undefined && size !== expected) throw sizeMismatch(key, expected, size);
        }
        // durable before it becomes visible
        const handle = await fs.promises.open(tmp, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        const sha256 = hash.digest('hex');
        const dataName = `${name}~${randomBytes(6).toString('hex')}.data`;
        await renameInto(tmp, dir, dataName);

        let previous: MetaFile | undefined;
        try {
          previous = (await readMeta(key)).meta;
        } catch {
          previous = undefined;
        }
        const meta: MetaFile = {
          v: 1,
          key,
          size,
          contentType: putOptions.contentType,
          ...(putOptions.cacheControl ? { cacheControl: putOptions.cacheControl } : {}),
          sha256,
          etag: sha256,
          data: dataName,
          createdAt: new Date(now()).toISOString(),
        };
        const metaTmp = path.join(tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.json`);
        await fs.promises.writeFile(metaTmp, JSON.stringify(meta), { mode: 0o640 });
        await renameInto(metaTmp, dir, name + META_SUFFIX); // commit
        if (previous && previous.data !== dataName) await fs.promises.rm(path.join(dir, previous.data), { force: true });
        // a concurrent put of the same key may have committed after us: then our version is an orphan
        const current = await readMeta(key).catch(() => undefined);
        if (current && current.meta.data !== dataName) await fs.promises.rm(path.join(dir, dataName), { force: true });
        return { key, size, etag: sha256, sha256 };
      } catch (err) {
        await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
        if (!Buffer.isBuffer(body) && !body.destroyed) body.destroy();
        throw err instanceof ObjectStoreError ? err : new ObjectStoreError('storage_failure', `Cannot store ${key}: ${(err as Error).message}`, { cause: err });
      }
    },

    async get(key: string, getOptions: { range?: ByteRange } = {}): Promise<GetResult> {
      // one retry: an overwrite may remove the version between reading the metadata and opening it
      for (let attempt = 0; ; attempt++) {
        const { meta, dir } = await readMeta(key);
        const range = getOptions.range ? resolveRange(key, getOptions.range, meta.size) : undefined;
        let handle: fs.promises.FileHandle;
        try {
          handle = await fs.promises.open(path.join(dir, meta.data), 'r');
        } catch (err) {
          if (isMissing(err) && attempt === 0) continue;
          if (isMissing(err)) throw new ObjectNotFound(key, { cause: err });
          throw new ObjectStoreError('storage_failure', `Cannot read ${key}: ${(err as Error).message}`, { cause: err });
        }
        const body =
          meta.size === 0
            ? handle.createReadStream()
            : handle.createReadStream(range ? { start: range.start, end: range.end } : { start: 0, end: meta.size - 1 });
        return { ...infoOf(meta), body, ...(range ? { range } : {}) };
      }
    },

    async head(key: string): Promise<ObjectInfo> {
      return infoOf((await readMeta(key)).meta);
    },

    delete: deleteOne,

    async deleteMany(keys: readonly string[]): Promise<void> {
      keys.forEach((k) => assertKey(k));
      const queue = [...new Set(keys)];
      const worker = async () => {
        for (let k = queue.shift(); k !== undefined; k = queue.shift()) await deleteOne(k);
      };
      await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
    },

    async list(prefix: string, listOptions: { cursor?: string; limit: number }): Promise<ListPage> {
      assertPrefix(prefix);
      assertListOptions(listOptions);
      const after = listOptions.cursor === undefined ? undefined : decodeCursor(listOptions.cursor);
      const slash = prefix.lastIndexOf('/');
      const dirKey = prefix.slice(0, slash + 1); // '' or 'a/b/'
      const partial = prefix.slice(slash + 1);
      const items: ListedObject[] = [];
      let lastKey = '';
      for await (const meta of walk(objectsDir, dirKey, partial, after)) {
        // one more object exists after a full page (limit >= 1): say so with a cursor (leaving the loop ends the walk)
        if (items.length === listOptions.limit) return { items, cursor: encodeCursor(lastKey) };
        items.push({ key: meta.key, size: meta.size, etag: meta.etag, lastModified: new Date(meta.createdAt) });
        lastKey = meta.key;
      }
      return { items };
    },

    async signedUrl(key: string, urlOptions?: SignedUrlOptions): Promise<string> {
      assertKey(key);
      const seconds = signedUrlLifetime(urlOptions);
      const exp = Math.floor(now() / 1000) + seconds;
      const dl = dispositionFor(urlOptions);
      const ct = urlOptions?.contentType;
      const params = new URLSearchParams({ exp: String(exp) });
      if (dl !== undefined) params.set('dl', dl);
      if (ct !== undefined) params.set('ct', ct);
      params.set('sig', signature(secrets[0], key, exp, dl, ct));
      return `${publicUrl}${FILES_PATH_PREFIX}${key}?${params.toString()}`;
    },

    verify(params: SignedFileParams): DiskSignatureVerdict {
      return verifyDiskSignature(secrets, params, now());
    },

    async close(): Promise<void> {},
  };
  return store;
}

// ---------------------------------------------------------------------------------------------
// signatures

/** The parameters of a `/files/<key>?exp=&dl=&ct=&sig=` request, as received (not yet trusted). */
export interface SignedFileParams {
  key: string;
  exp?: string;
  sig?: string;
  /** the exact Content-Disposition to answer with */
  dl?: string;
  /** a Content-Type override */
  ct?: string;
}

export type DiskSignatureVerdict =
  { ok: true; key: string; expiresAt: number; disposition?: string; contentType?: string } | { ok: false; reason: 'invalid_signature' | 'url_expired' };

/**
 * The signed text: a version tag, then every value that changes the response, one per line.
 * None of the values can contain a newline (keys are validated; `dl` and `ct` must be printable
 * ASCII), so the encoding is unambiguous. An absent `dl`/`ct` signs as an empty line, and an empty
 * `dl`/`ct` is treated as absent, so the two are the same response.
 */
export function canonicalString(key: string, exp: number, dl: string | undefined, ct: string | undefined): string {
  return ['savesora-files-v1', key, String(exp), dl ?? '', ct ?? ''].join('\n');
}

function signature(secret: string, key: string, exp: number, dl: string | undefined, ct: string | undefined): string {
  return createHmac('sha256', secret)
    .update(canonicalString(key, exp, dl, ct))
    .digest('base64url');
}

/**
 * Check a signed file request. The signature is checked before the expiry, so `url_expired` is
 * only ever said about a URL we really issued. `nowMs` defaults to Date.now().
 */
export function verifyDiskSignature(secret: string | readonly string[], params: SignedFileParams, nowMs = Date.now()): DiskSignatureVerdict {
  const bad = { ok: false, reason: 'invalid_signature' } as const;
  const secrets = normalizeSecrets(secret);
  const { key, exp, sig } = params;
  const dl = params.dl === '' ? undefined : params.dl;
  const ct = params.ct === '' ? undefined : params.ct;
  if (!isValidKey(key) || !exp || !/^\d{1,12}$/.test(exp) || !sig || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return bad;
  if (dl !== undefined && !/^[\x20-\x7e]{1,1200}$/.test(dl)) return bad;
  if (ct !== undefined && !isSafeContentType(ct)) return bad;
  const expSeconds = Number(exp);
  const given = Buffer.from(sig, 'base64url');
  const matches = secrets.some((s) => {
    const wanted = Buffer.from(signature(s, key, expSeconds, dl, ct), 'base64url');
    return wanted.length === given.length && timingSafeEqual(wanted, given);
  });
  if (!matches) return bad;
  if (Math.floor(nowMs / 1000) >= expSeconds) return { ok: false, reason: 'url_expired' };
  return { ok: true, key, expiresAt: expSeconds, ...(dl !== undefined ? { disposition: dl } : {}), ...(ct !== undefined ? { contentType: ct } : {}) };
}

/** The secrets, never empty: the first signs new URLs, any of them verifies. */
function normalizeSecrets(secret: string | readonly string[]): [string, ...string[]] {
  const [first, ...rest] = typeof secret === 'string' ? [secret] : secret;
  if (first === undefined || [first, ...rest].some((s) => typeof s !== 'string' || s.length < 32)) {
    throw new Error('the file signing secret must be at least 32 characters');
  }
  return [first, ...rest];
}

// ---------------------------------------------------------------------------------------------
// helpers

const isMissing = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

function sizeMismatch(key: string, expected: number, got: number) {
  return new ObjectStoreError('size_mismatch', `The body for ${key} is ${got > expected ? 'longer' : 'shorter'} than its declared ${expected} bytes.`);
}

/** Rename into `dir/name`, creating `dir`; retried when a concurrent delete removes the empty dir. */
async function renameInto(from: string, dir: string, name: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await fs.promises.mkdir(dir, { recursive: true });
    try {
      await fs.promises.rename(from, path.join(dir, name));
      return;
    } catch (err) {
      if (!isMissing(err) || attempt >= 4) throw err;
    }
  }
}

const encodeCursor = (key: string) => Buffer.from(key, 'utf8').toString('base64url');

function decodeCursor(cursor: string): string {
  const key = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!isValidKey(key)) throw new ObjectStoreError('invalid_argument', 'Invalid list cursor.');
  return key;
}

/**
 * Objects under `objects/<dirKey>` whose name starts with `partial`, in key (byte) order, after the
 * key `after`. A directory sorts as `name/`, which puts every key below it exactly where its full
 * key sorts among its siblings, so a depth-first walk yields keys in order.
 */
async function* walk(objectsDir: string, dirKey: string, partial: string, after: string | undefined): AsyncGenerator<MetaFile> {
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(path.join(objectsDir, ...dirKey.split('/').filter(Boolean)), { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  const children: { sortKey: string; dir: boolean; name: string }[] = [];
  for (const e of entries) {
    if (e.isDirectory()) {
      if (!e.name.includes('~') && e.name.startsWith(partial)) children.push({ sortKey: `${dirKey}${e.name}/`, dir: true, name: e.name });
    } else if (e.isFile() && e.name.endsWith(META_SUFFIX)) {
      const name = e.name.slice(0, -META_SUFFIX.length);
      if (name.startsWith(partial)) children.push({ sortKey: `${dirKey}${name}`, dir: false, name });
    }
  }
  children.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  for (const child of children) {
    if (child.dir) {
      // every key below sorts before `after` when the directory's prefix does and is not a prefix of it
      if (after !== undefined && child.sortKey < after && !after.startsWith(child.sortKey)) continue;
      yield* walk(objectsDir, child.sortKey, '', after);
    } else {
      if (after !== undefined && child.sortKey <= after) continue;
      try {
        const meta = JSON.parse(await fs.promises.readFile(path.join(objectsDir, ...child.sortKey.split('/')) + META_SUFFIX, 'utf8')) as MetaFile;
        yield meta;
      } catch (err) {
        if (!isMissing(err)) throw err; // deleted while listing: skip
      }
    }
  }
}

async function sweepTmp(tmpDir: string, nowMs: number): Promise<void> {
  try {
    for (const name of await fs.promises.readdir(tmpDir)) {
      const file = path.join(tmpDir, name);
      const stat = await fs.promises.stat(file).catch(() => undefined);
      if (stat && nowMs - stat.mtimeMs > TMP_MAX_AGE_MS) await fs.promises.rm(file, { force: true, recursive: true });
    }
  } catch {
    // best effort
  }
}
