import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView } from '../../../src/shared/api';
import { seedGeneration } from '../../helpers/seed';
import { purgeDeleted } from '../../../src/server/domain/media/purge';
import { readC2pa } from '../../helpers/c2pa-reader';
import { closeAll } from '../../helpers/close';
import { startGenerationsApp, waitFinal, type GenerationsApp } from '../generations/setup';

/**
 * My Creations: listing with filters, search and cursors; deleting one or many (gone from every
 * list and link at once, files removed), the purge of old deletions and unreferenced files, and the
 * provenance of a kept video.
 */
let g: GenerationsApp;
beforeAll(async () => {
  g = await startGenerationsApp();
});
afterAll(async () => {
  await closeAll(g);
});

const store = () => g.app.platform.ctx.store;

/** Rows straight into the table (listing tests need many, not real renders). */
async function seed(userId: string, items: Array<{ prompt: string; model?: string; status?: string; createdAt?: string }>): Promise<string[]> {
  const ids: string[] = [];
  for (const item of items) {
    const { id } = await seedGeneration(g.app.db, userId, { modelId: item.model ?? 'local-preview', prompt: item.prompt });
    await g.app.db.sql.query(`update generations set status = $2, created_at = coalesce($3::timestamptz, created_at) where id = $1`, [
      id,
      item.status ?? 'failed',
      item.createdAt ?? null,
    ]);
    ids.push(id);
  }
  return ids;
}

async function generate(c: Awaited<ReturnType<GenerationsApp['user']>>, prompt: string): Promise<GenerationView> {
  const res = await c.post('/api/generations', { model: 'local-preview', prompt, duration: 2, resolution: '480p' });
  expect(res.status).toBe(202);
  const done = await waitFinal(c, res.json<GenerationView>().id);
  expect(done.status).toBe('succeeded');
  return done;
}

const keysOf = async (id: string) =>
  (
    await g.app.db.sql.query<{ k: string }>(`select unnest(array[output_url, output_thumbnail_url, output_preview_url]) as k from generations where id = $1`, [
      id,
    ])
  ).map((r) => r.k.replace(/^store:/, ''));

describe('My Creations: listing', () => {
  it('pages with a cursor, newest first, and filters by status, model, date and prompt words', async () => {
    const c = await g.user('list-creations@example.com', 0);
    const ids = await seed(
      c.userId,
      Array.from({ length: 25 }, (_, i) => ({
        prompt: `scene ${i} ${i % 5 === 0 ? 'with a red fox' : 'of a quiet lake'}`,
        createdAt: `2026-11-${String(1 + i).padStart(2, '0')}T12:00:00Z`,
      })),
    );
    const [kling] = await seed(c.userId, [{ prompt: 'A 100% sure_thing', model: 'kling-3.0', status: 'succeeded', createdAt: '2026-10-01T00:00:00Z' }]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await c.get(`/api/creations?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = res.json<{ items: GenerationView[]; nextCursor: string | null }>();
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse().concat(kling!));

    const ids_ = async (query: string) => (await c.get(`/api/creations?${query}`)).json<{ items: GenerationView[] }>().items.map((i) => i.id);
    expect(await ids_('q=red%20fox')).toEqual([ids[20], ids[15], ids[10], ids[5], ids[0]]);
    expect(await ids_('q=FOX%20scene%2015')).toEqual([ids[15]]);
    // LIKE wildcards in a search are plain characters
    expect(await ids_('q=100%25')).toEqual([kling]);
    expect(await ids_('q=_')).toEqual([kling]);
    expect(await ids_('model=kling-3.0')).toEqual([kling]);
    expect(await ids_('status=succeeded')).toEqual([kling]);
    expect(await ids_('from=2026-11-20&to=2026-11-22')).toEqual([ids[21], ids[20], ids[19]]);
    expect(await ids_('from=2026-11-24T12:00:00Z')).toEqual([ids[24], ids[23]]);

    expect((await c.get('/api/creations?from=2026-11-22&to=2026-11-20')).status).toBe(400);
    expect((await c.get('/api/creations?from=yesterday')).status).toBe(400);
    expect((await c.get('/api/creations?cursor=bm9wZQ')).status).toBe(400);

    // someone else's library is empty, whatever they ask
    const other = await g.user('list-other@example.com', 0);
    expect((await other.get('/api/creations?q=fox')).json<{ items: unknown[] }>().items).toEqual([]);
    expect((await fetch(`${g.app.url}/api/creations`)).status).toBe(401);
  });
});

describe('My Creations: deleting', () => {
  it('a deleted creation leaves every list and link at once, and its files are removed from the store', async () => {
    const c = await g.user('delete-one@example.com', 20);
    const kept = await generate(c, 'the one I keep');
    const gone = await generate(c, 'the one I delete');
    const signed = (await c.get(gone.output!.videoUrl)).headers.get('location')!;
    expect((await fetch(signed)).status).toBe(200);
    const keys = await keysOf(gone.id);
    expect(keys).toHaveLength(3);

    // someone else cannot delete it (and learns nothing)
    const b = await g.user('delete-intruder@example.com', 0);
    expect((await b.delete(`/api/creations/${gone.id}`)).status).toBe(404);
    expect((await b.post('/api/creations/delete', { ids: [gone.id] })).json()).toEqual({ deleted: [], notFound: [gone.id] });

    expect((await c.delete(`/api/creations/${gone.id}`)).status).toBe(204);
    expect((await c.delete(`/api/creations/${gone.id}`)).status).toBe(404);
    for (const p of [`/api/generations/${gone.id}`, gone.output!.videoUrl, gone.output!.thumbnailUrl!, gone.output!.previewUrl!]) {
      expect((await c.get(p)).status, p).toBe(404);
    }
    const listed = (await c.get('/api/creations')).json<{ items: GenerationView[] }>().items.map((i) => i.id);
    expect(listed).toEqual([kept.id]);
    expect((await c.get('/api/generations')).json<{ items: GenerationView[] }>().items.map((i) => i.id)).toEqual([kept.id]);
    // the URL handed out before no longer works, and the files are gone from the store
    expect((await fetch(signed)).status).toBe(404);
    for (const key of keys) await expect(store().head(key)).rejects.toMatchObject({ code: 'not_found' });
    // ...and the job that guarantees it ran (or runs) with exactly those keys
    const jobs = await g.app.db.sql.query<{ data: { keys: string[] } }>(
      `select data from pgboss.job where name = 'media.delete-objects' and data::text like $1`,
      [`%${gone.id}%`],
    );
    expect(jobs.map((j) => [...j.data.keys].sort())).toEqual([[...keys].sort()]);
    // the kept one is untouched
    expect((await fetch((await c.get(kept.output!.videoUrl)).headers.get('location')!)).status).toBe(200);
  });

  it('deletes many at once, reports unknown ids, and refuses (deleting nothing) while one is still being made', async () => {
    const c = await g.user('delete-many@example.com', 20);
    const a = await generate(c, 'first of many');
    const b2 = await generate(c, 'second of many');
    const [running] = await seed(c.userId, [{ prompt: 'still rendering', status: 'running' }]);

    const busy = await c.post('/api/creations/delete', { ids: [a.id, running] });
    expect(busy.status).toBe(409);
    expect(busy.json()).toMatchObject({ error: { code: 'creation_in_progress', ids: [running] } });
    expect((await c.get('/api/creations')).json<{ items: unknown[] }>().items).toHaveLength(3);

    const unknown = randomUUID();
    const res = await c.post('/api/creations/delete', { ids: [a.id, b2.id, unknown, 'not-a-uuid'] });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ deleted: [a.id, b2.id], notFound: [unknown, 'not-a-uuid'] });
    expect((await c.get('/api/creations')).json<{ items: GenerationView[] }>().items.map((i) => i.id)).toEqual([running]);
    expect((await c.post('/api/creations/delete', { ids: [] })).status).toBe(400);
  });
});

describe('purge (privacy policy 3)', () => {
  it('removes records deleted longer ago than the window, and stored files nothing refers to', async () => {
    const c = await g.user('purge@example.com', 20);
    const old = await generate(c, 'deleted long ago');
    const recent = await generate(c, 'deleted just now');
    const live = await generate(c, 'still mine');
    const oldKeys = await keysOf(old.id);
    expect((await c.post('/api/creations/delete', { ids: [old.id, recent.id] })).status).toBe(200);
    await g.app.db.sql.query(`update generations set deleted_at = now() - interval '31 days' where id = $1`, [old.id]);

    // leftovers: files of a task that no longer exists, one fresh (may be being written) and one a day old
    const root = path.join(g.app.config.dataDir, 'storage', 'objects');
    // the disk store dates an object by its metadata record
    const age = (key: string, hours: number) => {
      const file = path.join(root, `${key}~meta.json`);
      const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as { createdAt: string };
      fs.writeFileSync(file, JSON.stringify({ ...meta, createdAt: new Date(Date.now() - hours * 3600_000).toISOString() }));
    };
    const put = async (key: string, ageHours: number) => {
      await store().put(key, Buffer.from('leftover'), { contentType: 'video/mp4' });
      age(key, ageHours);
    };
    const orphan = `generations/${c.userId.toLowerCase()}/${randomUUID()}/video.mp4`;
    const fresh = `generations/${c.userId.toLowerCase()}/${randomUUID()}/video.mp4`;
    const orphanUpload = `uploads/${c.userId.toLowerCase()}/${randomUUID()}/original.png`;
    await put(orphan, 30);
    await put(fresh, 1);
    await put(orphanUpload, 30);
    // the live video's files are old too, but referenced
    for (const key of await keysOf(live.id)) age(key, 48);

    const result = await purgeDeleted({ database: g.app.db, store: store(), logger: g.app.platform.ctx.logger }, { purgeDays: 30 });
    expect(result.generations).toBe(1);
    expect(result.orphans).toBeGreaterThanOrEqual(2);
    expect(await g.app.db.sql.query('select id from generations where id = any($1::text[])', [[old.id, recent.id]])).toEqual([{ id: recent.id }]);
    for (const key of [orphan, orphanUpload, ...oldKeys]) await expect(store().head(key)).rejects.toMatchObject({ code: 'not_found' });
    await expect(store().head(fresh)).resolves.toMatchObject({ key: fresh });
    for (const key of await keysOf(live.id)) await expect(store().head(key)).resolves.toMatchObject({ key });
    expect((await fetch((await c.get(live.output!.videoUrl)).headers.get('location')!)).status).toBe(200);
  });
});

describe('provenance of a kept video', () => {
  it('its C2PA manifest, read back from the signed URL, names the model and says it is AI-generated', async () => {
    const c = await g.user('provenance@example.com', 20);
    const v = await generate(c, 'a kept video with provenance');
    for (const which of ['videoUrl', 'thumbnailUrl'] as const) {
      const signed = (await c.get(v.output![which]!)).headers.get('location')!;
      const bytes = Buffer.from(await (await fetch(signed)).arrayBuffer());
      const manifest = readC2pa(bytes)!.active;
      const generation = manifest.assertions.find((a) => a.label === 'com.savesora.generation')!.data as Record<string, unknown>;
      expect(generation).toMatchObject({ generationId: v.id, modelId: 'local-preview' });
      expect(JSON.stringify(manifest)).toContain('Local preview');
      const actions = manifest.assertions.find((a) => a.label.startsWith('c2pa.actions'))!;
      expect(JSON.stringify(actions.data)).toContain('http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia');
      // the prompt is never written into the file
      expect(bytes.includes(Buffer.from('a kept video with provenance'))).toBe(false);
    }
  });
});
