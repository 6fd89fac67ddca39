import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminFreeCreditsResult, AdminUserRisk, RiskClustersResult } from '../../../src/shared/api';
import { FakeClock } from '../../../src/server/adapters/clock';
import type { SignalKind } from '../../../src/server/db/schema';
import { signalHash, signalKey } from '../../../src/server/domain/abuse/signal-hash';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';

/**
 * Risk in the operator console (issue 19): an account's signals (masked, with how many others share
 * each), its linked accounts (strong signals always; a network only within RISK_IP_LINK_DAYS), its
 * flags with their reasons, the clusters list and its keyset pages, the one grant of withheld free
 * credits (admins, recent sign-in, once, audited), and hostile input. Signals are seeded with SQL,
 * hashed the one way the app hashes them. One app for the file; its clock is a FakeClock.
 */
const clock = new FakeClock();
let app: TestApp;
const PASSWORD = 'a fine password 1';
let n = 0;
const DAY = 86_400_000;

beforeAll(async () => {
  app = await startTestApp({ clock, env: { TRUST_PROXY: 'true', SIGNUP_FREE_CREDITS: '0', RISK_IP_LINK_DAYS: '30' } });
});
afterAll(() => (app as TestApp | undefined)?.close());

const services = () => app.platform.ctx.services;
const rows = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => app.db.sql.query<T>(text, params);
const key = () => signalKey(app.platform.ctx.config.SESSION_SECRET);

interface Person extends TestClient {
  userId: string;
  email: string;
}

async function person(name: string, role: 'user' | 'support' | 'moderator' | 'admin' = 'user'): Promise<Person> {
  const email = `${name}-${++n}@example.com`;
  const u = await services().users.create({ email, password: PASSWORD, name: `Person ${name}`, role, credits: 0 });
  const c = new TestClient(app.url, { ip: `198.51.100.${(n % 250) + 1}` });
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId: u.id, email });
}

/** an account that never signs in (seeded facts only) */
async function account(name: string, opts: { status?: 'active' | 'suspended' | 'terminated'; createdAt?: Date } = {}): Promise<string> {
  const u = await services().users.create({ email: `${name}-${++n}@example.com`, password: PASSWORD, name, credits: 0 });
  if (opts.status) await rows(`update users set status = $2 where id = $1`, [u.id, opts.status]);
  if (opts.createdAt) await rows(`update users set created_at = $2 where id = $1`, [u.id, opts.createdAt]);
  return u.id;
}

async function signal(userId: string, kind: SignalKind, value: string, opts: { label?: string; first?: Date; last?: Date; source?: string } = {}) {
  const last = opts.last ?? clock.now();
  await rows(`insert into account_signals (user_id, kind, value_hash, label, source, first_seen_at, last_seen_at) values ($1, $2, $3, $4, $5, $6, $7)`, [
    userId,
    kind,
    signalHash(key(), kind, value),
    opts.label ?? null,
    opts.source ?? 'signup',
    opts.first ?? last,
    last,
  ]);
}

async function grantRow(userId: string, state: string, opts: { credits?: number; reason?: string; matched?: string } = {}) {
  await rows(`insert into signup_grants (user_id, state, credits, reason, matched_user_id, decided_at, created_at) values ($1, $2, $3, $4, $5, $6, $6)`, [
    userId,
    state,
    opts.credits ?? 20,
    opts.reason ?? null,
    opts.matched ?? null,
    clock.now(),
  ]);
}

const audit = (targetId: string) =>
  rows<{ action: string; actor_id: string | null; reason: string | null; before: unknown; after: unknown }>(
    'select action, actor_id, reason, before, after from audit_log where target_id = $1 order by id',
    [targetId],
  );
const balanceOf = async (userId: string) =>
  Number((await rows<{ balance: string }>('select balance from credit_balances where user_id = $1', [userId]))[0]?.balance ?? 0);

let admin: Person;
let support: Person;
let moderator: Person;
let plain: Person;

beforeAll(async () => {
  admin = await person('risk-admin', 'admin');
  support = await person('risk-support', 'support');
  moderator = await person('risk-moderator', 'moderator');
  plain = await person('risk-user');
});

describe("an account's risk view", () => {
  let a: string;
  let b: string;
  let c: string;
  let d: string;
  let lone: string;

  beforeAll(async () => {
    const now = clock.now().getTime();
    a = await account('alice');
    b = await account('alice-again', { status: 'suspended' });
    c = await account('neighbour');
    d = await account('long-ago');
    lone = await account('lone');
    const ip = `203.0.113.${(n % 200) + 10}`;
    await signal(a, 'ip', ip, { label: '203.0.113.x', first: new Date(now - 2 * DAY) });
    await signal(a, 'ip_prefix', `${ip}/24`, { label: '203.0.113.0/24', first: new Date(now - 2 * DAY) });
    await signal(a, 'device', `dev-${a}`, { label: 'device …a1b2' });
    await signal(a, 'canonical_email', `alice${a}@gmail.com`, { label: 'a•••@gmail.com', source: 'verification' });
    await signal(b, 'device', `dev-${a}`, { label: 'device …a1b2' });
    await signal(b, 'canonical_email', `alice${a}@gmail.com`, { label: 'a•••@gmail.com' });
    // the same address, at the same time: a weak link
    await signal(c, 'ip', ip, { label: '203.0.113.x' });
    // the same address 100 days earlier: no link
    await signal(d, 'ip', ip, { label: '203.0.113.x', first: new Date(now - 120 * DAY), last: new Date(now - 100 * DAY) });
    await signal(lone, 'device', `dev-${lone}`);

    await grantRow(b, 'granted');
    await grantRow(a, 'withheld', { reason: 'The device matches an account that already received free credits.', matched: b });
    await rows(
      `update users set generation_hold = 'A dispute on order X: generation is held until reviewed.', generation_hold_at = now(), billing_flag = 'refund exceeded the balance' where id = $1`,
      [a],
    );
    const caseId = randomUUID();
    await rows(
      `insert into moderation_cases (id, user_id, subject, status, severity, opened_at, updated_at) values ($1, $2, 'account', 'open', 0.5, now(), now())`,
      [caseId, a],
    );
    await rows(
      `insert into moderation_events (case_id, kind, note, created_at) values ($1, 'decision', 'Chargeback on a payment: review the account.', now())`,
      [caseId],
    );
    for (const [id, level] of [
      [randomUUID(), 'elevated'],
      [randomUUID(), 'normal'],
    ] as const) {
      await rows(
        `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider, status, risk_level, risk_outcome)
         values ($1, $2, 'starter', 'Starter', 'pack', 100, 500, 'usd', 'stripe', 'paid', $3, 'authorized')`,
        [id, a, level],
      );
    }
  });

  it('shows the signals masked, who shares each, the linked accounts and the flags with their reasons', async () => {
    const res = await support.get(`/api/admin/users/${a}/risk`);
    expect(res.status, res.body).toBe(200);
    const r = res.json<AdminUserRisk>();
    expect(r.ipWindowDays).toBe(30);
    expect(Object.fromEntries(r.signals.map((s) => [s.kind, [s.label, s.sharedWith]]))).toEqual({
      ip: ['203.0.113.x', 1],
      ip_prefix: ['203.0.113.0/24', 0],
      device: ['device …a1b2', 1],
      canonical_email: ['a•••@gmail.com', 1],
    });
    // never a value or its hash
    expect(res.body).not.toContain(`alice${a}@gmail.com`);
    expect(res.body).not.toMatch(/[0-9a-f]{64}/);

    expect(r.linked.map((l) => [l.id, l.strength, l.kinds, l.status, l.freeCredits])).toEqual([
      [b, 'strong', ['canonical_email', 'device'], 'suspended', 'granted'],
      [c, 'weak', ['ip'], 'active', null],
    ]);
    expect(r.linkedTruncated).toBe(false);

    expect(r.flags.generationHold?.reason).toMatch(/dispute/);
    expect(r.flags.billingFlag).toBe('refund exceeded the balance');
    expect(r.flags.freeCredits).toMatchObject({ state: 'withheld', credits: 20, reason: expect.stringMatching(/device matches/) });
    expect(r.flags.freeCredits?.matchedUser?.id).toBe(b);
    expect(r.flags.freeCredits?.matchedUser?.email).toMatch(/^alice-again-/);
    expect(r.flags.openCases.map((x) => x.reason)).toEqual(['Chargeback on a payment: review the account.']);
    expect(r.flags.riskyOrders.map((o) => o.riskLevel)).toEqual(['elevated']);
  });

  it('a lone account has nothing linked; the other side of a link sees it too', async () => {
    const l = (await admin.get(`/api/admin/users/${lone}/risk`)).json<AdminUserRisk>();
    expect(l.signals.map((s) => [s.kind, s.label, s.sharedWith])).toEqual([['device', null, 0]]);
    expect(l.linked).toEqual([]);
    expect(l.flags).toEqual({ generationHold: null, billingFlag: null, freeCredits: null, openCases: [], riskyOrders: [] });
    const back = (await admin.get(`/api/admin/users/${b}/risk`)).json<AdminUserRisk>();
    expect(back.linked.map((x) => x.id)).toEqual([a]);
  });

  it('a normal user or nobody gets the not-found answer; a moderator 403; an unknown account 404', async () => {
    for (const who of [plain, new TestClient(app.url)]) {
      const res = await who.get(`/api/admin/users/${a}/risk`);
      expect(res.status).toBe(404);
      expect(res.json().error.message).toBe(`No route matches GET /api/admin/users/${a}/risk.`);
    }
    expect((await moderator.get(`/api/admin/users/${a}/risk`)).status).toBe(403);
    const missing = await support.get(`/api/admin/users/${randomUUID()}/risk`);
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
  });

  describe('granting withheld free credits', () => {
    it('support may not; an admin grants once, through the ledger, audited; a repeat changes nothing', async () => {
      const refused = await support.post(`/api/admin/users/${a}/free-credits`, { reason: 'looked fine' });
      expect(refused.status).toBe(403);
      expect(refused.json().error.code).toBe('forbidden');
      expect((await plain.post(`/api/admin/users/${a}/free-credits`, { reason: 'x' })).status).toBe(404);

      // a double click: two at once, one grant
      const [first, second] = await Promise.all([
        admin.post(`/api/admin/users/${a}/free-credits`, { reason: 'a shared family laptop' }),
        admin.post(`/api/admin/users/${a}/free-credits`, { reason: 'a shared family laptop' }),
      ]);
      expect([first.status, second.status]).toEqual([200, 200]);
      const results = [first.json<AdminFreeCreditsResult>(), second.json<AdminFreeCreditsResult>()];
      expect(results.map((x) => x.replayed).sort()).toEqual([false, true]);
      expect(results.every((x) => x.balance === 20 && x.credits === 20)).toBe(true);
      expect(await balanceOf(a)).toBe(20);
      expect(await rows(`select amount::int as amount, idempotency_key, reference from credit_ledger where user_id = $1`, [a])).toEqual([
        { amount: 20, idempotency_key: `signup-grant:${a}`, reference: 'signup' },
      ]);
      const [g] = await rows<{ state: string; reason: string; decided_at: Date | null }>(
        'select state, reason, decided_at from signup_grants where user_id = $1',
        [a],
      );
      expect(g?.state).toBe('granted');
      expect(g?.reason).toContain(admin.userId);
      expect(g?.decided_at).not.toBeNull();

      const again = await admin.post(`/api/admin/users/${a}/free-credits`, { reason: 'again' });
      expect(again.json<AdminFreeCreditsResult>()).toMatchObject({ replayed: true, balance: 20 });
      expect(await balanceOf(a)).toBe(20);

      expect((await audit(a)).map((x) => [x.action, x.actor_id, x.reason, x.before, x.after])).toEqual([
        [
          'user.free-credits.grant',
          admin.userId,
          'a shared family laptop',
          { state: 'withheld', credits: 20, reason: 'The device matches an account that already received free credits.', matchedUserId: b, balance: 0 },
          { state: 'granted', credits: 20, balance: 20, ledger: 'granted' },
        ],
      ]);
      const after = (await support.get(`/api/admin/users/${a}/risk`)).json<AdminUserRisk>();
      expect(after.flags.freeCredits?.state).toBe('granted');
    });

    it('records the canonical address as claimed, so the address is not granted twice', async () => {
      const u = await account('claimer');
      await rows(`update users set canonical_email = $2 where id = $1`, [u, `claimer${u}@gmail.com`]);
      await grantRow(u, 'withheld', { credits: 15, reason: 'same network' });
      expect((await admin.post(`/api/admin/users/${u}/free-credits`, { reason: 'checked' })).status).toBe(200);
      const hash = signalHash(key(), 'canonical_email', `claimer${u}@gmail.com`);
      expect(await rows('select user_id from free_credit_claims where canonical_hash = $1', [hash])).toEqual([{ user_id: u }]);
      expect(await balanceOf(u)).toBe(15);
    });

    it('refuses what is not withheld, an unknown account, the own account, and a missing reason', async () => {
      const pending = await account('pending');
      await grantRow(pending, 'pending');
      const withheld = await account('withheld');
      await grantRow(withheld, 'withheld');
      const none = await account('no-decision');
      for (const id of [pending, none]) {
        const res = await admin.post(`/api/admin/users/${id}/free-credits`, { reason: 'x' });
        expect(res.status).toBe(409);
        expect(res.json().error.code).toBe('not_withheld');
      }
      expect((await admin.post(`/api/admin/users/${randomUUID()}/free-credits`, { reason: 'x' })).status).toBe(404);
      await grantRow(admin.userId, 'withheld');
      const own = await admin.post(`/api/admin/users/${admin.userId}/free-credits`, { reason: 'x' });
      expect(own.status).toBe(409);
      expect(own.json().error.code).toBe('own_account');
      for (const body of [{}, { reason: '' }, { reason: '   ' }, { reason: 5 }, { reason: 'x'.repeat(5000) }, { reason: 'a\u0000b' }]) {
        const res = await admin.post(`/api/admin/users/${withheld}/free-credits`, body);
        expect(res.status, JSON.stringify(body).slice(0, 40)).toBe(400);
      }
      expect(await balanceOf(withheld)).toBe(0);
      expect(await audit(withheld)).toEqual([]);
    });

    it('asks for the password after 10 minutes, then grants', async () => {
      const a2 = await person('risk-reauth-admin', 'admin');
      const u = await account('later');
      await grantRow(u, 'withheld');
      await clock.set(Date.now() + 11 * 60_000);
      try {
        const refused = await a2.post(`/api/admin/users/${u}/free-credits`, { reason: 'ok' });
        expect(refused.status).toBe(403);
        expect(refused.json().error.code).toBe('reauth_required');
        expect(await audit(u)).toEqual([]);
        expect((await a2.post('/api/admin/reauth', { password: PASSWORD })).status).toBe(200);
        expect((await a2.post(`/api/admin/users/${u}/free-credits`, { reason: 'ok' })).status).toBe(200);
      } finally {
        await clock.set(Date.now());
      }
      expect(await balanceOf(u)).toBe(20);
    });
  });
});

describe('clusters', () => {
  const kinds = ['device', 'fingerprint', 'canonical_email', 'card', 'wallet'] as const;
  const all = async (c: TestClient, params: Record<string, string>) => {
    const seen: RiskClustersResult['clusters'] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await c.get(`/api/admin/risk/clusters?${new URLSearchParams({ ...params, ...(cursor ? { cursor } : {}) })}`);
      expect(res.status, res.body).toBe(200);
      const page: RiskClustersResult = res.json<RiskClustersResult>();
      seen.push(...page.clusters);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    return { seen, pages };
  };
  let fp: string[];
  let cards: string[];

  beforeAll(async () => {
    const now = clock.now().getTime();
    fp = [
      await account('fp-1', { createdAt: new Date(now - 10 * DAY) }),
      await account('fp-2', { status: 'terminated', createdAt: new Date(now - 9 * DAY) }),
      await account('fp-3', { status: 'suspended', createdAt: new Date(now - 8 * DAY) }),
    ];
    for (const u of fp) await signal(u, 'fingerprint', 'fp-farm', { label: 'fingerprint …f00d' });
    await grantRow(fp[0]!, 'granted');
    await grantRow(fp[1]!, 'withheld');
    // the newest sign-up of all
    cards = [await account('card-1', { createdAt: new Date(now - 1 * DAY) }), await account('card-2', { createdAt: new Date(now + DAY) })];
    for (const u of cards) await signal(u, 'card', 'card-fp-1', { label: 'card •• 4242', source: 'payment' });
    // an address shared by two is a network, never a cluster
    await signal(fp[0]!, 'ip', '192.0.2.1');
    await signal(cards[0]!, 'ip', '192.0.2.1');
  });

  it('lists groups sharing one strong signal, largest first, with their counts and members', async () => {
    const { seen } = await all(support, {});
    expect(seen.every((x) => (kinds as readonly string[]).includes(x.kind) && x.size >= 2)).toBe(true);
    const sizes = seen.map((x) => x.size);
    expect(sizes).toEqual([...sizes].sort((x, y) => y - x));
    const farm = seen.find((x) => x.kind === 'fingerprint');
    expect(farm).toMatchObject({ label: 'fingerprint …f00d', size: 3, suspended: 1, terminated: 1, freeCredits: 1 });
    expect(farm?.members.map((m) => m.id)).toEqual([fp[2], fp[1], fp[0]]); // newest first
    expect(farm?.members.map((m) => m.freeCredits)).toEqual([null, 'withheld', 'granted']);
    expect(seen[0]?.size).toBe(3);
  });

  it('pages with a cursor (each cluster once), sorts by newest sign-up, and filters by kind', async () => {
    const whole = await all(support, { limit: '100' });
    const paged = await all(support, { limit: '1' });
    expect(paged.pages).toBeGreaterThanOrEqual(whole.seen.length);
    expect(paged.seen.map((x) => x.id)).toEqual(whole.seen.map((x) => x.id));
    expect(new Set(paged.seen.map((x) => x.id)).size).toBe(paged.seen.length);

    const newest = await all(admin, { sort: 'newest', limit: '1' });
    const times = newest.seen.map((x) => Date.parse(x.newestSignupAt));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(newest.seen[0]?.kind).toBe('card');
    expect(newest.seen.map((x) => x.id).sort()).toEqual(whole.seen.map((x) => x.id).sort());

    const card = await all(support, { kind: 'card' });
    expect(card.seen.map((x) => [x.kind, x.label, x.size])).toEqual([['card', 'card •• 4242', 2]]);
    expect((await all(support, { kind: 'wallet' })).seen).toEqual([]);
  });

  it('refuses bad parameters with 400; a normal user gets the not-found answer, a moderator 403', async () => {
    for (const q of [
      'kind=ip',
      'kind=nonsense',
      'sort=oldest',
      'limit=0',
      'limit=101',
      'limit=abc',
      'cursor=!!!',
      `cursor=${'A'.repeat(400)}`,
      `cursor=${Buffer.from('3|card|zz').toString('base64url')}`,
      `cursor=${Buffer.from(`3|ip|${'a'.repeat(64)}`).toString('base64url')}`,
      'cursor=%00',
    ]) {
      const res = await support.get(`/api/admin/risk/clusters?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json().error.code, q).toBeTruthy();
    }
    expect((await plain.get('/api/admin/risk/clusters')).status).toBe(404);
    expect((await moderator.get('/api/admin/risk/clusters')).status).toBe(403);
  });

  it('hostile account ids get a 4xx, never a 500', async () => {
    for (const id of ['%00', 'x'.repeat(101), '%27%20or%201%3D1--', '..%2F..%2Fetc', '%F0%9F%92%A5']) {
      const res = await support.get(`/api/admin/users/${id}/risk`);
      expect(res.status, id).toBeGreaterThanOrEqual(400);
      expect(res.status, id).toBeLessThan(500);
    }
  });
});
