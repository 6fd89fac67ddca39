import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminUserDetail, AdminUserRow, AdminUserSearchResult, CreatedApiKey, CreditsResponse } from '../../../src/shared/api';
import { FakeClock } from '../../../src/server/adapters/clock';
import { runCommand } from '../../../src/server/cli/commands';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { seedGeneration } from '../../helpers/seed';

/**
 * The console's users section (issue 18): the search by each key, the user's page (every section,
 * never a secret), and each action — credits, suspend, reactivate, terminate, role, sign out
 * everywhere, export, delete — working, audited in the audit log, refused to the roles that may not
 * (support, moderator: 403; a normal user or nobody: 404), asking for a recent sign-in where it
 * should, and keeping its rules (idempotent grants, no balance below zero, no higher role, the last
 * admin). One app for the whole file; its clock is a FakeClock the recent-sign-in tests move.
 */
const clock = new FakeClock();
let app: TestApp;
const PASSWORD = 'a fine password 1';
let n = 0;

beforeAll(async () => {
  app = await startTestApp({ clock, env: { TRUST_PROXY: 'true', SIGNUP_FREE_CREDITS: '0' } });
});
afterAll(() => (app as TestApp | undefined)?.close());

const services = () => app.platform.ctx.services;
const rows = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => app.db.sql.query<T>(text, params);

interface Person extends TestClient {
  userId: string;
  email: string;
}

/** A verified account with a password, signed in from `ip`. */
async function person(name: string, role: 'user' | 'support' | 'moderator' | 'admin' = 'user', opts: { ip?: string; credits?: number; email?: string } = {}) {
  const email = opts.email ?? `${name}-${++n}@example.com`;
  const u = await services().users.create({ email, password: PASSWORD, name: `Person ${name}`, role, credits: opts.credits ?? 0 });
  const c = new TestClient(app.url, { ip: opts.ip ?? `198.51.100.${(n % 250) + 1}` });
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  const signedIn: Person = Object.assign(c, { userId: u.id, email });
  return signedIn;
}

const audit = (targetId: string) =>
  rows<{
    action: string;
    actor_id: string | null;
    actor_label: string;
    actor_role: string | null;
    via: string;
    ip: string | null;
    reason: string | null;
    before: unknown;
    after: unknown;
  }>('select action, actor_id, actor_label, actor_role, via, ip, reason, before, after from audit_log where target_id = $1 order by id', [targetId]);
const balanceOf = async (userId: string) =>
  Number((await rows<{ balance: string }>('select balance from credit_balances where user_id = $1', [userId]))[0]?.balance ?? 0);
const ledgerCount = async (userId: string) => (await rows<{ n: number }>('select count(*)::int as n from credit_ledger where user_id = $1', [userId]))[0]!.n;
const search = async (c: TestClient, params: Record<string, string>) => {
  const res = await c.get(`/api/admin/users?${new URLSearchParams(params)}`);
  expect(res.status, res.body).toBe(200);
  return res.json<AdminUserSearchResult>();
};

let admin: Person;
let support: Person;
let moderator: Person;
let plain: Person;
const anonymous = () => new TestClient(app.url);

beforeAll(async () => {
  admin = await person('console-admin', 'admin');
  support = await person('console-support', 'support');
  moderator = await person('console-moderator', 'moderator');
  plain = await person('console-user');
});

describe('search', () => {
  it('finds a user by email (prefix or exact, any case), name, id, IP address and referral code', async () => {
    const target = await person('finder', 'user', { email: `zed.quokka-${randomUUID().slice(0, 8)}@example.com`, ip: '203.0.113.77' });
    const code = (await rows<{ referral_code: string }>('select referral_code from users where id = $1', [target.userId]))[0]!.referral_code;
    const ids = async (q: string) => (await search(support, { q })).users.map((u) => u.id);

    expect(await ids('ZED.Quokka')).toContain(target.userId); // prefix, another case
    expect(await ids(target.email.toUpperCase())).toEqual([target.userId]); // exact
    expect(await ids('son fin')).toContain(target.userId); // part of the name "Person finder", any case
    expect(await ids('SON FIN')).toContain(target.userId);
    expect(await ids(target.userId)).toEqual([target.userId]);
    expect(await ids('203.0.113.77')).toEqual([target.userId]);
    expect(await ids(code)).toEqual([target.userId]);
    // the operator's % and _ are plain characters, not wildcards
    expect(await ids('%')).toEqual([]);
    expect(await ids('_ed.quokka')).toEqual([]);
    expect(await ids('nobody-has-this-0f3a')).toEqual([]);

    const [row] = (await search(support, { q: target.userId })).users;
    expect(row).toMatchObject({ id: target.userId, email: target.email, name: 'Person finder', role: 'user', status: 'active', credits: 0, flags: [] });
    expect(Date.parse(row!.createdAt)).not.toBeNaN();
    expect(row!.lastSeenAt).not.toBeNull(); // signed in
  });

  it('filters by role and status, flags what needs attention, and pages newest first with a cursor', async () => {
    const supports = (await search(admin, { role: 'support', limit: '100' })).users;
    expect(supports.map((u) => u.id)).toContain(support.userId);
    expect(supports.every((u) => u.role === 'support')).toBe(true);

    const flagged = await person('flagged');
    await rows(`update users set billing_flag = 'refund exceeded the balance', email_verified = false where id = $1`, [flagged.userId]);
    expect((await search(support, { q: flagged.userId })).users[0]!.flags).toEqual(['billing_flag', 'email_unverified']);

    // every account once, newest first, across pages of 2
    const seen: AdminUserRow[] = [];
    let cursor: string | null = null;
    do {
      const page: AdminUserSearchResult = await search(support, { limit: '2', ...(cursor ? { cursor } : {}) });
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users);
      cursor = page.nextCursor;
    } while (cursor);
    const all = await rows<{ id: string }>('select id from users order by created_at desc, id desc');
    expect(seen.map((u) => u.id)).toEqual(all.map((r) => r.id));

    expect((await support.get('/api/admin/users?cursor=not-a-cursor')).status).toBe(400);
    expect((await support.get('/api/admin/users?role=emperor')).status).toBe(400);
    expect((await support.get('/api/admin/users?limit=1000')).status).toBe(400);
    expect((await support.get('/api/admin/users?role=&status=')).status).toBe(200); // an empty filter is no filter
  });
});

describe("the user's page", () => {
  it('holds every section and never a password hash, a key secret or a session token', async () => {
    const target = await person('detailed', 'user', { ip: '203.0.113.90', credits: 10 });
    const key = (await target.post('/api/keys', { name: 'ci key' })).json<CreatedApiKey>();
    expect(key.secret).toBeTruthy();
    const gen = await seedGeneration(app.db, target.userId, { modelId: 'local-preview' });
    await rows(
      `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider, status)
       values ($1, $2, 'pack-100', '100 credits', 'pack', 100, 500, 'usd', 'stripe', 'paid')`,
      [`ord_${randomUUID()}`, target.userId],
    );
    const caseId = randomUUID();
    await rows(
      `insert into moderation_cases (id, user_id, subject, status, severity, top_category, opened_at, updated_at) values ($1, $2, 'prompt', 'open', 0.8, 'violence', now(), now())`,
      [caseId, target.userId],
    );
    await rows(`insert into moderation_strikes (id, user_id, case_id, created_at) values ($1, $2, $3, now())`, [randomUUID(), target.userId, caseId]);
    await rows(`insert into policy_notice_dismissals (user_id, document, version, dismissed_at) values ($1, 'privacy', '2026-01', now())`, [target.userId]);
    await rows(`update users set marketing_opt_in_at = now(), billing_flag = 'dispute' where id = $1`, [target.userId]);

    const res = await support.get(`/api/admin/users/${target.userId}`);
    expect(res.status, res.body).toBe(200);
    const d = res.json<AdminUserDetail>();
    expect(d.profile).toMatchObject({
      id: target.userId,
      email: target.email,
      name: 'Person detailed',
      role: 'user',
      status: 'active',
      emailVerified: true,
      language: 'en',
      signInMethods: ['credential'],
      referredBy: null,
    });
    expect(d.profile.referralCode).toMatch(/^\w+$/);
    expect(d.flags).toEqual(['billing_flag']);
    expect(d.sessions).toHaveLength(1);
    expect(d.sessions[0]).toMatchObject({ ip: '203.0.113.90', browser: 'Chrome', deviceType: 'desktop' });
    expect(d.devices).toEqual([expect.objectContaining({ browser: 'Chrome', os: 'Windows', deviceType: 'desktop' })]);
    expect(d.credits).toMatchObject({ available: 10, held: 0 });
    expect(d.credits.ledger.map((e) => [e.kind, e.amount])).toEqual([['grant', 10]]);
    expect(d.orders).toEqual([expect.objectContaining({ planName: '100 credits', status: 'paid', amountMinor: 500, currency: 'usd', provider: 'stripe' })]);
    expect(d.generations).toEqual([expect.objectContaining({ id: gen.id, modelId: 'local-preview', status: expect.any(String), deleted: false })]);
    expect(d.apiKeys).toEqual([expect.objectContaining({ id: key.id, name: 'ci key', prefix: key.prefix, revokedAt: null, lastUsedAt: null })]);
    expect(d.apiKeys[0]!.scopes).toEqual(['videos:read', 'videos:write']);
    expect(d.safety).toMatchObject({
      billingFlag: 'dispute',
      strikes: 1,
      cases: [expect.objectContaining({ id: caseId, status: 'open', topCategory: 'violence' })],
    });
    expect(d.consent.marketingOptInAt).not.toBeNull();
    expect(d.consent.policyNoticeDismissals).toEqual([expect.objectContaining({ document: 'privacy', version: '2026-01' })]);
    expect(d.privacy).toEqual({ pendingDeletion: null, closedForDeletionAt: null, exports: [] });

    // no secret of any kind, under any name
    const [secrets] = await rows<{ password: string; token: string; secret_hash: string }>(
      `select (select password from accounts where user_id = $1 and provider_id = 'credential') as password,
              (select token from sessions where user_id = $1 limit 1) as token,
              (select secret_hash from api_keys where user_id = $1) as secret_hash`,
      [target.userId],
    );
    for (const secret of [secrets!.password, secrets!.token, secrets!.secret_hash, key.secret]) {
      expect(secret).toBeTruthy();
      expect(res.body).not.toContain(secret);
    }
    expect(res.body).not.toMatch(/"(password|token|secret|secretHash|accessToken|refreshToken|idToken)"/i);
  });

  it('pages the ledger; unknown ids are 404 and bad cursors 400', async () => {
    const target = await person('ledgered', 'user', { credits: 3 });
    for (const amount of [1, 2, 3]) await support.post(`/api/admin/users/${target.userId}/credits`, { amount, reason: `grant ${amount}` });
    const first = await support.get(`/api/admin/users/${target.userId}/ledger?limit=2`);
    expect(first.status).toBe(200);
    const p1 = first.json<CreditsResponse>();
    expect(p1.balance).toBe(9);
    expect(p1.history.items.map((e) => e.amount)).toEqual([3, 2]);
    const p2 = (await support.get(`/api/admin/users/${target.userId}/ledger?limit=2&cursor=${p1.history.nextCursor!}`)).json<CreditsResponse>();
    expect(p2.history.items.map((e) => e.amount)).toEqual([1, 3]);
    expect(p2.history.nextCursor).toBeNull();

    expect((await support.get(`/api/admin/users/${target.userId}/ledger?cursor=abc`)).status).toBe(400);
    for (const id of [randomUUID(), 'no-such-user']) {
      const missing = await support.get(`/api/admin/users/${id}`);
      expect(missing.status).toBe(404);
      expect(missing.json().error.code).toBe('not_found');
      expect((await support.get(`/api/admin/users/${id}/ledger`)).status).toBe(404);
      expect((await support.post(`/api/admin/users/${id}/credits`, { amount: 5, reason: 'x' })).status).toBe(404);
      expect((await support.post(`/api/admin/users/${id}/suspend`, { reason: 'x' })).status).toBe(404);
      expect((await support.post(`/api/admin/users/${id}/sign-out-everywhere`)).status).toBe(404);
      expect((await support.post(`/api/admin/users/${id}/export`)).status).toBe(404);
    }
  });
});

describe('credits', () => {
  it('grants and deducts with a reason, each audited with the balance before and after', async () => {
    const target = await person('credited', 'user', { credits: 5 });
    const grant = await support.post(`/api/admin/users/${target.userId}/credits`, { amount: 20, reason: 'failed render (ticket 7)' });
    expect(grant.status, grant.body).toBe(200);
    expect(grant.json()).toEqual({ balance: 25, held: 0, replayed: false });
    const deduct = await support.post(`/api/admin/users/${target.userId}/credits`, { amount: -5, reason: 'duplicate grant' });
    expect(deduct.json()).toEqual({ balance: 20, held: 0, replayed: false });

    const ledger = await rows<{ kind: string; amount: string; reason: string; reference: string }>(
      'select kind, amount, reason, reference from credit_ledger where user_id = $1 order by id',
      [target.userId],
    );
    expect(ledger.slice(1).map((r) => [r.kind, Number(r.amount), r.reason, r.reference])).toEqual([
      ['grant', 20, 'failed render (ticket 7)', 'console'],
      ['adjustment', -5, 'duplicate grant', 'console'],
    ]);
    expect(await audit(target.userId)).toEqual([
      {
        action: 'user.credits.grant',
        actor_id: support.userId,
        actor_label: support.email,
        actor_role: 'support',
        via: 'console',
        ip: expect.any(String),
        reason: 'failed render (ticket 7)',
        before: { balance: 5, held: 0 },
        after: { balance: 25, held: 0, amount: 20 },
      },
      expect.objectContaining({
        action: 'user.credits.deduct',
        reason: 'duplicate grant',
        before: { balance: 25, held: 0 },
        after: { balance: 20, held: 0, amount: -5 },
      }),
    ]);
  });

  it('never takes the balance below zero: 409, and nothing changes', async () => {
    const target = await person('poor', 'user', { credits: 3 });
    const before = { balance: await balanceOf(target.userId), ledger: await ledgerCount(target.userId), audit: (await audit(target.userId)).length };
    const res = await support.post(`/api/admin/users/${target.userId}/credits`, { amount: -4, reason: 'too much' });
    expect(res.status).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'insufficient_credits' });
    expect(res.json().error.message).toMatch(/3 spendable credits/);
    expect({ balance: await balanceOf(target.userId), ledger: await ledgerCount(target.userId), audit: (await audit(target.userId)).length }).toEqual(before);
    // exactly the balance is fine
    expect((await support.post(`/api/admin/users/${target.userId}/credits`, { amount: -3, reason: 'all of it' })).json().balance).toBe(0);
  });

  it('applies an Idempotency-Key once: a double submit and 30 identical requests at once grant once', async () => {
    const target = await person('idempotent');
    const key = randomUUID();
    const body = { amount: 50, reason: 'goodwill' };
    const first = await support.post(`/api/admin/users/${target.userId}/credits`, body, { 'idempotency-key': key });
    const second = await support.post(`/api/admin/users/${target.userId}/credits`, body, { 'idempotency-key': key });
    expect(first.json()).toEqual({ balance: 50, held: 0, replayed: false });
    expect(second.json()).toEqual({ balance: 50, held: 0, replayed: true });
    // the same key for another change is a mistake, not a replay
    const other = await support.post(`/api/admin/users/${target.userId}/credits`, { amount: 60, reason: 'goodwill' }, { 'idempotency-key': key });
    expect(other.status).toBe(409);
    expect(other.json().error.code).toBe('idempotency_key_reused');

    const burstKey = randomUUID();
    const burst = await Promise.all(
      Array.from({ length: 30 }, () =>
        support.post(`/api/admin/users/${target.userId}/credits`, { amount: 7, reason: 'burst' }, { 'idempotency-key': burstKey }),
      ),
    );
    expect(burst.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(burst.filter((r) => !r.json().replayed)).toHaveLength(1);
    expect(burst.every((r) => r.json().balance === 57)).toBe(true);
    expect(await balanceOf(target.userId)).toBe(57);
    expect(await ledgerCount(target.userId)).toBe(2);
    expect((await audit(target.userId)).map((a) => a.action)).toEqual(['user.credits.grant', 'user.credits.grant']);
    // without a key, two requests are two grants
    await support.post(`/api/admin/users/${target.userId}/credits`, { amount: 1, reason: 'a' });
    await support.post(`/api/admin/users/${target.userId}/credits`, { amount: 1, reason: 'a' });
    expect(await balanceOf(target.userId)).toBe(59);
  });

  it('refuses bad bodies (400), a higher role (403) and the operator\u2019s own account (409)', async () => {
    const target = await person('bodies', 'user', { credits: 1 });
    for (const body of [
      {},
      { amount: 0, reason: 'x' },
      { amount: 1.5, reason: 'x' },
      { amount: '5', reason: 'x' },
      { amount: 1_000_001, reason: 'x' },
      { amount: -1_000_001, reason: 'x' },
      { amount: 5 },
      { amount: 5, reason: '   ' },
      { amount: 5, reason: 'x'.repeat(2001) },
    ]) {
      const res = await support.post(`/api/admin/users/${target.userId}/credits`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await support.post(`/api/admin/users/${target.userId}/credits`, { amount: 5, reason: 'x' }, { 'idempotency-key': 'k'.repeat(201) })).status).toBe(
      400,
    );
    expect((await support.post(`/api/admin/users/${target.userId}/credits`, { amount: 1_000_000, reason: 'the most at once' })).status).toBe(200);

    const higher = await support.post(`/api/admin/users/${admin.userId}/credits`, { amount: 5, reason: 'x' });
    expect(higher.status).toBe(403);
    expect(higher.json().error.code).toBe('higher_role');
    const own = await support.post(`/api/admin/users/${support.userId}/credits`, { amount: 5, reason: 'x' });
    expect(own.status).toBe(409);
    expect(own.json().error.code).toBe('own_account');
    expect(await ledgerCount(admin.userId)).toBe(0);
    expect(await ledgerCount(support.userId)).toBe(0);
  });
});

describe('status', () => {
  it('suspend ends every session and blocks sign-in; reactivate lifts it; both audited', async () => {
    const target = await person('suspended');
    expect((await target.get('/api/me')).status).toBe(200);
    const res = await support.post(`/api/admin/users/${target.userId}/suspend`, { reason: 'spam' });
    expect(res.status, res.body).toBe(200);
    expect(res.json<AdminUserRow>()).toMatchObject({ id: target.userId, status: 'suspended' });
    expect((await target.get('/api/me')).status).toBe(401);
    expect(await rows('select 1 from sessions where user_id = $1', [target.userId])).toEqual([]);
    const again = await new TestClient(app.url).post('/api/auth/sign-in/email', { email: target.email, password: PASSWORD });
    expect(again.status).toBe(403);
    expect((await search(support, { q: target.userId, status: 'suspended' })).users.map((u) => u.id)).toEqual([target.userId]);

    const back = await support.post(`/api/admin/users/${target.userId}/reactivate`, { reason: 'appeal upheld' });
    expect(back.json<AdminUserRow>().status).toBe('active');
    expect((await new TestClient(app.url).post('/api/auth/sign-in/email', { email: target.email, password: PASSWORD })).status).toBe(200);
    expect(await audit(target.userId)).toEqual([
      expect.objectContaining({
        action: 'user.suspend',
        actor_id: support.userId,
        reason: 'spam',
        before: { status: 'active', statusReason: null },
        after: { status: 'suspended', statusReason: 'spam', sessionsEnded: 1 },
      }),
      expect.objectContaining({
        action: 'user.reactivate',
        reason: 'appeal upheld',
        before: { status: 'suspended', statusReason: 'spam' },
        after: { status: 'active', statusReason: null, sessionsEnded: 0 },
      }),
    ]);
    expect((await support.post(`/api/admin/users/${target.userId}/suspend`, {})).status).toBe(400); // a reason is required
  });

  it('support cannot suspend a higher role nor themself', async () => {
    const mod = await person('mod-target', 'moderator');
    const higher = await support.post(`/api/admin/users/${mod.userId}/suspend`, { reason: 'x' });
    expect(higher.status).toBe(403);
    expect(higher.json().error.code).toBe('higher_role');
    expect((await support.post(`/api/admin/users/${admin.userId}/suspend`, { reason: 'x' })).status).toBe(403);
    expect((await support.post(`/api/admin/users/${support.userId}/suspend`, { reason: 'x' })).json().error.code).toBe('own_account');
    expect((await mod.get('/api/me')).status).toBe(200);
    expect(await audit(mod.userId)).toEqual([]);
  });

  it('sign out everywhere ends every session, audited', async () => {
    const target = await person('signed-out');
    const second = new TestClient(app.url, { ip: '203.0.113.5' });
    expect((await second.post('/api/auth/sign-in/email', { email: target.email, password: PASSWORD })).status).toBe(200);
    const res = await support.post(`/api/admin/users/${target.userId}/sign-out-everywhere`);
    expect(res.json()).toEqual({ ended: 2 });
    expect((await target.get('/api/me')).status).toBe(401);
    expect((await second.get('/api/me')).status).toBe(401);
    expect((await audit(target.userId)).map((a) => [a.action, a.after])).toEqual([['user.sign-out-everywhere', { sessionsEnded: 2 }]]);
    // the account itself stays active
    expect((await new TestClient(app.url).post('/api/auth/sign-in/email', { email: target.email, password: PASSWORD })).status).toBe(200);
  });
});

describe('recent sign-in', () => {
  it('terminate, role and delete ask for the password after 10 minutes, then work', async () => {
    const a = await person('reauth-admin', 'admin');
    const target = await person('terminated');
    await clock.set(Date.now() + 11 * 60_000);
    try {
      for (const [path, body] of [
        [`/api/admin/users/${target.userId}/terminate`, { reason: 'fraud' }],
        [`/api/admin/users/${target.userId}/role`, { role: 'support' }],
        [`/api/admin/users/${target.userId}/delete`, { reason: 'asked by mail', when: 'grace' }],
      ] as const) {
        const refused = await a.post(path, body);
        expect(refused.status, path).toBe(403);
        expect(refused.json().error.code).toBe('reauth_required');
      }
      expect(await audit(target.userId)).toEqual([]);
      // acts that are not sensitive do not ask
      expect((await a.post(`/api/admin/users/${target.userId}/credits`, { amount: 1, reason: 'x' })).status).toBe(200);

      expect((await a.post('/api/admin/reauth', { password: 'wrong password' })).status).toBe(400);
      expect((await a.post('/api/admin/reauth', { password: PASSWORD })).status).toBe(200);
      const role = await a.post(`/api/admin/users/${target.userId}/role`, { role: 'support', reason: 'new hire' });
      expect(role.status, role.body).toBe(200);
      expect(role.json<AdminUserRow>().role).toBe('support');
      const terminated = await a.post(`/api/admin/users/${target.userId}/terminate`, { reason: 'fraud' });
      expect(terminated.json<AdminUserRow>().status).toBe('terminated');
      expect((await target.get('/api/me')).status).toBe(401);
    } finally {
      await clock.set(Date.now());
    }
    expect((await audit(target.userId)).map((x) => [x.action, x.actor_id, x.before, x.after])).toEqual([
      ['user.credits.grant', a.userId, { balance: 0, held: 0 }, { balance: 1, held: 0, amount: 1 }],
      ['user.role', a.userId, { role: 'user' }, { role: 'support' }],
      ['user.terminate', a.userId, { status: 'active', statusReason: null }, { status: 'terminated', statusReason: 'fraud', sessionsEnded: 1 }],
    ]);
  });
});

describe('roles', () => {
  it('an admin cannot change their own role, and the last active admin cannot be demoted', async () => {
    const own = await admin.post(`/api/admin/users/${admin.userId}/role`, { role: 'user' });
    expect(own.status).toBe(409);
    expect(own.json().error.code).toBe('own_account');

    // two admins demoting each other at the same moment: one wins, the other finds no admin left to keep
    const a = await person('duel-a', 'admin');
    const b = await person('duel-b', 'admin');
    const others = await rows<{ id: string }>(`select id from users where role = 'admin' and id not in ($1, $2)`, [a.userId, b.userId]);
    for (const o of others) await rows(`update users set role = 'support' where id = $1`, [o.id]);
    try {
      const [ab, ba] = await Promise.all([
        a.post(`/api/admin/users/${b.userId}/role`, { role: 'user' }),
        b.post(`/api/admin/users/${a.userId}/role`, { role: 'user' }),
      ]);
      const statuses = [ab.status, ba.status].sort();
      // the loser either found no other admin (409) or, demoted by then, is not staff any more (404)
      expect(statuses[0]).toBe(200);
      expect([404, 409]).toContain(statuses[1]);
      const admins = await rows<{ id: string }>(`select id from users where role = 'admin' and status = 'active'`);
      expect(admins).toHaveLength(1);
      const survivor = admins[0]!.id;
      expect([a.userId, b.userId]).toContain(survivor);

      // the CLI keeps the rule too: the last admin stays one, and stays active
      const email = survivor === a.userId ? a.email : b.email;
      await expect(runCommand(app.platform.ctx, 'user:role', ['--email', email, '--role', 'user'])).rejects.toMatchObject({ status: 409, code: 'last_admin' });
      await expect(runCommand(app.platform.ctx, 'user:suspend', ['--email', email, '--terminate'])).rejects.toMatchObject({ code: 'last_admin' });
      expect(await rows(`select role, status from users where id = $1`, [survivor])).toEqual([{ role: 'admin', status: 'active' }]);
    } finally {
      for (const o of others) await rows(`update users set role = 'admin' where id = $1`, [o.id]);
    }
  });

  it('support and moderators cannot change roles', async () => {
    const target = await person('role-target');
    expect((await support.post(`/api/admin/users/${target.userId}/role`, { role: 'support' })).status).toBe(403);
    expect((await moderator.post(`/api/admin/users/${target.userId}/role`, { role: 'admin' })).status).toBe(403);
    expect((await admin.post(`/api/admin/users/${target.userId}/role`, { role: 'emperor' })).status).toBe(400);
    expect((await rows<{ role: string }>('select role from users where id = $1', [target.userId]))[0]!.role).toBe('user');
  });
});

describe('export and delete', () => {
  it("starts an export on the user's behalf, audited", async () => {
    const target = await person('exported');
    const res = await support.post(`/api/admin/users/${target.userId}/export`);
    expect(res.status, res.body).toBe(202);
    const view = res.json<{ id: string; byOperator: boolean }>();
    expect(view.byOperator).toBe(true);
    expect(await rows('select requested_by from data_exports where id = $1', [view.id])).toEqual([{ requested_by: support.userId }]);
    expect((await audit(target.userId)).map((a) => [a.action, a.actor_id, a.after])).toEqual([['user.export', support.userId, { exportId: view.id }]]);
    expect((await support.get(`/api/admin/users/${target.userId}`)).json<AdminUserDetail>().privacy.exports.map((e) => e.id)).toEqual([view.id]);
  });

  it('deletes after the grace period or now (admin only), audited without the pseudonym', async () => {
    const later = await person('deleted-later');
    const scheduled = await admin.post(`/api/admin/users/${later.userId}/delete`, { reason: 'asked by mail', when: 'grace' });
    expect(scheduled.status, scheduled.body).toBe(200);
    expect(scheduled.json()).toMatchObject({ outcome: 'scheduled', userId: later.userId });
    const page = (await support.get(`/api/admin/users/${later.userId}`)).json<AdminUserDetail>();
    expect(page.flags).toContain('deletion_scheduled');
    expect(page.privacy.pendingDeletion).toMatchObject({ status: 'scheduled', origin: 'operator', reason: 'asked by mail' });

    const now = await person('deleted-now');
    const deleted = await admin.post(`/api/admin/users/${now.userId}/delete`, { reason: 'asked by mail', when: 'now' });
    expect(deleted.json()).toMatchObject({ outcome: 'deleted', userId: now.userId });
    expect((await support.get(`/api/admin/users/${now.userId}`)).status).toBe(404);

    const entries = [...(await audit(later.userId)), ...(await audit(now.userId))];
    expect(entries.map((a) => [a.action, a.actor_id, a.reason])).toEqual([
      ['user.delete.schedule', admin.userId, 'asked by mail'],
      ['user.delete', admin.userId, 'asked by mail'],
    ]);
    const subjectRef = deleted.json<{ subjectRef: string }>().subjectRef;
    expect(JSON.stringify(entries)).not.toContain(subjectRef);
    expect(JSON.stringify(entries)).not.toContain(now.email);
  });
});

describe('the CLI', () => {
  it('user:role, user:suspend, user:reactivate and credits:grant go through the same rules and are audited as the CLI', async () => {
    const target = await person('cli-target', 'user', { credits: 2 });
    const ctx = app.platform.ctx;
    expect(await runCommand(ctx, 'credits:grant', ['--email', target.email, '--amount', '8', '--reason', 'cli grant'])).toBe(
      `Granted 8 credits to ${target.email}; balance 10.`,
    );
    await expect(runCommand(ctx, 'credits:grant', ['--email', target.email, '--amount=-11', '--reason', 'too much'])).rejects.toMatchObject({
      status: 409,
      code: 'insufficient_credits',
    });
    expect(await runCommand(ctx, 'user:role', ['--email', target.email, '--role', 'support'])).toBe(`${target.email} is now support.`);
    expect(await runCommand(ctx, 'user:suspend', ['--email', target.email, '--reason', 'spam'])).toMatch(/is now suspended/);
    expect(await runCommand(ctx, 'user:reactivate', ['--email', target.email])).toBe(`${target.email} is active again.`);
    const entries = await audit(target.userId);
    expect(entries.map((a) => a.action)).toEqual(['user.credits.grant', 'user.role', 'user.suspend', 'user.reactivate']);
    expect(entries.every((a) => a.via === 'cli' && a.actor_id === null && a.actor_label.startsWith('cli:') && a.ip === 'local')).toBe(true);
    const ledger = await rows<{ reference: string }>(`select reference from credit_ledger where user_id = $1 and kind = 'grant' order by id desc limit 1`, [
      target.userId,
    ]);
    expect(ledger[0]!.reference).toBe('cli');
  });
});

describe('access', () => {
  it('every route: 404 for nobody and normal users (whatever the body), 403 for roles without the permission', async () => {
    const target = await person('access-target');
    const id = target.userId;
    const routes: [method: 'GET' | 'POST', path: string, body: unknown, support: 'allowed' | 403][] = [
      ['GET', '/api/admin/users', undefined, 'allowed'],
      ['GET', `/api/admin/users/${id}`, undefined, 'allowed'],
      ['GET', `/api/admin/users/${id}/ledger`, undefined, 'allowed'],
      ['POST', `/api/admin/users/${id}/credits`, { amount: 1, reason: 'access' }, 'allowed'],
      ['POST', `/api/admin/users/${id}/sign-out-everywhere`, {}, 'allowed'],
      ['POST', `/api/admin/users/${id}/suspend`, { reason: 'access' }, 'allowed'],
      ['POST', `/api/admin/users/${id}/reactivate`, { reason: 'access' }, 'allowed'],
      ['POST', `/api/admin/users/${id}/export`, {}, 'allowed'],
      ['POST', `/api/admin/users/${id}/terminate`, { reason: 'access' }, 403],
      ['POST', `/api/admin/users/${id}/role`, { role: 'admin' }, 403],
      ['POST', `/api/admin/users/${id}/delete`, { reason: 'access' }, 403],
    ];
    for (const [method, path, body, supportGets] of routes) {
      const call = (c: TestClient, b: unknown = body) => (method === 'GET' ? c.get(path) : c.post(path, b));
      for (const nobody of [anonymous(), plain]) {
        const res = await call(nobody);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.json().error.code).toBe('not_found');
        if (method === 'POST') expect((await call(nobody, { nonsense: true })).status, `${path} bad body`).toBe(404);
      }
      const mod = await call(moderator);
      expect(mod.status, `moderator ${method} ${path}`).toBe(403);
      expect(mod.json().error.code).toBe('forbidden');
      const sup = await call(support);
      if (supportGets === 403) expect(sup.status, `support ${path}`).toBe(403);
      else expect(sup.status, `support ${method} ${path}: ${sup.body}`).toBeLessThan(300);
    }
    // nothing the refused calls asked for happened
    expect((await rows<{ role: string; status: string }>('select role, status from users where id = $1', [id]))[0]).toEqual({ role: 'user', status: 'active' });
    expect((await audit(id)).map((a) => a.actor_id).every((actor) => actor === support.userId)).toBe(true);
  });
});
