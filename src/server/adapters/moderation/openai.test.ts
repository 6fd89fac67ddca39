import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listenLocal } from '../../../../tests/fakes/listen';
import { solidPng, startFakeOpenAiModeration, type FakeOpenAiModeration } from '../../../../tests/fakes/openai-moderation';
import { closeAll } from '../../../../tests/helpers/close';
import { FakeClock } from '../clock';
import { ClassifierUnavailableError } from './moderation';
import { createOpenAiModeration, openAiCategoryMap, openAiModerationCategories, resultFromOpenAi, openAiRetryAfterMs } from './openai';

/** The OpenAI moderation adapter against the fake: the request it sends, how it maps categories, its errors. */

let fake: FakeOpenAiModeration;
beforeAll(async () => {
  fake = await startFakeOpenAiModeration();
});
afterAll(() => closeAll(fake));
beforeEach(() => fake.reset());

const adapter = (o: { timeoutMs?: number; model?: string; baseUrl?: string; apiKey?: string } = {}) =>
  createOpenAiModeration({
    apiKey: o.apiKey ?? fake.apiKey,
    baseUrl: o.baseUrl ?? fake.url,
    timeoutMs: o.timeoutMs ?? 20_000,
    ...(o.model ? { model: o.model } : {}),
  });

async function rejection(p: Promise<unknown>): Promise<ClassifierUnavailableError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClassifierUnavailableError);
  return err as ClassifierUnavailableError;
}

const png = solidPng(16, 16, [200, 180, 40]);

describe('requests', () => {
  it('POSTs {model, input} to /v1/moderations with the Bearer key: the text as a string', async () => {
    await adapter().classifyText({ field: 'prompt', text: 'a cat on a sofa' });
    expect(fake.requests).toHaveLength(1);
    const r = fake.requests[0]!;
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/v1/moderations');
    expect(r.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json).toEqual({ model: 'omni-moderation-latest', input: 'a cat on a sofa' });
  });

  it('sends an image as one image_url part with a base64 data URL of its type', async () => {
    await adapter().classifyImage({ bytes: png, mime: 'image/png' });
    expect(fake.requests[0]!.json).toEqual({
      model: 'omni-moderation-latest',
      input: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from(png).toString('base64')}` } }],
    });
  });

  it('accepts a base URL with a trailing slash or /v1', async () => {
    await adapter({ baseUrl: `${fake.url}/` }).classifyText({ field: 'prompt', text: 'one' });
    await adapter({ baseUrl: `${fake.url}/v1` }).classifyText({ field: 'prompt', text: 'two' });
    expect(fake.requests.map((r) => r.path)).toEqual(['/v1/moderations', '/v1/moderations']);
  });

  it('refuses, without a request, what OpenAI cannot take: a video, or an image for a text-moderation model', async () => {
    const video = await rejection(adapter().classifyImage({ bytes: new Uint8Array(32), mime: 'video/mp4' }));
    expect(video.retryable).toBe(false);
    expect(video.message).toMatch(/sample frames/);
    const text = await rejection(adapter({ model: 'text-moderation-latest' }).classifyImage({ bytes: png, mime: 'image/png' }));
    expect(text.retryable).toBe(false);
    expect(text.message).toMatch(/takes no images/);
    expect(fake.requests).toEqual([]);
    // the text model still moderates text
    expect((await adapter({ model: 'text-moderation-latest' }).classifyText({ field: 'prompt', text: 'hello' })).classifier).toBe('openai');
    expect(fake.requests[0]!.json).toMatchObject({ model: 'text-moderation-latest' });
  });
});

describe('categories', () => {
  it('maps every OpenAI category onto ours or on purpose onto none', () => {
    expect(Object.keys(openAiCategoryMap).sort()).toEqual([...openAiModerationCategories].sort());
    expect(Object.entries(openAiCategoryMap).filter(([, ours]) => ours === null)).toEqual([
      ['harassment', null],
      ['illicit', null],
    ]);
  });

  it('keeps the highest score per category of ours, and names where it came from', async () => {
    fake.flagText('scripted', {
      violence: 0.2,
      'violence/graphic': 0.4,
      'harassment/threatening': 0.9,
      'self-harm/intent': 0.7,
      'illicit/violent': 0.65,
      harassment: 0.99,
      illicit: 0.99,
    });
    const result = await adapter().classifyText({ field: 'prompt', text: 'a scripted text' });
    expect(result.scores.violence).toBe(0.9);
    expect(result.scores['self-harm']).toBe(0.7);
    expect(result.scores.terrorism).toBe(0.65);
    // judged, low
    expect(result.scores.sexual).toBeLessThan(0.01);
    expect(Object.keys(result.scores).sort()).toEqual(['hate', 'self-harm', 'sexual', 'sexual/minors', 'terrorism', 'violence']);
    // no opinion on ncii; harassment and illicit have no category of ours
    expect(result.scores.ncii).toBeUndefined();
    const violence = result.reasons.find((r) => r.category === 'violence')!;
    expect(violence.detail).toBe('openai omni-moderation-latest: harassment/threatening 0.900 (flagged) on text');
    expect(result.reasons.find((r) => r.category === 'terrorism')!.detail).toBe('openai omni-moderation-latest: illicit/violent 0.650 (flagged) on text');
  });

  it('on an image, reports only the categories OpenAI judges on images: sexual/minors is left out, not 0', async () => {
    fake.flagImage(png, { sexual: 0.95, 'sexual/minors': 0.95, hate: 0.9 });
    const result = await adapter().classifyImage({ bytes: png, mime: 'image/png' });
    expect(Object.keys(result.scores).sort()).toEqual(['self-harm', 'sexual', 'violence']);
    expect(result.scores.sexual).toBe(0.95);
    expect(result.reasons.find((r) => r.category === 'sexual')!.detail).toBe('openai omni-moderation-latest: sexual 0.950 (flagged) on image');
  });

  it('without category_applied_input_types (older models), assumes text is judged everywhere and images only where OpenAI documents it', () => {
    const scores = Object.fromEntries(openAiModerationCategories.map((c) => [c, 0.1]));
    const text = resultFromOpenAi([{ flagged: false, categories: {}, scores }], 'text', 'text-moderation-stable');
    expect(Object.keys(text.scores)).toHaveLength(6);
    const image = resultFromOpenAi([{ flagged: false, categories: {}, scores }], 'image', 'omni-moderation-latest');
    expect(Object.keys(image.scores).sort()).toEqual(['self-harm', 'sexual', 'violence']);
  });
});

describe('errors', () => {
  it('a wrong key: 401, not retryable, with OpenAI message and no key in it', async () => {
    const err = await rejection(adapter({ apiKey: 'sk-wrong-0123456789abcdefghij' }).classifyText({ field: 'prompt', text: 'x' }));
    expect(err).toMatchObject({ classifier: 'openai', retryable: false, status: 401 });
    expect(err.message).toMatch(/^openai moderation: HTTP 401: Incorrect API key provided/);
    expect(err.message).not.toContain('sk-wrong-0123456789abcdefghij');
  });

  it('a broken image: 400, not retryable, naming the problem', async () => {
    const err = await rejection(adapter().classifyImage({ bytes: png.slice(0, 40), mime: 'image/png' }));
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect(err.message).toMatch(/valid image/);
  });

  it('rate limited: retryable, with Retry-After as retryAfterMs and in the message; the adapter does not wait', async () => {
    fake.inject({ kind: 'rate-limit', retryAfterSeconds: 30 });
    const started = performance.now();
    const err = await rejection(adapter().classifyText({ field: 'prompt', text: 'x' }));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 30_000 });
    expect(err.message).toMatch(/retry after 30 s/);
  });

  it('an unreachable server: retryable', async () => {
    const closed = await startFakeOpenAiModeration();
    const url = closed.url;
    await closed.close();
    const err = await rejection(adapter({ baseUrl: url }).classifyText({ field: 'prompt', text: 'x' }));
    expect(err.retryable).toBe(true);
    expect(err.status).toBeUndefined();
    expect(err.message).toMatch(/could not be reached/);
  });

  it('no answer in time: retryable, naming the timeout', async () => {
    fake.inject({ kind: 'timeout' });
    const err = await rejection(adapter({ timeoutMs: 250 }).classifyText({ field: 'prompt', text: 'x' }));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/no answer within 250 ms/);
  });

  it('the caller giving up mid-request rejects with its own reason, not as unavailable', async () => {
    fake.inject({ kind: 'timeout' });
    const controller = new AbortController();
    const pending = adapter().classifyText({ field: 'prompt', text: 'x' }, controller.signal);
    // abort once the request has reached the fake (the event, not a guessed delay)
    while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('the user left'));
    await expect(pending).rejects.toThrow('the user left');
  });

  it('an unknown model: 404, not retryable', async () => {
    const missing = await rejection(adapter({ model: 'omni-moderation-1999' }).classifyText({ field: 'prompt', text: 'x' }));
    expect(missing).toMatchObject({ retryable: false, status: 404 });
    expect(missing.message).toMatch(/does not exist/);
  });

  it('a 200 answer without results: retryable', async () => {
    // a proxy in front of OpenAI answering something else
    const server = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"modr-x","model":"omni-moderation-latest"}'),
    );
    const url = await listenLocal(server, {});
    try {
      const err = await rejection(adapter({ baseUrl: url }).classifyText({ field: 'prompt', text: 'x' }));
      expect(err).toMatchObject({ retryable: true, status: 200 });
      expect(err.message).toMatch(/without results/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('retryAfterMs', () => {
  const clock = new FakeClock(new Date('2026-01-01T00:00:00Z'));
  const headers = (h: Record<string, string>) => new Headers(h);

  it('reads retry-after-ms, seconds, and an HTTP date against the clock', () => {
    expect(openAiRetryAfterMs(headers({ 'retry-after-ms': '1500', 'retry-after': '9' }), clock.nowMs())).toBe(1500);
    expect(openAiRetryAfterMs(headers({ 'retry-after': '7' }), clock.nowMs())).toBe(7000);
    expect(openAiRetryAfterMs(headers({ 'retry-after': '0.5' }), clock.nowMs())).toBe(500);
    expect(openAiRetryAfterMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:42 GMT' }), clock.nowMs())).toBe(42_000);
    expect(openAiRetryAfterMs(headers({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }), clock.nowMs())).toBe(0);
    expect(openAiRetryAfterMs(headers({ 'retry-after': 'soon' }), clock.nowMs())).toBeUndefined();
    expect(openAiRetryAfterMs(headers({}), clock.nowMs())).toBeUndefined();
  });
});
