import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKieProvider, type KieProviderOptions } from '../../src/server/adapters/providers/kie';
import { isFinalState, ProviderError, type NormalizedStatus, type ProviderRequest, type VideoProvider } from '../../src/server/adapters/providers/provider';
import { closeAll } from '../helpers/close';
import { fakeFailureKinds, type FakeFailure } from './failures';
import { startFakeKie, type FakeKie } from './kie';

/** The KIE adapter against the fake KIE: wire bodies, every failure kind, both error styles, callbacks. */

interface Hook {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A local callback receiver standing in for our /webhooks/kie route. */
async function startReceiver() {
  const hooks: Hook[] = [];
  const arrivals = new EventEmitter();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) });
      arrivals.emit('hook');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let n = 0;
  return {
    /** a fresh callback URL; its hooks are collected apart from the others */
    callback: () => `${base}/webhooks/kie?n=${++n}`,
    async waitFor(callbackUrl: string, count: number, timeoutMs = 8000): Promise<Hook[]> {
      const u = new URL(callbackUrl);
      const mine = () => hooks.filter((h) => h.path === `${u.pathname}${u.search}`);
      const until = Date.now() + timeoutMs;
      while (mine().length < count) {
        const left = until - Date.now();
        if (left <= 0) throw new Error(`got ${mine().length} callbacks at ${callbackUrl}, wanted ${count}`);
        await once(arrivals, 'hook', { signal: AbortSignal.timeout(left) }).catch(() => undefined);
      }
      return mine();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fake: FakeKie;
let httpFake: FakeKie;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let kie: VideoProvider;
let httpKie: VideoProvider;
let tmp: string;

const providerFor = (f: FakeKie, extra: Partial<KieProviderOptions> = {}) =>
  createKieProvider({ apiKey: f.apiKey, baseUrl: f.url, uploadUrl: f.url, webhookHmacKey: f.hmacKey, timeoutMs: 10_000, ...extra });

beforeAll(async () => {
  [fake, httpFake, receiver] = await Promise.all([startFakeKie({ stepMs: 100 }), startFakeKie({ stepMs: 250, errorStyle: 'http-status' }), startReceiver()]);
  kie = providerFor(fake);
  httpKie = providerFor(httpFake);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kie-test-'));
});
afterAll(async () => {
  await closeAll(fake, httpFake, receiver, kie, httpKie);
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  fake.clearInjections();
  httpFake.clearInjections();
});

/** Both error styles: HTTP 200 + code in the body (default), and the code as the HTTP status. */
const styles = () =>
  [
    ['body-code', fake, kie],
    ['http-status', httpFake, httpKie],
  ] as const;

const veo = (over: Partial<ProviderRequest> = {}): ProviderRequest => ({
  modelId: 'veo-3.1-fast',
  upstreamModel: 'veo3_fast',
  mode: 'text-to-video',
  prompt: 'a red fox trotting through fresh snow',
  durationSeconds: 8,
  resolution: '720p',
  aspectRatio: '16:9',
  audio: true,
  references: [],
  ...over,
});

const kling = (over: Partial<ProviderRequest> = {}): ProviderRequest => ({
  modelId: 'kling-3.0',
  upstreamModel: 'kling-3.0/text-to-video',
  mode: 'text-to-video',
  prompt: 'a paper boat drifting down a rainy street',
  durationSeconds: 5,
  resolution: '1080p',
  aspectRatio: '16:9',
  audio: true,
  references: [],
  ...over,
});

const lastBody = (f: FakeKie, p: string): Record<string, unknown> => {
  const r = f.requests.filter((x) => x.path === p).at(-1);
  if (!r) throw new Error(`no request to ${p}`);
  return JSON.parse(r.body) as Record<string, unknown>;
};
const taskIdOf = (upstreamId: string) => upstreamId.replace(/^(veo|job):/, '');

async function providerError(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderError);
    return err as ProviderError;
  }
  throw new Error('expected a ProviderError');
}

async function pollToFinal(p: VideoProvider, upstreamId: string, timeoutMs = 8000): Promise<NormalizedStatus[]> {
  const seen: NormalizedStatus[] = [];
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await p.poll(upstreamId);
    seen.push(s);
    if (isFinalState(s.state)) return seen;
    if (Date.now() > until) throw new Error(`still ${s.state} (${s.upstreamStatus}) after ${timeoutMs} ms`);
    await sleep(25);
  }
}

const final = (seen: NormalizedStatus[]) => seen.at(-1)!;

async function verifyAll(p: VideoProvider, hooks: Hook[]) {
  return Promise.all(hooks.map((h) => p.verifyCallback(h.body, h.headers)));
}

const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

// ---------------------------------------------------------------------------------------------

describe('configuration', () => {
  it('without a key the provider is unavailable and every call throws auth_config', async () => {
    const p = createKieProvider({ baseUrl: fake.url, uploadUrl: fake.url, timeoutMs: 1000 });
    const before = fake.requests.length;
    expect(p.available).toBe(false);
    expect(p.unavailableReason).toBe('KIE_API_KEY is not set');
    for (const call of [p.submit(veo(), 'k1'), p.poll('veo:x'), p.cancel('veo:x')]) {
      const err = await providerError(call);
      expect(err.kind).toBe('auth_config');
      expect(err.provider).toBe('kie');
    }
    expect(await p.verifyCallback(Buffer.from('{}'), {})).toEqual({ ok: false, reason: 'KIE_API_KEY is not set' });
    expect(fake.requests.length).toBe(before);
  });

  it('says what it supports; cancel is refused as invalid_input', async () => {
    expect([kie.id, kie.available, kie.supportsCallbacks, kie.supportsCancel]).toEqual(['kie', true, true, false]);
    const err = await providerError(kie.cancel('job:task_1'));
    expect(err.kind).toBe('invalid_input');
    expect(err.message).toBe('KIE cannot cancel tasks');
  });

  it('a wrong key is auth_config; a model with no mapping or a refused reference kind never reaches KIE', async () => {
    const wrong = providerFor(fake, { apiKey: 'not-the-key' });
    const err = await providerError(wrong.submit(kling(), 'k'));
    expect([err.kind, err.upstreamCode, err.maybeAccepted]).toEqual(['auth_config', '401', false]);

    const before = fake.requests.length;
    expect((await providerError(kie.submit(kling({ upstreamModel: 'hailuo/video-01' }), 'k'))).kind).toBe('invalid_input');
    const videoRef = { kind: 'video' as const, role: 'reference' as const, url: 'https://cdn.example.com/clip.mp4' };
    expect((await providerError(kie.submit(kling({ references: [videoRef] }), 'k'))).message).toMatch(/no video references/);
    expect((await providerError(kie.submit(kling({ upstreamModel: 'sora-2-text-to-video', aspectRatio: '1:1' }), 'k'))).kind).toBe('invalid_input');
    expect(fake.requests.length).toBe(before);
  });
});

describe('happy paths and wire bodies', () => {
  it('Veo text-to-video: flat body, successFlag 0 -> 1, signed callback, a real MP4 with Range support', async () => {
    const callbackUrl = receiver.callback();
    const { upstreamId } = await kie.submit(veo({ seed: 12345, callbackUrl }), 'idem-1');
    expect(upstreamId).toMatch(/^veo:veo_task_[0-9a-f]+$/);
    const sent = fake.requests.filter((r) => r.path === '/api/v1/veo/generate').at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sent.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(sent.body)).toEqual({
      prompt: 'a red fox trotting through fresh snow',
      model: 'veo3_fast',
      generationType: 'TEXT_2_VIDEO',
      aspect_ratio: '16:9',
      seeds: 12345,
      callBackUrl: callbackUrl,
    });

    const seen = await pollToFinal(kie, upstreamId);
    expect(seen[0]).toEqual({ state: 'running', upstreamStatus: 'successFlag 0' });
    const videoUrl = `${fake.url}/results/${taskIdOf(upstreamId)}.mp4`;
    expect(final(seen)).toEqual({ state: 'succeeded', upstreamStatus: 'successFlag 1', output: { videoUrl } });
    expect(fake.requests.some((r) => r.path === '/api/v1/veo/record-info' && r.query.taskId === taskIdOf(upstreamId))).toBe(true);

    const [hook] = await receiver.waitFor(callbackUrl, 1);
    expect(JSON.parse(hook!.body.toString())).toMatchObject({ code: 200, data: { taskId: taskIdOf(upstreamId), info: { resultUrls: [videoUrl] } } });
    expect(await kie.verifyCallback(hook!.body, hook!.headers)).toEqual({
      ok: true,
      event: { upstreamId, status: { state: 'succeeded', upstreamStatus: 'code 200', output: { videoUrl } } },
    });

    const res = await fetch(videoUrl);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const part = await fetch(videoUrl, { headers: { range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-99/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(0, 100))).toBe(true);
  });

  it('Veo image modes: generationType per mode, imageUrls first frame first, then the others in order', async () => {
    const a = 'https://cdn.example.com/a.png';
    const b = 'https://cdn.example.com/b.png';
    const c = 'https://cdn.example.com/c.png';
    await kie.submit(
      veo({
        upstreamModel: 'veo3',
        mode: 'first-last-frame',
        aspectRatio: '9:16',
        references: [
          { kind: 'image', role: 'last_frame', url: b },
          { kind: 'image', role: 'first_frame', url: a },
        ],
      }),
      'k',
    );
    expect(lastBody(fake, '/api/v1/veo/generate')).toEqual({
      prompt: veo().prompt,
      model: 'veo3',
      generationType: 'FIRST_AND_LAST_FRAMES_2_VIDEO',
      imageUrls: [a, b],
      aspect_ratio: '9:16',
    });
    await kie.submit(veo({ mode: 'image-to-video', references: [{ kind: 'image', role: 'first_frame', url: c }] }), 'k');
    expect(lastBody(fake, '/api/v1/veo/generate')).toMatchObject({ generationType: 'FIRST_AND_LAST_FRAMES_2_VIDEO', imageUrls: [c] });
    await kie.submit(veo({ mode: 'reference', references: [c, a, b].map((url) => ({ kind: 'image' as const, role: 'reference' as const, url })) }), 'k');
    expect(lastBody(fake, '/api/v1/veo/generate')).toMatchObject({ model: 'veo3_fast', generationType: 'REFERENCE_2_VIDEO', imageUrls: [c, a, b] });
  });

  it('Kling image-to-video: jobs body, waiting -> queuing -> generating (progress) -> success', async () => {
    // the slower (250 ms steps) http-status fake, so every step is seen
    const image = 'https://cdn.example.com/first.png';
    const { upstreamId } = await httpKie.submit(
      kling({
        upstreamModel: 'kling-3.0/image-to-video',
        mode: 'image-to-video',
        audio: false,
        negativePrompt: 'blurry',
        references: [{ kind: 'image', role: 'first_frame', url: image }],
      }),
      'k',
    );
    expect(upstreamId).toMatch(/^job:task_/);
    expect(lastBody(httpFake, '/api/v1/jobs/createTask')).toEqual({
      model: 'kling-3.0/image-to-video',
      input: { prompt: kling().prompt, duration: '5', aspect_ratio: '16:9', sound: false, image_urls: [image], negative_prompt: 'blurry' },
    });
    const seen = await pollToFinal(httpKie, upstreamId);
    const states = [...new Set(seen.map((s) => `${s.state}/${s.upstreamStatus}`))];
    expect(states).toEqual(['queued/waiting', 'queued/queuing', 'running/generating', 'succeeded/success']);
    const running = seen.find((s) => s.state === 'running');
    expect(running?.state === 'running' && typeof running.progress === 'number' && running.progress >= 0 && running.progress <= 100).toBe(true);
    expect(final(seen)).toMatchObject({ output: { videoUrl: `${httpFake.url}/results/${taskIdOf(upstreamId)}.mp4` } });
  });

  it('Seedance: image, video and audio references by kind; data: and file: references go through the upload API', async () => {
    const audioBytes = Buffer.from('ID3 fake audio bytes for the test');
    const webp = path.join(tmp, 'style.webp');
    fs.writeFileSync(webp, Buffer.from('RIFF fake webp'));
    const uploadsBefore = fake.requests.filter((r) => r.path === '/api/file-stream-upload').length;
    const { upstreamId } = await kie.submit(
      {
        modelId: 'seedance-2.0',
        upstreamModel: 'bytedance/seedance-2',
        mode: 'reference',
        prompt: 'the dancer from @image1 moves like @video1 to @audio1',
        durationSeconds: 6,
        resolution: '720p',
        aspectRatio: '9:16',
        audio: true,
        seed: 42,
        references: [
          { kind: 'image', role: 'reference', url: 'https://cdn.example.com/dancer.png' },
          { kind: 'video', role: 'reference', url: 'https://cdn.example.com/moves.mp4' },
          { kind: 'audio', role: 'reference', url: `data:audio/mpeg;base64,${audioBytes.toString('base64')}` },
          { kind: 'image', role: 'first_frame', url: `data:image/png;base64,${png.toString('base64')}` },
          { kind: 'image', role: 'reference', url: pathToFileURL(webp).href, mimeType: 'image/webp' },
        ],
      },
      'k',
    );
    const uploads = fake.requests.filter((r) => r.path === '/api/file-stream-upload').slice(uploadsBefore);
    expect(uploads).toHaveLength(3);
    for (const u of uploads) {
      expect(u.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
      expect(u.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(u.body).toMatch(/name="uploadPath"\r\n\r\nsavesora\/refs\r\n/);
      expect(u.body).toMatch(/name="fileName"\r\n\r\n[0-9a-f-]{36}\.(png|mp3|webp)\r\n/);
    }
    const body = lastBody(fake, '/api/v1/jobs/createTask');
    const input = body.input as Record<string, string[]>;
    const uploaded = (ext: string) => (u: string) => u.startsWith(`${fake.url}/files/savesora/refs/`) && u.endsWith(ext);
    expect(body).toEqual({
      model: 'bytedance/seedance-2',
      input: {
        prompt: 'the dancer from @image1 moves like @video1 to @audio1',
        duration: '6',
        resolution: '720p',
        aspect_ratio: '9:16',
        generate_audio: true,
        seed: 42,
        image_urls: [expect.stringMatching(/\.png$/), 'https://cdn.example.com/dancer.png', expect.stringMatching(/\.webp$/)],
        video_urls: ['https://cdn.example.com/moves.mp4'],
        audio_urls: [expect.stringMatching(/\.mp3$/)],
        camera_fixed: false,
      },
    });
    expect(uploaded('.png')(input.image_urls![0]!) && uploaded('.webp')(input.image_urls![2]!) && uploaded('.mp3')(input.audio_urls![0]!)).toBe(true);
    // the uploaded bytes are served back unchanged at downloadUrl
    const got = Buffer.from(await (await fetch(input.image_urls![0]!)).arrayBuffer());
    expect(got.equals(png)).toBe(true);
    const audio = await fetch(input.audio_urls![0]!);
    expect(audio.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await audio.arrayBuffer()).equals(audioBytes)).toBe(true);
    expect(final(await pollToFinal(kie, upstreamId)).state).toBe('succeeded');
  });

  it('Sora 2: orientation, n_frames, size only for pro (high at 1080p), image_urls, never remove_watermark', async () => {
    const sora = (over: Partial<ProviderRequest>): ProviderRequest => ({ ...kling(), modelId: 'sora-2-pro', prompt: 'a lighthouse at dusk', ...over });
    await kie.submit(sora({ upstreamModel: 'sora-2-pro-text-to-video', resolution: '1080p', aspectRatio: '9:16', durationSeconds: 12 }), 'k');
    expect(lastBody(fake, '/api/v1/jobs/createTask')).toEqual({
      model: 'sora-2-pro-text-to-video',
      input: { prompt: 'a lighthouse at dusk', aspect_ratio: 'portrait', n_frames: '12', size: 'high' },
    });
    await kie.submit(sora({ upstreamModel: 'sora-2-pro-text-to-video', resolution: '720p' }), 'k');
    expect((lastBody(fake, '/api/v1/jobs/createTask').input as Record<string, unknown>).size).toBe('standard');
    const image = 'https://cdn.example.com/still.jpg';
    const callbackUrl = receiver.callback();
    await kie.submit(
      sora({
        upstreamModel: 'sora-2-image-to-video',
        mode: 'image-to-video',
        resolution: '720p',
        durationSeconds: 8,
        callbackUrl,
        references: [{ kind: 'image', role: 'first_frame', url: image }],
      }),
      'k',
    );
    expect(lastBody(fake, '/api/v1/jobs/createTask')).toEqual({
      model: 'sora-2-image-to-video',
      callBackUrl: callbackUrl,
      input: { prompt: 'a lighthouse at dusk', aspect_ratio: 'landscape', n_frames: '8', image_urls: [image] },
    });
  });

  it('the fake validates like KIE: required fields are named, both Veo aspect ratio spellings are accepted', async () => {
    const err = await providerError(kie.submit(veo({ prompt: '  ' }), 'k'));
    expect([err.kind, err.upstreamCode]).toEqual(['invalid_input', '422']);
    expect(err.message).toMatch(/prompt is required/);
    const post = (p: string, body: unknown) =>
      fetch(`${fake.url}${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<{ code: number; msg: string; data: { taskId?: string } | null }>);
    const old = await post('/api/v1/veo/generate', { prompt: 'x', model: 'veo3', aspectRatio: '9:16' });
    expect(old.code).toBe(200);
    expect(fake.tasks.get(old.data!.taskId!)?.video.aspectRatio).toBe('9:16');
    expect(await post('/api/v1/veo/generate', { prompt: 'x' })).toEqual({ code: 422, msg: 'model is required', data: null });
    expect(await post('/api/v1/jobs/createTask', { input: { prompt: 'x' } })).toMatchObject({ code: 422, msg: 'model is required' });
    expect(await post('/api/v1/jobs/createTask', { model: 'kling-3.0/text-to-video', input: { duration: '5' } })).toMatchObject({
      code: 422,
      msg: 'input.prompt is required',
    });
  });

  it('the fake upload API also takes base64 and (local) URL uploads and serves what it stored', async () => {
    const post = (p: string, body: unknown) =>
      fetch(`${fake.url}${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<{ code: number; msg: string; data: { downloadUrl: string; fileSize: number; mimeType: string } | null }>);
    const b64 = await post('/api/file-base64-upload', {
      base64Data: `data:image/png;base64,${png.toString('base64')}`,
      uploadPath: 'tests',
      fileName: 'dot.png',
    });
    expect(b64).toMatchObject({ code: 200, data: { downloadUrl: `${fake.url}/files/tests/dot.png`, fileSize: png.length, mimeType: 'image/png' } });
    const copy = await post('/api/file-url-upload', { fileUrl: b64.data!.downloadUrl, uploadPath: 'tests/copies' });
    expect(copy.data?.downloadUrl).toBe(`${fake.url}/files/tests/copies/dot.png`);
    expect(Buffer.from(await (await fetch(copy.data!.downloadUrl)).arrayBuffer()).equals(png)).toBe(true);
    expect((await post('/api/file-url-upload', { fileUrl: 'https://example.com/x.png', uploadPath: 'tests' })).code).toBe(422);
    expect(await post('/api/file-base64-upload', { base64Data: 'AAAA' })).toEqual({ code: 422, msg: 'uploadPath is required', data: null });
  });
});

describe('failure kinds', () => {
  it('delay: the submit answers late and the task is created normally', async () => {
    fake.inject({ kind: 'delay', ms: 400 });
    const started = Date.now();
    const { upstreamId } = await kie.submit(kling(), 'k');
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(fake.tasks.get(taskIdOf(upstreamId))?.failure).toEqual({ kind: 'delay', ms: 400 });
    expect(final(await pollToFinal(kie, upstreamId)).state).toBe('succeeded');
  });

  it('http-error 503 at submit: retryable, not accepted, no task (both error styles)', async () => {
    for (const [style, f, p] of styles()) {
      const tasks = f.tasks.size;
      f.inject({ kind: 'http-error', status: 503 });
      const err = await providerError(p.submit(kling(), 'k'));
      expect([style, err.kind, err.maybeAccepted, err.upstreamCode]).toEqual([style, 'retryable', false, '503']);
      expect(f.tasks.size).toBe(tasks);
    }
    const last = httpFake.requests.at(-1)!;
    expect(last.path).toBe('/api/v1/jobs/createTask');
  });

  it('http-error 502 from the gateway: an HTML body (not JSON) is retryable', async () => {
    const err = await providerError(kie.submit(kling({ prompt: 'gateway trouble [fake:http-error=502]' }), 'k'));
    expect([err.kind, err.maybeAccepted, err.upstreamCode]).toEqual(['retryable', false, '502']);
    expect(err.message).toMatch(/not a JSON envelope/);
  });

  it('rate-limit: retryable with Retry-After (both error styles)', async () => {
    for (const [, f, p] of styles()) {
      f.inject({ kind: 'rate-limit', retryAfterSeconds: 3 });
      const err = await providerError(p.submit(veo(), 'k'));
      expect([err.kind, err.upstreamCode, err.retryAfterMs, err.maybeAccepted]).toEqual(['retryable', '429', 3000, false]);
    }
  });

  it('timeout and accept-then-timeout: retryable and maybe accepted; only the second created a task', async () => {
    const quick = providerFor(fake, { timeoutMs: 1000 });
    const [timedOut, acceptedThenTimedOut] = await Promise.all([
      providerError(quick.submit(kling({ prompt: 'slow one [fake:timeout]' }), 'k')),
      providerError(quick.submit(kling({ prompt: 'lost answer [fake:accept-then-timeout]' }), 'k')),
    ]);
    for (const err of [timedOut, acceptedThenTimedOut]) {
      expect([err.kind, err.maybeAccepted]).toEqual(['retryable', true]);
      expect(err.message).toMatch(/timed out after 1000 ms/);
    }
    const prompts = [...fake.tasks.values()].map((t) => (t.api === 'jobs' ? (t.body.input as { prompt: string }).prompt : t.body.prompt));
    expect(prompts).toContain('lost answer [fake:accept-then-timeout]');
    expect(prompts).not.toContain('slow one [fake:timeout]');
  });

  it('invalid-input (422) and auth (401) at submit, both error styles', async () => {
    for (const [style, f, p] of styles()) {
      f.inject({ kind: 'invalid-input' });
      const bad = await providerError(p.submit(kling(), 'k'));
      expect([style, bad.kind, bad.upstreamCode, bad.maybeAccepted]).toEqual([style, 'invalid_input', '422', false]);
      f.inject({ kind: 'auth' });
      const denied = await providerError(p.submit(veo(), 'k'));
      expect([style, denied.kind, denied.upstreamCode]).toEqual([style, 'auth_config', '401']);
    }
  });

  it('policy-after-accept: accepted, then failed with kind policy (jobs and Veo, poll and callback)', async () => {
    const jobHook = receiver.callback();
    const veoHook = receiver.callback();
    fake.inject({ kind: 'policy-after-accept' });
    const job = await kie.submit(kling({ callbackUrl: jobHook }), 'k');
    const v = await kie.submit(veo({ prompt: 'something [fake:policy-after-accept]', callbackUrl: veoHook }), 'k');
    const [jobEnd, veoEnd] = await Promise.all([pollToFinal(kie, job.upstreamId), pollToFinal(kie, v.upstreamId)]);
    expect(final(jobEnd)).toMatchObject({ state: 'failed', upstreamStatus: 'fail', error: { kind: 'policy', upstreamCode: '400' } });
    expect(final(veoEnd)).toMatchObject({ state: 'failed', upstreamStatus: 'successFlag 2', error: { kind: 'policy' } });
    const [[jh], [vh]] = await Promise.all([receiver.waitFor(jobHook, 1), receiver.waitFor(veoHook, 1)]);
    const [jv, vv] = await verifyAll(kie, [jh!, vh!]);
    expect(jv).toMatchObject({ ok: true, event: { upstreamId: job.upstreamId, status: { state: 'failed', error: { kind: 'policy' } } } });
    expect(vv).toMatchObject({
      ok: true,
      event: { upstreamId: v.upstreamId, status: { state: 'failed', upstreamStatus: 'code 400', error: { kind: 'policy' } } },
    });
  });

  it('fail: accepted, then failed with generation_failed (jobs and Veo, poll and callback)', async () => {
    const jobHook = receiver.callback();
    const veoHook = receiver.callback();
    fake.inject({ kind: 'fail' }, 2);
    const job = await kie.submit(kling({ callbackUrl: jobHook }), 'k');
    const v = await kie.submit(veo({ callbackUrl: veoHook }), 'k');
    const [jobEnd, veoEnd] = await Promise.all([pollToFinal(kie, job.upstreamId), pollToFinal(kie, v.upstreamId)]);
    expect(final(jobEnd)).toEqual({
      state: 'failed',
      upstreamStatus: 'fail',
      error: { kind: 'generation_failed', message: 'Internal server error', upstreamCode: '500' },
    });
    expect(final(veoEnd)).toMatchObject({ state: 'failed', upstreamStatus: 'successFlag 3', error: { kind: 'generation_failed', upstreamCode: '500' } });
    const [[jh], [vh]] = await Promise.all([receiver.waitFor(jobHook, 1), receiver.waitFor(veoHook, 1)]);
    const [jv, vv] = await verifyAll(kie, [jh!, vh!]);
    expect(jv).toMatchObject({ ok: true, event: { status: { state: 'failed', error: { kind: 'generation_failed' } } } });
    expect(vv).toMatchObject({ ok: true, event: { status: { state: 'failed', upstreamStatus: 'code 500', error: { kind: 'generation_failed' } } } });
  });

  it('expired: the status lookup answers 404 and poll throws not_found (both error styles)', async () => {
    for (const [, f, p] of styles()) {
      f.inject({ kind: 'expired' });
      const { upstreamId } = await p.submit(kling(), 'k');
      const err = await providerError(p.poll(upstreamId));
      expect([err.kind, err.upstreamCode]).toEqual(['not_found', '404']);
      expect(err.message).toMatch(/task not found or expired/);
    }
    expect((await providerError(kie.poll('veo:veo_task_never_made'))).kind).toBe('not_found');
  });

  it('never-finish: stays running', async () => {
    fake.inject({ kind: 'never-finish' });
    const { upstreamId } = await kie.submit(kling(), 'k');
    await sleep(600);
    const s = await kie.poll(upstreamId);
    expect(s).toMatchObject({ state: 'running', upstreamStatus: 'generating' });
  });

  it('unknown-status: an undocumented state or successFlag is unknown, never success', async () => {
    fake.inject({ kind: 'unknown-status' }, 2);
    const job = await kie.submit(kling(), 'k');
    const v = await kie.submit(veo(), 'k');
    await sleep(450);
    expect(await kie.poll(job.upstreamId)).toEqual({ state: 'unknown', upstreamStatus: 'mystery_state' });
    expect(await kie.poll(v.upstreamId)).toEqual({ state: 'unknown', upstreamStatus: 'successFlag 7' });
  });

  it('duplicate-callbacks: both deliveries verify and normalize to the same success', async () => {
    const callbackUrl = receiver.callback();
    fake.inject({ kind: 'duplicate-callbacks' });
    const { upstreamId } = await kie.submit(kling({ callbackUrl }), 'k');
    const hooks = await receiver.waitFor(callbackUrl, 2);
    const verdicts = await verifyAll(kie, hooks);
    const expected = {
      ok: true,
      event: { upstreamId, status: { state: 'succeeded', upstreamStatus: 'success', output: { videoUrl: `${fake.url}/results/${taskIdOf(upstreamId)}.mp4` } } },
    };
    expect(verdicts).toEqual([expected, expected]);
  });

  it('out-of-order-callbacks: the final callback first, then a stale in-progress one (jobs and Veo)', async () => {
    const jobHook = receiver.callback();
    const veoHook = receiver.callback();
    fake.inject({ kind: 'out-of-order-callbacks' }, 2);
    const job = await kie.submit(kling({ callbackUrl: jobHook }), 'k');
    const v = await kie.submit(veo({ callbackUrl: veoHook }), 'k');
    const [jobHooks, veoHooks] = await Promise.all([receiver.waitFor(jobHook, 2), receiver.waitFor(veoHook, 2)]);
    const jv = await verifyAll(kie, jobHooks);
    expect(jv.map((x) => x.ok && [x.event.upstreamId, x.event.status.state])).toEqual([
      [job.upstreamId, 'succeeded'],
      [job.upstreamId, 'running'],
    ]);
    const vv = await verifyAll(kie, veoHooks);
    expect(vv.map((x) => x.ok && [x.event.upstreamId, x.event.status.state])).toEqual([
      [v.upstreamId, 'succeeded'],
      [v.upstreamId, 'running'],
    ]);
    const ts = jobHooks.map((h) => Number(h.headers['x-webhook-timestamp']));
    expect(ts[1]!).toBeLessThan(ts[0]!);
  });

  it('bad-signature: the callback is rejected', async () => {
    const callbackUrl = receiver.callback();
    fake.inject({ kind: 'bad-signature' });
    await kie.submit(veo({ callbackUrl }), 'k');
    const [hook] = await receiver.waitFor(callbackUrl, 1);
    expect(hook!.headers['x-webhook-signature']).toBeTruthy();
    expect(await kie.verifyCallback(hook!.body, hook!.headers)).toEqual({ ok: false, reason: 'webhook signature does not match' });
  });
});

describe('callbacks', () => {
  it('a stale timestamp, a missing HMAC key on our side, unsigned or malformed callbacks are rejected without throwing', async () => {
    const callbackUrl = receiver.callback();
    const { upstreamId } = await kie.submit(kling({ callbackUrl }), 'k');
    const [hook] = await receiver.waitFor(callbackUrl, 1);
    expect(await kie.verifyCallback(hook!.body, hook!.headers)).toMatchObject({ ok: true, event: { upstreamId } });

    // (the timestamp is in whole seconds and the check comes a moment after the callback: 305 s, not 301)
    const later = providerFor(fake, { now: () => Date.now() + 305_000 });
    expect(await later.verifyCallback(hook!.body, hook!.headers)).toEqual({ ok: false, reason: 'webhook timestamp outside the 300 s window' });
    const earlier = providerFor(fake, { now: () => Date.now() - 305_000 });
    expect((await earlier.verifyCallback(hook!.body, hook!.headers)).ok).toBe(false);

    const noHmac = providerFor(fake, { webhookHmacKey: undefined });
    expect(await noHmac.verifyCallback(hook!.body, hook!.headers)).toEqual({ ok: false, reason: 'KIE_WEBHOOK_HMAC_KEY is not set; relying on polling' });

    const otherKey = providerFor(fake, { webhookHmacKey: 'some-other-key' });
    expect((await otherKey.verifyCallback(hook!.body, hook!.headers)).ok).toBe(false);

    const { 'x-webhook-signature': _sig, ...unsigned } = hook!.headers;
    expect(await kie.verifyCallback(hook!.body, unsigned)).toEqual({ ok: false, reason: 'missing X-Webhook-Timestamp or X-Webhook-Signature' });
    for (const body of ['not json', '{}', '{"data":{}}', 'null']) {
      const v = await kie.verifyCallback(Buffer.from(body), hook!.headers);
      expect(v.ok).toBe(false);
    }
    // signed over the task id only: a task_id payload (the CN docs' field) verifies too
    const data = (JSON.parse(hook!.body.toString()) as { data: Record<string, unknown> }).data;
    const renamed = Buffer.from(JSON.stringify({ code: 200, data: { ...data, taskId: undefined, task_id: data.taskId } }));
    expect(await kie.verifyCallback(renamed, hook!.headers)).toMatchObject({ ok: true, event: { upstreamId, status: { state: 'succeeded' } } });
  });

  it('a fake with no HMAC key sends unsigned callbacks; jobs progress callbacks normalize to running', async () => {
    const unsignedUrl = receiver.callback();
    fake.setHmacKey(undefined);
    try {
      await kie.submit(kling({ callbackUrl: unsignedUrl }), 'k');
      const [hook] = await receiver.waitFor(unsignedUrl, 1);
      expect(hook!.headers['x-webhook-signature']).toBeUndefined();
      expect((await kie.verifyCallback(hook!.body, hook!.headers)).ok).toBe(false);
    } finally {
      fake.setHmacKey('kie-test-hmac');
    }
    expect(fake.hmacKey).toBe('kie-test-hmac');

    // progressCallBackUrl is not sent by the adapter; drive the fake directly
    const progressUrl = receiver.callback();
    const res = await fetch(`${fake.url}/api/v1/jobs/createTask`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'sora-2-text-to-video',
        progressCallBackUrl: progressUrl,
        input: { prompt: 'waves', aspect_ratio: 'landscape', n_frames: '10' },
      }),
    });
    const { data } = (await res.json()) as { data: { taskId: string } };
    const [hook] = await receiver.waitFor(progressUrl, 1);
    expect(await kie.verifyCallback(hook!.body, hook!.headers)).toMatchObject({
      ok: true,
      event: { upstreamId: `job:${data.taskId}`, status: { state: 'running', upstreamStatus: 'generating' } },
    });
    // the fake records a delivery once our receiver has answered it
    await vi.waitFor(() => expect(fake.callbacks.filter((c) => c.url === progressUrl)).toEqual([expect.objectContaining({ status: 200 })]));
  });
});

describe('KIE codes the fake has no failure kind for', () => {
  const stubbed = (status: number, body: string, headers: Record<string, string> = {}) =>
    createKieProvider({
      apiKey: 'k',
      baseUrl: 'http://kie.invalid',
      uploadUrl: 'http://kie.invalid',
      timeoutMs: 1000,
      fetch: async () => new Response(body, { status, headers }),
    });

  it('455 retryable, 501 generation_failed, 505 auth_config, 402 auth_config, policy words in a 400 -> policy', async () => {
    const cases: [number, string, string][] = [
      [455, 'Service unavailable, maintenance', 'retryable'],
      [501, 'Generation failed', 'generation_failed'],
      [505, 'Feature disabled', 'auth_config'],
      [402, 'Insufficient credits', 'auth_config'],
      [400, 'Prompt flagged by content moderation', 'policy'],
    ];
    for (const [code, msg, kind] of cases) {
      const inBody = await providerError(stubbed(200, JSON.stringify({ code, msg, data: null })).submit(veo(), 'k'));
      const asStatus = await providerError(stubbed(code, JSON.stringify({ code, msg, data: null })).submit(veo(), 'k'));
      expect([code, inBody.kind, inBody.upstreamCode, asStatus.kind]).toEqual([code, kind, String(code), kind]);
    }
  });

  it('a 2xx the adapter cannot read may have created a task: retryable with maybeAccepted', async () => {
    for (const body of ['<html>ok</html>', JSON.stringify({ code: 200, msg: 'success', data: {} })]) {
      const err = await providerError(stubbed(200, body).submit(kling(), 'k'));
      expect([err.kind, err.maybeAccepted]).toEqual(['retryable', true]);
    }
    // the same garbage on a status poll is retryable, and never a success
    const poll = await providerError(stubbed(200, 'garbage').poll('job:task_1'));
    expect([poll.kind, poll.maybeAccepted]).toEqual(['retryable', false]);
    expect((await providerError(stubbed(200, '{}').poll('nonsense'))).kind).toBe('invalid_input');
  });

  it('a success record without a result URL is a failed generation, not a success', async () => {
    const job = stubbed(200, JSON.stringify({ code: 200, msg: 'success', data: { taskId: 't', state: 'success', resultJson: '{"resultUrls":[]}' } }));
    expect(await job.poll('job:t')).toEqual({
      state: 'failed',
      upstreamStatus: 'success',
      error: { kind: 'generation_failed', message: 'KIE reported success with no result URL' },
    });
    const v = stubbed(200, JSON.stringify({ code: 200, msg: 'success', data: { taskId: 't', successFlag: 1, response: null } }));
    expect((await v.poll('veo:t')).state).toBe('failed');
  });
});

// every failure kind of the shared vocabulary is exercised above
const covered: FakeFailure['kind'][] = [
  'delay',
  'http-error',
  'rate-limit',
  'timeout',
  'accept-then-timeout',
  'invalid-input',
  'auth',
  'policy-after-accept',
  'fail',
  'expired',
  'never-finish',
  'unknown-status',
  'duplicate-callbacks',
  'out-of-order-callbacks',
  'bad-signature',
];
it('covers every failure kind', () => {
  expect([...covered].sort()).toEqual([...fakeFailureKinds].sort());
});
