import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleFrames } from '../../../src/server/adapters/moderation/frames';
import { HashListMatcher } from '../../../src/server/adapters/moderation/hash-matcher';
import type { GenerationView } from '../../../src/shared/api';
import { closeAll } from '../../helpers/close';
import { noisePicture } from '../../helpers/seed';
import { balances, startGenerationsApp, waitFinal, waitUnderReview, type GenerationsApp } from '../generations/setup';

/**
 * Screening where it runs (issue 16): the prompt gate before credits are held, references at
 * upload and URL import, outputs at ingest (quarantine, release, removal), on the real pipeline
 * with the local renderer. Flags come from the built-in text rules and from hash lists imported
 * through the admin route (the on-device image model stays off here: it cannot be made to flag
 * without explicit material, and costs seconds to load).
 */

let env: GenerationsApp;
let fixture: http.Server;
let fixtureUrl: string;
let admin: Awaited<ReturnType<GenerationsApp['user']>>;
const work = await fs.mkdtemp(path.join(os.tmpdir(), 'savesora-moderation-'));

const picture = noisePicture;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const ctx = () => env.app.platform.ctx;
const sql = <T>(text: string, params: unknown[] = []) => env.app.db.sql.query<T>(text, params);

async function casesOf(userId: string) {
  return sql<{ id: string; subject: string; generation_id: string | null; action: string; top_category: string | null; status: string }>(
    'select id, subject, generation_id, action, top_category, status from moderation_cases where user_id = $1 order by opened_at',
    [userId],
  );
}

async function importList(body: Record<string, unknown>) {
  const res = await admin.post('/api/moderation/hash-lists', body);
  expect(res.status, res.body).toBe(201);
}

let badImage: Buffer;

beforeAll(async () => {
  badImage = await picture(7);
  fixture = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end(badImage);
  });
  await new Promise<void>((r) => fixture.listen(0, '127.0.0.1', r));
  const port = (fixture.address() as AddressInfo).port;
  fixtureUrl = `http://127.0.0.1:${port}/still.png`;
  env = await startGenerationsApp({ REFERENCE_FETCH_ALLOW_HOSTS: `127.0.0.1:${port}` });
  admin = await env.user('mod-admin@example.com', 0);
  await sql(`update users set role = 'admin' where id = $1`, [admin.userId]);
});

afterAll(async () => {
  await closeAll(env);
  await new Promise((r) => fixture.close(r));
  await fs.rm(work, { recursive: true, force: true });
});

describe('the prompt gate', () => {
  it('refuses a blocked prompt with 422 naming it, in the user language, and charges nothing', async () => {
    const c = await env.user('gate-en@example.com', 20);
    const res = await c.post('/api/generations', { model: 'local-preview', prompt: 'a porn scene on a beach', duration: 2, resolution: '480p' });
    expect(res.status).toBe(422);
    const error = res.json<{ error: { code: string; message: string; fields: { field: string; message: string }[] } }>().error;
    expect(error.code).toBe('content_blocked');
    expect(error.fields).toEqual([{ field: 'prompt', message: 'Your prompt was flagged for sexual content.' }]);
    expect(error.message).toMatch(/^Your prompt was flagged for sexual content .*Nothing was charged/);
    expect(error.message).not.toMatch(/porn/i);
    expect(await balances(c)).toEqual({ balance: 20, held: 0 });
    expect(await sql('select id from generations where user_id = $1', [c.userId])).toEqual([]);
    const [kase] = await casesOf(c.userId);
    expect(kase).toMatchObject({ subject: 'prompt', action: 'block', top_category: 'sexual', status: 'open', generation_id: null });
    const evidence = await sql<{ input: string; text: string }>('select input, text from moderation_evidence where case_id = $1', [kase!.id]);
    expect(evidence).toEqual([{ input: 'prompt', text: 'a porn scene on a beach' }]);
    const events = await sql<{ kind: string; input: string; action: string }>('select kind, input, action from moderation_events where case_id = $1', [
      kase!.id,
    ]);
    expect(events).toEqual([{ kind: 'classifier', input: 'prompt', action: 'block' }]);

    const es = await env.user('gate-es@example.com', 20);
    await sql(`update users set language = 'es' where id = $1`, [es.userId]);
    const res2 = await es.post('/api/generations', { model: 'local-preview', prompt: 'a porn scene on a beach', duration: 2, resolution: '480p' });
    expect(res2.status).toBe(422);
    expect(res2.json<{ error: { fields: unknown } }>().error.fields).toEqual([{ field: 'prompt', message: 'Tu prompt se marcó por contenido sexual.' }]);
  });

  it('accepts a flagged negative prompt (a block lowered one step) and opens a case about the generation', async () => {
    const c = await env.user('gate-negative@example.com', 1000);
    const res = await c.post('/api/generations', {
      model: 'kling-3.0',
      prompt: 'a lighthouse at dusk',
      negativePrompt: 'nude people',
      duration: 5,
      resolution: '720p',
    });
    expect(res.status, res.body).toBe(202);
    const view = res.json<GenerationView>();
    const [kase] = await casesOf(c.userId);
    expect(kase).toMatchObject({ subject: 'prompt', action: 'flag', top_category: 'sexual', generation_id: view.id });
    const evidence = await sql<{ input: string; generation_id: string }>('select input, generation_id from moderation_evidence where case_id = $1', [kase!.id]);
    expect(evidence).toEqual([{ input: 'negative_prompt', generation_id: view.id }]);
  });
});

describe('provider refusals', () => {
  it('are recorded as a provider_refusal event on a case about the generation, and refunded as before', async () => {
    const c = await env.user('refusal@example.com', 100);
    const res = await c.post('/api/generations', {
      model: 'kling-3.0',
      prompt: 'a rejected idea [fake:policy-after-accept]',
      duration: 3,
      resolution: '720p',
      audio: false,
    });
    expect(res.status, res.body).toBe(202);
    const done = await waitFinal(c, res.json<GenerationView>().id);
    expect(done).toMatchObject({ status: 'failed', failure: { code: 'policy', refunded: true } });
    expect(await balances(c)).toEqual({ balance: 100, held: 0 });
    const [kase] = await casesOf(c.userId);
    expect(kase).toMatchObject({ subject: 'output', generation_id: done.id, status: 'open' });
    const events = await sql<{ kind: string; source: string; note: string }>('select kind, source, note from moderation_events where case_id = $1', [kase!.id]);
    expect(events).toEqual([{ kind: 'provider_refusal', source: 'kie', note: expect.stringMatching(/^policy: /) }]);
  });
});

describe('references', () => {
  it('refuses a listed file at upload and at URL import, keeping it only as quarantined evidence', async () => {
    await importList({ name: 'known-bad', category: 'sexual', format: 'text', kind: 'sha256', content: `# test\n${sha256(badImage)}\n` });
    const c = await env.user('refs@example.com', 0);
    // another picture is stored as today
    expect((await c.upload('/api/uploads', { data: await picture(8), name: 'fine.png', type: 'image/png' })).status).toBe(201);

    const res = await c.upload('/api/uploads', { data: badImage, name: 'bad.png', type: 'image/png' });
    expect(res.status).toBe(422);
    const error = res.json<{ error: { code: string; fields: { field: string; message: string }[] } }>().error;
    expect(error.code).toBe('content_blocked');
    expect(error.fields).toEqual([{ field: 'reference', message: 'This reference file was flagged for sexual content.' }]);

    const imported = await c.post('/api/uploads/url', { url: fixtureUrl });
    expect(imported.status).toBe(422);
    expect(imported.json<{ error: { fields: { field: string }[] } }>().error.fields[0]!.field).toBe('reference');

    const media = await sql<{ n: string }>('select count(*) as n from media where user_id = $1', [c.userId]);
    expect(Number(media[0]!.n)).toBe(1);
    const cases = await casesOf(c.userId);
    expect(cases.map((k) => [k.subject, k.action])).toEqual([
      ['reference', 'block'],
      ['reference', 'block'],
    ]);
    for (const k of cases) {
      const [ev] = await sql<{ storage_key: string; sha256: string }>('select storage_key, sha256 from moderation_evidence where case_id = $1', [k.id]);
      expect(ev!.storage_key).toMatch(new RegExp(`^quarantine/${k.id}/`));
      const head = await ctx().store.head(ev!.storage_key);
      expect(head.size).toBeGreaterThan(0);
      const events = await sql<{ kind: string; source: string }>('select kind, source from moderation_events where case_id = $1', [k.id]);
      expect(events).toEqual([{ kind: 'hash_match', source: 'known-bad' }]);
    }
    // nothing of the refused files under the user's uploads
    const stored = await ctx().store.list(`uploads/${c.userId.toLowerCase()}/`, { limit: 100 });
    expect(stored.items.filter((o) => o.key.endsWith('original.jpg') || o.key.endsWith('original.png'))).toHaveLength(1);
  });
});

describe('outputs', () => {
  const body = { model: 'local-preview', prompt: 'a red kite over green hills', duration: 2, resolution: '480p' };

  /** the PDQ hashes of the frames screening samples from a stored output */
  async function framePdqs(view: GenerationView): Promise<string[]> {
    const [row] = await sql<{ output_url: string }>('select output_url from generations where id = $1', [view.id]);
    const file = path.join(work, `${view.id}.mp4`);
    await pipeline((await ctx().store.get(row!.output_url.slice('store:'.length))).body, createWriteStream(file));
    const frames = await sampleFrames(file, { count: env.app.config.MODERATION_VIDEO_FRAMES, maxSide: 512 });
    const hasher = new HashListMatcher();
    const hashes = await Promise.all(frames.map((f) => hasher.hashesWithQuality(f)));
    return hashes.filter((h) => h.pdqQuality >= 50).map((h) => h.pdq);
  }

  it('quarantines a listed output (under review, charged, invisible), then releases it, and removes another', async () => {
    const c = await env.user('outputs@example.com', 100);
    const submitted = await c.post('/api/generations', body);
    expect(submitted.status, submitted.body).toBe(202);
    const first = submitted.json<GenerationView>();
    const done = await waitFinal(c, first.id);
    expect(done.status).toBe('succeeded');
    const pdqs = await framePdqs(done);
    expect(pdqs.length).toBeGreaterThan(0);
    await importList({ name: 'known-bad-video', category: 'violence', format: 'text', kind: 'pdq', content: pdqs.join('\n') });

    const second = (await c.post('/api/generations', body)).json<GenerationView>();
    const held = await waitUnderReview(c, second.id);
    expect(held.output).toBeNull();
    expect(held.failure).toBeNull();
    // charged: the provider made it
    expect(await balances(c)).toEqual({ balance: 100 - 2 * first.price, held: 0 });
    for (const file of ['video', 'thumbnail', 'preview']) expect((await c.get(`/api/generations/${second.id}/${file}`)).status).toBe(404);
    // nothing left at the creation's keys; the files are in quarantine, and no signed link serves them
    expect((await ctx().store.list(`generations/${c.userId.toLowerCase()}/${second.id}/`, { limit: 10 })).items).toEqual([]);
    const [kase] = (await casesOf(c.userId)).filter((k) => k.generation_id === second.id);
    expect(kase).toMatchObject({ subject: 'output', action: 'flag', top_category: 'violence' });
    const evidence = await sql<{ input: string; storage_key: string }>('select input, storage_key from moderation_evidence where case_id = $1 order by input', [
      kase!.id,
    ]);
    expect(evidence.map((e) => e.input)).toEqual(['output', 'preview', 'thumbnail']);
    const signed = await ctx().store.signedUrl(evidence[0]!.storage_key, { expiresInSeconds: 600 });
    expect((await fetch(signed)).status).toBe(403);
    const list = (await c.get('/api/generations')).json<{ items: GenerationView[] }>();
    expect(list.items.find((g) => g.id === second.id)).toMatchObject({ status: 'under_review', output: null });
    const openai = await c.get(`/v1/videos/${second.id}`);
    if (openai.status === 200) expect(openai.json<{ status: string }>().status).toBe('in_progress');

    // a moderator's allow: back to the creation's keys, succeeded
    await ctx().services.screening.quarantine.release(kase!.id);
    const released = (await c.get(`/api/generations/${second.id}`)).json<GenerationView>();
    expect(released.status).toBe('succeeded');
    expect((await c.get(`/api/generations/${second.id}/video`)).status).toBe(302);
    expect((await ctx().store.list(`quarantine/${kase!.id}/`, { limit: 10 })).items).toEqual([]);
    await ctx().services.screening.quarantine.release(kase!.id); // again: nothing to do

    // a third one, removed: blocked, not refunded, files gone
    const third = (await c.post('/api/generations', body)).json<GenerationView>();
    await waitUnderReview(c, third.id);
    const [kase3] = (await casesOf(c.userId)).filter((k) => k.generation_id === third.id);
    const keys = (await sql<{ storage_key: string }>('select storage_key from moderation_evidence where case_id = $1', [kase3!.id])).map((e) => e.storage_key);
    await ctx().services.screening.quarantine.remove(kase3!.id);
    const removed = (await c.get(`/api/generations/${third.id}`)).json<GenerationView>();
    expect(removed).toMatchObject({ status: 'blocked', output: null, failure: { code: 'content_removed', refunded: false } });
    expect(await balances(c)).toEqual({ balance: 100 - 3 * first.price, held: 0 });
    for (const key of keys) await expect(ctx().store.head(key)).rejects.toThrow();
  });
});
