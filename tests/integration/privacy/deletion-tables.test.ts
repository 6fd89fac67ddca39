import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckoutResponse, CreatedApiKey, OrderView } from '../../../src/shared/api';
import { accountDelete, mediaDeleteObjects } from '../../../src/server/jobs/names';
import { startFakeStripe, type FakeStripe } from '../../fakes/stripe';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { seedGeneration } from '../../helpers/seed';
import { jobsDone, until } from '../../helpers/wait';
import { payOnFakePage } from '../billing/setup';

/**
 * The "every table" test of account deletion (privacy policy 5; issue 17): an account with a row in
 * every table it can have one in deletes itself (grace period 0: the job runs at once); then every
 * table of the public schema is looked at for what is left of the person — their id, email address
 * or name anywhere in a row — and each table must have a declared decision. A table added later
 * without a decision fails this test until someone decides what deletion does to it.
 */

type Decision =
  /** nothing about the person is left */
  | { kind: 'gone' }
  /** rows stay for the law, carrying the deletion's pseudonym (`subject_ref`) and no link to the person */
  | { kind: 'pseudonymised'; column: 'subject_ref' }
  /** rows stay without anything that names the person (ids replaced by the pseudonym, emails stripped) */
  | { kind: 'kept-unnamed' }
  /** rows stay; only these columns may still hold the person's address or name, for the reason given */
  | { kind: 'kept-contact'; columns: string[]; why: string }
  /** rows a legal obligation keeps as they are (they exist only for a case under a hold; none here) */
  | { kind: 'kept-by-law'; why: string }
  /** holds no personal data of users */
  | { kind: 'no-personal-data' };

const decisions: Record<string, Decision> = {
  users: { kind: 'gone' },
  accounts: { kind: 'gone' },
  sessions: { kind: 'gone' },
  verifications: { kind: 'gone' },
  user_devices: { kind: 'gone' },
  user_avatars: { kind: 'gone' },
  referrals: { kind: 'gone' },
  credit_balances: { kind: 'gone' },
  generations: { kind: 'gone' },
  media: { kind: 'gone' },
  api_keys: { kind: 'gone' },
  api_request_log: { kind: 'gone' },
  webhook_endpoints: { kind: 'gone' },
  webhook_deliveries: { kind: 'gone' },
  data_exports: { kind: 'gone' },
  policy_notice_dismissals: { kind: 'gone' },
  mailing_recipients: { kind: 'gone' },
  moderation_strikes: { kind: 'gone' },
  rate_limit_buckets: { kind: 'gone' },
  orders: { kind: 'pseudonymised', column: 'subject_ref' },
  subscriptions: { kind: 'pseudonymised', column: 'subject_ref' },
  credit_ledger: { kind: 'pseudonymised', column: 'subject_ref' },
  moderation_cases: { kind: 'pseudonymised', column: 'subject_ref' },
  account_deletions: { kind: 'pseudonymised', column: 'subject_ref' },
  payment_events: { kind: 'kept-unnamed' },
  moderation_events: { kind: 'kept-unnamed' },
  moderation_evidence: { kind: 'kept-unnamed' },
  legal_holds: { kind: 'kept-unnamed' },
  mailings: { kind: 'kept-unnamed' },
  moderation_term_edits: { kind: 'kept-unnamed' },
  privacy_requests: {
    kind: 'kept-contact',
    columns: ['email', 'name', 'subject_email'],
    why: 'the record of a request keeps who wrote and whom it was about, to show it was answered, until the retention job removes it; its links to accounts are cut',
  },
  ncmec_reports: {
    kind: 'kept-by-law',
    why: 'a CyberTipline report is kept as filed (18 U.S.C. 2258A); filing one places a hold, so the account is closed, not deleted',
  },
  plans: { kind: 'no-personal-data' },
  model_settings: { kind: 'no-personal-data' },
  route_health: { kind: 'no-personal-data' },
  job_probe_runs: { kind: 'no-personal-data' },
  schema_migrations: { kind: 'no-personal-data' },
  policy_versions: { kind: 'no-personal-data' },
  retention_runs: { kind: 'no-personal-data' },
  moderation_hash_lists: { kind: 'no-personal-data' },
  moderation_hashes: { kind: 'no-personal-data' },
  generation_callbacks: { kind: 'no-personal-data' },
  audit_log: {
    kind: 'kept-contact',
    columns: ['target_id'],
    why: "the operators' append-only record of what they did names the account acted on by its id, which leads nowhere once the account is gone; entries never carry its email or name",
  },
  app_settings: { kind: 'no-personal-data' },
  stats_hourly: { kind: 'no-personal-data' },
  stats_rollup_state: { kind: 'no-personal-data' },
  account_signals: { kind: 'gone' },
  signup_grants: { kind: 'gone' },
  payment_failures: { kind: 'gone' },
  free_credit_claims: { kind: 'kept-unnamed' },
  blocked_email_domains: { kind: 'no-personal-data' },
  bot_challenge_uses: { kind: 'no-personal-data' },
};

let app: TestApp;
let stripe: FakeStripe;
let n = 0;
const PASSWORD = 'a fine password 1';

beforeAll(async () => {
  stripe = await startFakeStripe();
  app = await startTestApp({
    env: {
      ACCOUNT_DELETION_GRACE_DAYS: '0',
      TRUST_PROXY: 'true',
      SIGNUP_FREE_CREDITS: '0',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
    },
  });
  stripe.setWebhookUrl(`${app.url}/webhooks/stripe`);
});
afterAll(async () => {
  await (stripe as FakeStripe | undefined)?.settled().catch(() => {});
  await closeAll(app, stripe);
});

const rows = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => app.db.sql.query<T>(sql, params);
const one = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await rows<T>(sql, params))[0]!;

async function person(label: string) {
  const email = `${label}-${++n}-${randomUUID().slice(0, 6)}@example.com`;
  const name = `Quintessa ${label} Zebulon${n}`;
  const u = await app.platform.ctx.services.users.create({ email, password: PASSWORD, name, credits: 7 });
  const c = new TestClient(app.url, { ip: `203.0.113.${(n % 250) + 1}` });
  expect((await c.post('/api/auth/sign-in/email', { email, password: PASSWORD })).status).toBe(200);
  return Object.assign(c, { userId: u.id, email, name });
}

async function buy(c: TestClient, plan: string): Promise<string> {
  const res = await c.post('/api/billing/checkout', { plan, provider: 'stripe', currency: 'usd' });
  expect(res.status, res.body).toBe(200);
  const { orderId, url } = res.json<CheckoutResponse>();
  await payOnFakePage(url);
  await until(async () => (await c.get(`/api/billing/orders/${orderId}`)).json<OrderView>().status === 'paid', {
    app,
    timeoutMs: 10_000,
    what: `order ${orderId} paid`,
  });
  return orderId;
}

/** Every table of the public schema (BASE TABLE), sorted. */
const publicTables = async () =>
  (
    await rows<{ t: string }>(`select table_name as t from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`)
  ).map((r) => r.t);

/** Rows of `table` whose text (every column) mentions the person's id, email address or name. */
const mentions = async (table: string, who: { userId: string; email: string; name: string }, except: string[] = []) => {
  const row = except.length ? `(to_jsonb(x) - array[${except.map((c) => `'${c}'`).join(', ')}]::text[])::text` : 'x::text';
  const found = await rows(
    `select x::text as row from "${table}" x
      where position(lower($1) in lower(${row})) > 0 or position(lower($2) in lower(${row})) > 0 or position(lower($3) in lower(${row})) > 0`,
    [who.userId, who.email, who.name],
  );
  return found.map((r) => String(r.row));
};

describe('account deletion, table by table', () => {
  it('every table has a decision, and what is left of a deleted account is only the pseudonymised records the law keeps', async () => {
    const admin = await person('admin');
    await app.platform.ctx.services.users.setRole(admin.email, 'admin');
    const u = await person('doomed');
    const other = await person('other');
    const invited = await person('invited');
    const ctx = app.platform.ctx;
    const now = new Date();

    // --- a row in every table this account can have one in ---------------------------------
    // sign-in: sessions, devices, the password account; a Google account with its (sealed) tokens
    await rows(
      `insert into accounts (id, user_id, provider_id, account_id, access_token, refresh_token) values ($1, $2, 'google', $3, 'sealed-a', 'sealed-r')`,
      [randomUUID(), u.userId, `g-${u.userId}`],
    );
    const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#aa3366' } })
      .png()
      .toBuffer();
    expect((await u.put('/api/me/photo', new Uint8Array(png), { 'content-type': 'image/png' })).status).toBe(200);
    // a password reset and an email change leave one-time tokens holding the user id
    expect((await u.post('/api/auth/request-password-reset', { email: u.email, redirectTo: '/reset-password' })).status).toBe(200);
    expect((await u.post('/api/me/email', { newEmail: `new-${u.email}`, currentPassword: PASSWORD })).status).toBe(202);
    // referrals both ways
    await rows(`insert into referrals (referred_user_id, referrer_user_id, code) values ($1, $2, 'abc123'), ($3, $1, 'def456')`, [
      u.userId,
      other.userId,
      invited.userId,
    ]);
    // creations with files, and a reference upload
    const gen = await seedGeneration(app.db, u.userId);
    const video = `generations/${u.userId}/${gen.id}/video.mp4`;
    await ctx.store.put(video, Buffer.from('video bytes'), { contentType: 'video/mp4' });
    await rows(`update generations set status = 'succeeded', output_url = $2 where id = $1`, [gen.id, `store:${video}`]);
    expect((await u.upload('/api/uploads', { data: png, name: 'ref.png', type: 'image/png' })).status).toBe(201);
    // an API key and a request made with it; a webhook endpoint with a delivery
    const key = (await u.post('/api/keys', { name: 'ci' })).json<CreatedApiKey>();
    expect((await fetch(`${app.url}/v1/videos`, { headers: { authorization: `Bearer ${key.secret}` } })).status).toBe(200);
    const endpointId = randomUUID();
    await rows(
      `insert into webhook_endpoints (id, user_id, url, secret_encrypted, events) values ($1, $2, 'https://hooks.example.com/x', 'sealed', '["video.completed"]')`,
      [endpointId, u.userId],
    );
    await rows(`insert into webhook_deliveries (id, endpoint_id, user_id, event_type, payload) values ($1, $2, $3, 'video.completed', $4)`, [
      `msg_${randomUUID()}`,
      endpointId,
      u.userId,
      JSON.stringify({ type: 'video.completed', timestamp: now.toISOString(), data: { id: gen.id } }),
    ]);
    // a finished data export with its archive
    const exportKey = `exports/${u.userId}/${randomUUID()}.zip`;
    await ctx.store.put(exportKey, Buffer.from('zip bytes'), { contentType: 'application/zip' });
    await rows(`insert into data_exports (id, user_id, status, storage_key, created_at, finished_at, expires_at) values ($1, $2, 'ready', $3, $4, $4, $4)`, [
      randomUUID(),
      u.userId,
      exportKey,
      now,
    ]);
    // a dismissed policy notice; a mailing it received; a mailing and a term edit it made as an operator
    await rows(`insert into policy_notice_dismissals (user_id, document, version, dismissed_at) values ($1, 'privacy', 'v1', $2)`, [u.userId, now]);
    const mailingId = randomUUID();
    await rows(`insert into mailings (id, kind, dedupe_key, content, created_by, created_at) values ($1, 'policy-change', $2, '{}', $3, $4)`, [
      mailingId,
      `k-${mailingId}`,
      u.userId,
      now,
    ]);
    await rows(`insert into mailing_recipients (mailing_id, user_id) values ($1, $2)`, [mailingId, u.userId]);
    await rows(`insert into moderation_term_edits (id, op, list, language, term, created_by, created_at) values ($1, 'add', 'sexual', 'en', $2, $3, $4)`, [
      randomUUID(),
      `term-${n}`,
      u.userId,
      now,
    ]);
    // a safety case about its creation (decided, with a strike and an appeal), and a report it made about someone else
    const caseId = randomUUID();
    await rows(
      `insert into moderation_cases (id, user_id, subject, generation_id, status, outcome, appealed_at, appeal_text, opened_at, updated_at)
       values ($1, $2, 'output', $3, 'closed', 'removed_strike', $4, 'I think this was a mistake.', $4, $4)`,
      [caseId, u.userId, gen.id, now],
    );
    await rows(
      `insert into moderation_events (case_id, kind, actor_id, note, created_at) values ($1, 'decision', $2, 'removed', $4), ($1, 'appeal', $3, 'please', $4)`,
      [caseId, admin.userId, u.userId, now],
    );
    await rows(`insert into moderation_evidence (id, case_id, input, text, generation_id, created_at) values ($1, $2, 'prompt', 'a seeded scene', $3, $4)`, [
      randomUUID(),
      caseId,
      gen.id,
      now,
    ]);
    await rows(`insert into moderation_strikes (id, user_id, case_id, created_by, created_at) values ($1, $2, $3, $4, $5)`, [
      randomUUID(),
      u.userId,
      caseId,
      admin.userId,
      now,
    ]);
    const otherCase = randomUUID();
    await rows(`insert into moderation_cases (id, user_id, subject, status, opened_at, updated_at) values ($1, $2, 'report', 'open', $3, $3)`, [
      otherCase,
      other.userId,
      now,
    ]);
    await rows(
      `insert into moderation_events (case_id, kind, actor_id, note, details, created_at) values ($1, 'report', $2, 'looks wrong', '{"reason":"other"}', $3)`,
      [otherCase, u.userId, now],
    );
    // a legal hold on the account, released again
    const hold = await ctx.services.holds.place(admin.userId, { subjectKind: 'user', subjectId: u.userId, reason: 'inquiry' });
    await ctx.services.holds.release(admin.userId, hold.id, 'inquiry closed');
    // privacy requests: its own, and a child report naming it
    await rows(
      `insert into privacy_requests (id, kind, email, name, user_id, message, created_at, due_at) values ($1, 'access', $2, $3, $4, 'send me my data', $5, $5)`,
      [randomUUID(), u.email, u.name, u.userId, now],
    );
    await rows(
      `insert into privacy_requests (id, kind, email, subject_email, subject_user_id, message, created_at, due_at) values ($1, 'child', 'parent@example.org', $2, $3, 'my child', $4, $4)`,
      [randomUUID(), u.email, u.userId, now],
    );
    // orders: a pack, partly refunded (a clawback), and a subscription; their payment events and ledger rows
    const packOrder = await buy(u, 'starter');
    await ctx.services.billing.refund(packOrder, 100);
    const subOrder = await buy(u, 'max-monthly');
    await stripe.settled();
    // a failed card payment (issue 19's velocity rules count it)
    await rows(
      `insert into payment_failures (user_id, order_id, provider, event_id, payment_fingerprint, failed_at) values ($1, $2, 'stripe', $3, 'hash', $4)`,
      [u.userId, packOrder, `evt_${randomUUID()}`, now],
    );
    // abuse signals (issue 19): the sign-ins above recorded the account's; its free-credit decision and its address's claim
    await rows(`insert into signup_grants (user_id, state, credits, reason, decided_at, created_at) values ($1, 'granted', 7, 'granted', $2, $2)`, [
      u.userId,
      now,
    ]);
    const claim = randomUUID().replace(/-/g, '');
    await rows(`insert into free_credit_claims (canonical_hash, user_id, claimed_at) values ($1, $2, $3)`, [claim, u.userId, now]);
    // a failed sign-in leaves rate-limit windows keyed by the address
    expect((await u.post('/api/auth/sign-in/email', { email: u.email, password: 'wrong password here' })).status).toBe(401);

    const who = { userId: u.userId, email: u.email, name: u.name };
    const tables = await publicTables();
    // the seeding reached the tables it meant to (a "gone" table that was empty would prove nothing)
    for (const t of Object.entries(decisions)
      .filter(([, d]) => d.kind === 'gone')
      .map(([t]) => t)) {
      expect((await mentions(t, who)).length, `seeded ${t}`).toBeGreaterThan(0);
    }

    // --- the user deletes the account (grace period 0: the job runs at once) ---------------
    const res = await u.post('/api/me/deletion', { password: PASSWORD });
    expect(res.status, res.body).toBe(202);
    await jobsDone(app, [accountDelete.name]);
    await jobsDone(app, [mediaDeleteObjects.name]);
    await stripe.settled();
    const deletion = await one<{
      id: string;
      status: string;
      user_id: string | null;
      subject_ref: string;
      removed: Record<string, number>;
      kept: Record<string, number>;
    }>(`select id, status, user_id, subject_ref, removed, kept from account_deletions where origin = 'self'`);
    expect(deletion).toMatchObject({ status: 'completed', user_id: null });
    expect(deletion.removed).toMatchObject({
      generations: 1,
      media: 1,
      profile: 1,
      sessions: 0,
      apiKeys: 1,
      webhookEndpoints: 1,
      dataExports: 1,
      referrals: 2,
    });
    expect(deletion.kept).toMatchObject({ orders: 2, subscriptions: 1, moderationCases: 1, privacyRequests: 2, legalHolds: 1 });

    // the address's claim outlives the account, unlinked: deleting does not earn free credits again
    expect(await rows(`select user_id from free_credit_claims where canonical_hash = $1`, [claim])).toEqual([{ user_id: null }]);

    // --- every table: decided, and what is left of the person -----------------------------
    const undecided = tables.filter((t) => !(t in decisions));
    expect(undecided, 'tables without a deletion decision: add them to `decisions` (and to the deletion)').toEqual([]);
    expect(
      Object.keys(decisions).filter((t) => !tables.includes(t)),
      'decisions for tables that do not exist',
    ).toEqual([]);
    const ref = deletion.subject_ref;
    for (const table of tables) {
      const d = decisions[table]!;
      if (d.kind === 'kept-contact') {
        expect(await mentions(table, who, d.columns), `${table}: only ${d.columns.join(', ')} may still name the person`).toEqual([]);
        continue;
      }
      if (d.kind === 'kept-by-law') {
        expect(await rows(`select 1 from "${table}"`), `${table} (none filed here)`).toEqual([]);
        continue;
      }
      expect(await mentions(table, who), `${table} (${d.kind})`).toEqual([]);
      if (d.kind === 'pseudonymised') {
        const kept = await rows(`select 1 from "${table}" where ${d.column} = $1`, [ref]);
        expect(kept.length, `${table} keeps its rows under the pseudonym`).toBeGreaterThan(0);
      }
    }

    // --- the kept records, as the law keeps them -------------------------------------------
    const orders = await rows<{ id: string; status: string; user_id: string | null; checkout_email: string | null; receipt_number: string }>(
      `select id, status, user_id, checkout_email, receipt_number from orders where subject_ref = $1 order by created_at`,
      [ref],
    );
    expect(orders.map((o) => [o.id, o.status, o.user_id, o.checkout_email])).toEqual([
      [packOrder, 'partially_refunded', null, null],
      [subOrder, 'paid', null, null],
    ]);
    const ledger = await rows<{ kind: string; reference: string }>(`select kind, reference from credit_ledger where subject_ref = $1 order by id`, [ref]);
    expect(ledger).toEqual([
      { kind: 'purchase', reference: `order:${packOrder}` },
      { kind: 'clawback', reference: `order:${packOrder}` },
      { kind: 'purchase', reference: `order:${subOrder}` },
    ]);
    // the subscription was canceled with Stripe before anything else
    const sub = await one<{ status: string; provider_ref: string }>(`select status, provider_ref from subscriptions where subject_ref = $1`, [ref]);
    expect(sub.status).toBe('canceled');
    expect(stripe.subscriptions.get(sub.provider_ref)!.status).toBe('canceled');
    // the safety case stays, its appeal text with it; the appellant and the reporter are the pseudonym now
    expect(await one(`select user_id, subject_ref, appeal_text from moderation_cases where id = $1`, [caseId])).toEqual({
      user_id: null,
      subject_ref: ref,
      appeal_text: 'I think this was a mistake.',
    });
    expect(
      (await rows<{ actor_id: string }>(`select actor_id from moderation_events where case_id in ($1, $2) order by id`, [caseId, otherCase])).map(
        (e) => e.actor_id,
      ),
    ).toEqual([admin.userId, ref, ref]);
    // the requests stay, unlinked
    expect(
      await rows(`select email, user_id, subject_user_id from privacy_requests where email in ($1, 'parent@example.org') order by email`, [u.email]),
    ).toEqual([
      { email: u.email, user_id: null, subject_user_id: null },
      { email: 'parent@example.org', user_id: null, subject_user_id: null },
    ]);
    // the other people keep their accounts (the one it invited loses only the invitation record)
    expect((await rows(`select id from users where id in ($1, $2, $3)`, [admin.userId, other.userId, invited.userId])).length).toBe(3);

    // --- every stored file of the account is gone -------------------------------------------
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await ctx.store.list('', { limit: 1000, ...(cursor ? { cursor } : {}) });
      keys.push(...page.items.map((i) => i.key));
      cursor = page.cursor;
    } while (cursor);
    expect(keys.filter((k) => k.toLowerCase().includes(u.userId.toLowerCase()))).toEqual([]);

    // --- the job queue's own records name no one (files are named by the account id, which now points nowhere) ---
    const jobs = await rows(`select name from pgboss.job where position(lower($1) in lower(data::text)) > 0 or position(lower($2) in lower(data::text)) > 0`, [
      u.email,
      u.name,
    ]);
    expect(jobs).toEqual([]);
  });
});
