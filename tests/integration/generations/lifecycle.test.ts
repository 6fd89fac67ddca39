import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView } from '../../../src/shared/api';
import { balances, startGenerationsApp, waitFinal, type GenerationsApp } from './setup';
import { closeAll } from '../../helpers/close';

let g: GenerationsApp;
beforeAll(async () => {
  g = await startGenerationsApp();
});
afterAll(() => closeAll(g));

const ledger = async (userId: string) =>
  (
    await g.app.db.sql.query<{ kind: string; amount: string; held_delta: string }>(
      'select kind, amount, held_delta from credit_ledger where user_id = $1 order by id',
      [userId],
    )
  ).map((r) => [r.kind, Number(r.amount), Number(r.held_delta)]);

describe('a generation from submit to a playable video', () => {
  it('holds the price, renders with the local provider, captures once, and serves the video with Range support', async () => {
    const c = await g.user('happy@example.com', 10);
    const res = await c.post('/api/generations', { model: 'local-preview', prompt: 'A lighthouse in a storm', duration: 2, resolution: '480p' });
    expect(res.status).toBe(202);
    const created = res.json<GenerationView>();
    expect(created).toMatchObject({ model: 'local-preview', status: 'queued', price: 2, progress: 0, failure: null, output: null });
    expect(await balances(c)).toEqual({ balance: 8, held: 2 });

    const done = await waitFinal(c, created.id);
    expect(done.status).toBe('succeeded');
    expect(done.progress).toBe(100);
    expect(done.output).toMatchObject({
      videoUrl: `/api/generations/${created.id}/video`,
      thumbnailUrl: `/api/generations/${created.id}/thumbnail`,
      previewUrl: `/api/generations/${created.id}/preview`,
      width: 854,
      height: 480,
      codec: 'h264',
    });
    expect(done.output!.durationSeconds).toBeCloseTo(2, 0);
    expect(done.output!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await balances(c)).toEqual({ balance: 8, held: 0 });
    expect(await ledger(c.userId)).toEqual([
      ['grant', 10, 0],
      ['hold', -2, 2],
      ['capture', 0, -2],
    ]);

    // the API answers with a short-lived signed URL that needs no session
    const redirect = await c.get(done.output!.videoUrl);
    expect(redirect.status).toBe(302);
    const signed = redirect.headers.get('location')!;
    expect(signed).toMatch(/\/files\/generations\/.+\/video\.mp4\?exp=\d+&.*sig=/);
    const video = await fetch(signed);
    expect(video.status).toBe(200);
    expect(video.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await video.arrayBuffer());
    expect(bytes.length).toBe(done.output!.sizeBytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.output!.sha256);
    const part = await fetch(signed, { headers: { range: 'bytes=4-11' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 4-11/${bytes.length}`);
    expect(await part.text()).toBe('ftypisom');
    const download = await c.get(`${done.output!.videoUrl}?download=1`);
    expect((await fetch(download.headers.get('location')!)).headers.get('content-disposition')).toMatch(/^attachment; filename="savesora-[0-9a-f]{8}\.mp4"/);
    const poster = await fetch((await c.get(done.output!.thumbnailUrl!)).headers.get('location')!);
    expect(poster.headers.get('content-type')).toBe('image/jpeg');
    const preview = await fetch((await c.get(done.output!.previewUrl!)).headers.get('location')!);
    expect([preview.status, preview.headers.get('content-type')]).toEqual([200, 'video/mp4']);
    // a tampered signature is refused
    expect((await fetch(signed.replace(/sig=([^&])/, (_m, ch: string) => `sig=${ch === 'A' ? 'B' : 'A'}`))).status).toBe(403);

    const list = (await c.get('/api/generations')).json<{ items: GenerationView[]; nextCursor: string | null }>();
    expect(list.items.map((i) => i.id)).toEqual([created.id]);
  });

  it('answers 402 with the balance and the price when credits are short, and holds nothing', async () => {
    const c = await g.user('short@example.com', 3);
    const res = await c.post('/api/generations', { model: 'local-preview', prompt: 'too long for my balance', duration: 4, resolution: '480p' });
    expect(res.status).toBe(402);
    expect(res.json()).toEqual({
      error: { code: 'insufficient_credits', message: 'This video costs 4 credits and your balance is 3.', balance: 3, price: 4 },
    });
    expect(await balances(c)).toEqual({ balance: 3, held: 0 });
    expect((await c.get('/api/generations')).json<{ items: unknown[] }>().items).toEqual([]);
  });

  it('returns the original generation for a repeated Idempotency-Key, and 409 for the same key with another body', async () => {
    const c = await g.user('idem@example.com', 10);
    const body = { model: 'local-preview', prompt: 'once only', duration: 2, resolution: '480p' };
    const first = await c.post('/api/generations', body, { 'idempotency-key': 'click-1' });
    const again = await c.post('/api/generations', body, { 'idempotency-key': 'click-1' });
    expect([first.status, again.status]).toEqual([202, 200]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json<GenerationView>().id).toBe(first.json<GenerationView>().id);
    const other = await c.post('/api/generations', { ...body, prompt: 'something else' }, { 'idempotency-key': 'click-1' });
    expect(other.status).toBe(409);
    expect(other.json<{ error: { code: string } }>().error.code).toBe('idempotency_key_reused');
    expect((await ledger(c.userId)).filter((r) => r[0] === 'hold')).toEqual([['hold', -2, 2]]);
    const rows = await g.app.db.sql.query('select id from generations where user_id = $1', [c.userId]);
    expect(rows).toHaveLength(1);
  });

  it('validates the request against the model: 400 naming the field', async () => {
    const c = await g.user('invalid@example.com', 10);
    const res = await c.post('/api/generations', { model: 'local-preview', prompt: 'x', duration: 3 });
    expect(res.status).toBe(400);
    expect(res.json<{ error: { fields: { field: string; allowed: number[] }[] } }>().error.fields).toEqual([
      expect.objectContaining({ field: 'duration', allowed: [2, 4, 6, 8, 10] }),
    ]);
  });

  it('refuses users who have not verified their email', async () => {
    const c = await g.user('unverified@example.com', 10);
    await g.app.db.sql.query('update users set email_verified = false where id = $1', [c.userId]);
    const res = await c.post('/api/generations', { model: 'local-preview', prompt: 'x' });
    expect(res.status).toBe(403);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('email_not_verified');
  });

  it('refuses reference URLs that point into private networks', async () => {
    const c = await g.user('ssrf@example.com', 10);
    const res = await c.post('/api/generations', {
      model: 'local-preview',
      prompt: 'x',
      references: [{ kind: 'image', url: 'http://127.0.0.1:9/secret.png' }],
    });
    expect(res.status).toBe(400);
    expect(res.json<{ error: { fields: { field: string; message: string }[] } }>().error.fields[0]).toEqual({
      field: 'references.0.url',
      message: 'The reference URL points to a private or reserved network address.',
    });
  });
});

describe('upstream outcomes through the fakes', () => {
  it('a task accepted by KIE and then rejected for content ends failed (policy) and its credits come back, once', async () => {
    const c = await g.user('policy@example.com', 100);
    const res = await c.post('/api/generations', {
      model: 'kling-3.0',
      prompt: 'a rejected idea [fake:policy-after-accept]',
      duration: 3,
      resolution: '720p',
      audio: false,
    });
    expect(res.status).toBe(202);
    const done = await waitFinal(c, res.json<GenerationView>().id);
    expect(done.status).toBe('failed');
    expect(done.failure).toEqual({
      code: 'policy',
      message: 'The provider refused this request under its content policy. Your 30 credits were returned.',
      refunded: true,
    });
    expect(await balances(c)).toEqual({ balance: 100, held: 0 });
    expect(await ledger(c.userId)).toEqual([
      ['grant', 100, 0],
      ['hold', -30, 30],
      ['release', 30, -30],
    ]);
  });

  it('duplicate and out-of-order callbacks settle a success exactly once', async () => {
    const c = await g.user('dupes@example.com', 100);
    const a = (await c.post('/api/generations', { model: 'sora-2', prompt: 'twice told [fake:duplicate-callbacks]', duration: 4 })).json<GenerationView>();
    const b = (await c.post('/api/generations', { model: 'sora-2', prompt: 'out of order [fake:out-of-order-callbacks]', duration: 4 })).json<GenerationView>();
    expect((await waitFinal(c, a.id)).status).toBe('succeeded');
    expect((await waitFinal(c, b.id)).status).toBe('succeeded');
    await g.settled(); // the late deliveries have landed, and what they started has run
    expect(await balances(c)).toEqual({ balance: 20, held: 0 });
    const kinds = (await ledger(c.userId)).map((r) => r[0]);
    expect(kinds.filter((k) => k === 'capture')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'release')).toHaveLength(0);
  });

  it('a task the provider forgets (expired) ends failed and is refunded', async () => {
    const c = await g.user('expired@example.com', 100);
    const v = (
      await c.post('/api/generations', { model: 'kling-3.0', prompt: 'gone [fake:expired]', duration: 3, resolution: '720p', audio: false })
    ).json<GenerationView>();
    const done = await waitFinal(c, v.id);
    expect([done.status, done.failure?.code, done.failure?.refunded]).toEqual(['failed', 'generation_failed', true]);
    expect(await balances(c)).toEqual({ balance: 100, held: 0 });
  });

  it('refuses callbacks with a bad signature', async () => {
    const res = await fetch(`${g.app.url}/webhooks/kie`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-webhook-signature': 'bm90IGEgc2lnbmF0dXJl',
      },
      body: JSON.stringify({ code: 200, msg: 'ok', data: { taskId: 'task_x', state: 'success', resultJson: '{"resultUrls":["https://evil.example/x.mp4"]}' } }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_signature');
  });
});

describe('per-user authorization', () => {
  it("user B gets 404 for user A's generation on every route", async () => {
    const a = await g.user('owner-a@example.com', 10);
    const b = await g.user('other-b@example.com', 10);
    const v = (await a.post('/api/generations', { model: 'local-preview', prompt: 'mine', duration: 2, resolution: '480p' })).json<GenerationView>();
    await waitFinal(a, v.id);
    for (const res of [
      await b.get(`/api/generations/${v.id}`),
      await b.post(`/api/generations/${v.id}/cancel`),
      await b.get(`/api/generations/${v.id}/video`),
      await b.get(`/api/generations/${v.id}/thumbnail`),
    ]) {
      expect(res.status).toBe(404);
    }
    expect((await b.get('/api/generations')).json<{ items: unknown[] }>().items).toEqual([]);
    expect((await a.get(`/api/generations/${v.id}/video`)).status).toBe(302);
    for (const which of ['video', 'thumbnail', 'preview']) expect((await b.get(`/api/generations/${v.id}/${which}?download=1`)).status).toBe(404);
    // signed out: 401
    expect((await fetch(`${g.app.url}/api/generations/${v.id}`)).status).toBe(401);
  });
});
