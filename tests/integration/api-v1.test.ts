import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationList, GenerationView, MediaView } from '../../src/shared/api';
import { closeAll } from '../helpers/close';
import { startGenerationsApp, type GenerationsApp } from './generations/setup';
import { until } from '../helpers/wait';

/** The native developer API (/api/v1): the web app's generation endpoints with an API key. */
describe('native API /api/v1', () => {
  let g: GenerationsApp;
  let secret: string;
  let readOnly: string;
  let png: Buffer;

  const call = (method: string, path: string, opts: { key?: string | null; body?: unknown; form?: FormData } = {}) => {
    const headers: Record<string, string> = {};
    const key = opts.key === undefined ? secret : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: BodyInit | undefined;
    if (opts.form) body = opts.form;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    return fetch(`${g.app.url}/api/v1${path}`, { method, headers, body, redirect: 'manual' });
  };

  async function final(id: string): Promise<GenerationView> {
    let status = '';
    return until(
      async () => {
        const v = (await (await call('GET', `/generations/${id}`)).json()) as GenerationView;
        status = v.status;
        return ['succeeded', 'failed', 'canceled', 'blocked'].includes(v.status) && v;
      },
      { app: g.app, timeoutMs: 50_000, recheckMs: 500, what: () => `${id} to end (still ${status})` },
    );
  }

  beforeAll(async () => {
    g = await startGenerationsApp({ API_KEY_MAX_IN_FLIGHT: '10', API_RATE_PER_MINUTE: '100000', API_USER_RATE_PER_MINUTE: '100000' });
    const u = await g.user('native-api@example.com', 1000);
    const { developer } = g.app.platform.ctx.services;
    secret = (await developer.createKey(u.userId, { name: 'native', scopes: ['videos:read', 'videos:write'] })).secret;
    readOnly = (await developer.createKey(u.userId, { name: 'reader', scopes: ['videos:read'] })).secret;
    png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#2266cc' } })
      .png()
      .toBuffer();
  });
  afterAll(() => closeAll(g));

  it('401 without a key, with a bad key, or with the key in the URL', async () => {
    const none = await call('GET', '/generations', { key: null });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'missing_api_key' } });
    expect((await call('GET', '/generations', { key: 'ssk_nope' })).status).toBe(401);
    expect((await fetch(`${g.app.url}/api/v1/generations?api_key=${secret}`)).status).toBe(401);
  });

  it('lists the models', async () => {
    const res = await call('GET', '/models');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { models: { id: string }[] };
    expect(body.models.map((m) => m.id)).toEqual(expect.arrayContaining(['sora-2', 'veo-3.1', 'local-preview']));
  });

  it('uploads a reference and generates from it by mediaId; gets, lists and downloads it', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'frame.png');
    const up = await call('POST', '/uploads', { form });
    expect(up.status).toBe(201);
    const media = (await up.json()) as MediaView;
    expect(media.kind).toBe('image');

    const res = await call('POST', '/generations', {
      body: {
        model: 'local-preview',
        prompt: 'the card in @image1 turns',
        duration: 2,
        resolution: '480p',
        references: [{ kind: 'image', mediaId: media.id }],
      },
    });
    expect(res.status).toBe(202);
    const created = (await res.json()) as GenerationView;
    expect(created).toMatchObject({ mode: 'image-to-video', references: [{ kind: 'image', role: 'first_frame', mediaId: media.id }], status: 'queued' });
    const [row] = await g.app.db.sql.query<{ source: string; api_key_id: string | null }>('select source, api_key_id from generations where id = $1', [
      created.id,
    ]);
    expect(row).toMatchObject({ source: 'api' });
    expect(row!.api_key_id).toBeTruthy();

    const done = await final(created.id);
    expect(done.status).toBe('succeeded');
    expect(done.output?.videoUrl).toBe(`/api/v1/generations/${created.id}/video`);
    const video = await call('GET', `/generations/${created.id}/video`);
    expect(video.status).toBe(302);
    const file = await fetch(new URL(video.headers.get('location')!, g.app.url));
    expect(file.status).toBe(200);
    expect(
      Buffer.from(await file.arrayBuffer())
        .subarray(4, 8)
        .toString('latin1'),
    ).toBe('ftyp');

    const list = (await (await call('GET', '/generations?limit=10')).json()) as GenerationList;
    expect(list.items.map((i) => i.id)).toContain(created.id);
  });

  it('cancels a queued generation; another key of the user sees it, a read-only key cannot write', async () => {
    const res = await call('POST', '/generations', { body: { model: 'sora-2', prompt: 'never mind', duration: 4 } });
    expect(res.status).toBe(202);
    const v = (await res.json()) as GenerationView;
    const canceled = await call('POST', `/generations/${v.id}/cancel`);
    // the worker may have started it already: then it cannot be canceled any more
    expect([200, 409]).toContain(canceled.status);
    if (canceled.status === 200) expect(await canceled.json()).toMatchObject({ status: 'canceled', failure: { code: 'canceled', refunded: true } });

    const mine = await call('GET', `/generations/${v.id}`, { key: readOnly });
    expect(mine.status).toBe(200);
    const denied = await call('POST', '/generations', { key: readOnly, body: { model: 'sora-2', prompt: 'no', duration: 4 } });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: { code: 'insufficient_scope' } });
  });

  it('validation errors and unknown ids answer in the native shape', async () => {
    const bad = await call('POST', '/generations', { body: { model: 'sora-2', prompt: 'x', duration: 5 } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_request', fields: [{ field: 'duration' }] } });
    const missing = await call('GET', '/generations/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('idempotency: the same key and body replay the original', async () => {
    const body = { model: 'veo-3.1', prompt: 'once only' };
    const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': 'native-1' };
    const a = await fetch(`${g.app.url}/api/v1/generations`, { method: 'POST', headers, body: JSON.stringify(body) });
    const b = await fetch(`${g.app.url}/api/v1/generations`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect([a.status, b.status]).toEqual([202, 200]);
    expect(((await b.json()) as GenerationView).id).toBe(((await a.json()) as GenerationView).id);
  });

  it('documents both API surfaces in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${g.app.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { tags?: string[]; requestBody?: unknown }>>;
    };
    expect(doc.paths['/v1/videos']?.post?.tags).toEqual(['openai']);
    expect(doc.paths['/v1/videos/{id}/content']?.get?.tags).toEqual(['openai']);
    expect(doc.paths['/api/v1/generations']?.post?.tags).toEqual(['api']);
    expect(JSON.stringify(doc.paths['/api/v1/generations']!.post!.requestBody)).toContain('@image1');
    expect(JSON.stringify(doc.paths['/v1/videos']!.post!.requestBody)).toContain('1280x720');
  });

  it('caps the unfinished videos of one key (429), not of the user’s other keys', async () => {
    // API_KEY_MAX_IN_FLIGHT's default (5); GENERATION_MAX_IN_FLIGHT (10) is the user's cap across keys
    const local = await startGenerationsApp({}, { role: 'web' });
    try {
      const u = await local.user('key-cap@example.com', 100);
      const { developer } = local.app.platform.ctx.services;
      const [k1, k2] = await Promise.all([
        developer.createKey(u.userId, { name: 'one', scopes: ['videos:read', 'videos:write'] }),
        developer.createKey(u.userId, { name: 'two', scopes: ['videos:read', 'videos:write'] }),
      ]);
      const submit = (key: string) =>
        fetch(`${local.app.url}/api/v1/generations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'local-preview', prompt: 'cap', duration: 2, resolution: '480p' }),
        });
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await submit(k1.secret)).status);
      expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
      expect(await (await submit(k1.secret)).json()).toMatchObject({ error: { code: 'rate_limited' } });
      expect((await submit(k2.secret)).status).toBe(202);
      const v1 = await fetch(`${local.app.url}/v1/videos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k1.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'local-preview', prompt: 'cap', seconds: 2 }),
      });
      expect(v1.status).toBe(429);
      expect(await v1.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limited' } });

      // deleting a queued video (the oldest, made with k1) cancels it first: its credits come back and k1 has room again
      const list = (await (await fetch(`${local.app.url}/v1/videos?limit=1&order=asc`, { headers: { authorization: `Bearer ${k1.secret}` } })).json()) as {
        data: { id: string; status: string }[];
      };
      expect(list.data[0]!.status).toBe('queued');
      const before = (await u.get('/api/credits')).json<{ balance: number; held: number }>();
      const del = await fetch(`${local.app.url}/v1/videos/${list.data[0]!.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${k1.secret}` } });
      expect(await del.json()).toEqual({ id: list.data[0]!.id, object: 'video.deleted', deleted: true });
      const after = (await u.get('/api/credits')).json<{ balance: number; held: number }>();
      expect(after.balance).toBe(before.balance + 2);
      expect(after.held).toBe(before.held - 2);
      expect((await submit(k1.secret)).status).toBe(202);
    } finally {
      await local.close();
    }
  });
});
