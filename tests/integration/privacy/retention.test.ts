import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/server/adapters/clock';
import { runCommand } from '../../../src/server/cli/commands';
import { ownRetentionKinds, retentionKindIds, retentionSchedule } from '../../../src/server/domain/privacy/retention';
import { createRetentionService, type RetentionReport } from '../../../src/server/domain/privacy/retention.service';
import { jobSchedules } from '../../../src/server/jobs/names';
import { startTestApp, type TestApp } from '../../helpers/app';
import { closeAll } from '../../helpers/close';
import { seedGeneration } from '../../helpers/seed';

/**
 * The retention schedule (issue 17, privacy policy 3): the daily job deletes exactly what is past
 * its period on a fake clock, kind by kind, and nothing a legal hold covers; it logs each run.
 * Rows are written straight into the tables with the times the test needs.
 */

const DAY = 86_400_000;
let app: TestApp;
let clock: FakeClock;
const logLines: string[] = [];

beforeAll(async () => {
  clock = new FakeClock();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  app = await startTestApp({ clock, logger: pino({ level: 'info' }, sink), env: { SIGNUP_FREE_CREDITS: '0' } });
});
afterAll(() => closeAll(app));

const ctx = () => app.platform.ctx;
const q = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => app.db.sql.query<T>(text, params);
const iso = (ms: number) => new Date(ms).toISOString();

let n = 0;
async function user(label: string): Promise<string> {
  const u = await ctx().services.users.create({ email: `retention-${label}-${n++}@example.com`, password: 'a fine password 1', name: label, credits: 0 });
  return u.id;
}
async function hold(userId: string, days = 30) {
  return ctx().services.holds.place(null, {
    subjectKind: 'user',
    subjectId: userId,
    reason: 'preservation order',
    expiresAt: new Date(clock.nowMs() + days * DAY),
  });
}
/** Which of these ids (of `table`.`col`) are still there. */
async function left(table: string, ids: readonly (string | number)[], col = 'id'): Promise<string[]> {
  const rows = await q<{ id: string }>(`select ${col}::text as id from ${table} where ${col}::text = any($1::text[])`, [ids.map(String)]);
  return rows.map((r) => r.id).sort();
}
async function run() {
  return ctx().services.retention.run();
}

describe('the declared schedule', () => {
  it('lists every kind once, with a period from the settings and a job that applies it; the old API log job is folded in', () => {
    expect(retentionSchedule.map((k) => k.id)).toEqual([...retentionKindIds]);
    const config = ctx().config;
    for (const kind of retentionSchedule) {
      const p = kind.period(config);
      expect(p.amount, kind.id).toBeGreaterThan(0);
      if (p.setting) expect(config[p.setting], kind.id).toBe(p.amount);
    }
    expect(retentionSchedule.find((k) => k.id === 'api-request-log')?.period(config)).toEqual({ amount: 90, unit: 'days', setting: 'API_LOG_RETENTION_DAYS' });
    expect(retentionSchedule.find((k) => k.id === 'deleted-account-orders')?.period(config)).toEqual({
      amount: 10,
      unit: 'years',
      setting: 'ORDER_RETENTION_YEARS',
    });
    // one daily job, and no other schedule for what it applies
    const names = jobSchedules.map((s) => s.job.name);
    expect(names).toContain('privacy.retention');
    expect(names).not.toContain('api.purge-logs');
    expect(ownRetentionKinds.length).toBeGreaterThanOrEqual(14);
  });

  it('an installation upgraded from the separate API log job stops running it: start-up drops the schedule no job declares', async () => {
    const queue = ctx().queue;
    // what an older version installed
    await queue.boss.createQueue('api.purge-logs');
    await queue.boss.schedule('api.purge-logs', '23 2 * * *', {}, { tz: 'UTC' });
    expect((await queue.boss.getSchedules()).map((s) => s.name)).toContain('api.purge-logs');
    await queue.installSchedules();
    const names = (await queue.boss.getSchedules()).map((s) => s.name).sort();
    expect(names).toEqual(jobSchedules.map((s) => s.job.name).sort());
  });
});

describe('each kind, on a fake clock', () => {
  it('API request log: older than API_LOG_RETENTION_DAYS (90) goes; a held user keeps theirs until the hold ends', async () => {
    const T = clock.nowMs();
    const a = await user('api');
    const held = await user('api-held');
    const insert = async (userId: string | null, ageDays: number) => {
      const [r] = await q<{ id: string }>(
        `insert into api_request_log (user_id, method, endpoint, status, created_at) values ($1, 'GET', '/v1/videos', 200, $2) returning id::text`,
        [userId, iso(T - ageDays * DAY)],
      );
      return r!.id;
    };
    const old = await insert(a, 90.01);
    const recent = await insert(a, 89.99);
    const anonymous = await insert(null, 91);
    const heldOld = await insert(held, 200);
    const h = await hold(held);

    const result = await run();
    expect(await left('api_request_log', [old, recent, anonymous, heldOld])).toEqual([recent, heldOld].sort());
    expect(result.results['api-request-log']).toMatchObject({ removed: expect.any(Number), keptByHold: 1 });
    expect(result.results['api-request-log']!.removed).toBeGreaterThanOrEqual(2);

    // a day later the recent one is past the period too; the hold is released: the next run removes the rest
    await clock.set(T + DAY);
    await ctx().services.holds.release(null, h.id, 'case closed');
    await run();
    expect(await left('api_request_log', [recent, heldOld])).toEqual([]);
  });

  it("the operators' audit log: append-only, entries older than AUDIT_LOG_RETENTION_DAYS (180) go; those about a held account stay", async () => {
    const T = clock.nowMs();
    const a = await user('audited');
    const held = await user('audited-held');
    const actor = { id: null, label: 'cli:retention-test', role: null, via: 'cli' as const, ip: 'local' };
    const entry = async (userId: string, ageDays: number) => {
      const id = await ctx().services.audit.record(actor, { action: 'user.credits.grant', targetType: 'user', targetId: userId, after: { credits: 5 } });
      await q(`alter table audit_log disable trigger audit_log_append_only`);
      try {
        await q(`update audit_log set at = $2 where id = $1`, [id, iso(T - ageDays * DAY)]);
      } finally {
        await q(`alter table audit_log enable trigger audit_log_append_only`);
      }
      return id;
    };
    const old = await entry(a, 180.01);
    const recent = await entry(a, 179.99);
    const heldOld = await entry(held, 400);
    const h = await hold(held);

    // nobody updates or deletes an entry, not even with SQL
    await expect(q(`update audit_log set reason = 'changed' where id = $1`, [recent])).rejects.toThrow(/append-only/);
    await expect(q(`delete from audit_log where id = $1`, [recent])).rejects.toThrow(/append-only/);

    const result = await run();
    expect(await left('audit_log', [old, recent, heldOld])).toEqual([String(recent), String(heldOld)].sort());
    expect(result.results['audit-log']).toMatchObject({ keptByHold: 1 });
    expect(result.results['audit-log']!.removed).toBeGreaterThanOrEqual(1);

    await clock.set(T + DAY);
    await ctx().services.holds.release(null, h.id, 'case closed');
    await run();
    expect(await left('audit_log', [recent, heldOld])).toEqual([]);
  });

  it('webhook deliveries: older than WEBHOOK_DELIVERY_RETENTION_DAYS (30) go, except those of a held user or a held creation', async () => {
    const T = clock.nowMs();
    const a = await user('hooks');
    const held = await user('hooks-held');
    const endpoint = async (userId: string) => {
      const id = randomUUID();
      await q(
        `insert into webhook_endpoints (id, user_id, url, secret_encrypted, events) values ($1, $2, 'https://example.com/hook', 'x', '["video.completed"]')`,
        [id, userId],
      );
      return id;
    };
    const ea = await endpoint(a);
    const eh = await endpoint(held);
    const heldCreation = await seedGeneration(app.db, a, {}, clock.now());
    await ctx().services.holds.place(null, { subjectKind: 'generation', subjectId: heldCreation.id, reason: 'evidence', expiresAt: new Date(T + 30 * DAY) });
    const delivery = async (endpointId: string, userId: string, ageDays: number, generationId: string = randomUUID()) => {
      const id = `msg_${randomUUID()}`;
      await q(
        `insert into webhook_deliveries (id, endpoint_id, user_id, event_type, payload, status, created_at)
         values ($1, $2, $3, 'video.completed', $4::jsonb, 'delivered', $5)`,
        [id, endpointId, userId, JSON.stringify({ type: 'video.completed', timestamp: iso(T), data: { id: generationId } }), iso(T - ageDays * DAY)],
      );
      return id;
    };
    const old = await delivery(ea, a, 31);
    const recent = await delivery(ea, a, 29);
    const ofHeldCreation = await delivery(ea, a, 60, heldCreation.id);
    const ofHeldUser = await delivery(eh, held, 60);
    await hold(held);

    const result = await run();
    expect(await left('webhook_deliveries', [old, recent, ofHeldCreation, ofHeldUser])).toEqual([recent, ofHeldCreation, ofHeldUser].sort());
    expect(result.results['webhook-deliveries']!.keptByHold).toBeGreaterThanOrEqual(2);
  });

  it("payment events: applied or ignored longer than PAYMENT_EVENT_RETENTION_DAYS (180) ago go; waiting ones and a held user's stay", async () => {
    const T = clock.nowMs();
    const held = await user('pay-held');
    const orderId = randomUUID();
    await q(
      `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider, status, created_at, updated_at)
       values ($1, $2, 'starter', 'Starter', 'pack', 100, 1000, 'usd', 'stripe', 'paid', $3, $3)`,
      [orderId, held, iso(T - 400 * DAY)],
    );
    await hold(held);
    const event = async (state: string, receivedDays: number, appliedDays: number | null, order: string | null = null) => {
      const id = `evt_${randomUUID()}`;
      await q(
        `insert into payment_events (provider, event_id, type, state, event, order_id, received_at, applied_at)
         values ('stripe', $1, 'checkout.completed', $2, '{}'::jsonb, $3, $4, $5)`,
        [id, state, order, iso(T - receivedDays * DAY), appliedDays === null ? null : iso(T - appliedDays * DAY)],
      );
      return id;
    };
    const oldApplied = await event('applied', 200, 181);
    const recentlyApplied = await event('applied', 200, 179);
    const oldIgnored = await event('ignored', 181, null);
    const waiting = await event('deferred', 400, null);
    const ofHeldUser = await event('applied', 400, 400, orderId);

    await run();
    expect(await left('payment_events', [oldApplied, recentlyApplied, oldIgnored, waiting, ofHeldUser], 'event_id')).toEqual(
      [recentlyApplied, waiting, ofHeldUser].sort(),
    );
  });

  it('sign-in devices: not seen for DEVICE_RETENTION_DAYS (365) are forgotten, except a held user’s', async () => {
    const T = clock.nowMs();
    const a = await user('devices');
    const held = await user('devices-held');
    const device = async (userId: string, fingerprint: string, lastSeenDays: number) =>
      q(`insert into user_devices (user_id, fingerprint, first_seen_at, last_seen_at) values ($1, $2, $3, $3)`, [
        userId,
        fingerprint,
        iso(T - lastSeenDays * DAY),
      ]);
    await device(a, 'old', 366);
    await device(a, 'recent', 364);
    await device(held, 'old', 500);
    await hold(held);

    await run();
    const rows = await q<{ user_id: string; fingerprint: string }>(
      `select user_id, fingerprint from user_devices where user_id = any($1::text[]) order by 1, 2`,
      [[a, held]],
    );
    expect(rows).toEqual(
      [
        { user_id: a, fingerprint: 'recent' },
        { user_id: held, fingerprint: 'old' },
      ].sort((x, y) => x.user_id.localeCompare(y.user_id)),
    );
  });

  it('data exports: the archive goes when its link ends (marked expired), the record after PRIVACY_REQUEST_RETENTION_DAYS; a held user keeps both', async () => {
    const T = clock.nowMs();
    const a = await user('exports');
    const held = await user('exports-held');
    const store = ctx().store;
    const ready = async (userId: string, expiresAt: number) => {
      const id = randomUUID();
      const key = `exports/${userId}/${id}.zip`;
      await store.put(key, Buffer.from(`zip of ${id}`), { contentType: 'application/zip' });
      await q(
        `insert into data_exports (id, user_id, status, storage_key, size_bytes, created_at, finished_at, expires_at)
         values ($1, $2, 'ready', $3, 10, $4, $4, $5)`,
        [id, userId, key, iso(expiresAt - 7 * DAY), iso(expiresAt)],
      );
      return { id, key };
    };
    const ended = await ready(a, T - 60_000);
    const current = await ready(a, T + DAY);
    const heldEnded = await ready(held, T - 60_000);
    const oldRecord = randomUUID();
    const youngRecord = randomUUID();
    for (const [id, age] of [
      [oldRecord, 1096],
      [youngRecord, 1094],
    ] as const) {
      await q(`insert into data_exports (id, user_id, status, created_at, finished_at, expires_at) values ($1, $2, 'expired', $3, $3, $3)`, [
        id,
        a,
        iso(T - age * DAY),
      ]);
    }
    await hold(held);
    const exists = (key: string) =>
      store.head(key).then(
        () => true,
        () => false,
      );

    const result = await run();
    const status = async (id: string) =>
      (await q<{ status: string; storage_key: string | null }>(`select status, storage_key from data_exports where id = $1`, [id]))[0];
    expect(await status(ended.id)).toEqual({ status: 'expired', storage_key: null });
    expect(await exists(ended.key)).toBe(false);
    expect(await status(current.id)).toEqual({ status: 'ready', storage_key: current.key });
    expect(await exists(current.key)).toBe(true);
    expect(await status(heldEnded.id)).toEqual({ status: 'ready', storage_key: heldEnded.key });
    expect(await exists(heldEnded.key)).toBe(true);
    expect(result.results['export-files']).toMatchObject({ keptByHold: 1 });
    expect(await left('data_exports', [oldRecord, youngRecord])).toEqual([youngRecord]);
  });

  it('the mail outbox: messages older than MAIL_OUTBOX_RETENTION_DAYS (30) are deleted, except those to a held account', async () => {
    const T = clock.nowMs();
    const held = await user('outbox-held');
    const [heldEmail] = (await q<{ email: string }>(`select email from users where id = $1`, [held])).map((r) => r.email);
    await hold(held);
    const dir = path.join(app.config.dataDir, 'outbox');
    fs.mkdirSync(dir, { recursive: true });
    const message = (ageDays: number, to: string) => {
      const when = new Date(T - ageDays * DAY);
      const stem = `${when.toISOString().replace(/:/g, '-')}-${randomUUID().slice(0, 12)}`;
      fs.writeFileSync(path.join(dir, `${stem}.eml`), `To: ${to}\r\n\r\nhello`);
      fs.writeFileSync(path.join(dir, `${stem}.json`), JSON.stringify({ id: stem, to, subject: 'hello', date: when.toISOString() }));
      return stem;
    };
    const old = message(31, 'someone@example.com');
    const recent = message(29, 'someone@example.com');
    const toHeld = message(90, heldEmail!.toUpperCase());

    const result = await run();
    const stems = new Set(fs.readdirSync(dir).map((f) => f.replace(/\.(eml|json)$/, '')));
    expect(stems.has(old)).toBe(false);
    expect(stems.has(recent)).toBe(true);
    expect(stems.has(toHeld)).toBe(true);
    expect(fs.existsSync(path.join(dir, `${recent}.eml`)) && fs.existsSync(path.join(dir, `${toHeld}.json`))).toBe(true);
    expect(result.results['mail-outbox']).toMatchObject({ keptByHold: 1 });
  });

  it('privacy requests: closed ones go PRIVACY_REQUEST_RETENTION_DAYS (1095) after closing; open ones and a held subject’s stay', async () => {
    const T = clock.nowMs();
    const held = await user('requests-held');
    await hold(held);
    const request = async (status: string, closedDays: number | null, subjectUserId: string | null = null) => {
      const id = `PR-${randomUUID().slice(0, 10).toUpperCase()}`;
      await q(
        `insert into privacy_requests (id, kind, status, email, message, subject_user_id, created_at, due_at, closed_at)
         values ($1, 'access', $2, 'someone@example.com', 'please', $3, $4, $4, $5)`,
        [id, status, subjectUserId, iso(T - 3000 * DAY), closedDays === null ? null : iso(T - closedDays * DAY)],
      );
      return id;
    };
    const oldDone = await request('done', 1096);
    const oldRejected = await request('rejected', 1096);
    const youngDone = await request('done', 1094);
    const stillOpen = await request('open', null);
    const ofHeld = await request('done', 2000, held);

    await run();
    expect(await left('privacy_requests', [oldDone, oldRejected, youngDone, stillOpen, ofHeld])).toEqual([youngDone, stillOpen, ofHeld].sort());
  });

  it('mailing recipients: who a finished mailing went to is forgotten after PRIVACY_REQUEST_RETENTION_DAYS; the mailing stays', async () => {
    const T = clock.nowMs();
    const a = await user('mailing');
    const b = await user('mailing-b');
    const held = await user('mailing-held');
    await hold(held);
    const mailing = async (finishedDays: number) => {
      const id = randomUUID();
      await q(
        `insert into mailings (id, kind, dedupe_key, content, status, created_at, finished_at) values ($1, 'product-update', $1, '{}'::jsonb, 'sent', $2, $2)`,
        [id, iso(T - finishedDays * DAY)],
      );
      return id;
    };
    const oldMailing = await mailing(1096);
    const youngMailing = await mailing(1094);
    for (const [m, u, status] of [
      [oldMailing, a, 'sent'],
      [oldMailing, b, 'failed'],
      [oldMailing, held, 'sent'],
      [youngMailing, a, 'sent'],
    ] as const) {
      await q(`insert into mailing_recipients (mailing_id, user_id, status, sent_at) values ($1, $2, $3, $4)`, [m, u, status, iso(T - 1096 * DAY)]);
    }

    await run();
    const rows = await q<{ mailing_id: string; user_id: string }>(
      `select mailing_id, user_id from mailing_recipients where mailing_id = any($1::text[]) order by mailing_id, user_id`,
      [[oldMailing, youngMailing]],
    );
    expect(rows.map((r) => `${r.mailing_id === oldMailing ? 'old' : 'young'}:${r.user_id}`).sort()).toEqual([`old:${held}`, `young:${a}`].sort());
    expect(await left('mailings', [oldMailing, youngMailing])).toEqual([oldMailing, youngMailing].sort());
  });

  it('account deletion records: completed ones go after ORDER_RETENTION_YEARS, canceled ones after PRIVACY_REQUEST_RETENTION_DAYS', async () => {
    const T = clock.nowMs();
    const a = await user('deletions');
    const tenYearsAgo = new Date(T);
    tenYearsAgo.setUTCFullYear(tenYearsAgo.getUTCFullYear() - 10);
    const years = (T - tenYearsAgo.getTime()) / DAY;
    const record = async (status: 'completed' | 'canceled', ageDays: number, userId: string | null) => {
      const id = randomUUID();
      await q(
        `insert into account_deletions (id, user_id, subject_ref, status, origin, requested_at, due_at, completed_at, canceled_at)
         values ($1, $2, $3, $4, 'self', $5, $5, $6, $7)`,
        [
          id,
          userId,
          `subj_${randomUUID()}`,
          status,
          iso(T - (ageDays + 20) * DAY),
          status === 'completed' ? iso(T - ageDays * DAY) : null,
          status === 'canceled' ? iso(T - ageDays * DAY) : null,
        ],
      );
      return id;
    };
    const oldCompleted = await record('completed', years + 1, null);
    const youngCompleted = await record('completed', years - 1, null);
    const oldCanceled = await record('canceled', 1096, a);
    const youngCanceled = await record('canceled', 1094, a);

    await run();
    expect(await left('account_deletions', [oldCompleted, youngCompleted, oldCanceled, youngCanceled])).toEqual([youngCompleted, youngCanceled].sort());
  });

  it('orders, subscriptions and ledger rows of deleted accounts go ORDER_RETENTION_YEARS after their last change, together; a live account’s never', async () => {
    const T = clock.nowMs();
    const live = await user('orders-live');
    const tenYears = (extraDays: number) => {
      const d = new Date(T);
      d.setUTCFullYear(d.getUTCFullYear() - 10);
      return d.getTime() - extraDays * DAY;
    };
    const order = async (userId: string | null, changedAt: number, subscriptionId: string | null = null) => {
      const id = randomUUID();
      await q(
        `insert into orders (id, user_id, subject_ref, plan_id, plan_name, kind, credits, amount_minor, currency, provider, status, subscription_id, created_at, updated_at, paid_at)
         values ($1, $2, $3, 'starter', 'Starter', 'pack', 100, 1000, 'usd', 'stripe', 'paid', $4, $5, $5, $5)`,
        [id, userId, userId ? null : 'subj_x', subscriptionId, iso(changedAt)],
      );
      return id;
    };
    const subscription = async (changedAt: number) => {
      const id = randomUUID();
      await q(
        `insert into subscriptions (id, user_id, subject_ref, plan_id, provider, provider_ref, status, created_at, updated_at)
         values ($1, null, 'subj_x', 'pro', 'stripe', $1, 'canceled', $2, $2)`,
        [id, iso(changedAt)],
      );
      return id;
    };
    const ledger = async (userId: string | null, reference: string | null, at: number) => {
      const [r] = await q<{ id: string }>(
        `insert into credit_ledger (user_id, subject_ref, kind, amount, balance_after, reason, reference, created_at)
         values ($1, $2, 'purchase', 100, 100, 'test', $3, $4) returning id::text`,
        [userId, userId ? null : 'subj_x', reference, iso(at)],
      );
      return r!.id;
    };
    const keptSub = await subscription(tenYears(30));
    const oldSub = await subscription(tenYears(1));
    const oldOrder = await order(null, tenYears(1));
    const youngOrder = await order(null, tenYears(-1), keptSub);
    const liveOrder = await order(live, tenYears(400));
    const oldOrderLedger = await ledger(null, `order:${oldOrder}`, tenYears(1));
    const youngOrderLedger = await ledger(null, `order:${youngOrder}`, tenYears(20));
    const strayLedger = await ledger(null, null, tenYears(1));
    const liveLedger = await ledger(live, `order:${liveOrder}`, tenYears(400));

    const result = await run();
    expect(await left('orders', [oldOrder, youngOrder, liveOrder])).toEqual([youngOrder, liveOrder].sort());
    // the kept order still names its subscription, so it stays; one no order names goes
    expect(await left('subscriptions', [keptSub, oldSub])).toEqual([keptSub]);
    expect(await left('credit_ledger', [oldOrderLedger, youngOrderLedger, strayLedger, liveLedger])).toEqual([youngOrderLedger, liveLedger].sort());
    expect(result.results['deleted-account-orders']!.removed).toBeGreaterThanOrEqual(1);
    expect(result.results['deleted-account-ledger']!.removed).toBeGreaterThanOrEqual(2);
  });
});

describe('the run', () => {
  it('logs each run in retention_runs and the logger, is idempotent, and forgets its own old runs', async () => {
    const T = clock.nowMs();
    const oldRun = randomUUID();
    await q(`insert into retention_runs (id, started_at, finished_at, results) values ($1, $2, $2, '{}'::jsonb)`, [oldRun, iso(T - 1096 * DAY)]);
    const a = await user('runlog');
    await q(`insert into api_request_log (user_id, method, endpoint, status, created_at) values ($1, 'GET', '/v1/videos', 200, $2)`, [a, iso(T - 100 * DAY)]);
    logLines.length = 0;

    const first = await run();
    expect(first.errors).toEqual({});
    expect(await left('retention_runs', [oldRun, first.id])).toEqual([first.id]);
    const [row] = await q<{ started_at: Date; finished_at: Date; results: Record<string, { removed: number; keptByHold: number }>; error: string | null }>(
      `select started_at, finished_at, results, error from retention_runs where id = $1`,
      [first.id],
    );
    expect(new Date(row!.started_at).getTime()).toBe(T);
    expect(row!.error).toBeNull();
    expect(Object.keys(row!.results).sort()).toEqual(ownRetentionKinds.map((k) => k.id).sort());
    expect(row!.results['api-request-log']!.removed).toBeGreaterThanOrEqual(1);
    expect(row!.results['retention-runs']!.removed).toBeGreaterThanOrEqual(1);
    const logged = logLines.map((l) => JSON.parse(l) as { msg: string; runId?: string; results?: Record<string, { removed: number }> });
    const finished = logged.find((l) => l.msg === 'retention: run finished' && l.runId === first.id);
    expect(finished?.results?.['api-request-log']?.removed).toBe(row!.results['api-request-log']!.removed);

    // nothing is past its period any more: a second run removes nothing
    const second = await run();
    expect(Object.values(second.results).every((r) => r.removed === 0)).toBe(true);
  });

  it('deletes in bounded batches, each its own transaction, until nothing past the period is left', async () => {
    const T = clock.nowMs();
    const a = await user('batches');
    for (let i = 0; i < 7; i++) {
      await q(`insert into api_request_log (user_id, method, endpoint, status, created_at) values ($1, 'GET', '/v1/videos', 200, $2)`, [
        a,
        iso(T - (100 + i) * DAY),
      ]);
    }
    const c = ctx();
    const small = createRetentionService({
      database: c.database,
      store: c.store,
      config: c.config,
      clock,
      logger: c.logger,
      expireExports: (now) => c.services.exports.expire(now),
      batchSize: 2,
    });
    const r = await small.run();
    expect(r.results['api-request-log']!.removed).toBe(7);
    expect(await q(`select 1 from api_request_log where user_id = $1`, [a])).toEqual([]);
  });

  it('a kind that fails is recorded and retried, and the other kinds still run', async () => {
    const T = clock.nowMs();
    const a = await user('failing');
    await q(`insert into api_request_log (user_id, method, endpoint, status, created_at) values ($1, 'GET', '/v1/videos', 200, $2)`, [a, iso(T - 100 * DAY)]);
    // the outbox folder cannot be read (a file stands where it should be)
    const dir = path.join(app.config.dataDir, 'outbox');
    fs.mkdirSync(dir, { recursive: true });
    const aside = `${dir}.aside`;
    fs.renameSync(dir, aside);
    fs.writeFileSync(dir, 'not a folder');
    try {
      await expect(run()).rejects.toThrow(/mail-outbox/);
    } finally {
      fs.rmSync(dir);
      fs.renameSync(aside, dir);
    }
    expect(await q(`select 1 from api_request_log where user_id = $1`, [a])).toEqual([]);
    const [last] = await q<{ error: string | null; results: Record<string, unknown> }>(`select error, results from retention_runs where error is not null`);
    expect(last!.error).toMatch(/^mail-outbox: /);
    expect(last!.results).toHaveProperty('api-request-log');
    expect(last!.results).not.toHaveProperty('mail-outbox');
  });
});

describe('retention:report and the holds commands', () => {
  it('retention:report prints every kind with its period and action, what is due now and what holds keep', async () => {
    const T = clock.nowMs();
    const a = await user('report');
    const held = await user('report-held');
    for (const u of [a, a, held]) {
      await q(`insert into api_request_log (user_id, method, endpoint, status, created_at) values ($1, 'GET', '/v1/videos', 200, $2)`, [u, iso(T - 95 * DAY)]);
    }
    const cmd = { database: ctx().database, services: ctx().services };
    // through the CLI: the hold on the account, by email
    const email = (await q<{ email: string }>(`select email from users where id = $1`, [held]))[0]!.email;
    const placed = await runCommand(cmd, 'hold:add', ['--email', email, '--reason', 'litigation hold', '--expires', iso(T + 90 * DAY)]);
    expect(placed).toMatch(/^Placed: Hold [0-9a-f-]{36} on user /);

    const report = JSON.parse(await runCommand(cmd, 'retention:report', ['--json'])) as RetentionReport;
    expect(report.rows.map((r) => r.kind)).toEqual([...retentionKindIds]);
    const api = report.rows.find((r) => r.kind === 'api-request-log')!;
    expect(api).toMatchObject({ periodText: '90 days (API_LOG_RETENTION_DAYS)', action: 'delete', appliedBy: 'privacy.retention', due: 2, held: 1 });
    expect(report.rows.find((r) => r.kind === 'sessions')).toMatchObject({ appliedBy: 'maintenance.cleanup' });
    expect(report.rows.find((r) => r.kind === 'deleted-creations')).toMatchObject({ appliedBy: 'media.purge', periodText: '30 days (MEDIA_PURGE_DAYS)' });
    expect(report.rows.find((r) => r.kind === 'job-queue-history')).toMatchObject({ due: null });

    const text = await runCommand(cmd, 'retention:report', []);
    expect(text).toMatch(/^Retention schedule at /);
    expect(text).toMatch(/KIND\s+KEPT FOR\s+THEN\s+BY JOB\s+DUE NOW\s+HELD/);
    expect(text).toMatch(/api-request-log\s+90 days \(API_LOG_RETENTION_DAYS\)\s+deleted\s+privacy\.retention\s+2\s+1/);
    expect(text).toMatch(/deleted-account-orders\s+10 years \(ORDER_RETENTION_YEARS\)/);
    expect(text).toMatch(/Last run: /);

    // hold:list shows it; hold:release ends it; the next run removes what it kept
    const list = await runCommand(cmd, 'hold:list', ['--email', email]);
    expect(list).toMatch(/active\s+user\s+[0-9a-f-]{36}.*litigation hold/);
    const holdId = /^([0-9a-f-]{36})\s+active/m.exec(list)![1]!;
    await run();
    expect(await q(`select 1 from api_request_log where user_id = $1`, [held])).toHaveLength(1);
    expect(await runCommand(cmd, 'hold:release', ['--id', holdId, '--reason', 'case settled'])).toMatch(/^Released: Hold .*released .*case settled/);
    expect(await runCommand(cmd, 'hold:list', ['--email', email])).toBe('No active legal holds.');
    expect(await runCommand(cmd, 'hold:list', ['--email', email, '--inactive'])).toMatch(/released\s+user/);
    await run();
    expect(await q(`select 1 from api_request_log where user_id = any($1::text[])`, [[a, held]])).toEqual([]);
  });

  it('the holds commands refuse bad input with clear messages', async () => {
    const cmd = { database: ctx().database, services: ctx().services };
    await expect(runCommand(cmd, 'hold:add', ['--kind', 'user', '--id', 'x'])).rejects.toThrow(/--reason is required/);
    await expect(runCommand(cmd, 'hold:add', ['--kind', 'planet', '--id', 'x', '--reason', 'r'])).rejects.toThrow(
      /--kind must be one of user, generation, media, case/,
    );
    await expect(runCommand(cmd, 'hold:add', ['--kind', 'user', '--id', randomUUID(), '--reason', 'r'])).rejects.toMatchObject({ status: 404 });
    await expect(runCommand(cmd, 'hold:add', ['--email', 'nobody@example.com', '--reason', 'r'])).rejects.toThrow(/No user with the email/);
    const u = await user('cli-bad');
    await expect(runCommand(cmd, 'hold:add', ['--kind', 'user', '--id', u, '--reason', 'r', '--expires', 'soon'])).rejects.toThrow(/--expires must be a date/);
    await expect(runCommand(cmd, 'hold:add', ['--kind', 'user', '--id', u, '--reason', 'r', '--expires', '2001-01-01'])).rejects.toThrow(/future/);
    await expect(runCommand(cmd, 'hold:release', ['--id', randomUUID(), '--reason', 'r'])).rejects.toMatchObject({ status: 404 });
    await expect(runCommand(cmd, 'hold:release', ['--id', randomUUID()])).rejects.toThrow(/--reason is required/);
    await expect(runCommand(cmd, 'hold:list', ['--all', '--inactive'])).rejects.toThrow(/not both/);
    await expect(runCommand(cmd, 'hold:list', ['--bogus'])).rejects.toThrow(/Unknown option/);
  });
});
