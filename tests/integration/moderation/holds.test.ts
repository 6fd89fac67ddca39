import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldView } from '../../../src/shared/api/moderation';
import { caseEvents } from '../../../src/server/domain/moderation/cases.repo';
import { purgeDeleted } from '../../../src/server/domain/media/purge';
import { closeAll } from '../../helpers/close';
import { startHoldsApp, type HoldsApp } from './holds-setup';

/**
 * Legal holds (issue 16): placed and listed by moderators and admins, released only by admins, every
 * change audited; while active (not released, not expired by the clock) a hold keeps what it covers
 * out of creation deletion, reference deletion, the media purge and its orphan sweep, and the API log
 * retention. Once it ends, the ordinary deletion paths remove the material.
 */
let h: HoldsApp;
beforeAll(async () => {
  h = await startHoldsApp();
});
afterAll(async () => {
  await closeAll(h);
});

const day = 86_400_000;
const purge = () => purgeDeleted({ database: h.app.db, store: h.app.platform.ctx.store, logger: pino({ level: 'silent' }), clock: h.clock }, { purgeDays: 30 });
const rowExists = async (table: 'generations' | 'media', id: string) => (await h.app.db.sql.query(`select 1 from ${table} where id = $1`, [id])).length === 1;

describe('legal holds: the routes', () => {
  it('moderators place and list, admins release, others are refused, and every change is audited', async () => {
    const moderator = await h.user('holds-mod@example.com', 'moderator');
    const admin = await h.user('holds-admin@example.com', 'admin');
    const support = await h.user('holds-support@example.com', 'support');
    const owner = await h.user('holds-owner@example.com');
    const gen = await h.creation(owner.userId);
    const kase = await h.caseAbout(owner.userId, gen.id);

    const body = { subjectKind: 'case', subjectId: kase.id, reason: 'law enforcement preservation request #42' };
    expect((await support.post('/api/moderation/holds', body)).status).toBe(403);
    expect((await owner.post('/api/moderation/holds', body)).status).toBe(404);
    expect((await owner.get('/api/moderation/holds')).status).toBe(404);

    const placed = await moderator.post('/api/moderation/holds', body);
    expect(placed.status).toBe(201);
    const hold = placed.json<HoldView>();
    expect(hold).toMatchObject({ subjectKind: 'case', subjectId: kase.id, caseId: kase.id, placedBy: moderator.userId, releasedAt: null, expiresAt: null });

    // a hold names something that exists, has a reason, and ends in the future if at all
    expect((await moderator.post('/api/moderation/holds', { ...body, subjectId: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    expect((await moderator.post('/api/moderation/holds', { ...body, reason: '  ' })).status).toBe(400);
    const past = new Date(h.clock.nowMs() - 60_000).toISOString();
    expect((await moderator.post('/api/moderation/holds', { ...body, expiresAt: past })).status).toBe(400);

    const listed = (await moderator.get(`/api/moderation/holds?caseId=${kase.id}&active=true`)).json<{ items: HoldView[] }>();
    expect(listed.items.map((i) => i.id)).toEqual([hold.id]);

    const release = { reason: 'request withdrawn' };
    expect((await moderator.post(`/api/moderation/holds/${hold.id}/release`, release)).status).toBe(403);
    const released = await admin.post(`/api/moderation/holds/${hold.id}/release`, release);
    expect(released.status).toBe(200);
    expect(released.json<HoldView>()).toMatchObject({ releasedBy: admin.userId, releaseReason: 'request withdrawn' });
    expect((await admin.post(`/api/moderation/holds/${hold.id}/release`, release)).status).toBe(409);
    expect((await admin.post(`/api/moderation/holds/00000000-0000-4000-8000-000000000000/release`, release)).status).toBe(404);

    expect((await moderator.get(`/api/moderation/holds?caseId=${kase.id}&active=true`)).json<{ items: HoldView[] }>().items).toEqual([]);
    expect((await moderator.get(`/api/moderation/holds?caseId=${kase.id}&active=false`)).json<{ items: HoldView[] }>().items).toHaveLength(1);

    const audit = (await caseEvents(h.app.db, kase.id)).filter((e) => e.kind === 'hold');
    expect(audit.map((e) => [e.action, e.actorId, e.note])).toEqual([
      ['place', moderator.userId, body.reason],
      ['release', admin.userId, 'request withdrawn'],
    ]);
  });
});

describe('legal holds: every deletion path respects them', () => {
  it('a held creation leaves the library but keeps its row and files through the purge and the sweep, until the hold is released', async () => {
    const moderator = await h.user('holds-mod2@example.com', 'moderator');
    const owner = await h.user('holds-owner2@example.com');
    const held = await h.creation(owner.userId);
    const free = await h.creation(owner.userId);
    const hold = (await moderator.post('/api/moderation/holds', { subjectKind: 'generation', subjectId: held.id, reason: 'evidence' })).json<HoldView>();

    expect((await owner.delete(`/api/creations/${held.id}`)).status).toBe(204);
    expect((await owner.delete(`/api/creations/${free.id}`)).status).toBe(204);
    // gone for the user either way
    expect((await owner.get(`/api/generations/${held.id}`)).status).toBe(404);
    const listed = (await owner.get('/api/creations')).json<{ items: { id: string }[] }>().items.map((i) => i.id);
    expect(listed).not.toContain(held.id);
    // the unheld one's files go at once; the held one's stay
    for (const k of free.keys) expect(await h.exists(k)).toBe(false);
    for (const k of held.keys) expect(await h.exists(k)).toBe(true);

    // past the purge window and the sweep's grace: still there
    await h.clock.set(h.clock.nowMs() + 40 * day);
    await purge();
    expect(await rowExists('generations', held.id)).toBe(true);
    expect(await rowExists('generations', free.id)).toBe(false);
    for (const k of held.keys) expect(await h.exists(k)).toBe(true);

    // released (by the service: sessions do not outlive the clock's jump), the next purge removes both
    await h.app.platform.ctx.services.holds.release(null, hold.id, 'case closed');
    await purge();
    expect(await rowExists('generations', held.id)).toBe(false);
    for (const k of held.keys) expect(await h.exists(k)).toBe(false);
  });

  it('a hold on the user covers their references, their files without rows, and their API log; it ends by the clock', async () => {
    const services = h.app.platform.ctx.services;
    const owner = await h.app.platform.ctx.services.users.create({ email: 'holds-owner3@example.com', password: 'a fine password 1', name: 'Held' });
    const ref = await h.reference(owner.id);
    const stray = `generations/${owner.id}/00000000-0000-4000-8000-00000000abcd/video.mp4`;
    await h.app.platform.ctx.store.put(stray, Buffer.from('a file no row names'), { contentType: 'video/mp4' });
    await h.app.db.sql.query(`insert into api_request_log (user_id, method, endpoint, status, created_at) values ($1, 'GET', '/v1/videos', 200, $2)`, [
      owner.id,
      new Date(h.clock.nowMs() - 200 * day).toISOString(),
    ]);
    const expiresAt = new Date(h.clock.nowMs() + 60 * day);
    await services.holds.place(null, { subjectKind: 'user', subjectId: owner.id, reason: 'preservation', expiresAt });
    expect(await services.holds.isHeld({ kind: 'media', id: ref.id })).toBe(true);

    // (the service, not the route: the clock moved past the sign-in lifetime in the test before)
    await services.media.delete(owner.id, ref.id);
    await expect(services.media.get(owner.id, ref.id)).rejects.toMatchObject({ status: 404 });
    expect(await h.exists(ref.key)).toBe(true);

    await h.clock.set(h.clock.nowMs() + 40 * day);
    await purge();
    expect(await services.developer.purgeRequestLogs()).toBe(0);
    expect(await rowExists('media', ref.id)).toBe(true);
    expect(await h.exists(ref.key)).toBe(true);
    expect(await h.exists(stray)).toBe(true);

    // the hold expires: active no longer, and the material goes
    await h.clock.set(expiresAt.getTime() + 1000);
    expect(await services.holds.isHeld({ kind: 'user', id: owner.id })).toBe(false);
    await purge();
    expect(await rowExists('media', ref.id)).toBe(false);
    expect(await h.exists(ref.key)).toBe(false);
    expect(await h.exists(stray)).toBe(false);
    expect(await services.developer.purgeRequestLogs()).toBeGreaterThanOrEqual(1);
  });
});
