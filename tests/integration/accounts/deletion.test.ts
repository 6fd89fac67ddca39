import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView, MediaView } from '../../../src/shared/api';
import { mediaDeleteObjects } from '../../../src/server/jobs/names';
import { ObjectNotFound } from '../../../src/server/adapters/storage';
import { TestClient } from '../../helpers/client';
import { jobsDone } from '../../helpers/wait';
import { startGenerationsApp, waitFinal, type GenerationsApp } from '../generations/setup';

// An operator deletes an account (privacy policy 6: data reported as a child's); legal holds limit it.

let g: GenerationsApp;
let admin: TestClient;
beforeAll(async () => {
  g = await startGenerationsApp();
  admin = await g.user('deleter-admin@example.com', 0);
  await g.app.platform.ctx.services.users.setRole('deleter-admin@example.com', 'admin');
});
afterAll(() => g.close());

/** a user with one finished creation and one uploaded reference */
async function userWithData(email: string) {
  const c = await g.user(email, 10);
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  const ref = (await c.upload('/api/uploads', { data: png, name: 'r.png', type: 'image/png' })).json<MediaView>();
  const made = (await c.post('/api/generations', { model: 'local-preview', prompt: 'to be deleted', duration: 2, resolution: '480p' })).json<GenerationView>();
  const done = await waitFinal(c, made.id);
  expect(done.status).toBe('succeeded');
  const [row] = await g.app.db.sql.query<{ output_url: string }>('select output_url from generations where id = $1', [made.id]);
  const [m] = await g.app.db.sql.query<{ storage_key: string }>('select storage_key from media where id = $1', [ref.id]);
  return { c, generationId: made.id, mediaId: ref.id, videoKey: row!.output_url.replace(/^store:/, ''), refKey: m!.storage_key };
}

const exists = (key: string) =>
  g.app.platform.ctx.store.head(key).then(
    () => true,
    (err: unknown) => {
      if (err instanceof ObjectNotFound) return false;
      throw err;
    },
  );
const count = async (sql: string, params: unknown[]) => (await g.app.db.sql.query(sql, params)).length;

describe('operator account deletion', () => {
  it('only an admin may delete; an unknown account is 404; the reason is required', async () => {
    const u = await g.user('deleter-user@example.com', 0);
    expect((await new TestClient(g.app.url).post(`/api/admin/users/${u.userId}/delete`, { reason: 'x' })).status).toBe(401);
    expect((await u.post(`/api/admin/users/${u.userId}/delete`, { reason: 'x' })).status).toBe(403);
    await g.app.platform.ctx.services.users.setRole('deleter-user@example.com', 'moderator');
    expect((await u.post(`/api/admin/users/${u.userId}/delete`, { reason: 'x' })).status).toBe(403);
    const missing = await admin.post('/api/admin/users/00000000-0000-4000-8000-000000000000/delete', { reason: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    expect((await admin.post(`/api/admin/users/${u.userId}/delete`, { reason: '  ' })).status).toBe(400);
    expect(await count('select 1 from users where id = $1', [u.userId])).toBe(1);
  });

  it('removes the account, its sessions, creations, references and their files', async () => {
    const d = await userWithData('deleted-child@example.com');
    const res = await admin.post(`/api/admin/users/${d.c.userId}/delete`, { reason: 'reported as a child (ticket 42)' });
    expect(res.status, res.body).toBe(200);
    expect(res.json()).toEqual({ userId: d.c.userId, outcome: 'deleted', removed: { generations: 1, media: 1 }, kept: { generations: 0, media: 0 } });
    for (const table of [
      'users where id',
      'sessions where user_id',
      'accounts where user_id',
      'generations where user_id',
      'media where user_id',
      'credit_ledger where user_id',
    ]) {
      expect(await count(`select 1 from ${table} = $1`, [d.c.userId]), table).toBe(0);
    }
    await jobsDone(g.app, [mediaDeleteObjects.name]);
    expect(await exists(d.videoKey)).toBe(false);
    expect(await exists(d.refKey)).toBe(false);
    // the old session is gone with the account
    expect((await d.c.get('/api/me')).status).toBe(401);
  });

  it('keeps what a legal hold covers, closes the account, and finishes once the hold is released', async () => {
    const d = await userWithData('held-creation@example.com');
    const other = await d.c.post('/api/generations', { model: 'local-preview', prompt: 'not held', duration: 2, resolution: '480p' });
    await waitFinal(d.c, other.json<GenerationView>().id);
    const hold = await g.app.platform.ctx.services.holds.place(null, {
      subjectKind: 'generation',
      subjectId: d.generationId,
      reason: 'law enforcement request',
    });

    const res = await admin.post(`/api/admin/users/${d.c.userId}/delete`, { reason: 'reported as a child' });
    expect(res.json()).toMatchObject({ outcome: 'closed', removed: { generations: 1, media: 1 }, kept: { generations: 1, media: 0 } });
    const [u] = await g.app.db.sql.query<{ status: string; deletion_requested_at: Date | null }>(
      'select status, deletion_requested_at from users where id = $1',
      [d.c.userId],
    );
    expect(u!.status).toBe('terminated');
    expect(u!.deletion_requested_at).not.toBeNull();
    expect((await d.c.get('/api/me')).status).toBe(401);
    expect(await count('select 1 from generations where id = $1', [d.generationId])).toBe(1);
    expect(await count('select 1 from generations where id = $1', [other.json<GenerationView>().id])).toBe(0);
    await jobsDone(g.app, [mediaDeleteObjects.name]);
    expect(await exists(d.videoKey)).toBe(true);
    expect(await exists(d.refKey)).toBe(false);

    // still held: the daily pass leaves it
    expect(await g.app.platform.ctx.services.accountDeletion.finishPending()).toBe(0);
    expect(await count('select 1 from users where id = $1', [d.c.userId])).toBe(1);
    // released: the next pass deletes the rest
    await g.app.platform.ctx.services.holds.release(null, hold.id, 'request closed');
    expect(await g.app.platform.ctx.services.accountDeletion.finishPending()).toBe(1);
    expect(await count('select 1 from users where id = $1', [d.c.userId])).toBe(0);
    expect(await count('select 1 from generations where id = $1', [d.generationId])).toBe(0);
    await jobsDone(g.app, [mediaDeleteObjects.name]);
    expect(await exists(d.videoKey)).toBe(false);
  });
});
