import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../src/shared/api';
import { TestClient } from '../helpers/client';
import { closeAll } from '../helpers/close';
import { startGenerationsApp, type GenerationsApp } from './generations/setup';

/**
 * Hostile input answers 400 in our error shape, never 500 (issue 14): one readable case per
 * input that used to reach PostgreSQL (which refuses NUL in text, error 22021) or crash a parser.
 * The generated sweep over every operation is hostile-input.test.ts.
 */
let g: GenerationsApp;
let c: TestClient;
let apiKey: string;
beforeAll(async () => {
  g = await startGenerationsApp({ API_RATE_PER_MINUTE: '1000', API_USER_RATE_PER_MINUTE: '1000', WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9' });
  // credits, so that a prompt is not stopped by the price check before it reaches the database
  c = await g.user('hostile-cases@example.com', 100);
  apiKey = (await c.post('/api/keys', { name: 'hostile' })).json<CreatedApiKey>().secret;
});
afterAll(() => closeAll(g));

const NUL = '\u0000';

/** 400 with `{error:{code,message}}`, and the app still healthy */
async function expect400(res: { status: number; body: string }, field?: string) {
  expect(res.status, res.body).toBe(400);
  const body = JSON.parse(res.body) as { error: { code: string; message: string; fields?: { field: string }[] } };
  expect(body.error.code).toEqual(expect.any(String));
  expect(body.error.message).toEqual(expect.any(String));
  expect(res.body).not.toMatch(/22021|invalid byte sequence|character_not_in_repertoire|SQL/i);
  if (field) expect(body.error.message).toContain(field);
  expect((await g.app.fetch('/healthz')).status).toBe(200);
  return body;
}

const deepJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('NUL bytes in free text', () => {
  it('in a generation prompt', async () => {
    const res = await c.post('/api/generations', { model: 'local-preview', prompt: `a cat${NUL}on a mat` });
    const body = await expect400(res, 'prompt');
    expect(body.error.message).toContain('must not contain control characters');
  });

  it('in the name (PATCH /api/me)', async () => {
    const res = await c.patch('/api/me', { name: `Mallory${NUL}` });
    const body = await expect400(res, 'name');
    expect(body.error.message).toContain('must not contain control characters');
  });

  it('in an API key name (POST /api/keys)', async () => {
    const res = await c.post('/api/keys', { name: `key${NUL}` });
    await expect400(res, 'name');
  });

  it('in a webhook description', async () => {
    const res = await c.post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/hook', description: `about${NUL}` });
    await expect400(res, 'description');
  });

  it('in a search query (GET /api/creations?q=)', async () => {
    const res = await c.get('/api/creations?q=cat%00dog');
    const body = await expect400(res);
    expect(body.error.message).toContain('control characters');
  });

  it('in the sign-in email', async () => {
    const anon = new TestClient(g.app.url);
    const res = await anon.post('/api/auth/sign-in/email', { email: `someone${NUL}@example.com`, password: 'a fine password 1' });
    await expect400(res);
  });

  it('in a password-reset token (a Better Auth route without a body schema)', async () => {
    const anon = new TestClient(g.app.url);
    const res = await anon.post('/api/auth/reset-password', { newPassword: 'a fine password 1', token: `tok${NUL}en` });
    await expect400(res);
  });

  it('in a path parameter (DELETE /api/uploads/%00)', async () => {
    const res = await c.delete('/api/uploads/%00');
    await expect400(res);
  });
});

describe('multipart without a usable boundary', () => {
  it('a wrong boundary on an upload', async () => {
    const res = await c.request(
      'POST',
      '/api/uploads',
      new TextEncoder().encode('--real\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nxx\r\n--real--\r\n'),
      {
        'content-type': 'multipart/form-data; boundary=wrong',
      },
    );
    await expect400(res);
  });

  it('no boundary at all on an upload', async () => {
    const res = await c.request('POST', '/api/uploads', new TextEncoder().encode('--x\r\n\r\n'), { 'content-type': 'multipart/form-data' });
    await expect400(res);
  });

  it('no boundary on the OpenAI-compatible POST /v1/videos', async () => {
    const res = await fetch(`${g.app.url}/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'multipart/form-data' },
      body: '--x\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--x--\r\n',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error.message).toEqual(expect.any(String));
    expect(body.error.type).toBe('invalid_request_error');
  });
});

describe('deeply nested JSON', () => {
  it('100,000 levels are refused by the body parser, before any handler (before: parsed, then refused by zod)', async () => {
    const res = await c.request('POST', '/api/generations', new TextEncoder().encode(deepJson(100_000)), { 'content-type': 'application/json' });
    const body = await expect400(res);
    expect(body.error.message).toMatch(/nested/i);
  });

  it('100,000 levels on a Better Auth route', async () => {
    const anon = new TestClient(g.app.url);
    const res = await anon.request('POST', '/api/auth/sign-in/email', new TextEncoder().encode(`{"email":${deepJson(100_000)}}`), {
      'content-type': 'application/json',
    });
    await expect400(res);
  });
});
