import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import { rawRequest } from '../helpers/net';
import { canonicalString, createDiskStore, type DiskObjectStore } from '../../src/server/adapters/storage/disk';
import { installErrorHandler } from '../../src/server/http/errors';
import { filesRoutes } from '../../src/server/http/routes/files';

/**
 * The disk store's signed URLs, served by the /files route on a bare Fastify app: signature and
 * expiry checks, Range, conditional requests, Content-Disposition and path traversal.
 */

const SECRET = 'files-route-test-secret-0123456789abcdef';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-files-route-'));
const root = path.join(work, 'storage');
const data = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));
const KEY = 'media/0b9f6a3c-7d1e-4c55-9a57-2f0f7b0c1a11/video.mp4';

let app: FastifyInstance;
let store: DiskObjectStore;
let base: string;

beforeAll(async () => {
  // the public URL is a placeholder: tests send the path and query to the real server below
  store = createDiskStore({ root, publicUrl: 'https://video.example.com', signingSecret: SECRET });
  app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  await app.register(filesRoutes, { store });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await store.put(KEY, data, { contentType: 'video/mp4' });
  await store.put('media/other/secret.mp4', Buffer.from('someone else'), { contentType: 'video/mp4' });
  fs.writeFileSync(path.join(work, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
});

afterAll(async () => {
  await closeAll(app);
  fs.rmSync(work, { recursive: true, force: true });
});

/** the signed URL's path and query, sent to our test server */
const local = (signed: string) => {
  const u = new URL(signed);
  return `${base}${u.pathname}${u.search}`;
};
const get = async (signed: string, headers: Record<string, string> = {}, method = 'GET') => fetch(local(signed), { method, headers });
const withParam = (signed: string, name: string, value: string | null) => {
  const u = new URL(signed);
  if (value === null) u.searchParams.delete(name);
  else u.searchParams.set(name, value);
  return u.toString();
};

/** a request with a raw, un-normalized path (fetch and URL would resolve `..`) */
const rawGet = (rawPath: string) => rawRequest(base, { path: rawPath });

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
}

describe('GET /files/* (disk signed URLs)', () => {
  it('serves a valid URL with its headers', async () => {
    const url = await store.signedUrl(KEY);
    expect(url).toMatch(/^https:\/\/video\.example\.com\/files\/media\/0b9f6a3c-7d1e-4c55-9a57-2f0f7b0c1a11\/video\.mp4\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-length')).toBe(String(data.length));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{64}"$/);
    expect(res.headers.get('last-modified')).toBeTruthy();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
    expect(res.headers.get('content-disposition')).toBeNull();
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(res.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeGreaterThan(3590);
    expect(maxAge).toBeLessThanOrEqual(3600);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await get(await store.signedUrl(KEY), {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(data.length));
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{64}"$/);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const ranged = await get(await store.signedUrl(KEY), { range: 'bytes=10-19' }, 'HEAD');
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 10-19/${data.length}`);
    expect(ranged.headers.get('content-length')).toBe('10');
  });

  it('serves ranges with 206 and the exact bytes', async () => {
    const url = await store.signedUrl(KEY);
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=1000-1999', 1000, 1999],
      ['bytes=49990-', 49_990, 49_999],
      ['bytes=-100', 49_900, 49_999],
      ['bytes=49000-99999999', 49_000, 49_999],
    ];
    for (const [range, start, end] of cases) {
      const res = await get(url, { range });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${data.length}`);
      expect(res.headers.get('content-length'), range).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(data.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it('answers 416 for an unsatisfiable range and ignores ranges it does not serve', async () => {
    const url = await store.signedUrl(KEY);
    for (const range of ['bytes=50000-', 'bytes=60000-60010', 'bytes=-0']) {
      const res = await get(url, { range });
      expect(res.headers.get('content-range'), range).toBe(`bytes */${data.length}`);
      await expectError(res, 416, 'range_not_satisfiable');
    }
    for (const range of ['bytes=0-1,5-6', 'items=0-5', 'bytes=5-1', 'bytes=abc']) {
      const res = await get(url, { range });
      expect(res.status, range).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBe(data.length);
    }
  });

  it('answers If-None-Match with 304, and honours If-Range', async () => {
    const url = await store.signedUrl(KEY);
    const first = await get(url);
    await first.arrayBuffer();
    const etag = first.headers.get('etag')!;
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const res = await get(url, { 'if-none-match': inm });
      expect(res.status, inm).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    const changed = await get(url, { 'if-none-match': '"something-else"' });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();

    const same = await get(url, { range: 'bytes=0-9', 'if-range': etag });
    expect(same.status).toBe(206);
    expect((await same.arrayBuffer()).byteLength).toBe(10);
    const other = await get(url, { range: 'bytes=0-9', 'if-range': '"an-older-version"' });
    expect(other.status).toBe(200);
    expect((await other.arrayBuffer()).byteLength).toBe(data.length);
  });

  it('refuses a tampered key, exp, sig, dl or ct with 403 invalid_signature', async () => {
    const url = await store.signedUrl(KEY, { downloadName: 'clip.mp4' });
    expect((await get(url)).status).toBe(200);
    const u = new URL(url);
    const exp = u.searchParams.get('exp')!;
    const sig = u.searchParams.get('sig')!;
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    const tampered = [
      url.replace(KEY, 'media/other/secret.mp4'),
      url.replace(KEY, `${KEY.slice(0, -1)}5`),
      withParam(url, 'exp', String(Number(exp) + 1)),
      withParam(url, 'exp', String(Number(exp) + 86_400 * 365)),
      withParam(url, 'exp', `${exp}.0`),
      withParam(url, 'sig', flipped),
      withParam(url, 'sig', sig.slice(0, -2)),
      withParam(url, 'sig', null),
      withParam(url, 'sig', ''),
      withParam(url, 'dl', 'attachment; filename="evil.html"'),
      withParam(url, 'dl', 'inline'),
      withParam(url, 'dl', null),
      withParam(url, 'ct', 'text/html'),
      withParam(url, 'exp', null),
      `${url}&exp=${exp}`, // a second exp
      `${url}&dl=inline`, // a second dl
    ];
    for (const t of tampered) {
      const res = await get(t);
      expect(res.status, t).toBe(403);
      await expectError(res, 403, 'invalid_signature');
    }
    // a URL signed with another secret
    const foreign = createDiskStore({ root, publicUrl: 'https://video.example.com', signingSecret: 'another-secret-another-secret-0123456789' });
    await expectError(await get(await foreign.signedUrl(KEY)), 403, 'invalid_signature');
    // unrelated extra parameters do not change the response and are ignored
    expect((await get(`${url}&utm_source=mail`)).status).toBe(200);
  });

  it('refuses an expired URL with 403 url_expired (after checking its signature)', async () => {
    const past = createDiskStore({ root, publicUrl: 'https://video.example.com', signingSecret: SECRET, now: () => Date.now() - 2 * 3600_000 });
    const expired = await past.signedUrl(KEY, { expiresInSeconds: 3600 });
    const res = await get(expired);
    expect(res.headers.get('cache-control')).toBe('no-store');
    await expectError(res, 403, 'url_expired');
    // tampering with an expired URL is still a bad signature, not "expired"
    await expectError(await get(withParam(expired, 'exp', String(Math.floor(Date.now() / 1000) - 10))), 403, 'invalid_signature');
    // valid for 1 more second, then not
    const edge = createDiskStore({ root, publicUrl: 'https://video.example.com', signingSecret: SECRET, now: () => Date.now() - 1000 });
    await expectError(await get(await edge.signedUrl(KEY, { expiresInSeconds: 1 })), 403, 'url_expired');
  });

  it('accepts URLs signed with an older key during rotation', async () => {
    const old = createDiskStore({ root, publicUrl: 'https://video.example.com', signingSecret: 'the-old-secret-the-old-secret-0123456789' });
    const rotated = Fastify({ logger: false });
    await rotated.register(filesRoutes, { store, signingSecret: [SECRET, 'the-old-secret-the-old-secret-0123456789'] });
    const res = await rotated.inject({ method: 'GET', url: new URL(await old.signedUrl(KEY)).pathname + new URL(await old.signedUrl(KEY)).search });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(data)).toBe(true);
    await rotated.close();
  });

  it('sends a safe Content-Disposition for hostile download names', async () => {
    const names = [
      'My "best" clip / final\\cut.mp4',
      '../../etc/passwd',
      'видео 🎬 "ночь".mp4',
      'evil\r\nSet-Cookie: a=b.mp4',
      'a;b=c, d%20e*.mp4',
      '""',
      '.htaccess',
      'lone \uD800 surrogate.mp4',
    ];
    for (const name of names) {
      const res = await get(await store.signedUrl(KEY, { downloadName: name }));
      expect(res.status, name).toBe(200);
      await res.arrayBuffer();
      const cd = res.headers.get('content-disposition')!;
      expect(cd, name).toMatch(/^attachment; filename="[^"\\/]*"(; filename\*=UTF-8''[A-Za-z0-9%._~-]+)?$/);
      expect(cd).toMatch(/^[\x20-\x7e]+$/);
      expect(res.headers.get('set-cookie')).toBeNull();
      const ascii = /filename="([^"]*)"/.exec(cd)![1]!;
      expect(ascii.startsWith('.')).toBe(false);
      const star = /filename\*=UTF-8''(.+)$/.exec(cd)?.[1];
      const shown = star ? decodeURIComponent(star) : ascii;
      expect(shown).not.toMatch(/[/\\\r\n]/);
    }
    const cyrillic = await get(await store.signedUrl(KEY, { downloadName: 'видео 🎬 "ночь".mp4' }));
    await cyrillic.arrayBuffer();
    const star = /filename\*=UTF-8''(.+)$/.exec(cyrillic.headers.get('content-disposition')!)![1]!;
    expect(decodeURIComponent(star)).toBe('видео 🎬 "ночь".mp4');

    const inline = await get(await store.signedUrl(KEY, { downloadName: 'clip.mp4', inline: true }));
    await inline.arrayBuffer();
    expect(inline.headers.get('content-disposition')).toBe('inline; filename="clip.mp4"');
  });

  it('refuses path traversal in any spelling', async () => {
    const url = new URL(await store.signedUrl(KEY));
    const query = url.search;
    const attempts = [
      '/files/../../etc/passwd',
      '/files/../passwd',
      '/files/media/../../../passwd',
      '/files/%2e%2e/%2e%2e/etc/passwd',
      '/files/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      '/files/..%2f..%2fetc%2fpasswd',
      '/files/..%5c..%5cetc%5cpasswd',
      '/files/media/..%2F..%2F..%2Fpasswd',
      '/files//etc/passwd',
      '/files/%2fetc%2fpasswd',
      '/files/.%2e/.%2e/passwd',
      '/files/%252e%252e/passwd',
      '/files/media/0b9f6a3c-7d1e-4c55-9a57-2f0f7b0c1a11/video.mp4/../../other/secret.mp4',
      '/files/media/0b9f6a3c-7d1e-4c55-9a57-2f0f7b0c1a11/video.mp4%00',
      '/files/objects/media/other/secret.mp4~meta.json',
    ];
    for (const attempt of attempts) {
      for (const q of [query, '']) {
        const res = await rawGet(attempt + q);
        expect([400, 403, 404], attempt).toContain(res.status);
        expect(res.body).not.toContain('root:x');
        expect(res.body).not.toContain('someone else');
      }
    }
    // even a correctly signed traversal key is refused: keys are validated before any signature use
    const exp = Math.floor(Date.now() / 1000) + 600;
    for (const key of ['../../passwd', '../passwd', 'media/../../passwd']) {
      const sig = createHmac('sha256', SECRET)
        .update(canonicalString(key, exp, undefined, undefined))
        .digest('base64url');
      const res = await rawGet(`/files/${key}?exp=${exp}&sig=${sig}`);
      expect(res.status, key).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'invalid_signature' } });
    }
  });

  it('answers 404 for a signed URL whose object is gone', async () => {
    await store.put('media/gone/x.mp4', Buffer.from('x'), { contentType: 'video/mp4' });
    const url = await store.signedUrl('media/gone/x.mp4');
    expect((await get(url)).status).toBe(200);
    await store.delete('media/gone/x.mp4');
    await expectError(await get(url), 404, 'not_found');
  });
});
