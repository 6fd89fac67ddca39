import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../../../tests/helpers/wait';
import { ffmpegPath, probeMedia, runTool } from '../../lib/ffmpeg';
import { createLocalProvider, localTaskId, type LocalProviderOptions } from './local';
import { layoutPrompt, previewDimensions } from './local-render';
import { ProviderError, isFinalState, type NormalizedStatus, type ProviderRequest, type VideoProvider } from './provider';

/* ------------------------------------------------------------------ helpers */

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-local-'));
let dirNo = 0;
function freshDataDir(): string {
  const dir = path.join(root, `data${++dirNo}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

const providers: VideoProvider[] = [];
function provider(over: Partial<LocalProviderOptions> = {}): VideoProvider {
  const p = createLocalProvider({ dataDir: over.dataDir ?? freshDataDir(), concurrency: 2, ...over });
  providers.push(p);
  return p;
}

const request = (over: Partial<ProviderRequest> = {}): ProviderRequest => ({
  modelId: 'local-preview',
  upstreamModel: 'ffmpeg',
  mode: 'text-to-video',
  prompt: 'A corgi surfing a wave at golden hour',
  durationSeconds: 1,
  resolution: '480p',
  aspectRatio: '16:9',
  audio: false,
  references: [],
  ...over,
});

let keyNo = 0;
const key = () => `test-key-${process.pid}-${++keyNo}-${Date.now()}`;

async function waitFinal(p: VideoProvider, id: string, timeoutMs = 25_000, everyMs = 30) {
  const seen: NormalizedStatus[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await p.poll(id);
    seen.push(s);
    if (isFinalState(s.state)) return { final: s, seen };
    if (Date.now() > deadline) throw new Error(`render ${id} not final after ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function waitState(p: VideoProvider, id: string, state: NormalizedStatus['state'], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await p.poll(id);
    if (s.state === state) return s;
    if (isFinalState(s.state) || Date.now() > deadline) throw new Error(`expected ${state}, got ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** ffmpeg is encoding: the render reports progress (it parses ffmpeg's own progress lines) */
async function waitEncoding(p: VideoProvider, id: string) {
  await until(
    async () => {
      const s = await p.poll(id);
      return s.state === 'running' && (s.progress ?? 0) > 0;
    },
    { what: `render ${id} to report progress` },
  );
}

function outputFile(s: NormalizedStatus): string {
  if (s.state !== 'succeeded') throw new Error(`not succeeded: ${JSON.stringify(s)}`);
  return fileURLToPath(s.output.videoUrl);
}

async function solidImage(color: string, file: string, size = '96x64') {
  await runTool(ffmpegPath(), ['-y', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=${color}:s=${size}`, '-frames:v', '1', file]);
  return file;
}

/** Mean RGB of the first (or last) frame of a video. */
async function frameColor(video: string, which: 'first' | 'last'): Promise<[number, number, number]> {
  const raw = path.join(root, `frame-${Date.now()}-${Math.random().toString(16).slice(2)}.rgb`);
  const input = which === 'first' ? ['-i', video, '-frames:v', '1'] : ['-sseof', '-0.3', '-i', video];
  await runTool(ffmpegPath(), [
    '-y',
    '-hide_banner',
    '-loglevel',
    'error',
    ...input,
    '-vf',
    'scale=8:8:flags=area',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    raw,
  ]);
  const all = fs.readFileSync(raw);
  const frame = all.subarray(all.length - 8 * 8 * 3);
  const sum = [0, 0, 0];
  for (let i = 0; i < frame.length; i++) sum[i % 3]! += frame[i]!;
  const n = frame.length / 3;
  return [sum[0]! / n, sum[1]! / n, sum[2]! / n];
}

/** ffmpeg processes still working in a data dir (their arguments name files in it). */
function processesUsing(dir: string): number {
  const r = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' });
  if (r.error) return 0; // no pgrep here: nothing to check with
  return r.stdout.split('\n').filter(Boolean).length;
}

const expectProviderError = async (p: Promise<unknown>, kind: string) => {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ProviderError);
  expect((e as ProviderError).kind).toBe(kind);
  expect((e as ProviderError).provider).toBe('local');
  return e as ProviderError;
};

let server: http.Server;
let baseUrl = '';
let redPng: string;
let bluePng: string;

beforeAll(async () => {
  redPng = await solidImage('red', path.join(root, 'red.png'));
  bluePng = await solidImage('blue', path.join(root, 'blue.png'), '80x80');
  server = http.createServer((req, res) => {
    if (req.url === '/blue.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(fs.readFileSync(bluePng));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await new Promise((r) => server.close(r));
  fs.rmSync(root, { recursive: true, force: true });
});

/* -------------------------------------------------------------------- tests */

describe('local render recipe', () => {
  it('sizes the video from the short side and the aspect ratio (even numbers)', () => {
    expect(previewDimensions('720p', '16:9')).toEqual({ width: 1280, height: 720 });
    expect(previewDimensions('720p', '9:16')).toEqual({ width: 720, height: 1280 });
    expect(previewDimensions('1080p', '9:16')).toEqual({ width: 1080, height: 1920 });
    expect(previewDimensions('480p', '1:1')).toEqual({ width: 480, height: 480 });
    expect(previewDimensions('480p', '16:9')).toEqual({ width: 854, height: 480 });
    expect(previewDimensions('720p', '4:3')).toEqual({ width: 960, height: 720 });
    expect(previewDimensions('720p', '3:4')).toEqual({ width: 720, height: 960 });
    expect(previewDimensions('720p', '21:9')).toEqual({ width: 1680, height: 720 });
    expect(() => previewDimensions('999x', '16:9')).toThrow(/resolution/);
    expect(() => previewDimensions('720p', '16:0')).toThrow(/aspect/);
  });

  it('wraps the prompt, caps it at six lines with an ellipsis', () => {
    const short = layoutPrompt('A corgi surfing', 1280, 720);
    expect(short.lines).toEqual(['A corgi surfing']);
    const long = layoutPrompt('word '.repeat(400), 720, 1280);
    expect(long.lines.length).toBe(6);
    expect(long.lines[5]!.endsWith('…')).toBe(true);
    const maxChars = Math.floor((720 * 0.84) / (long.fontSize * 0.64));
    for (const line of long.lines) expect(Array.from(line).length).toBeLessThanOrEqual(maxChars);
    const unbroken = layoutPrompt('x'.repeat(50), 480, 480);
    expect(unbroken.lines.join('')).toBe('x'.repeat(50));
  });
});

describe('local provider', () => {
  it('describes itself', async () => {
    const p = provider();
    expect(p.id).toBe('local');
    expect(p.available).toBe(true);
    expect(p.supportsCallbacks).toBe(false);
    expect(p.supportsCancel).toBe(true);
    expect(await p.verifyCallback(Buffer.from('{}'), {})).toEqual({ ok: false, reason: 'the local renderer sends no callbacks' });
  });

  it('renders H.264 MP4s at the exact duration and size, with and without audio', async () => {
    const p = provider({ concurrency: 3 });
    const cases = [
      { resolution: '720p', aspectRatio: '16:9', durationSeconds: 2, audio: true, width: 1280, height: 720 },
      { resolution: '1080p', aspectRatio: '9:16', durationSeconds: 1, audio: false, width: 1080, height: 1920 },
      { resolution: '480p', aspectRatio: '1:1', durationSeconds: 3, audio: false, width: 480, height: 480 },
    ];
    const ids = await Promise.all(cases.map(async (c) => (await p.submit(request({ ...c }), key())).upstreamId));
    for (const id of ids) expect(id).toMatch(/^local_[0-9a-f]{24}$/);
    const results = await Promise.all(ids.map((id) => waitFinal(p, id)));
    for (const [i, c] of cases.entries()) {
      const s = results[i]!.final;
      expect(s.state).toBe('succeeded');
      if (s.state !== 'succeeded') continue;
      expect(s.output.contentType).toBe('video/mp4');
      expect(s.output.videoUrl.startsWith('file://')).toBe(true);
      const info = await probeMedia(outputFile(s));
      expect(info.videoCodec).toBe('h264');
      expect(info.width).toBe(c.width);
      expect(info.height).toBe(c.height);
      expect(Math.abs(info.durationSeconds - c.durationSeconds)).toBeLessThanOrEqual(0.1);
      expect(info.audioCodec).toBe(c.audio ? 'aac' : undefined);
      const poster = fileURLToPath(s.output.thumbnailUrl ?? '');
      expect(fs.readFileSync(poster).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      // nothing temporary left behind
      expect(fs.readdirSync(path.dirname(poster)).sort()).toEqual(['output.mp4', 'poster.jpg', 'request.json']);
    }
  });

  it('uses the first-frame image (data: URL) as frame 0 and ends on the last-frame image (http URL)', async () => {
    const p = provider();
    const dataUrl = `data:image/png;base64,${fs.readFileSync(redPng).toString('base64')}`;
    const { upstreamId } = await p.submit(
      request({
        mode: 'first-last-frame',
        durationSeconds: 2,
        references: [
          { kind: 'image', role: 'first_frame', url: dataUrl },
          { kind: 'image', role: 'last_frame', url: `${baseUrl}/blue.png` },
        ],
      }),
      key(),
    );
    const { final } = await waitFinal(p, upstreamId);
    const video = outputFile(final);
    const [r, g, b] = await frameColor(video, 'first');
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(50);
    expect(b).toBeLessThan(50);
    const [r2, g2, b2] = await frameColor(video, 'last');
    expect(b2).toBeGreaterThan(180);
    expect(r2).toBeLessThan(80);
    expect(g2).toBeLessThan(80);
    // the poster is the first frame too
    const poster = fileURLToPath((final as Extract<NormalizedStatus, { state: 'succeeded' }>).output.thumbnailUrl!);
    const [pr, pg] = await frameColor(poster, 'first');
    expect(pr).toBeGreaterThan(200);
    expect(pg).toBeLessThan(50);
  });

  it('image-to-video takes a file:// image as the background', async () => {
    const p = provider({ allowedRoots: [root] });
    const { upstreamId } = await p.submit(
      request({ mode: 'image-to-video', aspectRatio: '9:16', references: [{ kind: 'image', role: 'reference', url: pathToFileURL(redPng).href }] }),
      key(),
    );
    const { final } = await waitFinal(p, upstreamId);
    const [r, g, b] = await frameColor(outputFile(final), 'first');
    expect(r).toBeGreaterThan(200);
    expect(g + b).toBeLessThan(100);
  });

  it('goes queued/running with progress, then succeeded', async () => {
    const p = provider();
    const { upstreamId } = await p.submit(request({ durationSeconds: 4, resolution: '1080p' }), key());
    const { final, seen } = await waitFinal(p, upstreamId, 25_000, 20);
    expect(final.state).toBe('succeeded');
    expect(['queued', 'running']).toContain(seen[0]!.state);
    const progress = seen.flatMap((s) => (s.state === 'running' ? [s.progress] : []));
    expect(progress.length).toBeGreaterThan(0);
    for (const v of progress) {
      expect(typeof v).toBe('number');
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
    expect(Math.max(...(progress as number[]))).toBeGreaterThan(0);
    // monotonic
    for (let i = 1; i < progress.length; i++) expect(progress[i]!).toBeGreaterThanOrEqual(progress[i - 1]!);
    // a final state stays final
    expect((await p.poll(upstreamId)).state).toBe('succeeded');
  });

  it('is idempotent: the same key gives the same id and one render', async () => {
    const started: string[] = [];
    const logger = {
      info: (o: object, msg?: string) => {
        if (msg === 'local render started') started.push((o as { upstreamId: string }).upstreamId);
      },
      warn: () => undefined,
    };
    const p = provider({ logger });
    const k = key();
    const [a, b] = await Promise.all([p.submit(request(), k), p.submit(request(), k)]);
    const c = await p.submit(request(), k);
    expect(a.upstreamId).toBe(localTaskId(k));
    expect(b.upstreamId).toBe(a.upstreamId);
    expect(c.upstreamId).toBe(a.upstreamId);
    expect((await waitFinal(p, a.upstreamId)).final.state).toBe('succeeded');
    const d = await p.submit(request(), k);
    expect(d.upstreamId).toBe(a.upstreamId);
    expect((await p.poll(a.upstreamId)).state).toBe('succeeded');
    expect(started.filter((id) => id === a.upstreamId)).toHaveLength(1);
    expect(localTaskId('other')).not.toBe(a.upstreamId);
  });

  it('respects the concurrency limit', async () => {
    let active = 0;
    let maxActive = 0;
    const logger = {
      info: (_o: object, msg?: string) => {
        if (msg === 'local render started') maxActive = Math.max(maxActive, ++active);
        if (msg === 'local render finished') active--;
      },
      warn: () => undefined,
    };
    const p = provider({ concurrency: 1, logger });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await p.submit(request({ prompt: `clip ${i}` }), key())).upstreamId);
    let maxRunning = 0;
    let sawQueued = false;
    for (;;) {
      const states = await Promise.all(ids.map((id) => p.poll(id)));
      maxRunning = Math.max(maxRunning, states.filter((s) => s.state === 'running').length);
      sawQueued ||= states.some((s) => s.state === 'queued' && s.queuePosition !== undefined);
      if (states.every((s) => isFinalState(s.state))) {
        for (const s of states) expect(s.state).toBe('succeeded');
        break;
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(maxRunning).toBe(1);
    expect(maxActive).toBe(1);
    expect(sawQueued).toBe(true);
  });

  it('cancels a render in progress: canceled, no output', async () => {
    const dataDir = freshDataDir();
    const p = provider({ dataDir });
    const { upstreamId } = await p.submit(request({ durationSeconds: 30, resolution: '1080p' }), key());
    await waitEncoding(p, upstreamId);
    const t0 = Date.now();
    await p.cancel(upstreamId);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(processesUsing(dataDir)).toBe(0);
    expect((await p.poll(upstreamId)).state).toBe('canceled');
    await p.cancel(upstreamId); // idempotent
    const dir = path.join(dataDir, 'renders', upstreamId);
    expect(fs.readdirSync(dir).sort()).toEqual(['canceled', 'request.json']);
    expect((await p.poll(upstreamId)).state).toBe('canceled');
  });

  it('cancels a queued render and refuses to cancel a finished one', async () => {
    const dataDir = freshDataDir();
    const p = provider({ dataDir, concurrency: 1 });
    const first = await p.submit(request(), key());
    const second = await p.submit(request({ prompt: 'second' }), key());
    expect((await p.poll(second.upstreamId)).state).toBe('queued');
    await p.cancel(second.upstreamId);
    expect((await p.poll(second.upstreamId)).state).toBe('canceled');
    expect((await waitFinal(p, first.upstreamId)).final.state).toBe('succeeded');
    await expectProviderError(p.cancel(first.upstreamId), 'invalid_input');
    expect((await p.poll(second.upstreamId)).state).toBe('canceled');
    expect(fs.existsSync(path.join(dataDir, 'renders', second.upstreamId, 'output.mp4'))).toBe(false);
  });

  it('resumes, in a new instance, a task accepted before a crash', async () => {
    const dataDir = freshDataDir();
    const a = provider({ dataDir });
    const { upstreamId } = await a.submit(request({ durationSeconds: 2 }), key());
    await a.close(); // the process "dies" before the render finishes
    const dir = path.join(dataDir, 'renders', upstreamId);
    expect(fs.readdirSync(dir)).toEqual(['request.json']);
    await expectProviderError(a.submit(request(), key()), 'retryable');

    const b = provider({ dataDir });
    expect(['queued', 'running']).toContain((await b.poll(upstreamId)).state);
    const { final } = await waitFinal(b, upstreamId);
    expect(final.state).toBe('succeeded');
    expect(Math.abs((await probeMedia(outputFile(final))).durationSeconds - 2)).toBeLessThanOrEqual(0.1);
  });

  it('a request.json written by hand (never queued anywhere) is rendered on poll', async () => {
    const dataDir = freshDataDir();
    const id = localTaskId('crashed-before-enqueue');
    fs.mkdirSync(path.join(dataDir, 'renders', id), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'renders', id, 'request.json'), JSON.stringify(request()));
    // what an interrupted render leaves behind
    fs.writeFileSync(path.join(dataDir, 'renders', id, 'output.123.abcd.tmp.mp4'), 'partial');
    fs.mkdirSync(path.join(dataDir, 'renders', id, 'work.123.abcd'));
    const p = provider({ dataDir });
    const { final } = await waitFinal(p, id);
    expect(final.state).toBe('succeeded');
    expect(fs.readdirSync(path.join(dataDir, 'renders', id)).sort()).toEqual(['output.mp4', 'poster.jpg', 'request.json']);
  });

  it('answers not_found for unknown and malformed ids (no path traversal)', async () => {
    const p = provider();
    await expectProviderError(p.poll(localTaskId('never-submitted')), 'not_found');
    await expectProviderError(p.cancel(localTaskId('never-submitted')), 'not_found');
    // a real directory outside renders/ that a traversal would reach
    const outside = path.join(root, 'outside');
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'output.mp4'), 'x');
    for (const bad of ['../outside', 'local_../../outside', `local_${'0'.repeat(23)}/`, 'local_ABCDEF0123456789abcdef01', '', `local_${'0'.repeat(24)}/..`]) {
      await expectProviderError(p.poll(bad), 'not_found');
      await expectProviderError(p.cancel(bad), 'not_found');
    }
    expect(fs.readdirSync(outside)).toEqual(['output.mp4']);
  });

  it('fails with invalid_input for a reference that is not an image, missing, or unreachable', async () => {
    const p = provider({ concurrency: 3, allowedRoots: [root] });
    const textFile = path.join(root, 'notes.txt');
    fs.writeFileSync(textFile, 'definitely not a picture');
    const cases = [
      { url: pathToFileURL(textFile).href, message: /not an image/ },
      { url: pathToFileURL(path.join(root, 'missing.png')).href, message: /missing or unreadable/ },
      { url: `${baseUrl}/nope.png`, message: /HTTP 404/ },
      { url: 'data:image/png;base64,iVBORw0KGgo=', message: /not a readable image/ },
    ];
    const ids = await Promise.all(
      cases.map(
        async (c) => (await p.submit(request({ mode: 'image-to-video', references: [{ kind: 'image', role: 'first_frame', url: c.url }] }), key())).upstreamId,
      ),
    );
    for (const [i, id] of ids.entries()) {
      const { final } = await waitFinal(p, id);
      expect(final.state).toBe('failed');
      if (final.state !== 'failed') continue;
      expect(final.error.kind).toBe('invalid_input');
      expect(final.error.message).toMatch(cases[i]!.message);
      expect(final.error.message).toMatch(/@image1/);
    }
  });

  it('fails with generation_failed when ffmpeg crashes or the render times out', async () => {
    const fakeFfmpeg = path.join(root, 'broken-ffmpeg.sh');
    fs.writeFileSync(fakeFfmpeg, '#!/bin/sh\necho "Segmentation fault (core dumped)" >&2\nexit 139\n', { mode: 0o755 });
    const broken = provider({ ffmpegPath: fakeFfmpeg });
    const crashed = await broken.submit(request(), key());
    const { final } = await waitFinal(broken, crashed.upstreamId);
    expect(final.state).toBe('failed');
    if (final.state === 'failed') {
      expect(final.error.kind).toBe('generation_failed');
      expect(final.error.message).toMatch(/Segmentation fault/);
    }

    const slow = provider({ renderTimeoutMs: 300 });
    const late = await slow.submit(request({ durationSeconds: 30, resolution: '1080p' }), key());
    const timedOut = (await waitFinal(slow, late.upstreamId)).final;
    expect(timedOut.state).toBe('failed');
    if (timedOut.state === 'failed') {
      expect(timedOut.error.kind).toBe('generation_failed');
      expect(timedOut.error.message).toMatch(/took longer than/);
    }
    await expectProviderError(slow.cancel(late.upstreamId), 'invalid_input');
  });

  it('rejects an unrenderable request at submit', async () => {
    const p = provider();
    await expectProviderError(p.submit(request({ aspectRatio: '16:0' }), key()), 'invalid_input');
    await expectProviderError(p.submit(request({ durationSeconds: 0 }), key()), 'invalid_input');
    await expectProviderError(p.submit(request({ resolution: 'huge' }), key()), 'invalid_input');
  });

  it('close() stops running renders and waits for ffmpeg to exit', async () => {
    const dataDir = freshDataDir();
    const p = provider({ dataDir, concurrency: 1 });
    const a = await p.submit(request({ durationSeconds: 30, resolution: '1080p' }), key());
    const b = await p.submit(request({ prompt: 'queued' }), key());
    await waitEncoding(p, a.upstreamId);
    expect(processesUsing(dataDir)).toBe(1);
    const t0 = Date.now();
    await p.close();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(processesUsing(dataDir)).toBe(0);
    // no partial output, no failure recorded: a restart renders them again
    expect(fs.readdirSync(path.join(dataDir, 'renders', a.upstreamId))).toEqual(['request.json']);
    expect(fs.readdirSync(path.join(dataDir, 'renders', b.upstreamId))).toEqual(['request.json']);
  });
});

/* ------------------------------------------------ several processes, one data dir */

/** A logger that counts the renders an instance really started. */
function startCounter() {
  const started: string[] = [];
  const logger = {
    info: (o: object, msg?: string) => {
      if (msg === 'local render started') started.push((o as { upstreamId: string }).upstreamId);
    },
    warn: () => undefined,
  };
  return { started, logger };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A task accepted by a process that is gone: request.json, and optionally its lease. */
function orphanTask(dataDir: string, name: string, lease?: { ageMs: number }) {
  const id = localTaskId(name);
  const dir = path.join(dataDir, 'renders', id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'request.json'), JSON.stringify(request({ prompt: name })));
  if (lease) {
    const file = path.join(dir, 'lease');
    fs.writeFileSync(file, JSON.stringify({ pid: 999_999, host: 'another-host', startedAt: new Date().toISOString(), token: 'gone' }));
    const at = (Date.now() - lease.ageMs) / 1000;
    fs.utimesSync(file, at, at);
  }
  return { id, dir };
}

describe('local provider: several processes over one data dir', () => {
  it('a second instance reports the render the first one holds, with its progress, and does not render it', async () => {
    const dataDir = freshDataDir();
    const ca = startCounter();
    const cb = startCounter();
    const a = provider({ dataDir, concurrency: 1, logger: ca.logger });
    const b = provider({ dataDir, concurrency: 1, logger: cb.logger });
    const k = key();
    const { upstreamId } = await a.submit(request({ durationSeconds: 6, resolution: '1080p' }), k);
    const dir = path.join(dataDir, 'renders', upstreamId);
    await waitState(a, upstreamId, 'running');
    // a retried submit through B while A renders: the same task, left to A
    expect((await b.submit(request({ durationSeconds: 6, resolution: '1080p' }), k)).upstreamId).toBe(upstreamId);
    const lease = JSON.parse(fs.readFileSync(path.join(dir, 'lease'), 'utf8')) as Record<string, unknown>;
    expect(lease).toMatchObject({ pid: process.pid, host: os.hostname() });
    expect(Number.isNaN(Date.parse(String(lease.startedAt)))).toBe(false);

    const seen: NormalizedStatus[] = [];
    let maxFfmpeg = 0;
    for (;;) {
      const s = await b.poll(upstreamId);
      seen.push(s);
      if (isFinalState(s.state)) break;
      maxFfmpeg = Math.max(maxFfmpeg, processesUsing(dir));
      await sleep(50);
    }
    expect(seen.at(-1)!.state).toBe('succeeded');
    const running = seen.filter((s) => s.state === 'running');
    expect(running.length).toBeGreaterThan(0);
    expect(seen.every((s) => s.state === 'running' || s.state === 'succeeded')).toBe(true);
    const progress = running.map((s) => s.progress);
    for (const v of progress) expect(typeof v).toBe('number');
    expect(Math.max(...(progress as number[]))).toBeGreaterThan(0);
    // one render, by A: B never started one, never more than one ffmpeg on the task
    expect(ca.started).toEqual([upstreamId]);
    expect(cb.started).toEqual([]);
    expect(maxFfmpeg).toBeLessThanOrEqual(1);
    expect((await a.poll(upstreamId)).state).toBe('succeeded');
    expect(fs.readdirSync(dir).sort()).toEqual(['output.mp4', 'poster.jpg', 'request.json']);
  });

  it('a fresh lease of another process is respected; a stale one is taken over, by one instance only', async () => {
    const dataDir = freshDataDir();
    const cb = startCounter();
    const cc = startCounter();
    const b = provider({ dataDir, logger: cb.logger });
    const c = provider({ dataDir, logger: cc.logger });
    const { id, dir } = orphanTask(dataDir, 'owner-died', { ageMs: 0 });
    // the owner is alive (fresh lease): running, with the progress it published
    expect(await b.poll(id)).toEqual({ state: 'running', upstreamStatus: 'rendering', progress: 0 });
    fs.writeFileSync(path.join(dir, 'progress'), '37');
    expect(await c.poll(id)).toEqual({ state: 'running', upstreamStatus: 'rendering', progress: 37 });
    await sleep(100);
    expect(cb.started).toEqual([]);
    expect(cc.started).toEqual([]);
    // the owner died 60 s ago: both poll at once, one takes over
    const old = (Date.now() - 60_000) / 1000;
    fs.utimesSync(path.join(dir, 'lease'), old, old);
    const first = await Promise.all([b.poll(id), c.poll(id)]);
    for (const s of first) expect(['queued', 'running']).toContain(s.state);
    const [fb, fc] = await Promise.all([waitFinal(b, id), waitFinal(c, id)]);
    expect(fb.final.state).toBe('succeeded');
    expect(fc.final.state).toBe('succeeded');
    expect([...cb.started, ...cc.started]).toEqual([id]);
    // no lease, progress or moved-aside lease left behind
    expect(fs.readdirSync(dir).sort()).toEqual(['output.mp4', 'poster.jpg', 'request.json']);
  });

  it('a task waiting in one instance and rendered by another is not rendered twice, and no lease is left', async () => {
    const dataDir = freshDataDir();
    const { id, dir } = orphanTask(dataDir, 'waiting-here-rendered-there');
    const cb = startCounter();
    const cc = startCounter();
    const c = provider({ dataDir, concurrency: 1, logger: cc.logger });
    const busy = await c.submit(request({ durationSeconds: 3, resolution: '1080p' }), key());
    await waitState(c, busy.upstreamId, 'running');
    expect(await c.poll(id)).toMatchObject({ state: 'queued', queuePosition: 1 }); // C is busy: it waits
    const b = provider({ dataDir, logger: cb.logger });
    await waitState(b, id, 'running');
    expect(['running', 'succeeded']).toContain((await c.poll(id)).state); // B's lease, not C's queue
    expect((await waitFinal(b, id)).final.state).toBe('succeeded');
    expect((await waitFinal(c, busy.upstreamId)).final.state).toBe('succeeded');
    await sleep(100); // C reaches the task in its queue, finds it done
    expect((await c.poll(id)).state).toBe('succeeded');
    expect(cb.started).toEqual([id]);
    expect(cc.started).toEqual([busy.upstreamId]);
    expect(fs.readdirSync(dir).sort()).toEqual(['output.mp4', 'poster.jpg', 'request.json']);
  });

  it('a task accepted and left by a closed instance (stale lease) is finished by another', async () => {
    const dataDir = freshDataDir();
    const a = provider({ dataDir, concurrency: 1 });
    const { upstreamId } = await a.submit(request({ durationSeconds: 30, resolution: '1080p' }), key());
    await waitState(a, upstreamId, 'running');
    const dir = path.join(dataDir, 'renders', upstreamId);
    // what a crash leaves: the request, a lease nobody refreshes, a progress file
    const lease = fs.readFileSync(path.join(dir, 'lease'));
    await a.close();
    fs.writeFileSync(path.join(dir, 'lease'), lease);
    fs.writeFileSync(path.join(dir, 'progress'), '12');
    const old = (Date.now() - 20_000) / 1000;
    fs.utimesSync(path.join(dir, 'lease'), old, old);
    // a shorter render under the same id, so the takeover is quick to check
    fs.writeFileSync(path.join(dir, 'request.json'), JSON.stringify(request()));
    const cb = startCounter();
    const b = provider({ dataDir, logger: cb.logger });
    expect(['queued', 'running']).toContain((await b.poll(upstreamId)).state);
    expect((await waitFinal(b, upstreamId)).final.state).toBe('succeeded');
    expect(cb.started).toEqual([upstreamId]);
    expect(fs.readdirSync(dir).sort()).toEqual(['output.mp4', 'poster.jpg', 'request.json']);
  });

  it('cancel() from another instance stops the render where it runs', async () => {
    const dataDir = freshDataDir();
    const a = provider({ dataDir, leaseRefreshMs: 200 });
    const b = provider({ dataDir, leaseRefreshMs: 200 });
    const { upstreamId } = await a.submit(request({ durationSeconds: 30, resolution: '1080p' }), key());
    await waitEncoding(a, upstreamId);
    expect(processesUsing(dataDir)).toBe(1);
    expect((await b.poll(upstreamId)).state).toBe('running');
    const t0 = Date.now();
    await b.cancel(upstreamId);
    // B waited until A let go: A's ffmpeg is gone, nothing is left but the marker
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(processesUsing(dataDir)).toBe(0);
    expect((await a.poll(upstreamId)).state).toBe('canceled');
    expect((await b.poll(upstreamId)).state).toBe('canceled');
    const dir = path.join(dataDir, 'renders', upstreamId);
    expect(fs.readdirSync(dir).sort()).toEqual(['canceled', 'request.json']);
    await b.cancel(upstreamId); // idempotent
    await a.cancel(upstreamId);
  });

  it('a render whose lease was taken by another process stops without recording a failure', async () => {
    const dataDir = freshDataDir();
    const a = provider({ dataDir, leaseRefreshMs: 100 });
    const { upstreamId } = await a.submit(request({ durationSeconds: 30, resolution: '1080p' }), key());
    await waitState(a, upstreamId, 'running');
    const dir = path.join(dataDir, 'renders', upstreamId);
    // another process judged A dead and took the task: its lease replaces A's
    const theirs = JSON.stringify({ pid: 1, host: 'another-host', startedAt: new Date().toISOString(), token: 'theirs' });
    fs.writeFileSync(path.join(dir, 'lease.tmp'), theirs);
    fs.renameSync(path.join(dir, 'lease.tmp'), path.join(dir, 'lease'));
    await until(() => processesUsing(dataDir) === 0, { timeoutMs: 5_000, what: 'A to stop its ffmpeg' }).catch(() => undefined);
    expect(processesUsing(dataDir)).toBe(0);
    await sleep(100);
    // A left the new owner's lease alone, recorded no failure, and reports it as the new owner's
    expect(fs.readFileSync(path.join(dir, 'lease'), 'utf8')).toBe(theirs);
    expect(fs.existsSync(path.join(dir, 'failed.json'))).toBe(false);
    expect((await a.poll(upstreamId)).state).toBe('running');
  });
});

describe('local provider: file:// references', () => {
  it('accepts files inside the data dir only (real paths: no symlink or .. escapes)', async () => {
    const dataDir = freshDataDir();
    const uploads = path.join(dataDir, 'uploads');
    fs.mkdirSync(uploads);
    fs.copyFileSync(redPng, path.join(uploads, 'red.png'));
    fs.symlinkSync(redPng, path.join(uploads, 'link.png'));
    fs.symlinkSync(root, path.join(uploads, 'escape'));
    const p = provider({ dataDir, concurrency: 3 });
    const image = (url: string) => request({ mode: 'image-to-video', references: [{ kind: 'image', role: 'first_frame', url }] });
    const cases = [
      { url: pathToFileURL(path.join(uploads, 'red.png')).href, ok: true },
      { url: pathToFileURL(redPng).href, ok: false }, // in os.tmpdir(), outside the data dir
      { url: pathToFileURL(path.join(uploads, 'link.png')).href, ok: false }, // a symlink out of it
      { url: pathToFileURL(path.join(uploads, 'escape', 'red.png')).href, ok: false }, // a symlinked folder
      { url: `file://${uploads}/../../red.png`, ok: false },
      { url: pathToFileURL(path.join(root, 'no-such.png')).href, ok: false }, // missing, and outside
    ];
    const ids = await Promise.all(cases.map(async (c) => (await p.submit(image(c.url), key())).upstreamId));
    for (const [i, id] of ids.entries()) {
      const { final } = await waitFinal(p, id);
      if (cases[i]!.ok) {
        expect(final.state).toBe('succeeded');
        const [r, g, b] = await frameColor(outputFile(final), 'first');
        expect(r).toBeGreaterThan(200);
        expect(g + b).toBeLessThan(100);
        continue;
      }
      expect(final.state, cases[i]!.url).toBe('failed');
      if (final.state !== 'failed') continue;
      expect(final.error.kind).toBe('invalid_input');
      expect(final.error.message).toBe('reference @image1 is not in an allowed folder');
    }
  });

  it('allowedRoots replaces the default; a root given through a symlink works; data: URLs are unaffected', async () => {
    const dataDir = freshDataDir();
    const images = path.join(root, 'images');
    fs.mkdirSync(images, { recursive: true });
    fs.copyFileSync(redPng, path.join(images, 'red.png'));
    const alias = path.join(root, 'images-alias');
    fs.symlinkSync(images, alias);
    const p = provider({ dataDir, concurrency: 3, allowedRoots: [alias] });
    fs.copyFileSync(redPng, path.join(dataDir, 'red.png'));
    const dataUrl = `data:image/png;base64,${fs.readFileSync(redPng).toString('base64')}`;
    const urls = [
      pathToFileURL(path.join(images, 'red.png')).href,
      pathToFileURL(path.join(alias, 'red.png')).href,
      pathToFileURL(path.join(dataDir, 'red.png')).href,
      dataUrl,
    ];
    const ids = await Promise.all(
      urls.map(
        async (url) => (await p.submit(request({ mode: 'image-to-video', references: [{ kind: 'image', role: 'first_frame', url }] }), key())).upstreamId,
      ),
    );
    const finals = await Promise.all(ids.map(async (id) => (await waitFinal(p, id)).final));
    expect(finals.map((f) => f.state)).toEqual(['succeeded', 'succeeded', 'failed', 'succeeded']);
    const f = finals[2]!;
    if (f.state === 'failed') expect(f.error).toMatchObject({ kind: 'invalid_input', message: 'reference @image1 is not in an allowed folder' });
  });
});
