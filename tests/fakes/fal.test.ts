import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFalProvider, falRequestId } from '../../src/server/adapters/providers/fal';
import { isFinalState, ProviderError, type NormalizedStatus, type ProviderRequest, type VideoProvider } from '../../src/server/adapters/providers/provider';
import { closeAll } from '../helpers/close';
import { startFakeFal, type FakeFal } from './fal';

/** The fal adapter against the fake fal queue: wire format, every failure kind, webhooks. */

interface Hook {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A local webhook receiver standing in for our /webhooks/fal route. */
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
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let n = 0;
  return {
    /** a fresh callback URL; its hooks are collected apart from the others */
    callback: () => `${url}/webhooks/fal?n=${++n}`,
    async waitFor(callbackUrl: string, count: number, timeoutMs = 8000): Promise<Hook[]> {
      const p = new URL(callbackUrl);
      const mine = () => hooks.filter((h) => h.path === `${p.pathname}${p.search}`);
      const until = Date.now() + timeoutMs;
      while (mine().length < count) {
        const left = until - Date.now();
        if (left <= 0) throw new Error(`got ${mine().length} webhooks at ${callbackUrl}, wanted ${count}`);
        await once(arrivals, 'hook', { signal: AbortSignal.timeout(left) }).catch(() => undefined);
      }
      return mine();
    },
    received: (callbackUrl: string) => hooks.filter((h) => `${url}${h.path}` === callbackUrl),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fake: FakeFal;
let slowFake: FakeFal;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let fal: VideoProvider;
/** same upstream, 1 s timeout, for the hanging-submit cases */
let quick: VideoProvider;
let tmp: string;

const providerFor = (f: FakeFal, extra: Partial<Parameters<typeof createFalProvider>[0]> = {}) =>
  createFalProvider({ apiKey: f.apiKey, queueUrl: f.url, jwksUrl: f.jwksUrl, timeoutMs: 10_000, ...extra });

beforeAll(async () => {
  [fake, slowFake, receiver] = await Promise.all([startFakeFal({ stepMs: 150 }), startFakeFal({ stepMs: 2000, canceledAs: 'result' }), startReceiver()]);
  fal = providerFor(fake);
  quick = providerFor(fake, { timeoutMs: 1000 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fal-test-'));
});
afterAll(async () => {
  await closeAll(fake, slowFake, receiver, fal, quick);
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  fake.clearInjections();
});

const t2v = (over: Partial<ProviderRequest> = {}): ProviderRequest => ({
  modelId: 'sora-2',
  upstreamModel: 'fal-ai/sora-2/text-to-video',
  mode: 'text-to-video',
  prompt: 'A red fox trots across fresh snow at dawn',
  durationSeconds: 4,
  resolution: '720p',
  aspectRatio: '16:9',
  audio: true,
  references: [],
  ...over,
});

const i2v = (over: Partial<ProviderRequest> = {}): ProviderRequest =>
  t2v({
    upstreamModel: 'fal-ai/sora-2/image-to-video',
    mode: 'image-to-video',
    references: [{ kind: 'image', role: 'first_frame', url: 'https://cdn.example.com/frame.png', mimeType: 'image/png' }],
    ...over,
  });

/** Poll until a final state (retrying transport trouble); returns every status seen. */
async function pollToEnd(provider: VideoProvider, upstreamId: string, timeoutMs = 10_000): Promise<NormalizedStatus[]> {
  const seen: NormalizedStatus[] = [];
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const s = await provider.poll(upstreamId);
      seen.push(s);
      if (isFinalState(s.state)) return seen;
    } catch (err) {
      if (!(err instanceof ProviderError && err.kind === 'retryable')) throw err;
    }
    if (Date.now() > until) throw new Error(`not final after ${timeoutMs} ms: ${JSON.stringify(seen.at(-1))}`);
    await sleep(30);
  }
}

async function providerError(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

const lastSubmit = (f: FakeFal = fake) => f.requests.filter((r) => r.method === 'POST').at(-1)!;
const bareId = (upstreamId: string) => upstreamId.split(':')[1]!;

describe('happy paths', () => {
  it('text-to-video: exact wire request, queued -> running -> succeeded, a real MP4', async () => {
    const { upstreamId } = await fal.submit(t2v(), 'task-1');
    expect(upstreamId).toMatch(/^fal-ai\/sora-2:[0-9a-f-]{36}$/);

    const sent = lastSubmit();
    expect(sent.path).toBe('/fal-ai/sora-2/text-to-video');
    expect(sent.query).toEqual({});
    expect(sent.headers.authorization).toBe('Key fal-test-key');
    expect(sent.headers['content-type']).toBe('application/json');
    // Sora 2 takes no audio switch; no negative prompt or seed unless given
    expect(JSON.parse(sent.body)).toEqual({ prompt: 'A red fox trots across fresh snow at dawn', duration: 4, resolution: '720p', aspect_ratio: '16:9' });

    const seen = await pollToEnd(fal, upstreamId);
    const states = seen.map((s) => s.state);
    expect(states[0]).toBe('queued');
    expect(seen[0]).toMatchObject({ upstreamStatus: 'IN_QUEUE', queuePosition: expect.any(Number) });
    expect(states).toContain('running');
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ state: 'succeeded', upstreamStatus: 'COMPLETED', output: { contentType: 'video/mp4' } });
    if (last.state !== 'succeeded') throw new Error('unreachable');
    expect(last.output.videoUrl).toMatch(new RegExp(`^${fake.url}/files/[0-9a-f]+\\.mp4$`));

    // status and result live at owner/alias, subpath dropped
    const id = bareId(upstreamId);
    const statusCalls = fake.requests.filter((r) => r.path === `/fal-ai/sora-2/requests/${id}/status`);
    expect(statusCalls.length).toBe(seen.length);
    expect(statusCalls.every((r) => r.method === 'GET' && r.query.logs === '0' && r.headers.authorization === 'Key fal-test-key')).toBe(true);
    expect(fake.requests.filter((r) => r.path === `/fal-ai/sora-2/requests/${id}` && r.method === 'GET')).toHaveLength(1);

    const video = await fetch(last.output.videoUrl);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const part = await fetch(last.output.videoUrl, { headers: { range: 'bytes=0-7' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-7/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(0, 8));
  });

  it('image-to-video pro with a webhook: path keeps the subpath, status drops it, the webhook verifies', async () => {
    const callbackUrl = receiver.callback();
    const { upstreamId } = await fal.submit(
      i2v({
        modelId: 'sora-2-pro',
        upstreamModel: 'fal-ai/sora-2/image-to-video/pro',
        resolution: '1080p',
        aspectRatio: '9:16',
        durationSeconds: 8,
        callbackUrl,
      }),
      'task-2',
    );
    expect(upstreamId).toMatch(/^fal-ai\/sora-2:/);
    const sent = lastSubmit();
    expect(sent.path).toBe('/fal-ai/sora-2/image-to-video/pro');
    expect(sent.query).toEqual({ fal_webhook: callbackUrl });
    expect(JSON.parse(sent.body)).toEqual({
      prompt: 'A red fox trots across fresh snow at dawn',
      duration: 8,
      resolution: '1080p',
      aspect_ratio: '9:16',
      image_url: 'https://cdn.example.com/frame.png',
    });

    const polled = (await pollToEnd(fal, upstreamId)).at(-1)!;
    expect(polled.state).toBe('succeeded');
    expect(fake.requests.some((r) => r.path === `/fal-ai/sora-2/requests/${bareId(upstreamId)}/status`)).toBe(true);

    const [hook] = await receiver.waitFor(callbackUrl, 1);
    expect(hook!.headers['x-fal-webhook-request-id']).toBe(bareId(upstreamId));
    const verdict = await fal.verifyCallback(hook!.body, hook!.headers);
    if (polled.state !== 'succeeded') throw new Error('unreachable');
    expect(verdict).toEqual({
      ok: true,
      event: { upstreamId: falRequestId(upstreamId), status: { state: 'succeeded', upstreamStatus: 'OK', output: polled.output } },
    });
  });

  it('image-to-video with a local file sends a data: URI; files over 10 MB are refused before any call', async () => {
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4f30000000049454e44ae426082',
      'hex',
    );
    const file = path.join(tmp, 'frame.png');
    fs.writeFileSync(file, png);
    const { upstreamId } = await fal.submit(i2v({ references: [{ kind: 'image', role: 'first_frame', url: pathToFileURL(file).href }] }), 'task-3');
    const body = JSON.parse(lastSubmit().body) as { image_url: string };
    expect(lastSubmit().path).toBe('/fal-ai/sora-2/image-to-video');
    expect(body.image_url).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect((await pollToEnd(fal, upstreamId)).at(-1)!.state).toBe('succeeded');

    const big = path.join(tmp, 'big.jpg');
    fs.writeFileSync(big, Buffer.alloc(10 * 1024 * 1024 + 1));
    const before = fake.requests.length;
    const err = await providerError(fal.submit(i2v({ references: [{ kind: 'image', role: 'first_frame', url: pathToFileURL(big).href }] }), 'task-4'));
    expect(err.kind).toBe('invalid_input');
    expect(err.message).toMatch(/10485760 bytes/);
    expect(fake.requests.length).toBe(before);

    const noImage = await providerError(fal.submit(i2v({ references: [] }), 'task-5'));
    expect(noImage.kind).toBe('invalid_input');
    expect(fake.requests.length).toBe(before);
  });

  it('the fake validates Sora 2 inputs (422 detail) and accepts durations as numbers or strings', async () => {
    const err = await providerError(fal.submit(t2v({ durationSeconds: 5, aspectRatio: '1:1' }), 'task-6'));
    expect(err).toMatchObject({ kind: 'invalid_input', upstreamCode: '422', maybeAccepted: false });
    expect(err.message).toMatch(/duration/);
    expect(err.message).toMatch(/aspect_ratio/);

    const post = (model: string, body: unknown) =>
      fetch(`${fake.url}/${model}`, {
        method: 'POST',
        headers: { authorization: `Key ${fake.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post('fal-ai/sora-2/text-to-video', { prompt: 'x', duration: '8' });
    expect(ok.status).toBe(200);
    const submitted = (await ok.json()) as Record<string, unknown>;
    expect(submitted).toMatchObject({
      status: 'IN_QUEUE',
      queue_position: expect.any(Number),
      request_id: expect.any(String),
      gateway_request_id: expect.any(String),
    });
    expect(submitted.status_url).toBe(`${fake.url}/fal-ai/sora-2/requests/${String(submitted.request_id)}/status`);
    const missing = await post('fal-ai/sora-2/image-to-video', { prompt: 'x' });
    expect(missing.status).toBe(422);
    expect(await missing.json()).toEqual({ detail: [{ loc: ['body', 'image_url'], msg: 'Field required', type: 'missing' }] });
  });
});

describe('submit failures', () => {
  it('delay: answered late, still accepted', async () => {
    fake.inject({ kind: 'delay', ms: 300 });
    const started = Date.now();
    const { upstreamId } = await fal.submit(t2v(), 'd');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(upstreamId).toMatch(/^fal-ai\/sora-2:/);
  });

  it('http-error 503: retryable, not accepted', async () => {
    fake.inject({ kind: 'http-error', status: 503 });
    const err = await providerError(fal.submit(t2v(), 'e'));
    expect(err).toMatchObject({ kind: 'retryable', maybeAccepted: false, upstreamCode: '503', provider: 'fal' });
  });

  it('rate-limit: retryable with Retry-After', async () => {
    fake.inject({ kind: 'rate-limit', retryAfterSeconds: 2 });
    const err = await providerError(fal.submit(t2v(), 'r'));
    expect(err).toMatchObject({ kind: 'retryable', maybeAccepted: false, upstreamCode: '429', retryAfterMs: 2000 });
  });

  it('timeout (prompt marker): retryable; nothing was created so no webhook ever comes', async () => {
    const callbackUrl = receiver.callback();
    const err = await providerError(quick.submit(t2v({ prompt: 'slow one [fake:timeout]', callbackUrl }), 't'));
    expect(err.kind).toBe('retryable');
    expect(err.message).toMatch(/timed out after 1000 ms/);
    // the adapter cannot tell a lost request from an accepted one
    expect(err.maybeAccepted).toBe(true);
    await fake.settled(); // nothing was created, so the fake has nothing left to send
    expect(receiver.received(callbackUrl)).toHaveLength(0);
  });

  it('accept-then-timeout: retryable + maybeAccepted, and the request really exists (its webhook arrives)', async () => {
    fake.inject({ kind: 'accept-then-timeout' });
    const callbackUrl = receiver.callback();
    const err = await providerError(quick.submit(t2v({ callbackUrl }), 'a'));
    expect(err).toMatchObject({ kind: 'retryable', maybeAccepted: true });
    const [hook] = await receiver.waitFor(callbackUrl, 1);
    const verdict = await fal.verifyCallback(hook!.body, hook!.headers);
    expect(verdict.ok && verdict.event.status.state).toBe('succeeded');
  });

  it('invalid-input: invalid_input from the 422 detail', async () => {
    fake.inject({ kind: 'invalid-input' });
    const err = await providerError(fal.submit(t2v(), 'i'));
    expect(err).toMatchObject({ kind: 'invalid_input', upstreamCode: '422', maybeAccepted: false });
    expect(err.message).toMatch(/prompt: Prompt is not acceptable/);
  });

  it('auth (injected, and a really wrong key): auth_config', async () => {
    fake.inject({ kind: 'auth' });
    expect((await providerError(fal.submit(t2v(), 'x'))).kind).toBe('auth_config');
    const wrong = providerFor(fake, { apiKey: 'not-the-key' });
    const err = await providerError(wrong.submit(t2v(), 'y'));
    expect(err).toMatchObject({ kind: 'auth_config', upstreamCode: '401' });
  });
});

describe('accepted, then...', () => {
  it('policy-after-accept: failed with kind policy, by poll and by webhook', async () => {
    fake.inject({ kind: 'policy-after-accept' });
    const callbackUrl = receiver.callback();
    const { upstreamId } = await fal.submit(t2v({ callbackUrl }), 'p');
    const last = (await pollToEnd(fal, upstreamId)).at(-1)!;
    expect(last).toMatchObject({ state: 'failed', upstreamStatus: 'COMPLETED', error: { kind: 'policy', upstreamCode: '422' } });

    const [hook] = await receiver.waitFor(callbackUrl, 1);
    expect(JSON.parse(hook!.body.toString())).toMatchObject({
      status: 'ERROR',
      error: 'Invalid status code: 422',
      payload: { detail: [{ type: 'content_policy_violation' }] },
    });
    const verdict = await fal.verifyCallback(hook!.body, hook!.headers);
    expect(verdict).toMatchObject({
      ok: true,
      event: { upstreamId: bareId(upstreamId), status: { state: 'failed', error: { kind: 'policy', upstreamCode: '422' } } },
    });
  });

  it('fail: the result answers 500 -> failed generation_failed (poll and webhook)', async () => {
    fake.inject({ kind: 'fail' });
    const callbackUrl = receiver.callback();
    const { upstreamId } = await fal.submit(t2v({ callbackUrl }), 'f');
    const last = (await pollToEnd(fal, upstreamId)).at(-1)!;
    expect(last).toMatchObject({ state: 'failed', error: { kind: 'generation_failed', upstreamCode: '500' } });
    const [hook] = await receiver.waitFor(callbackUrl, 1);
    const verdict = await fal.verifyCallback(hook!.body, hook!.headers);
    expect(verdict).toMatchObject({
      ok: true,
      event: { status: { state: 'failed', upstreamStatus: 'ERROR', error: { kind: 'generation_failed', upstreamCode: '500' } } },
    });
  });

  it('expired: status 404 -> not_found', async () => {
    fake.inject({ kind: 'expired' });
    const { upstreamId } = await fal.submit(t2v(), 'x');
    const err = await providerError(fal.poll(upstreamId));
    expect(err).toMatchObject({ kind: 'not_found', upstreamCode: '404' });
    expect(err.message).toMatch(/Request not found/);
  });

  it('never-finish: still running long after a normal request would be done', async () => {
    fake.inject({ kind: 'never-finish' });
    const { upstreamId } = await fal.submit(t2v(), 'n');
    await sleep(80 * 7);
    expect(await fal.poll(upstreamId)).toEqual({ state: 'running', upstreamStatus: 'IN_PROGRESS' });
  });

  it('unknown-status: an undocumented state maps to unknown (never success)', async () => {
    fake.inject({ kind: 'unknown-status' });
    const { upstreamId } = await fal.submit(t2v(), 'u');
    expect(await fal.poll(upstreamId)).toEqual({ state: 'unknown', upstreamStatus: 'MYSTERY_STATE' });
  });

  it('a malformed upstream id is refused without a call', async () => {
    const before = fake.requests.length;
    expect((await providerError(fal.poll('just-a-request-id'))).kind).toBe('invalid_input');
    expect(fake.requests.length).toBe(before);
  });
});

describe('webhooks', () => {
  it('duplicate-callbacks: both deliveries verify to the same event', async () => {
    fake.inject({ kind: 'duplicate-callbacks' });
    const callbackUrl = receiver.callback();
    const { upstreamId } = await fal.submit(t2v({ callbackUrl }), 'dup');
    const hooks = await receiver.waitFor(callbackUrl, 2);
    expect(hooks[0]!.body.equals(hooks[1]!.body)).toBe(true);
    const [a, b] = await Promise.all(hooks.map((h) => fal.verifyCallback(h.body, h.headers)));
    expect(a).toMatchObject({ ok: true, event: { upstreamId: bareId(upstreamId), status: { state: 'succeeded' } } });
    expect(b).toEqual(a);
  });

  it('out-of-order-callbacks: final OK first, then a stale IN_PROGRESS; both verify, normalized in arrival order', async () => {
    fake.inject({ kind: 'out-of-order-callbacks' });
    const callbackUrl = receiver.callback();
    const { upstreamId } = await fal.submit(t2v({ callbackUrl }), 'ooo');
    const hooks = await receiver.waitFor(callbackUrl, 2);
    expect(Number(hooks[1]!.headers['x-fal-webhook-timestamp'])).toBeLessThan(Number(hooks[0]!.headers['x-fal-webhook-timestamp']));
    const first = await fal.verifyCallback(hooks[0]!.body, hooks[0]!.headers);
    const second = await fal.verifyCallback(hooks[1]!.body, hooks[1]!.headers);
    expect(first).toMatchObject({ ok: true, event: { upstreamId: bareId(upstreamId), status: { state: 'succeeded' } } });
    expect(second).toEqual({ ok: true, event: { upstreamId: bareId(upstreamId), status: { state: 'running', upstreamStatus: 'IN_PROGRESS' } } });
  });

  it('bad-signature: refused', async () => {
    fake.inject({ kind: 'bad-signature' });
    const callbackUrl = receiver.callback();
    await fal.submit(t2v({ callbackUrl }), 'bad');
    const [hook] = await receiver.waitFor(callbackUrl, 1);
    const verdict = await fal.verifyCallback(hook!.body, hook!.headers);
    expect(verdict).toEqual({ ok: false, reason: expect.stringMatching(/signature/) });
  });

  it('stale timestamps, tampered bodies, missing headers and junk are refused, never thrown', async () => {
    const callbackUrl = receiver.callback();
    await fal.submit(t2v({ callbackUrl }), 'stale');
    const [hook] = await receiver.waitFor(callbackUrl, 1);
    expect((await fal.verifyCallback(hook!.body, hook!.headers)).ok).toBe(true);

    // (the timestamp has whole seconds and the check comes a moment after the delivery: 305 s, not 301)
    const future = providerFor(fake, { now: () => Date.now() + 305_000 });
    expect(await future.verifyCallback(hook!.body, hook!.headers)).toEqual({ ok: false, reason: expect.stringMatching(/timestamp/) });
    const past = providerFor(fake, { now: () => Date.now() - 305_000 });
    expect((await past.verifyCallback(hook!.body, hook!.headers)).ok).toBe(false);

    const tampered = Buffer.from(hook!.body.toString().replace('"OK"', '"ERROR"'));
    expect(await fal.verifyCallback(tampered, hook!.headers)).toEqual({ ok: false, reason: expect.stringMatching(/signature/) });
    const { ['x-fal-webhook-signature']: _sig, ...unsigned } = hook!.headers;
    expect((await fal.verifyCallback(hook!.body, unsigned)).ok).toBe(false);
    expect((await fal.verifyCallback(Buffer.from('not json'), { 'x-fal-webhook-signature': 'zz' })).ok).toBe(false);
    const noKeys = providerFor(fake, { jwksUrl: `${fake.url}/nope` });
    expect(await noKeys.verifyCallback(hook!.body, hook!.headers)).toEqual({ ok: false, reason: expect.stringMatching(/keys unavailable/) });
  });

  it('key rotation: a miss refetches the JWKS once it is over 60 s old, then verifies', async () => {
    let clock = Date.now();
    const verifier = providerFor(fake, { now: () => clock });
    const jwksFetches = () => fake.requests.filter((r) => r.path === '/.well-known/jwks.json').length;
    const start = jwksFetches();

    const cb1 = receiver.callback();
    await fal.submit(t2v({ callbackUrl: cb1 }), 'k1');
    const [h1] = await receiver.waitFor(cb1, 1);
    expect((await verifier.verifyCallback(h1!.body, h1!.headers)).ok).toBe(true);
    expect(jwksFetches()).toBe(start + 1);

    await fake.rotateKey();
    const cb2 = receiver.callback();
    await fal.submit(t2v({ callbackUrl: cb2 }), 'k2');
    const [h2] = await receiver.waitFor(cb2, 1);
    // within a minute of the last fetch a miss does not refetch
    expect((await verifier.verifyCallback(h2!.body, h2!.headers)).ok).toBe(false);
    expect(jwksFetches()).toBe(start + 1);
    clock += 61_000;
    expect(await verifier.verifyCallback(h2!.body, h2!.headers)).toMatchObject({ ok: true, event: { status: { state: 'succeeded' } } });
    expect(jwksFetches()).toBe(start + 2);
    // the cached set now verifies without fetching again; the previous key is still listed
    expect((await verifier.verifyCallback(h1!.body, h1!.headers)).ok).toBe(true);
    expect(jwksFetches()).toBe(start + 2);
  });
});

describe('cancel', () => {
  it('while queued: accepted, then the request reads as canceled', async () => {
    const slow = providerFor(slowFake);
    const { upstreamId } = await slow.submit(t2v(), 'c1');
    await slow.cancel(upstreamId);
    const put = slowFake.requests.at(-1)!;
    expect(put).toMatchObject({ method: 'PUT', path: `/fal-ai/sora-2/requests/${bareId(upstreamId)}/cancel` });
    expect(put.headers.authorization).toBe(`Key ${slowFake.apiKey}`);
    // this fake answers a canceled request as COMPLETED + a "cancelled" result (fal's way is UNCONFIRMED)
    expect(await slow.poll(upstreamId)).toMatchObject({ state: 'canceled' });
  });

  it('while queued on a fake that reports CANCELLED in the status', async () => {
    const other = await startFakeFal({ stepMs: 2000 });
    try {
      const p = providerFor(other);
      const { upstreamId } = await p.submit(t2v(), 'c2');
      await p.cancel(upstreamId);
      expect(await p.poll(upstreamId)).toEqual({ state: 'canceled', upstreamStatus: 'CANCELLED' });
    } finally {
      await other.close();
    }
  });

  it('after completion: invalid_input with a clear message', async () => {
    const { upstreamId } = await fal.submit(t2v(), 'c3');
    await pollToEnd(fal, upstreamId);
    const err = await providerError(fal.cancel(upstreamId));
    expect(err).toMatchObject({ kind: 'invalid_input', upstreamCode: '400' });
    expect(err.message).toMatch(/already started or finished \(ALREADY_COMPLETED\)/);
  });
});

describe('configuration', () => {
  it('without a key: unavailable, every call refuses with auth_config', async () => {
    const none = createFalProvider({ queueUrl: fake.url, jwksUrl: fake.jwksUrl, timeoutMs: 1000 });
    expect(none).toMatchObject({ id: 'fal', available: false, unavailableReason: 'FAL_KEY is not set', supportsCallbacks: true, supportsCancel: true });
    const before = fake.requests.length;
    for (const call of [none.submit(t2v(), 'k'), none.poll('fal-ai/sora-2:abc'), none.cancel('fal-ai/sora-2:abc')]) {
      expect(await providerError(call)).toMatchObject({ kind: 'auth_config', message: 'FAL_KEY is not set' });
    }
    expect(await none.verifyCallback(Buffer.from('{}'), {})).toEqual({ ok: false, reason: 'FAL_KEY is not set' });
    expect(fake.requests.length).toBe(before);
    expect(fal).toMatchObject({ id: 'fal', available: true, supportsCallbacks: true, supportsCancel: true });
  });
});
