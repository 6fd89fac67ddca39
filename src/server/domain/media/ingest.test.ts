import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiskStore } from '../../adapters/storage/disk';
import { ffmpegPath, probeMedia, runTool } from '../../lib/ffmpeg';
import { sampleMp4 } from '../../../../tests/fakes/media';
import { readC2pa } from '../../../../tests/helpers/c2pa-reader';
import type { GenerationRow } from '../generations/generations.repo';
import { createIngestHandoff, STORE_PREFIX } from './ingest';
import { createProvenance, loadOrCreateSigningIdentity } from './provenance';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-ingest-'));
let server: http.Server;
let base: string;
let mp4: string;

beforeAll(async () => {
  mp4 = await sampleMp4({ width: 640, height: 360, seconds: 2, audio: true, label: 'ingest' });
  server = http.createServer((req, res) => {
    if (req.url === '/video.mp4')
      return fs.createReadStream(mp4).pipe(res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': fs.statSync(mp4).size }));
    if (req.url === '/text') return res.writeHead(200, { 'content-type': 'video/mp4' }).end('not a video at all');
    if (req.url === '/gone') return res.writeHead(410).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(work, { recursive: true, force: true });
});

const task = {
  id: '7d1f7a0e-0000-4000-8000-000000000001',
  userId: 'User1',
  modelId: 'sora-2',
  provider: 'fal',
  createdAt: new Date('2026-11-29T10:00:00Z'),
} as GenerationRow;

async function handoff(maxBytes?: number, watermark?: string) {
  const store = createDiskStore({ root: path.join(work, 'store'), publicUrl: 'http://localhost:3000', signingSecret: 'x'.repeat(40) });
  const provenance = await createProvenance(await loadOrCreateSigningIdentity(work));
  return {
    store,
    ingest: createIngestHandoff({
      store,
      provenance,
      workDir: path.join(work, 'tmp'),
      modelName: () => 'Sora 2',
      ...(maxBytes ? { maxBytes } : {}),
      ...(watermark ? { watermark } : {}),
    }),
  };
}

describe('output ingest', () => {
  it('downloads the provider output, signs video and poster with C2PA, and stores them under id-only keys', async () => {
    const { store, ingest } = await handoff();
    const out = await ingest.accept(task, { videoUrl: `${base}/video.mp4` });
    expect(out).toMatchObject({
      videoUrl: `${STORE_PREFIX}generations/user1/${task.id}/video.mp4`,
      thumbnailUrl: `${STORE_PREFIX}generations/user1/${task.id}/poster.jpg`,
      previewUrl: `${STORE_PREFIX}generations/user1/${task.id}/preview.mp4`,
      contentType: 'video/mp4',
      media: { width: 640, height: 360, codec: 'h264' },
    });
    expect(out.media!.durationSeconds).toBeCloseTo(2, 0);
    // the recorded size and checksum are those of the stored bytes
    const head = await store.head(out.videoUrl.slice(STORE_PREFIX.length));
    expect(out.media!.sizeBytes).toBe(head.size);
    expect(out.media!.sha256).toMatch(/^[0-9a-f]{64}$/);
    // the hover preview is short, small and silent
    const { body: pv } = await store.get(out.previewUrl!.slice(STORE_PREFIX.length));
    const previewFile = path.join(work, 'preview.mp4');
    await new Promise<void>((resolve, reject) => pv.pipe(fs.createWriteStream(previewFile)).on('finish', resolve).on('error', reject));
    const p = await probeMedia(previewFile);
    expect([p.width, p.audioCodec, p.durationSeconds <= 3.1]).toEqual([320, undefined, true]);
    const stored = path.join(work, 'copy.mp4');
    const { body } = await store.get(out.videoUrl.slice(STORE_PREFIX.length));
    await new Promise<void>((resolve, reject) => body.pipe(fs.createWriteStream(stored)).on('finish', resolve).on('error', reject));
    const probe = await probeMedia(stored);
    expect([probe.videoCodec, Math.round(probe.durationSeconds)]).toEqual(['h264', 2]);
    const manifest = readC2pa(fs.readFileSync(stored))!.active;
    const generation = manifest.assertions.find((a) => a.label === 'com.savesora.generation')!.data as { generationId: string; modelId: string };
    expect([generation.generationId, generation.modelId]).toEqual([task.id, 'sora-2']);
    const actions = manifest.assertions.find((a) => a.label.startsWith('c2pa.actions'))!;
    expect(JSON.stringify(actions.data)).toContain('trainedAlgorithmicMedia');
    expect(fs.readdirSync(path.join(work, 'tmp'))).toEqual([]); // scratch files are gone
  });

  it('draws the watermark text when one is set (the video is re-encoded, the manifest is kept)', async () => {
    const { store, ingest } = await handoff(undefined, 'SAVESORA');
    const plain = await (await handoff()).ingest.accept({ ...task, id: '7d1f7a0e-0000-4000-8000-000000000003' }, { videoUrl: `${base}/video.mp4` });
    const marked = await ingest.accept({ ...task, id: '7d1f7a0e-0000-4000-8000-000000000002' }, { videoUrl: `${base}/video.mp4` });
    // compare the last frame's bottom-right corner of both
    const corner = async (url: string, name: string) => {
      const file = path.join(work, `${name}.mp4`);
      const { body } = await store.get(url.slice(STORE_PREFIX.length));
      await new Promise<void>((resolve, reject) => body.pipe(fs.createWriteStream(file)).on('finish', resolve).on('error', reject));
      const raw = path.join(work, `${name}.gray`);
      await runTool(
        ffmpegPath(),
        ['-y', '-v', 'error', '-sseof', '-0.5', '-i', file, '-frames:v', '1', '-vf', 'crop=200:40:iw-200:ih-40,format=gray', '-f', 'rawvideo', raw],
        { timeoutMs: 30_000 },
      );
      return fs.readFileSync(raw);
    };
    const a = await corner(plain.videoUrl, 'plain');
    const b = await corner(marked.videoUrl, 'marked');
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
    expect(diff / a.length).toBeGreaterThan(2);
    const manifest = readC2pa(fs.readFileSync(path.join(work, 'marked.mp4')))!.active;
    expect(manifest.assertions.some((x) => x.label === 'com.savesora.generation')).toBe(true);
  });

  it('refuses outputs that are not videos, are gone, or are too large, and leaves nothing behind', async () => {
    const { ingest } = await handoff(1000);
    await expect(ingest.accept(task, { videoUrl: `${base}/video.mp4` })).rejects.toThrow(/limit/);
    const { ingest: normal } = await handoff();
    await expect(normal.accept(task, { videoUrl: `${base}/text` })).rejects.toThrow();
    await expect(normal.accept(task, { videoUrl: `${base}/gone` })).rejects.toThrow(/410/);
    expect(fs.readdirSync(path.join(work, 'tmp'))).toEqual([]);
  });
});
