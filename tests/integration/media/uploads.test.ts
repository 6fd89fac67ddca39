import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isObjectNotFound } from '../../../src/server/adapters/storage';
import { BOSS_SCHEMA } from '../../../src/server/db/migrate';
import { seedGeneration } from '../../helpers/seed';
import { ffmpegPath, runTool } from '../../../src/server/lib/ffmpeg';
import type { MediaList, MediaView } from '../../../src/shared/api/media';
import type { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { startGenerationsApp, type GenerationsApp } from '../generations/setup';

/**
 * The reference library over HTTP: uploads cleaned and typed by content, refusals, bounded memory
 * for oversized bodies, SSRF-safe URL import, per-user authorization, deletion, pagination and the
 * hourly limit.
 */

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-uploads-'));
const PER_HOUR = 40;
let env: GenerationsApp;
/** set once it exists, for afterAll */
let fixture: http.Server | undefined;
let fixturePort: number;
let alice: TestClient & { userId: string };
let bob: TestClient & { userId: string };

let pngWithGps: Buffer;
let rotatedJpeg: Buffer;
let mp4: Buffer;
let mp3: Buffer;
let wav: Buffer;

const ff = (args: string[]) => runTool(ffmpegPath(), ['-y', '-v', 'error', ...args], { timeoutMs: 60_000 });
const GPS_EXIF = {
  IFD0: { Copyright: 'secret-owner', Make: 'SpyCam' },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '37/1 46/1 30/1', GPSLongitudeRef: 'W', GPSLongitude: '122/1 25/1 10/1' },
};

beforeAll(async () => {
  pngWithGps = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3a6' } })
    .png()
    .withExif(GPS_EXIF)
    .toBuffer();
  // 200x100 pixels stored, EXIF says "rotate 90°": displayed 100x200
  rotatedJpeg = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#c33' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const v = path.join(work, 'in.mp4');
  await ff([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=12:duration=3',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=3',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    '-metadata',
    'title=secret-title',
    '-metadata',
    'location=+37.7749-122.4194/',
    v,
  ]);
  mp4 = fs.readFileSync(v);
  const a = path.join(work, 'in.mp3');
  await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'libmp3lame', '-metadata', 'artist=secret-artist', a]);
  mp3 = fs.readFileSync(a);
  const w = path.join(work, 'in.wav');
  await ff(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'pcm_s16le', w]);
  wav = fs.readFileSync(w);

  const server = http.createServer((req, res) => {
    if (req.url === '/x.png') return res.writeHead(200, { 'content-type': 'image/png', 'content-length': pngWithGps.length }).end(pngWithGps);
    res.writeHead(404).end();
  });
  fixture = server;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fixturePort = (server.address() as AddressInfo).port;
  env = await startGenerationsApp({ REFERENCE_FETCH_ALLOW_HOSTS: `127.0.0.1:${fixturePort}`, UPLOADS_PER_HOUR: String(PER_HOUR) });
  alice = await env.user('alice-media@example.com', 0);
  bob = await env.user('bob-media@example.com', 0);
}, 120_000);

afterAll(async () => {
  await closeAll(env);
  await new Promise((r) => fixture?.close(r));
  fs.rmSync(work, { recursive: true, force: true });
});

const ctx = () => env.app.platform.ctx;

async function download(url: string): Promise<{ status: number; body: Buffer; type: string | null }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') };
}

async function upload(c: TestClient, data: Uint8Array, name: string, type = 'application/octet-stream') {
  return c.upload('/api/uploads', { data, name, type });
}

describe('uploads: content decides, metadata goes', () => {
  it('a PNG with EXIF GPS is stored without any metadata', async () => {
    expect((await sharp(pngWithGps).metadata()).exif).toBeDefined();
    const res = await upload(alice, pngWithGps, 'holiday.png', 'image/png');
    expect(res.status, res.body).toBe(201);
    const view = res.json<MediaView>();
    expect(view).toMatchObject({
      kind: 'image',
      source: 'upload',
      name: 'holiday.png',
      contentType: 'image/jpeg',
      width: 64,
      height: 48,
      durationSeconds: null,
    });
    const stored = await download(view.url);
    expect(stored.status).toBe(200);
    const meta = await sharp(stored.body).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.format).toBe('jpeg');
    expect(stored.body.includes('SpyCam')).toBe(false);
    expect(view.sizeBytes).toBe(stored.body.length);
    const preview = await download(view.previewUrl!);
    expect((await sharp(preview.body).metadata()).format).toBe('jpeg');
    const [row] = await ctx().database.sql.query<{ storage_key: string; sha256: string }>('select storage_key, sha256 from media where id = $1', [view.id]);
    expect(row!.storage_key).toBe(`uploads/${alice.userId.toLowerCase()}/${view.id}/original.jpg`);
    expect(row!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a JPEG is auto-rotated from its EXIF orientation and gets a small preview', async () => {
    const res = await upload(alice, rotatedJpeg, 'phone.jpg', 'image/jpeg');
    expect(res.status, res.body).toBe(201);
    const view = res.json<MediaView>();
    expect([view.contentType, view.width, view.height]).toEqual(['image/jpeg', 100, 200]);
    const meta = await sharp((await download(view.url)).body).metadata();
    expect([meta.width, meta.height, meta.orientation, meta.exif]).toEqual([100, 200, undefined, undefined]);
    const preview = await sharp((await download(view.previewUrl!)).body).metadata();
    expect(Math.max(preview.width, preview.height)).toBeLessThanOrEqual(320);
  });

  it('a PNG with transparency stays PNG', async () => {
    const alpha = await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const res = await upload(alice, alpha, 'sticker.png', 'image/png');
    expect(res.status, res.body).toBe(201);
    expect(res.json<MediaView>().contentType).toBe('image/png');
  });

  it('an MP4 is remuxed without its metadata, probed, and gets a poster', async () => {
    expect(mp4.includes('secret-title')).toBe(true);
    const res = await upload(alice, mp4, 'clip.mp4', 'video/mp4');
    expect(res.status, res.body).toBe(201);
    const view = res.json<MediaView>();
    expect(view).toMatchObject({ kind: 'video', contentType: 'video/mp4', width: 320, height: 240 });
    expect(view.durationSeconds).toBeGreaterThan(2.5);
    const stored = await download(view.url);
    expect(stored.body.includes('secret-title')).toBe(false);
    expect(stored.body.includes('+37.7749')).toBe(false);
    const poster = await sharp((await download(view.previewUrl!)).body).metadata();
    expect([poster.format, poster.width]).toEqual(['jpeg', 320]);
  });

  it('MP3 and WAV are audio', async () => {
    const a = await upload(alice, mp3, 'song.mp3', 'audio/mpeg');
    expect(a.status, a.body).toBe(201);
    expect(a.json<MediaView>()).toMatchObject({ kind: 'audio', contentType: 'audio/mpeg', previewUrl: null, width: null });
    expect(a.json<MediaView>().durationSeconds).toBeGreaterThan(1.5);
    expect((await download(a.json<MediaView>().url)).body.includes('secret-artist')).toBe(false);
    const w = await upload(alice, wav, 'tone.wav', 'audio/wav');
    expect(w.status, w.body).toBe(201);
    expect(w.json<MediaView>()).toMatchObject({ kind: 'audio', contentType: 'audio/wav' });
  });

  it('the declared type is ignored: image/png with MP4 content is stored as a video', async () => {
    const res = await upload(alice, mp4, 'looks-like.png', 'image/png');
    expect(res.status, res.body).toBe(201);
    expect(res.json<MediaView>()).toMatchObject({ kind: 'video', contentType: 'video/mp4' });
  });

  it('refuses a renamed executable and a text file named .png', async () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(5000, 0x90)]);
    const r1 = await upload(alice, elf, 'movie.mp4', 'video/mp4');
    expect(r1.status).toBe(400);
    expect(r1.json().error.fields[0]).toMatchObject({ field: 'file' });
    expect(r1.json().error.message).toMatch(/executable program/);
    const mz = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00'), Buffer.alloc(5000, 0)]);
    expect((await upload(alice, mz, 'setup.mp4', 'video/mp4')).status).toBe(400);
    const r2 = await upload(alice, Buffer.from('just some words\n'.repeat(50)), 'photo.png', 'image/png');
    expect(r2.status).toBe(400);
    expect(r2.json().error.message).toMatch(/text/);
    // nothing was stored for the refused files
    const listed = await ctx().store.list(`uploads/${alice.userId.toLowerCase()}/`, { limit: 1000 });
    const [{ n }] = (await ctx().database.sql.query<{ n: number }>('select count(*)::int as n from media where user_id = $1', [alice.userId])) as [
      { n: number },
    ];
    expect(listed.items.length).toBeLessThanOrEqual(n * 2);
  });

  it('a request without a file part is a 400', async () => {
    const form = new FormData();
    form.append('note', 'no file');
    const res = await alice.request('POST', '/api/uploads', form);
    expect(res.status).toBe(400);
  });

  it('needs a signed-in user and our origin', async () => {
    const res = await fetch(new URL('/api/uploads', env.app.url), { method: 'POST', body: new FormData() });
    expect(res.status).toBe(401);
  });
});

/** A raw multipart POST with our cookies, for bodies fetch cannot stream the way we need. */
function rawUpload(
  c: TestClient,
  opts: { contentLength?: number; totalBytes: number; chunkDelayMs?: number },
): Promise<{ status: number; ms: number; body: string }> {
  const url = new URL('/api/uploads', c.baseUrl);
  const boundary = '----savesora-test-boundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.mp4"\r\nContent-Type: video/mp4\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = Buffer.alloc(64 * 1024);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let done = false;
    const headers: Record<string, string | number> = {
      cookie: c.cookieHeader(),
      origin: url.origin,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'x-forwarded-for': c.opts.ip ?? '203.0.113.9',
    };
    if (opts.contentLength !== undefined) headers['content-length'] = opts.contentLength;
    else headers['transfer-encoding'] = 'chunked';
    const req = http.request({ hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        done = true;
        resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, body });
      });
    });
    req.on('error', (err) => {
      if (!done) setTimeout(() => !done && reject(err), 2000);
    });
    req.write(head);
    let sent = 0;
    const pump = () => {
      if (done || req.destroyed) return;
      if (sent >= opts.totalBytes) {
        req.end(tail);
        return;
      }
      sent += chunk.length;
      const ok = req.write(chunk);
      const next = () => (opts.chunkDelayMs ? setTimeout(pump, opts.chunkDelayMs) : setImmediate(pump));
      if (ok) next();
      else req.once('drain', next);
    };
    pump();
  });
}

describe('oversized uploads are refused with bounded memory', () => {
  it('a declared 2 GB body is refused with 413 before it is read', async () => {
    const before = process.memoryUsage().rss;
    const res = await rawUpload(alice, { contentLength: 2 * 1024 ** 3, totalBytes: 4 * 1024 * 1024, chunkDelayMs: 5 });
    expect(res.status).toBe(413);
    expect(res.ms).toBeLessThan(3000);
    expect(JSON.parse(res.body).error.code).toBe('payload_too_large');
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('a chunked body (no Content-Length) past the ceiling is cut off with 413', async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const res = await rawUpload(alice, { totalBytes: 80 * 1024 * 1024 });
      expect(res.status, res.body).toBe(413);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThan(60 * 1024 * 1024);
    // the scratch files are gone
    const tmp = path.join(env.app.config.dataDir, 'tmp');
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp).filter((f) => f.startsWith('media-')) : []).toEqual([]);
  }, 60_000);
});

describe('import from a URL', () => {
  it('refuses loopback and private hosts (400, field url)', async () => {
    const r1 = await alice.post('/api/uploads/url', { url: `http://127.0.0.1:${env.app.config.PORT}/x.png` });
    expect(r1.status).toBe(400);
    expect(r1.json().error.fields).toEqual([{ field: 'url', message: 'The URL points to a private or reserved network address.' }]);
    const r2 = await alice.post('/api/uploads/url', { url: `http://localhost:${fixturePort}/` });
    expect(r2.status).toBe(400);
    expect(r2.json().error.fields[0].field).toBe('url');
    const r3 = await alice.post('/api/uploads/url', { url: 'file:///etc/passwd' });
    expect(r3.status).toBe(400);
  });

  it('imports from an allowed host, cleaned like an upload', async () => {
    const res = await alice.post('/api/uploads/url', { url: `http://127.0.0.1:${fixturePort}/x.png` });
    expect(res.status, res.body).toBe(201);
    const view = res.json<MediaView>();
    expect(view).toMatchObject({ kind: 'image', source: 'url', name: 'x.png', width: 64, height: 48 });
    expect((await sharp((await download(view.url)).body).metadata()).exif).toBeUndefined();
  });

  it('reports a missing file', async () => {
    const res = await alice.post('/api/uploads/url', { url: `http://127.0.0.1:${fixturePort}/missing.png` });
    expect(res.status).toBe(400);
    expect(res.json().error.message).toBe('The URL answered 404.');
  });
});

describe('ownership, deletion, listing', () => {
  it("another user's file is a 404, to read and to delete", async () => {
    const view = (await upload(alice, rotatedJpeg, 'mine.jpg')).json<MediaView>();
    expect((await bob.get(`/api/uploads/${view.id}`)).status).toBe(404);
    expect((await bob.delete(`/api/uploads/${view.id}`)).status).toBe(404);
    expect((await bob.get('/api/uploads')).json<MediaList>().items.map((i) => i.id)).not.toContain(view.id);
    expect((await alice.get(`/api/uploads/${view.id}`)).status).toBe(200);
  });

  it('delete: 404 afterwards, deleted_at set, a delete job queued, the objects gone', async () => {
    const view = (await upload(alice, mp4, 'gone.mp4')).json<MediaView>();
    const [row] = await ctx().database.sql.query<{ storage_key: string; preview_key: string }>('select storage_key, preview_key from media where id = $1', [
      view.id,
    ]);
    expect((await download(view.url)).status).toBe(200);
    const res = await alice.delete(`/api/uploads/${view.id}`);
    expect(res.status).toBe(204);
    expect((await alice.get(`/api/uploads/${view.id}`)).status).toBe(404);
    expect((await alice.delete(`/api/uploads/${view.id}`)).status).toBe(404);
    const [m] = await ctx().database.sql.query<{ deleted_at: unknown }>('select deleted_at from media where id = $1', [view.id]);
    expect(m!.deleted_at).not.toBeNull();
    const jobs = await ctx().database.sql.query<{ data: { keys: string[] } }>(`select data from ${BOSS_SCHEMA}.job where name = 'media.delete-objects'`);
    expect(jobs.some((j) => j.data.keys.includes(row!.storage_key) && j.data.keys.includes(row!.preview_key))).toBe(true);
    for (const key of [row!.storage_key, row!.preview_key]) {
      const err = await ctx()
        .store.head(key)
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isObjectNotFound(err)).toBe(true);
    }
    expect((await download(view.url)).status).toBe(404);
  });

  it('lists newest first with a cursor and a kind filter', async () => {
    const carol = await env.user('carol-media@example.com', 0);
    const ids: string[] = [];
    for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) ids.push((await upload(carol, rotatedJpeg, name)).json<MediaView>().id);
    ids.push((await upload(carol, wav, 'd.wav')).json<MediaView>().id);
    const p1 = (await carol.get('/api/uploads?limit=3')).json<MediaList>();
    expect(p1.items.map((i) => i.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(p1.nextCursor).toBeTruthy();
    const p2 = (await carol.get(`/api/uploads?limit=3&cursor=${p1.nextCursor!}`)).json<MediaList>();
    expect(p2.items.map((i) => i.id)).toEqual([ids[0]]);
    expect(p2.nextCursor).toBeNull();
    const images = (await carol.get('/api/uploads?kind=image')).json<MediaList>();
    expect(images.items.map((i) => i.name)).toEqual(['c.jpg', 'b.jpg', 'a.jpg']);
    expect((await carol.get('/api/uploads?cursor=garbage')).status).toBe(400);
  });
});

describe('a creation as a reference', () => {
  it("copies the owner's succeeded creation (video or poster); others get 404", async () => {
    const id = randomUUID();
    const folder = `generations/${alice.userId.toLowerCase()}/${id}`;
    await ctx().store.put(`${folder}/video.mp4`, mp4, { contentType: 'video/mp4' });
    await ctx().store.put(`${folder}/poster.jpg`, rotatedJpeg, { contentType: 'image/jpeg' });
    await seedGeneration(ctx().database, alice.userId, { id, modelId: 'veo-3.1', prompt: 'a fox', durationSeconds: 4, resolution: '720p', priceCredits: 1 });
    const generationId = id;
    expect((await alice.post('/api/uploads/from-creation', { generationId, as: 'video' })).status).toBe(404); // not finished yet
    await ctx().database.sql.query(`update generations set status = 'succeeded', output_url = $2, output_thumbnail_url = $3 where id = $1`, [
      id,
      `store:${folder}/video.mp4`,
      `store:${folder}/poster.jpg`,
    ]);
    const v = await alice.post('/api/uploads/from-creation', { generationId, as: 'video' });
    expect(v.status, v.body).toBe(201);
    expect(v.json<MediaView>()).toMatchObject({ kind: 'video', contentType: 'video/mp4', width: 320, height: 240 });
    expect((await download(v.json<MediaView>().url)).body.equals(mp4)).toBe(true);
    const i = await alice.post('/api/uploads/from-creation', { generationId, as: 'image' });
    expect(i.status, i.body).toBe(201);
    expect(i.json<MediaView>()).toMatchObject({ kind: 'image', contentType: 'image/jpeg' });
    expect((await bob.post('/api/uploads/from-creation', { generationId, as: 'video' })).status).toBe(404);
  });
});

describe('service helpers', () => {
  it('getOwnedForGeneration returns rows in order, or 400 naming the missing id', async () => {
    const media = ctx().services.media;
    const a = (await upload(alice, rotatedJpeg, 'ref.jpg')).json<MediaView>();
    const rows = await media.getOwnedForGeneration(alice.userId, [a.id]);
    expect(rows.map((r) => r.id)).toEqual([a.id]);
    const url = await media.signedUrlFor(rows[0]!, 600);
    expect((await download(url)).status).toBe(200);
    const err = (await media.getOwnedForGeneration(bob.userId, [a.id]).then(
      () => null,
      (e: unknown) => e,
    )) as Error & { status: number };
    expect(err.status).toBe(400);
    expect(err.message).toContain(a.id);
  });
});

describe('hourly limit', () => {
  it('answers 429 with Retry-After once the limit is reached', async () => {
    const dave = await env.user('dave-media@example.com', 0);
    for (let i = 0; i < PER_HOUR - 1; i++) await ctx().rateLimiter.hit(`uploads:user:${dave.userId}`, PER_HOUR, 3600);
    expect((await upload(dave, rotatedJpeg, 'last.jpg')).status).toBe(201);
    const res = await upload(dave, rotatedJpeg, 'one-too-many.jpg');
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await dave.post('/api/uploads/url', { url: `http://127.0.0.1:${fixturePort}/x.png` })).status).toBe(429);
  });
});
