import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail, QueueResponse, UserCaseView } from '../../../src/shared/api/moderation';
import { signAppealToken } from '../../../src/server/domain/auth/auth';
import { closeAll } from '../../helpers/close';
import { eventsOf, startModerationApp, type ModerationApp, type SignedIn } from './core-setup';

/**
 * What a user sees of decisions about them and their one appeal: from their account (a removal),
 * or with the token a suspended account's refused sign-in carries. An appeal reopens the case; the
 * next decision answers it; upholding it takes back the strike or the suspension.
 */
let m: ModerationApp;
let mod: SignedIn;
beforeAll(async () => {
  m = await startModerationApp({ MODERATION_STRIKES_TO_SUSPEND: '2' });
  mod = await m.user('appeals-mod@example.com', 'moderator');
});
afterAll(async () => {
  await closeAll(m);
});

const decide = (caseId: string, decision: string, reason: string) => mod.post(`/api/moderation/cases/${caseId}/decision`, { decision, reason });
const myCases = async (c: SignedIn) => {
  const res = await c.get('/api/me/cases');
  expect(res.status).toBe(200);
  return res.json<{ items: UserCaseView[] }>().items;
};
const APPEAL = 'This was a scene from my own short film, please look again.';

describe('appeals from the account', () => {
  it('shows the user their removed creation with the reason, and takes one appeal that returns the case to the queue', async () => {
    const a = await m.user('appeal-a@example.com');
    const b = await m.user('appeal-b@example.com');
    const g = await m.generation(a.userId, 'under_review');
    const id = await m.openCase({ userId: a.userId, generationId: g });

    // under review: shown, nothing to appeal yet
    expect(await myCases(a)).toEqual([expect.objectContaining({ id, status: 'open', outcome: null, reason: null, canAppeal: false, generationId: g })]);
    const early = await a.post(`/api/me/cases/${id}/appeal`, { text: APPEAL });
    expect(early.status).toBe(409);
    expect(early.json().error.code).toBe('not_appealable');

    expect((await decide(id, 'remove_strike', 'Graphic violence is not allowed.')).status).toBe(200);
    expect(await myCases(a)).toEqual([
      expect.objectContaining({
        id,
        status: 'closed',
        outcome: 'removed_strike',
        reason: 'Graphic violence is not allowed.',
        canAppeal: true,
        appealedAt: null,
      }),
    ]);

    // someone else's case: not listed, 404 (not 403)
    expect(await myCases(b)).toEqual([]);
    const other = await b.post(`/api/me/cases/${id}/appeal`, { text: APPEAL });
    expect(other.status).toBe(404);
    expect(other.json().error.code).toBe('not_found');
    expect((await b.post(`/api/me/cases/not-an-id/appeal`, { text: APPEAL })).status).toBe(404);

    const short = await a.post(`/api/me/cases/${id}/appeal`, { text: 'no' });
    expect(short.status).toBe(400);
    expect(short.json().error.fields[0].field).toBe('text');

    await m.clock.advance(5 * 60_000);
    const res = await a.post(`/api/me/cases/${id}/appeal`, { text: APPEAL });
    expect(res.status).toBe(200);
    expect(res.json<UserCaseView>()).toMatchObject({ id, status: 'open', canAppeal: false, appealedAt: m.clock.now().toISOString() });

    const second = await a.post(`/api/me/cases/${id}/appeal`, { text: APPEAL });
    expect(second.status).toBe(409);
    expect(second.json().error.code).toBe('appeal_used');

    const queued = (await mod.get('/api/moderation/queue?limit=100')).json<QueueResponse>().items.find((i) => i.id === id);
    expect(queued).toMatchObject({ status: 'open', appealPending: true, outcome: 'removed_strike' });
    const before = (await mod.get(`/api/moderation/cases/${id}`)).json<CaseDetail>();
    expect(before).toMatchObject({ appealText: APPEAL, strikes: 1 });
    expect(before.events.at(-1)).toMatchObject({ kind: 'appeal', actorId: a.userId, note: APPEAL });

    // the next decision answers the appeal; upholding it takes the strike back
    const answered = (await decide(id, 'allow', 'Context makes it acceptable.')).json<CaseDetail>();
    expect(answered).toMatchObject({ status: 'closed', outcome: 'allowed', appealPending: false, strikes: 0 });
    expect(answered.events.at(-1)).toMatchObject({
      kind: 'decision',
      action: 'allow',
      details: { previousOutcome: 'removed_strike', answersAppeal: true, strikeRemoved: true },
    });
    expect(await myCases(a)).toEqual([expect.objectContaining({ id, outcome: 'allowed', reason: 'Context makes it acceptable.', canAppeal: false })]);
    expect((await a.post(`/api/me/cases/${id}/appeal`, { text: APPEAL })).json().error.code).toBe('appeal_used');
  });

  it('needs a session', async () => {
    expect((await m.app.fetch('/api/me/cases')).status).toBe(401);
  });
});

describe('appeals of a suspended account', () => {
  it('carries an appeal token in the sign-in refusal; one appeal per suspension; an upheld appeal reinstates the account', async () => {
    const u = await m.user('suspended@example.com');
    const c1 = await m.openCase({ userId: u.userId });
    const c2 = await m.openCase({ userId: u.userId });
    await decide(c1, 'remove_strike', 'strike one');
    await decide(c2, 'remove_strike', 'strike two');

    const refused = await m.signIn('suspended@example.com');
    expect(refused.status).toBe(403);
    const error = JSON.parse(refused.body).error as { code: string; message: string; appealToken?: string };
    expect(error.code).toBe('account_suspended');
    expect(error.message).toContain('Repeated violations');
    expect(typeof error.appealToken).toBe('string');
    const token = error.appealToken!;

    const anon = m.app;
    const post = (body: unknown) =>
      anon.fetch('/api/appeals', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(anon.url).origin },
        body: JSON.stringify(body),
      });

    const forged = await post({ token: `${token.split('.')[0] ?? ''}.AAAA`, text: APPEAL });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('invalid_token');
    expect((await post({ token, text: 'short' })).status).toBe(400);
    expect((await post({ text: APPEAL })).status).toBe(400);

    const ok = await post({ token, text: APPEAL });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ received: true });
    const again = await post({ token, text: APPEAL });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('appeal_used');

    const queue = (await mod.get('/api/moderation/queue?limit=100')).json<QueueResponse>();
    const account = queue.items.find((i) => i.userId === u.userId && i.subject === 'account');
    expect(account).toMatchObject({ status: 'open', appealPending: true, userEmail: 'suspended@example.com' });

    // the moderator upholds it: the account is active again and can sign in; strikes count from here
    await m.clock.advance(60_000);
    const upheld = (await decide(account!.id, 'allow', 'Reinstated after review.')).json<CaseDetail>();
    expect(upheld.events.at(-1)!.details).toMatchObject({ reinstated: true });
    expect(upheld.strikes).toBe(0);
    const back = await m.signIn('suspended@example.com');
    expect(back.status).toBe(200);

    // a new strike after reinstatement: one of two, still active
    await m.clock.advance(60_000);
    const c3 = await m.openCase({ userId: u.userId });
    expect((await decide(c3, 'remove_strike', 'strike three')).json<CaseDetail>().strikes).toBe(1);
    const [row] = await m.app.db.sql.query<{ status: string }>(`select status from users where id = $1`, [u.userId]);
    expect(row!.status).toBe('active');
    expect((await eventsOf(m.app, account!.id)).map((e) => e.kind)).toEqual(['appeal', 'decision']);
  });

  it('refuses an expired token, and a token of an account that is not suspended', async () => {
    const u = await m.user('expiring@example.com');
    const c = await m.openCase({ userId: u.userId });
    await decide(c, 'suspend', 'spam');
    const refused = await m.signIn('expiring@example.com');
    const token = (JSON.parse(refused.body) as { error: { appealToken: string } }).error.appealToken;
    await m.clock.advance(61 * 60_000);
    const res = await m.app.fetch('/api/appeals', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: new URL(m.app.url).origin },
      body: JSON.stringify({ token, text: APPEAL }),
    });
    expect(res.status).toBe(400);

    const active = await m.user('not-suspended@example.com');
    const fresh = signAppealToken(m.app.config.SESSION_SECRET, active.userId, m.clock.nowMs());
    const notSuspended = await m.app.fetch('/api/appeals', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: new URL(m.app.url).origin },
      body: JSON.stringify({ token: fresh, text: APPEAL }),
    });
    expect(notSuspended.status).toBe(409);
    expect(((await notSuspended.json()) as { error: { code: string } }).error.code).toBe('not_suspended');
  });

  it('gives a terminated account no appeal token', async () => {
    const u = await m.user('terminated@example.com');
    const c = await m.openCase({ userId: u.userId });
    await decide(c, 'terminate', 'fraud');
    const refused = await m.signIn('terminated@example.com');
    expect(refused.status).toBe(403);
    const error = (JSON.parse(refused.body) as { error: Record<string, unknown> }).error;
    expect(error.code).toBe('account_terminated');
    expect(error).not.toHaveProperty('appealToken');
  });
});
