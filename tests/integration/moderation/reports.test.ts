import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail, QueueResponse } from '../../../src/shared/api/moderation';
import { generationIdInUrl } from '../../../src/server/domain/moderation/moderation.service';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { startModerationApp, type ModerationApp, type SignedIn } from './core-setup';

/**
 * People's reports: the Report action on a creation (signed in, someone who can see it) and the
 * public report form (also copyright notices). Both open a case for the queue, are rate limited
 * (CONTENT_REPORTS_PER_HOUR, by the clock), and the public form never tells whether the link named
 * a creation.
 */
let m: ModerationApp;
let mod: SignedIn;
beforeAll(async () => {
  m = await startModerationApp({ CONTENT_REPORTS_PER_HOUR: '3' });
  mod = await m.user('reports-mod@example.com', 'moderator');
});
afterAll(async () => {
  await closeAll(m);
});

const casesAbout = (generationId: string | null) =>
  m.app.db.sql.query<{ id: string; subject: string; user_id: string | null; top_category: string | null; severity: number }>(
    generationId === null
      ? `select id, subject, user_id, top_category, severity from moderation_cases where generation_id is null and subject = 'report' order by opened_at`
      : `select id, subject, user_id, top_category, severity from moderation_cases where generation_id = $1`,
    generationId === null ? [] : [generationId],
  );

describe('reporting a creation', () => {
  it('opens a case for the queue with the report; another user’s or an unknown creation is 404', async () => {
    const owner = await m.user('reporter-owner@example.com');
    const stranger = await m.user('reporter-stranger@example.com');
    const g = await m.generation(owner.userId);

    const res = await owner.post(`/api/generations/${g}/report`, { reason: 'minor_safety', details: 'looks like a child' });
    expect(res.status).toBe(202);
    const body = res.json<{ received: true; reference: string }>();
    expect(body.received).toBe(true);
    expect(body.reference).toMatch(/^[0-9a-f-]{36}$/);

    const [c] = await casesAbout(g);
    expect(c).toMatchObject({ subject: 'report', user_id: owner.userId, top_category: 'sexual/minors', severity: 1 });
    const detail = (await mod.get(`/api/moderation/cases/${c!.id}`)).json<CaseDetail>();
    expect(detail.events).toEqual([
      expect.objectContaining({
        kind: 'report',
        source: 'user',
        actorId: owner.userId,
        note: 'looks like a child',
        details: { reason: 'minor_safety', reference: body.reference },
      }),
    ]);
    const queue = (await mod.get('/api/moderation/queue?limit=100')).json<QueueResponse>();
    expect(queue.items[0]?.severity).toBe(1);

    // a second report on the same creation extends the open case
    expect((await owner.post(`/api/generations/${g}/report`, { reason: 'violence' })).status).toBe(202);
    expect(await casesAbout(g)).toHaveLength(1);

    const others = await stranger.post(`/api/generations/${g}/report`, { reason: 'hate' });
    expect(others.status).toBe(404);
    expect(others.json().error.code).toBe('not_found');
    expect((await stranger.post(`/api/generations/00000000-0000-4000-8000-000000000000/report`, { reason: 'hate' })).status).toBe(404);
  });

  it('refuses bad input with 400 and nobody signed in with 401', async () => {
    const u = await m.user('bad-report@example.com');
    const g = await m.generation(u.userId);
    const bad = await u.post(`/api/generations/${g}/report`, { reason: 'boring' });
    expect(bad.status).toBe(400);
    expect(bad.json().error.fields[0].field).toBe('reason');
    expect((await u.post(`/api/generations/${g}/report`, { reason: 'other', details: 'x'.repeat(4001) })).status).toBe(400);
    const anon = new TestClient(m.app.url);
    expect((await anon.post(`/api/generations/${g}/report`, { reason: 'other' })).status).toBe(401);
  });

  it('is rate limited per user and per IP, by the clock', async () => {
    const u = await m.user('busy-reporter@example.com');
    const g = await m.generation(u.userId);
    for (let i = 0; i < 3; i++) expect((await u.post(`/api/generations/${g}/report`, { reason: 'other' })).status).toBe(202);
    const limited = await u.post(`/api/generations/${g}/report`, { reason: 'other' });
    expect(limited.status).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    await m.clock.advance(3601_000);
    expect((await u.post(`/api/generations/${g}/report`, { reason: 'other' })).status).toBe(202);
  });
});

describe('the public report form', () => {
  const form = (ip: string) => new TestClient(m.app.url, { ip });
  const report = (url: string) => ({ reason: 'ncii', details: 'that is me, without consent', url, email: 'victim@example.org', name: 'A Person' });

  it('answers the same whether or not the link names a creation, and opens a case either way', async () => {
    const owner = await m.user('public-owner@example.com');
    const g = await m.generation(owner.userId);
    const c = form('192.0.2.10');

    const known = await c.post('/api/reports', report(`${m.app.url}/creations/${g}`));
    const unknown = await c.post('/api/reports', report(`${m.app.url}/creations/00000000-0000-4000-8000-000000000000`));
    const elsewhere = await c.post('/api/reports', report('https://elsewhere.example/creations/abc'));
    for (const res of [known, unknown, elsewhere]) {
      expect(res.status).toBe(202);
      expect(Object.keys(res.json<object>()).sort()).toEqual(['received', 'reference']);
    }
    expect(new Set([known, unknown, elsewhere].map((r) => r.json<{ reference: string }>().reference)).size).toBe(3);

    const [resolved] = await casesAbout(g);
    expect(resolved).toMatchObject({ subject: 'report', user_id: owner.userId, top_category: 'ncii' });
    const detail = (await mod.get(`/api/moderation/cases/${resolved!.id}`)).json<CaseDetail>();
    expect(detail.events.at(-1)).toMatchObject({
      kind: 'report',
      source: 'public_form',
      actorId: null,
      details: { reason: 'ncii', email: 'victim@example.org', name: 'A Person', url: `${m.app.url}/creations/${g}`, dmcaStatement: false },
    });
    const unresolved = await casesAbout(null);
    expect(unresolved.length).toBeGreaterThanOrEqual(2);
    expect(unresolved.every((r) => r.user_id === null)).toBe(true);
  });

  it('needs the statement for a copyright notice, a valid email and a URL', async () => {
    const c = form('192.0.2.20');
    const dmca = await c.post('/api/reports', { ...report('/creations/x'), reason: 'copyright' });
    expect(dmca.status).toBe(400);
    expect(dmca.json().error.fields[0].field).toBe('dmcaStatement');
    expect((await c.post('/api/reports', { ...report('/creations/x'), reason: 'copyright', dmcaStatement: true })).status).toBe(202);
    const email = await c.post('/api/reports', { ...report('/creations/x'), email: 'not-an-email' });
    expect(email.status).toBe(400);
    expect(email.json().error.fields[0].field).toBe('email');
    expect((await c.post('/api/reports', { ...report(''), url: '' })).status).toBe(400);
  });

  it('is rate limited per IP', async () => {
    const c = form('192.0.2.30');
    for (let i = 0; i < 3; i++) expect((await c.post('/api/reports', report('/creations/y'))).status).toBe(202);
    const limited = await c.post('/api/reports', report('/creations/y'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeTruthy();
    // another address is not affected
    expect((await form('192.0.2.31').post('/api/reports', report('/creations/y'))).status).toBe(202);
  });

  it('resolves the links of this site that name a creation', () => {
    const site = 'https://savesora.example';
    expect(generationIdInUrl('https://savesora.example/creations/abc-1', site)).toBe('abc-1');
    expect(generationIdInUrl('/creations/abc-1?x=1', site)).toBe('abc-1');
    expect(generationIdInUrl('https://savesora.example/api/generations/abc-2/content', site)).toBe('abc-2');
    expect(generationIdInUrl('https://other.example/creations/abc-1', site)).toBeNull();
    expect(generationIdInUrl('https://savesora.example/pricing', site)).toBeNull();
    expect(generationIdInUrl('https://savesora.example/creations/%E0%A4%A', site)).toBeNull();
  });
});
