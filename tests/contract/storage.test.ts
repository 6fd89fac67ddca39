import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/server/adapters/clock';
import { createObjectStore, deriveFilesSigningSecret, storeFromConfig, type StorageSettings } from '../../src/server/adapters/storage';
import { createDiskStore } from '../../src/server/adapters/storage/disk';
import { createS3Store } from '../../src/server/adapters/storage/s3';
import { StartupError } from '../../src/server/errors';
import {
  contentDisposition,
  InvalidObjectKey,
  MAX_SIGNED_URL_SECONDS,
  ObjectNotFound,
  objectKey,
  ObjectStoreError,
  RangeNotSatisfiable,
  type ObjectStore,
} from '../../src/server/adapters/storage/store';
import { filesRoutes } from '../../src/server/http/routes/files';
import { closeAll } from '../helpers/close';

/**
 * One contract, two implementations: the disk store (signed URLs served by our /files route) and
 * the S3 store (against s3rver, run in a child process so the memory figures below are the store's
 * own and not the fake server's). s3rver does not verify SigV4 signatures or expiry on presigned
 * URLs, so for S3 the tests check what we sign (the parameters), not that S3 would refuse a forgery.
 * Both stores (and the /files route) tell time by a fake clock: URLs expire when the test moves it.
 */

interface Harness {
  store: ObjectStore;
  /** head() reports sha256 for objects stored in one part (always on disk) */
  close(): Promise<void>;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-storage-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const SECRET = 'test-signing-secret-0123456789abcdef';

async function diskHarness(clock: FakeClock): Promise<Harness> {
  const now = () => clock.nowMs();
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const root = path.join(work, 'disk');
  // the store needs its public URL before the server has a port: build a placeholder, then rebind
  const bound: { store?: ObjectStore } = {};
  const lazy = new Proxy({} as ObjectStore, { get: (_t, p) => (bound.store ? Reflect.get(bound.store, p, bound.store) : undefined) });
  await app.register(filesRoutes, { store: lazy, signingSecret: SECRET, now });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const store = createDiskStore({ root, publicUrl: `http://127.0.0.1:${port}`, signingSecret: SECRET, now });
  bound.store = store;
  return {
    store,
    close: async () => {
      await store.close();
      await app.close();
    },
  };
}

/** s3rver in a child process on a free port, with one bucket. */
async function startS3rver(dir: string, bucket: string): Promise<{ endpoint: string; child: ChildProcess }> {
  const s3rverMain = createRequire(import.meta.url).resolve('s3rver');
  const script = `
    const S3rver = require(${JSON.stringify(s3rverMain)});
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(dir)},
      configureBuckets: [{ name: ${JSON.stringify(bucket)}, configs: [] }] })
      .run()
      .then((addr) => console.log('PORT ' + addr.port), (err) => { console.error(err); process.exit(1); });
    // exit with the test worker, even when it dies without cleaning up
    process.stdin.on('end', () => process.exit(0)).resume();
  `;
  // s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 only has in its legacy provider
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`s3rver exited with ${String(code)}: ${err}`)));
    setTimeout(() => reject(new Error(`s3rver did not start: ${err}`)), 15_000).unref();
  });
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

async function s3Harness(clock: FakeClock): Promise<Harness> {
  const dir = path.join(work, 's3rver');
  fs.mkdirSync(dir, { recursive: true });
  const { endpoint, child } = await startS3rver(dir, 'test-bucket');
  const store = createS3Store({
    endpoint,
    region: 'us-east-1',
    bucket: 'test-bucket',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    now: () => clock.nowMs(),
  });
  return {
    store,
    close: async () => {
      await store.close();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const harnesses: Record<'disk' | 's3', (clock: FakeClock) => Promise<Harness>> = { disk: diskHarness, s3: s3Harness };

// ---------------------------------------------------------------------------------------------

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** deterministic bytes: byte i is a function of i */
function pattern(size: number, seed = 7): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return b;
}

describe.each(Object.keys(harnesses) as ('disk' | 's3')[])('ObjectStore contract: %s', (kind) => {
  let h: Harness;
  let store: ObjectStore;
  const clock = new FakeClock();
  beforeAll(async () => {
    h = await harnesses[kind](clock);
    store = h.store;
  });
  afterAll(async () => {
    await closeAll(h);
  });

  it(`says it is ${kind}`, () => {
    expect(store.kind).toBe(kind);
  });

  it('puts and gets bytes back with size, sha256, etag and content type', async () => {
    const data = pattern(100_000);
    const put = await store.put('contract/roundtrip/a.bin', data, { contentType: 'video/mp4' });
    expect(put).toMatchObject({ key: 'contract/roundtrip/a.bin', size: data.length, sha256: sha256(data) });
    expect(put.etag).toMatch(/^[0-9a-f-]+$/);

    const got = await store.get('contract/roundtrip/a.bin');
    const bytes = await readAll(got.body);
    expect(bytes.equals(data)).toBe(true);
    expect(got.size).toBe(data.length);
    expect(got.contentType).toBe('video/mp4');
    expect(got.etag).toBe(put.etag);
    expect(got.range).toBeUndefined();

    // a stream body with a declared length, and an empty object
    const streamed = await store.put('contract/roundtrip/b.bin', Readable.from([data.subarray(0, 10), data.subarray(10, 5000)]), {
      contentType: 'application/octet-stream',
      contentLength: 5000,
    });
    expect(streamed.sha256).toBe(sha256(data.subarray(0, 5000)));
    expect((await readAll((await store.get('contract/roundtrip/b.bin')).body)).equals(data.subarray(0, 5000))).toBe(true);
    const empty = await store.put('contract/roundtrip/empty', Buffer.alloc(0), { contentType: 'text/plain' });
    expect(empty).toMatchObject({ size: 0, sha256: sha256(Buffer.alloc(0)) });
    expect((await readAll((await store.get('contract/roundtrip/empty')).body)).length).toBe(0);
  });

  it('replaces an object on a second put', async () => {
    await store.put('contract/replace/x', Buffer.from('first version'), { contentType: 'text/plain' });
    const second = await store.put('contract/replace/x', Buffer.from('second'), { contentType: 'image/png' });
    const got = await store.get('contract/replace/x');
    expect((await readAll(got.body)).toString()).toBe('second');
    expect(got.contentType).toBe('image/png');
    expect(got.etag).toBe(second.etag);
  });

  it('rejects a body whose length differs from contentLength, storing nothing', async () => {
    const data = pattern(3000);
    await expect(store.put('contract/mismatch/a', Readable.from([data]), { contentType: 'video/mp4', contentLength: 2999 })).rejects.toMatchObject({
      code: 'size_mismatch',
    });
    await expect(store.put('contract/mismatch/b', Readable.from([data]), { contentType: 'video/mp4', contentLength: 3001 })).rejects.toMatchObject({
      code: 'size_mismatch',
    });
    await expect(store.put('contract/mismatch/c', data, { contentType: 'video/mp4', contentLength: 1 })).rejects.toBeInstanceOf(ObjectStoreError);
    for (const k of ['contract/mismatch/a', 'contract/mismatch/b', 'contract/mismatch/c']) {
      await expect(store.head(k)).rejects.toBeInstanceOf(ObjectNotFound);
    }
  });

  it('streams a ~30 MB upload without holding it in memory, and reads it back', async () => {
    const total = 30 * 1024 * 1024;
    const chunkSize = 64 * 1024;
    // a ring of reused chunk buffers: the test itself makes no garbage proportional to the size
    const ring = Array.from({ length: 64 }, () => Buffer.alloc(chunkSize));
    const expected = createHash('sha256');
    // RSS, and the memory held by Buffers (which is where a buffered body would sit)
    let peakRss = 0;
    let peakBuffers = 0;
    const sample = () => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
    };
    async function* generate() {
      for (let i = 0; i * chunkSize < total; i++) {
        const chunk = ring[i % ring.length]!;
        chunk.fill(i & 0xff);
        chunk.writeUInt32BE(i, 0);
        expected.update(chunk);
        sample();
        yield chunk;
      }
    }
    // warm up the code paths (SDK, file handles) so their one-time cost is not counted
    await store.put('contract/big/warmup', Readable.from([pattern(256 * 1024)]), { contentType: 'video/mp4' });
    const before = process.memoryUsage();
    peakRss = before.rss;
    peakBuffers = before.arrayBuffers;
    const timer = setInterval(sample, 5);
    let put;
    try {
      put = await store.put('contract/big/video.mp4', Readable.from(generate()), { contentType: 'video/mp4' });
    } finally {
      clearInterval(timer);
    }
    const rssGrowth = peakRss - before.rss;
    const bufferGrowth = peakBuffers - before.arrayBuffers;
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.info(
      `[storage:${kind}] 30 MiB streamed put: RSS ${mib(before.rss)} + peak ${mib(rssGrowth)}; Buffers ${mib(before.arrayBuffers)} + peak ${mib(bufferGrowth)}`,
    );
    const digest = expected.digest('hex');
    expect(put).toMatchObject({ size: total, sha256: digest });
    // Buffers: one 8 MiB part for S3, stream buffers for disk. RSS is noisier (allocator reuse,
    // GC timing), so it gets more room, but still far less than the 30 MiB object.
    expect(bufferGrowth).toBeLessThan((kind === 's3' ? 12 : 6) * 2 ** 20);
    expect(rssGrowth).toBeLessThan((kind === 's3' ? 20 : 12) * 2 ** 20);

    const got = await store.get('contract/big/video.mp4');
    expect(got.size).toBe(total);
    const readBack = createHash('sha256');
    let n = 0;
    for await (const c of got.body) {
      readBack.update(c as Buffer);
      n += (c as Buffer).length;
    }
    expect(n).toBe(total);
    expect(readBack.digest('hex')).toBe(digest);
    // a range across a part boundary of the multipart upload
    const across = await store.get('contract/big/video.mp4', { range: { start: 8 * 1024 * 1024 - 10, end: 8 * 1024 * 1024 + 9 } });
    const bytes = await readAll(across.body);
    expect(bytes.length).toBe(20);
    expect(across.range).toEqual({ start: 8 * 1024 * 1024 - 10, end: 8 * 1024 * 1024 + 9 });
    await store.deleteMany(['contract/big/video.mp4', 'contract/big/warmup']);
  });

  describe('ranges', () => {
    const data = pattern(10_000, 3);
    const key = 'contract/range/r.bin';
    beforeAll(async () => {
      await store.put(key, data, { contentType: 'video/mp4' });
    });

    it('serves start-end (inclusive)', async () => {
      const got = await store.get(key, { range: { start: 100, end: 199 } });
      expect(got.range).toEqual({ start: 100, end: 199 });
      expect(got.size).toBe(10_000);
      expect((await readAll(got.body)).equals(data.subarray(100, 200))).toBe(true);
    });

    it('serves an open-ended range', async () => {
      const got = await store.get(key, { range: { start: 9_990 } });
      expect(got.range).toEqual({ start: 9_990, end: 9_999 });
      expect((await readAll(got.body)).equals(data.subarray(9_990))).toBe(true);
    });

    it('serves a suffix range (the last n bytes)', async () => {
      const got = await store.get(key, { range: { suffix: 25 } });
      expect(got.range).toEqual({ start: 9_975, end: 9_999 });
      expect((await readAll(got.body)).equals(data.subarray(9_975))).toBe(true);
      const all = await store.get(key, { range: { suffix: 50_000 } });
      expect(all.range).toEqual({ start: 0, end: 9_999 });
      expect((await readAll(all.body)).equals(data)).toBe(true);
    });

    it('clamps an end past the last byte', async () => {
      const got = await store.get(key, { range: { start: 9_000, end: 1_000_000 } });
      expect(got.range).toEqual({ start: 9_000, end: 9_999 });
      expect((await readAll(got.body)).equals(data.subarray(9_000))).toBe(true);
    });

    it('refuses a range that starts past the end, reporting the size', async () => {
      const err = await store.get(key, { range: { start: 10_000 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RangeNotSatisfiable);
      expect((err as RangeNotSatisfiable).size).toBe(10_000);
      await expect(store.get(key, { range: { start: 5, end: 4 } })).rejects.toMatchObject({ code: 'invalid_argument' });
    });
  });

  it('heads an object without its body', async () => {
    const data = Buffer.from('{"hello":"world"}');
    const put = await store.put('contract/head/h.json', data, { contentType: 'application/json', cacheControl: 'public, max-age=60' });
    const info = await store.head('contract/head/h.json');
    expect(info).toMatchObject({ key: 'contract/head/h.json', size: data.length, contentType: 'application/json', etag: put.etag, sha256: sha256(data) });
    expect(info.lastModified).toBeInstanceOf(Date);
    expect(Math.abs(info.lastModified.getTime() - Date.now())).toBeLessThan(120_000);
  });

  it('throws ObjectNotFound for a missing object', async () => {
    await expect(store.get('contract/missing/nothing')).rejects.toBeInstanceOf(ObjectNotFound);
    await expect(store.head('contract/missing/nothing')).rejects.toBeInstanceOf(ObjectNotFound);
    await expect(store.get('contract/missing/nothing', { range: { start: 0, end: 5 } })).rejects.toBeInstanceOf(ObjectNotFound);
    await expect(store.get('contract/missing/nothing', { range: { suffix: 5 } })).rejects.toBeInstanceOf(ObjectNotFound);
  });

  it('deletes idempotently', async () => {
    await store.put('contract/delete/d', Buffer.from('bye'), { contentType: 'text/plain' });
    await store.delete('contract/delete/d');
    await expect(store.head('contract/delete/d')).rejects.toBeInstanceOf(ObjectNotFound);
    await store.delete('contract/delete/d');
    await store.delete('contract/delete/never-existed');
  });

  it('deletes many, ignoring missing keys', async () => {
    const keys = Array.from({ length: 5 }, (_, i) => `contract/many/k${i}`);
    for (const k of keys) await store.put(k, Buffer.from(k), { contentType: 'text/plain' });
    await store.put('contract/many-keep', Buffer.from('keep'), { contentType: 'text/plain' });
    await store.deleteMany([...keys.slice(0, 4), 'contract/many/not-there', keys[0]!]);
    for (const k of keys.slice(0, 4)) await expect(store.head(k)).rejects.toBeInstanceOf(ObjectNotFound);
    expect((await store.head(keys[4]!)).size).toBe(keys[4]!.length);
    expect((await store.head('contract/many-keep')).size).toBe(4);
    await store.deleteMany([]);
  });

  /** every page of `list(prefix)`, checking each page's shape */
  async function listAll(prefix: string, limit: number) {
    const keys: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list(prefix, { limit, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(limit);
      for (const item of page.items) {
        expect(item.size).toBe(Buffer.byteLength(item.key));
        expect(item.lastModified).toBeInstanceOf(Date);
        keys.push(item.key);
      }
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 50);
    return { keys, pages };
  }
  const byteOrder = (xs: string[]) => [...xs].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  it('lists by prefix in key order, page by page', async () => {
    const inside = [
      'contract/list/a/1',
      'contract/list/a/2/x',
      'contract/list/a/2/y',
      'contract/list/a/3',
      'contract/list/b',
      'contract/list/c/1',
      'contract/list/c/2',
    ];
    const outside = ['contract/lisz', 'contract/other/1', 'contract/list0'];
    for (const k of [...inside, ...outside]) await store.put(k, Buffer.from(k), { contentType: 'text/plain' });

    const paged = await listAll('contract/list/', 3);
    expect(paged.keys).toEqual(byteOrder(inside));
    expect(paged.pages).toBeGreaterThanOrEqual(3);
    expect((await listAll('contract/list/', 1000)).keys).toEqual(byteOrder(inside));
    expect((await listAll('contract/list/', 7)).keys).toEqual(byteOrder(inside));
    // a prefix that ends inside a segment
    expect((await listAll('contract/list/a/', 2)).keys).toEqual(inside.slice(0, 4));
    expect((await listAll('contract/list', 100)).keys).toEqual(byteOrder([...inside, 'contract/list0']));
    expect((await listAll('contract/nothing-here/', 10)).keys).toEqual([]);
    await expect(store.list('contract/', { limit: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.list('../', { limit: 10 })).rejects.toBeInstanceOf(InvalidObjectKey);
  });

  // S3 lists in UTF-8 byte order; s3rver walks its own folders and gets these cases wrong
  // (it orders `a/...` before `a-b` and drops keys across pages), so this runs on disk only.
  it.runIf(kind === 'disk')('lists in byte order where `.` and `-` sort before `/`', async () => {
    const keys = [
      'contract/order/a/1',
      'contract/order/a/2/x',
      'contract/order/a/2.z',
      'contract/order/a/20',
      'contract/order/a-b',
      'contract/order/a',
      'contract/order/a.c',
    ];
    for (const k of keys) await store.put(k, Buffer.from(k), { contentType: 'text/plain' });
    for (const limit of [1, 2, 3, 100]) expect((await listAll('contract/order/', limit)).keys).toEqual(byteOrder(keys));
    expect((await listAll('contract/order/a/2', 1)).keys).toEqual(['contract/order/a/2.z', 'contract/order/a/2/x', 'contract/order/a/20']);
  });

  it('signs URLs that serve the bytes over HTTP, with Range and the download name', async () => {
    const data = pattern(4096, 11);
    await store.put('contract/signed/clip.mp4', data, { contentType: 'video/mp4' });
    const url = await store.signedUrl('contract/signed/clip.mp4');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);

    const ranged = await fetch(url, { headers: { range: 'bytes=1000-1999' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe('bytes 1000-1999/4096');
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(1000, 2000))).toBe(true);

    const name = 'Mon "film" / été.mp4';
    const download = await fetch(await store.signedUrl('contract/signed/clip.mp4', { downloadName: name, expiresInSeconds: 60 }));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(contentDisposition('attachment', name));
    expect(download.headers.get('content-disposition')).toBe(
      `attachment; filename="Mon _film_ _ ete.mp4"; filename*=UTF-8''Mon%20%22film%22%20_%20%C3%A9t%C3%A9.mp4`,
    );
    await download.arrayBuffer();

    const inline = await fetch(await store.signedUrl('contract/signed/clip.mp4', { inline: true, contentType: 'application/octet-stream' }));
    expect(inline.headers.get('content-disposition')).toBe('inline');
    expect(inline.headers.get('content-type')).toBe('application/octet-stream');
    await inline.arrayBuffer();
  });

  it('bounds the lifetime of signed URLs', async () => {
    const key = 'contract/signed/clip.mp4';
    const expiresIn = (url: string) => {
      const u = new URL(url);
      if (kind === 's3') return Number(u.searchParams.get('X-Amz-Expires'));
      return Number(u.searchParams.get('exp')) - Math.floor(clock.nowMs() / 1000);
    };
    expect(expiresIn(await store.signedUrl(key))).toBe(3600);
    expect(expiresIn(await store.signedUrl(key, { expiresInSeconds: 60 }))).toBe(60);
    expect(expiresIn(await store.signedUrl(key, { expiresInSeconds: MAX_SIGNED_URL_SECONDS }))).toBe(MAX_SIGNED_URL_SECONDS);
    for (const bad of [MAX_SIGNED_URL_SECONDS + 1, 0, -5, 1.5, Number.NaN]) {
      await expect(store.signedUrl(key, { expiresInSeconds: bad })).rejects.toMatchObject({ code: 'invalid_argument' });
    }
  });

  it('dates signed URLs by its clock: one works until the clock reaches its expiry, and not after', async () => {
    const key = 'contract/signed/clock.txt';
    await store.put(key, Buffer.from('tick'), { contentType: 'text/plain' });
    await clock.set(Math.ceil(clock.nowMs() / 1000) * 1000 + 1000); // a whole second, in the future
    const url = new URL(await store.signedUrl(key, { expiresInSeconds: 2 }));
    if (kind === 's3') {
      // s3rver ignores signatures and expiry: check that the signature is dated by the clock
      const amzDate = clock
        .now()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      expect(url.searchParams.get('X-Amz-Date')).toBe(amzDate);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('2');
      return;
    }
    expect(Number(url.searchParams.get('exp'))).toBe(clock.nowMs() / 1000 + 2);
    expect((await fetch(url)).status).toBe(200);
    await clock.advance(1999);
    const last = await fetch(url);
    expect(last.status).toBe(200);
    expect(last.headers.get('cache-control')).toBe('private, max-age=1');
    await clock.advance(1);
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('url_expired');
  });

  it('refuses invalid keys everywhere', async () => {
    const bad = [
      '',
      '/abs',
      '../etc/passwd',
      'a/../b',
      'a//b',
      'a/./b',
      'a/.hidden',
      'Upper',
      'a b',
      'a/',
      'a~meta',
      'x'.repeat(257),
      'x'.repeat(201),
      'a%2fb',
      'a\\b',
    ];
    for (const key of bad) {
      await expect(store.put(key, Buffer.from('x'), { contentType: 'text/plain' }), key).rejects.toBeInstanceOf(InvalidObjectKey);
      await expect(store.get(key), key).rejects.toBeInstanceOf(InvalidObjectKey);
      await expect(store.head(key), key).rejects.toBeInstanceOf(InvalidObjectKey);
      await expect(store.delete(key), key).rejects.toBeInstanceOf(InvalidObjectKey);
      await expect(store.signedUrl(key), key).rejects.toBeInstanceOf(InvalidObjectKey);
    }
    await expect(store.deleteMany(['ok/key', '../x'])).rejects.toBeInstanceOf(InvalidObjectKey);
    await expect(store.put('ok/key', Buffer.from('x'), { contentType: 'not a type' })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});

describe('objectKey', () => {
  it('joins validated parts', () => {
    expect(objectKey('media', '0b9f6a3c-7d1e-4c55-9a57-2f0f7b0c1a11', 'video.mp4')).toBe('media/0b9f6a3c-7d1e-4c55-9a57-2f0f7b0c1a11/video.mp4');
    for (const parts of [[], ['a/b'], ['..'], ['.x'], [''], ['A'], ['a', ''], ['a', 'b c']]) {
      expect(() => objectKey(...parts), JSON.stringify(parts)).toThrow(InvalidObjectKey);
    }
  });
});

describe('createObjectStore', () => {
  const base: StorageSettings = {
    dataDir: path.join(work, 'factory'),
    PUBLIC_URL: 'https://video.example.com',
    FILES_SIGNING_SECRET: deriveFilesSigningSecret('a-session-secret-of-at-least-32-characters'),
    S3_REGION: 'auto',
    S3_FORCE_PATH_STYLE: false,
  };

  it('uses the disk by default, under DATA_DIR/storage', async () => {
    const store = createObjectStore(base);
    expect(store.kind).toBe('disk');
    expect(fs.existsSync(path.join(work, 'factory', 'storage', 'objects'))).toBe(true);
    expect(await store.signedUrl('a/b.mp4')).toMatch(/^https:\/\/video\.example\.com\/files\/a\/b\.mp4\?exp=\d+&sig=/);
  });

  it('uses S3 when a bucket is set, signing URLs for the public endpoint when given', async () => {
    const store = createObjectStore({
      ...base,
      S3_BUCKET: 'media',
      S3_ENDPOINT: 'http://minio:9000',
      S3_PUBLIC_ENDPOINT: 'https://files.example.com',
      S3_FORCE_PATH_STYLE: true,
      S3_ACCESS_KEY_ID: 'key',
      S3_SECRET_ACCESS_KEY: 'secret',
    });
    expect(store.kind).toBe('s3');
    const url = new URL(await store.signedUrl('a/b.mp4', { downloadName: 'b.mp4', expiresInSeconds: 120 }));
    expect(url.origin).toBe('https://files.example.com');
    expect(url.pathname).toBe('/media/a/b.mp4');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('response-content-disposition')).toBe('attachment; filename="b.mp4"');
    await store.close();
  });

  it('a SESSION_SECRET rotation keeps disk links signed before it valid while the old secret is in SESSION_SECRET_PREVIOUS', async () => {
    const settings = { dataDir: path.join(work, 'rotation'), PUBLIC_URL: 'https://video.example.com', S3_REGION: 'auto', S3_FORCE_PATH_STYLE: false };
    const oldSecret = 'the-session-secret-before-the-rotation-000';
    const newSecret = 'the-session-secret-after-the-rotation-11111';
    const params = (url: string) => {
      const u = new URL(url);
      return { key: u.pathname.slice('/files/'.length), ...Object.fromEntries(u.searchParams) };
    };
    type Verifying = { verify(p: Record<string, string>): { ok: boolean } };
    const signedBefore = params(await storeFromConfig({ ...settings, SESSION_SECRET: oldSecret }).signedUrl('a/b.mp4'));
    const during = storeFromConfig({ ...settings, SESSION_SECRET: newSecret, SESSION_SECRET_PREVIOUS: [oldSecret] }) as unknown as ObjectStore & Verifying;
    const after = storeFromConfig({ ...settings, SESSION_SECRET: newSecret }) as unknown as ObjectStore & Verifying;
    expect(during.verify(signedBefore).ok).toBe(true);
    expect(after.verify(signedBefore).ok).toBe(false);
    // new links are signed with the new secret
    expect(after.verify(params(await during.signedUrl('a/b.mp4'))).ok).toBe(true);
  });

  it('names the setting that is wrong', () => {
    expect(() => createObjectStore({ ...base, STORAGE_DRIVER: 's3' })).toThrow(StartupError);
    expect(() => createObjectStore({ ...base, S3_BUCKET: 'media', S3_ACCESS_KEY_ID: 'key' })).toThrow(/S3_SECRET_ACCESS_KEY/);
    expect(() => createObjectStore({ ...base, FILES_SIGNING_SECRET: 'short' })).toThrow(StartupError);
  });
});
