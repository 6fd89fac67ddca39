import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import {
  fakeImageCategories,
  fakeModerationCategories,
  isWholeImage,
  solidPng,
  startFakeOpenAiModeration,
  type FakeOpenAiModeration,
} from './openai-moderation';

/** Protocol details of the fake OpenAI moderation endpoint: auth, validation, results, the script, failures. */

let fake: FakeOpenAiModeration;

beforeAll(async () => {
  fake = await startFakeOpenAiModeration();
});
afterAll(() => closeAll(fake));
beforeEach(() => fake.reset());

const post = (body: unknown, init: { key?: string | null; path?: string; method?: string; raw?: string; signal?: AbortSignal } = {}) =>
  fetch(`${fake.url}${init.path ?? '/v1/moderations'}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...(init.key === null ? {} : { authorization: `Bearer ${init.key ?? fake.apiKey}` }) },
    ...(init.method === 'GET' ? {} : { body: init.raw ?? JSON.stringify(body) }),
    ...(init.signal ? { signal: init.signal } : {}),
  });

async function json(res: Response): Promise<any> {
  return res.json();
}

const png = solidPng(8, 8, [40, 120, 200]);
const dataUrl = (bytes: Uint8Array, mime = 'image/png') => `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;

describe('auth and routing', () => {
  it('answers 401 with an error object without a Bearer key, and names no key', async () => {
    const res = await post({ input: 'hello' }, { key: null });
    expect(res.status).toBe(401);
    const body = await json(res);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
    expect(body.error.message).toMatch(/didn't provide an API key/);
  });

  it('answers 401 invalid_api_key for a wrong key, masking it', async () => {
    const wrong = 'sk-wrong-key-0123456789abcdef';
    const res = await post({ input: 'hello' }, { key: wrong });
    expect(res.status).toBe(401);
    const body = await json(res);
    expect(body.error.code).toBe('invalid_api_key');
    expect(body.error.message).toContain('Incorrect API key provided');
    expect(body.error.message).toContain('cdef');
    expect(body.error.message).not.toContain(wrong);
  });

  it('answers 404 for another path or method', async () => {
    const res = await post({ input: 'x' }, { path: '/v1/moderation' });
    expect(res.status).toBe(404);
    expect((await json(res)).error.message).toBe('Invalid URL (POST /v1/moderation)');
    expect((await post(undefined, { method: 'GET' })).status).toBe(404);
  });

  it('records every request with its headers and parsed body', async () => {
    await post({ input: 'recorded', model: 'omni-moderation-latest' });
    expect(fake.requests).toHaveLength(1);
    const r = fake.requests[0]!;
    expect(r).toMatchObject({ method: 'POST', path: '/v1/moderations', json: { input: 'recorded', model: 'omni-moderation-latest' } });
    expect(r.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(JSON.parse(r.body)).toEqual(r.json);
  });
});

describe('validation', () => {
  const invalid: [string, unknown, RegExp, string | null][] = [
    ['a body that is not JSON', undefined, /could not parse the JSON body/, null],
    ['an unknown field', { input: 'x', user: 'u1' }, /Unrecognized request argument supplied: user/, null],
    ['no input', { model: 'omni-moderation-latest' }, /Missing required parameter: 'input'/, 'input'],
    ['a number as input', { input: 42 }, /Invalid value for 'input'/, 'input'],
    ['an empty array', { input: [] }, /non-empty/, 'input'],
    ['strings mixed with parts', { input: ['a', { type: 'text', text: 'b' }] }, /cannot be mixed/, 'input'],
    ['a part of an unknown type', { input: [{ type: 'audio', audio: 'x' }] }, /type must be/, 'input'],
    ['a text part without text', { input: [{ type: 'text' }] }, /text must be a string/, 'input'],
    ['an image that is not a URL', { input: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] }, /http\(s\) URL or a base64 data URL/, 'input'],
    ['an image of another type', { input: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }] }, /data URL/, 'input'],
  ];
  it.each(invalid)('refuses %s with 400 and the error object', async (_name, body, message, param) => {
    const res = await post(body, body === undefined ? { raw: '{"input": "unterminated' } : {});
    expect(res.status).toBe(400);
    const { error } = await json(res);
    expect(error.type).toBe('invalid_request_error');
    expect(error.message).toMatch(message);
    expect(error.param).toBe(param);
  });

  it('refuses an unknown model with 404 model_not_found', async () => {
    const res = await post({ input: 'x', model: 'gpt-5' });
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatchObject({ code: 'model_not_found', param: 'model' });
  });

  it('refuses images for a text-moderation model', async () => {
    const res = await post({ input: [{ type: 'image_url', image_url: { url: dataUrl(png) } }], model: 'text-moderation-latest' });
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toMatch(/does not support image inputs/);
  });

  it('refuses a data URL whose bytes are not a whole image with invalid_image_format', async () => {
    const truncated = png.slice(0, png.length - 20);
    expect(isWholeImage(Buffer.from(png))).toBe(true);
    expect(isWholeImage(Buffer.from(truncated))).toBe(false);
    const res = await post({ input: [{ type: 'image_url', image_url: { url: dataUrl(truncated) } }] });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'invalid_image_format', param: 'input' });
    // a JPEG label on PNG bytes is still a whole PNG: the bytes decide
    expect((await post({ input: [{ type: 'image_url', image_url: { url: dataUrl(png, 'image/jpeg') } }] })).status).toBe(200);
  });
});

describe('results', () => {
  it('answers a string with one result holding all 13 categories in every map, not flagged, applied to text', async () => {
    const res = await post({ input: 'A cat sleeping on a sofa' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const body = await json(res);
    expect(body.id).toMatch(/^modr-/);
    expect(body.model).toBe('omni-moderation-latest');
    expect(body.results).toHaveLength(1);
    const [r] = body.results;
    for (const map of ['categories', 'category_scores', 'category_applied_input_types'])
      expect(Object.keys(r[map]).sort()).toEqual([...fakeModerationCategories].sort());
    expect(r.flagged).toBe(false);
    for (const c of fakeModerationCategories) {
      expect(r.categories[c]).toBe(false);
      expect(r.category_scores[c]).toBeGreaterThan(0);
      expect(r.category_scores[c]).toBeLessThan(0.01);
      expect(r.category_applied_input_types[c]).toEqual(['text']);
    }
  });

  it('scores a scripted text, case-insensitively, and echoes the model asked for', async () => {
    fake.flagText('Forbidden Scene', { sexual: 0.91, violence: 0.3 });
    fake.flagText(/\bknife\b/, { violence: 0.7 });
    const body = await json(await post({ input: 'a forbidden scene with a knife', model: 'omni-moderation-2024-09-26' }));
    expect(body.model).toBe('omni-moderation-2024-09-26');
    const [r] = body.results;
    expect(r.flagged).toBe(true);
    expect(r.category_scores.sexual).toBe(0.91);
    expect(r.categories.sexual).toBe(true);
    expect(r.category_scores.violence).toBe(0.7); // the higher of the two rules
    expect(r.categories.violence).toBe(true);
    expect(r.categories.hate).toBe(false);
  });

  it('answers an array of strings with one result per string', async () => {
    fake.flagText('second', { hate: 0.8 });
    const body = await json(await post({ input: ['first', 'second', 'third'] }));
    expect(body.results.map((r: any) => r.flagged)).toEqual([false, true, false]);
    expect(body.results[1].categories.hate).toBe(true);
  });

  it('reads [flag:category] markers in a text', async () => {
    const [r] = (await json(await post({ input: 'dev test [flag:sexual/minors] [flag:self-harm=0.4]' }))).results;
    expect(r.category_scores['sexual/minors']).toBe(0.99);
    expect(r.categories['sexual/minors']).toBe(true);
    expect(r.category_scores['self-harm']).toBe(0.4);
    expect(r.categories['self-harm']).toBe(false);
  });

  it('judges an image alone only for the image categories: the text-only ones score 0 with no input type', async () => {
    fake.flagImage(png, { sexual: 0.96, 'sexual/minors': 0.9, hate: 0.9 });
    const body = await json(await post({ input: [{ type: 'image_url', image_url: { url: dataUrl(png) } }] }));
    expect(body.results).toHaveLength(1);
    const [r] = body.results;
    expect(r.flagged).toBe(true);
    expect(r.category_scores.sexual).toBe(0.96);
    expect(r.category_applied_input_types.sexual).toEqual(['image']);
    for (const c of fakeModerationCategories.filter((x) => !fakeImageCategories.includes(x))) {
      expect(r.category_applied_input_types[c], c).toEqual([]);
      expect(r.category_scores[c], c).toBe(0);
      expect(r.categories[c], c).toBe(false);
    }
  });

  it('combines a text and an image into one result, and knows an image by its bytes or its URL', async () => {
    const other = solidPng(8, 8, [0, 0, 0]);
    fake.flagImage(other, { violence: 0.8 });
    fake.flagImage('https://images.example/one.jpg', { 'self-harm': 0.75 });
    const body = await json(
      await post({
        input: [
          { type: 'text', text: 'look at this' },
          { type: 'image_url', image_url: { url: dataUrl(png) } },
          { type: 'image_url', image_url: { url: dataUrl(other) } },
          { type: 'image_url', image_url: { url: 'https://images.example/one.jpg' } },
        ],
      }),
    );
    expect(body.results).toHaveLength(1);
    const [r] = body.results;
    expect(r.category_applied_input_types.violence).toEqual(['text', 'image']);
    expect(r.category_applied_input_types.hate).toEqual(['text']);
    expect(r.category_scores.violence).toBe(0.8);
    expect(r.category_scores['self-harm']).toBe(0.75);
    expect(r.categories.sexual).toBe(false); // the first image was not scripted in this test
  });

  it('forgets the script on reset', async () => {
    fake.flagText('again', { sexual: 0.9 });
    fake.reset();
    const [r] = (await json(await post({ input: 'again' }))).results;
    expect(r.flagged).toBe(false);
  });
});

describe('failures', () => {
  it('rate-limit: 429 rate_limit_exceeded with Retry-After, then answers again', async () => {
    fake.inject({ kind: 'rate-limit', retryAfterSeconds: 7 });
    const res = await post({ input: 'x' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect((await json(res)).error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect((await post({ input: 'x' })).status).toBe(200);
  });

  it('http-error: 500 as an error object, 502 as a gateway page', async () => {
    fake.inject({ kind: 'http-error', status: 500 });
    fake.inject({ kind: 'http-error', status: 502 });
    const a = await post({ input: 'x' });
    expect(a.status).toBe(500);
    expect((await json(a)).error.type).toBe('server_error');
    const b = await post({ input: 'x' });
    expect(b.status).toBe(502);
    expect(b.headers.get('content-type')).toMatch(/text\/html/);
    expect(await b.text()).toContain('Bad Gateway');
  });

  it('a [fake:kind] marker in the text fails that request', async () => {
    expect((await post({ input: 'please [fake:rate-limit=3]' })).status).toBe(429);
    expect((await post({ input: ['[fake:http-error=503]', 'b'] })).status).toBe(503);
  });

  it('auth: 401 even with the right key', async () => {
    fake.inject({ kind: 'auth' });
    expect((await post({ input: 'x' })).status).toBe(401);
  });

  it('timeout: the request is read and never answered', async () => {
    fake.inject({ kind: 'timeout' });
    const err = await post({ input: 'x' }, { signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(fake.requests).toHaveLength(1);
  });

  it('delay: answers normally, late', async () => {
    fake.inject({ kind: 'delay', ms: 150 });
    const started = performance.now();
    const res = await post({ input: 'x' });
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});
