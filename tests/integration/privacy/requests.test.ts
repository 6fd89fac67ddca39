import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/server/adapters/clock';
import type { UserRole } from '../../../src/server/db/schema';
import type { ConfirmChildResult, PrivacyRequestDetail, PrivacyRequestList, PrivacyRequestReceipt } from '../../../src/shared/api';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { mailTo, startAccountsApp, type AccountsApp } from '../accounts/setup';

/**
 * Privacy requests (issue 17; privacy policy 5, 6, 12): the public form answers with a reference
 * and a due date and mails a receipt and a notice; operators list them soonest due first with the
 * overdue ones marked, close them, and confirm child reports (which deletes the account).
 */

const SUPPORT = 'privacy-desk@savesora.test';
const DAY = 86_400_000;
let a: AccountsApp;
let clock: FakeClock;
let ip = 0;

beforeAll(async () => {
  clock = new FakeClock();
  a = await startAccountsApp({ SUPPORT_EMAIL: SUPPORT, PRIVACY_REQUEST_DUE_DAYS: '2', PRIVACY_REQUESTS_PER_HOUR: '4', SIGNUP_FREE_CREDITS: '0' }, { clock });
});
afterAll(() => closeAll(a));

const anonymous = () => new TestClient(a.app.url, { ip: `192.0.2.${(ip++ % 250) + 1}` });
let n = 0;
async function member(role: UserRole = 'user', language = 'en'): Promise<TestClient & { userId: string; email: string }> {
  const email = `requests-${role}-${n++}@example.com`;
  const password = 'a fine password 1';
  const u = await a.app.platform.ctx.services.users.create({ email, password, name: `${role} person`, role });
  if (language !== 'en') await a.app.db.sql.query(`update users set language = $2 where id = $1`, [u.id, language]);
  const c = anonymous();
  const res = await c.post('/api/auth/sign-in/email', { email, password });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId: u.id, email });
}
const send = (c: TestClient, body: Record<string, unknown>) => c.post('/api/privacy-requests', body);
/** Confirming a child report deletes an account: the admin re-enters the password first (the clock here has moved past the sign-in). */
async function reauthed<C extends TestClient>(c: C): Promise<C> {
  expect((await c.post('/api/admin/reauth', { password: 'a fine password 1' })).status).toBe(200);
  return c;
}

describe('the public form', () => {
  it('anyone sends a request: a reference, the due date, a receipt in their language without their words, and a notice to SUPPORT_EMAIL', async () => {
    const before = clock.nowMs();
    const res = await send(anonymous(), {
      kind: 'export',
      email: 'Visitor@Example.com',
      name: 'Vera Visitor',
      message: 'Please send me a copy of everything. http://spam.example/buy-now',
      language: 'es',
    });
    expect(res.status, res.body).toBe(201);
    const receipt = res.json<PrivacyRequestReceipt>();
    expect(receipt.reference).toMatch(/^PR-[0-9A-HJKMNP-TV-Z]{10}$/);
    expect(receipt).toMatchObject({ kind: 'export', supportEmail: SUPPORT });
    expect(new Date(receipt.createdAt).getTime()).toBe(before);
    expect(new Date(receipt.dueAt).getTime()).toBe(before + 2 * DAY);

    const mail = await mailTo(a.smtp, 'Visitor@Example.com', /solicitud de privacidad/i);
    expect(mail.subject).toBe('Save Sora recibió tu solicitud de privacidad');
    expect(mail.text).toMatch(/^Hola:\r?\n/);
    expect(mail.text).not.toContain('Vera Visitor');
    expect(mail.text).toContain(receipt.reference);
    expect(mail.text).toContain('Una copia de tus datos para llevarlos a otro sitio');
    expect(mail.text).toContain(SUPPORT);
    expect(mail.text).not.toContain('spam.example');
    const notice = await mailTo(a.smtp, SUPPORT, /new privacy request/i);
    expect(notice.text).toContain(receipt.reference);
    expect(notice.text).toContain('Visitor@Example.com');
    expect(notice.text).toContain('Please send me a copy of everything.');
    expect(notice.text).toContain(`${a.app.url}/operator/privacy-requests/${receipt.reference}`);

    const [row] = await a.app.db.sql.query<{ user_id: string | null; status: string; language: string }>(
      `select user_id, status, language from privacy_requests where id = $1`,
      [receipt.reference],
    );
    expect(row).toEqual({ user_id: null, status: 'open', language: 'es' });
  });

  it('a signed-in sender is linked to their account, and answered in its language', async () => {
    const u = await member('user', 'es');
    const res = await send(u, { kind: 'deletion', email: u.email, message: 'Borrad mi cuenta, por favor.' });
    expect(res.status, res.body).toBe(201);
    const { reference } = res.json<PrivacyRequestReceipt>();
    const [row] = await a.app.db.sql.query(`select user_id, subject_user_id, language from privacy_requests where id = $1`, [reference]);
    expect(row).toEqual({ user_id: u.userId, subject_user_id: u.userId, language: 'es' });
    await mailTo(a.smtp, u.email, /Save Sora recibió/);
  });

  it('refuses bad input with a clear 400 in our error shape', async () => {
    const c = anonymous();
    const ok = { kind: 'access', email: 'someone@example.com', message: 'What do you hold about me?' };
    const expect400 = async (body: unknown, field: string) => {
      const res = await c.post('/api/privacy-requests', body);
      expect(res.status, res.body).toBe(400);
      const err = res.json<{ error: { code: string; message: string; fields?: { field: string }[] } }>().error;
      expect(err.code).toBe('invalid_request');
      expect(err.fields?.map((f) => f.field)).toContain(field);
    };
    await expect400({ ...ok, message: '' }, 'message');
    await expect400({ ...ok, message: 'nul \u0000 byte' }, 'message');
    await expect400({ ...ok, message: 'x'.repeat(5001) }, 'message');
    await expect400({ ...ok, email: 'not an address' }, 'email');
    await expect400({ ...ok, kind: 'everything' }, 'kind');
    await expect400({ ...ok, name: 'a\u0007b' }, 'name');
    await expect400({ ...ok, kind: 'child' }, 'subjectEmail');
    await expect400({ ...ok, kind: 'child', subjectEmail: 'nope' }, 'subjectEmail');
    const huge = await c.request('POST', '/api/privacy-requests', JSON.stringify({ ...ok, message: 'x'.repeat(2 * 1024 * 1024) }), {
      'content-type': 'application/json',
    });
    expect(huge.status).toBe(413);
    expect(huge.json<{ error: { code: string } }>().error.code).toEqual(expect.any(String));
    // nothing of these was stored
    expect(await a.app.db.sql.query(`select 1 from privacy_requests where email = 'someone@example.com'`)).toEqual([]);
  });

  it('is limited per IP address and per address given, with Retry-After', async () => {
    const c = anonymous();
    const body = (i: number) => ({ kind: 'other', email: `limit-${i}@example.com`, message: 'A question.' });
    for (let i = 0; i < 4; i++) expect((await send(c, body(i))).status).toBe(201);
    const refused = await send(c, body(99));
    expect(refused.status).toBe(429);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // one address from many places: limited too (nobody mail-bombs an address through the form)
    for (let i = 0; i < 4; i++) expect((await send(anonymous(), body(500))).status).toBe(201);
    expect((await send(anonymous(), body(500))).status).toBe(429);
  });
});

describe("the operators' queue", () => {
  it('is for support and admins only, on the server', async () => {
    const user = await member('user');
    const moderator = await member('moderator');
    expect((await anonymous().get('/api/admin/privacy-requests')).status).toBe(404);
    expect((await user.get('/api/admin/privacy-requests')).status).toBe(404);
    expect((await moderator.get('/api/admin/privacy-requests')).status).toBe(403);
    const support = await member('support');
    expect((await support.get('/api/admin/privacy-requests')).status).toBe(200);
    const { reference } = (await send(anonymous(), { kind: 'access', email: 'who@example.com', message: 'hello' })).json<PrivacyRequestReceipt>();
    for (const c of [anonymous(), user, moderator]) {
      expect((await c.get(`/api/admin/privacy-requests/${reference}`)).status).toBeGreaterThanOrEqual(401);
      expect((await c.patch(`/api/admin/privacy-requests/${reference}`, { status: 'in_progress' })).status).toBeGreaterThanOrEqual(401);
    }
    expect((await support.post(`/api/admin/privacy-requests/${reference}/confirm-child`, { reason: 'x' })).status).toBe(403);
  });

  it('lists soonest due first with the overdue ones marked, filters and pages; closes a request with what was done', async () => {
    const support = await member('support');
    const first = (await send(anonymous(), { kind: 'correction', email: 'first@example.com', message: 'fix my name' })).json<PrivacyRequestReceipt>();
    await clock.set(clock.nowMs() + DAY);
    const second = (await send(anonymous(), { kind: 'objection', email: 'second@example.com', message: 'no analytics' })).json<PrivacyRequestReceipt>();
    // the first is past its two days, the second is not
    await clock.set(clock.nowMs() + DAY + 60_000);

    const list = (await support.get('/api/admin/privacy-requests?status=open&limit=100')).json<PrivacyRequestList>();
    const ours = list.items.filter((r) => [first.reference, second.reference].includes(r.id));
    expect(ours.map((r) => [r.id, r.overdue])).toEqual([
      [first.reference, true],
      [second.reference, false],
    ]);
    const dues = list.items.map((r) => r.dueAt);
    expect([...dues].sort()).toEqual(dues);
    expect(list.counts.overdue).toBeGreaterThanOrEqual(1);
    expect(list.counts.open).toBeGreaterThanOrEqual(list.counts.overdue + 1);
    const overdue = (await support.get('/api/admin/privacy-requests?overdue=true&limit=100')).json<PrivacyRequestList>();
    expect(overdue.items.every((r) => r.overdue)).toBe(true);
    expect(overdue.items.map((r) => r.id)).toContain(first.reference);
    expect(overdue.items.map((r) => r.id)).not.toContain(second.reference);
    const byKind = (await support.get('/api/admin/privacy-requests?kind=objection&limit=100')).json<PrivacyRequestList>();
    expect(byKind.items.map((r) => r.kind)).toEqual(byKind.items.map(() => 'objection'));

    // pages of one, following the cursor, visit every open request once
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: PrivacyRequestList = (
        await support.get(`/api/admin/privacy-requests?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      ).json<PrivacyRequestList>();
      seen.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(list.items.map((r) => r.id));
    expect((await support.get('/api/admin/privacy-requests?cursor=garbage')).status).toBe(400);

    // detail: the account it is about, matched by address only (not proven)
    const owner = await member('user');
    const mine = (await send(anonymous(), { kind: 'access', email: owner.email, message: 'what do you hold?' })).json<PrivacyRequestReceipt>();
    const detail = (await support.get(`/api/admin/privacy-requests/${mine.reference}`)).json<PrivacyRequestDetail>();
    expect(detail.account).toMatchObject({ id: owner.userId, email: owner.email, match: 'email' });
    expect((await support.get('/api/admin/privacy-requests/PR-0000000000')).status).toBe(404);
    expect((await support.get('/api/admin/privacy-requests/..%2F..%2Fetc')).status).toBe(404);

    // moving on and closing
    const started = await support.patch(`/api/admin/privacy-requests/${first.reference}`, { status: 'in_progress' });
    expect(started.json<PrivacyRequestDetail>()).toMatchObject({ status: 'in_progress', closedAt: null });
    const noWhy = await support.patch(`/api/admin/privacy-requests/${first.reference}`, { status: 'done' });
    expect(noWhy.status).toBe(400);
    expect(noWhy.json<{ error: { fields: { field: string }[] } }>().error.fields[0]!.field).toBe('resolution');
    expect((await support.patch(`/api/admin/privacy-requests/${first.reference}`, {})).status).toBe(400);
    const done = await support.patch(`/api/admin/privacy-requests/${first.reference}`, { status: 'done', resolution: 'Name corrected; told them by mail.' });
    expect(done.status, done.body).toBe(200);
    expect(done.json<PrivacyRequestDetail>()).toMatchObject({
      status: 'done',
      overdue: false,
      resolution: 'Name corrected; told them by mail.',
      closedBy: support.userId,
      closedAt: clock.now().toISOString(),
    });
    const again = await support.patch(`/api/admin/privacy-requests/${first.reference}`, { status: 'in_progress' });
    expect(again.status).toBe(409);
    expect(again.json<{ error: { code: string } }>().error.code).toBe('request_closed');
    const closedList = (await support.get('/api/admin/privacy-requests?status=closed&limit=100')).json<PrivacyRequestList>();
    expect(closedList.items.map((r) => r.id)).toContain(first.reference);
  });

  it('two operators closing the same request at once: one wins, the other is told it is closed', async () => {
    const [s1, s2] = [await member('support'), await member('support')];
    const { reference } = (await send(anonymous(), { kind: 'other', email: 'race@example.com', message: 'race' })).json<PrivacyRequestReceipt>();
    const answers = await Promise.all(
      [s1, s2].map((s, i) => s.patch(`/api/admin/privacy-requests/${reference}`, { status: 'rejected', resolution: `answer ${i}` })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const [row] = await a.app.db.sql.query<{ resolution: string; closed_by: string }>(`select resolution, closed_by from privacy_requests where id = $1`, [
      reference,
    ]);
    const winner = answers.findIndex((r) => r.status === 200);
    expect(row).toEqual({ resolution: `answer ${winner}`, closed_by: [s1, s2][winner]!.userId });
  });
});

describe('child reports', () => {
  it('an admin confirms one: the account it names is deleted, the report closed; once only', async () => {
    const admin = await reauthed(await member('admin'));
    const child = await member('user');
    const reporter = anonymous();
    const res = await send(reporter, {
      kind: 'child',
      email: 'parent@example.com',
      name: 'A Parent',
      subjectEmail: child.email.toUpperCase(),
      message: 'This is my 12-year-old’s account.',
    });
    expect(res.status, res.body).toBe(201);
    const { reference } = res.json<PrivacyRequestReceipt>();
    const before = (await admin.get(`/api/admin/privacy-requests/${reference}`)).json<PrivacyRequestDetail>();
    expect(before).toMatchObject({ kind: 'child', subjectEmail: child.email.toUpperCase(), account: { id: child.userId, match: 'email' } });

    const noReason = await admin.post(`/api/admin/privacy-requests/${reference}/confirm-child`, { reason: '   ' });
    expect(noReason.status).toBe(400);
    const confirmed = await admin.post(`/api/admin/privacy-requests/${reference}/confirm-child`, { reason: 'Parent confirmed the age by mail.' });
    expect(confirmed.status, confirmed.body).toBe(200);
    const result = confirmed.json<ConfirmChildResult>();
    expect(result.deletion).toEqual({ userId: child.userId, outcome: 'deleted' });
    expect(result.request).toMatchObject({ status: 'done', resolution: 'Parent confirmed the age by mail.', closedBy: admin.userId, account: null });
    expect(await a.app.db.sql.query(`select 1 from users where id = $1`, [child.userId])).toEqual([]);
    expect((await child.get('/api/me')).status).toBe(401);
    const [deletion] = await a.app.db.sql.query<{ origin: string; actor_id: string; status: string }>(
      `select origin, actor_id, status from account_deletions where actor_id = $1 and reason = $2`,
      [admin.userId, 'Parent confirmed the age by mail.'],
    );
    expect(deletion).toEqual({ origin: 'child-report', actor_id: admin.userId, status: 'completed' });

    const twice = await admin.post(`/api/admin/privacy-requests/${reference}/confirm-child`, { reason: 'again' });
    expect(twice.status).toBe(409);
    expect(twice.json<{ error: { code: string } }>().error.code).toBe('request_closed');
  });

  it('refuses what is not a child report, a report naming no account, and the admin’s own account', async () => {
    const admin = await reauthed(await member('admin'));
    const other = (await send(anonymous(), { kind: 'deletion', email: 'x@example.com', message: 'delete me' })).json<PrivacyRequestReceipt>();
    const notChild = await admin.post(`/api/admin/privacy-requests/${other.reference}/confirm-child`, { reason: 'r' });
    expect(notChild.status).toBe(409);
    expect(notChild.json<{ error: { code: string } }>().error.code).toBe('not_a_child_report');
    const nobody = (
      await send(anonymous(), { kind: 'child', email: 'p@example.com', subjectEmail: 'no-such-account@example.com', message: 'a child' })
    ).json<PrivacyRequestReceipt>();
    const missing = await admin.post(`/api/admin/privacy-requests/${nobody.reference}/confirm-child`, { reason: 'r' });
    expect(missing.status).toBe(404);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('subject_not_found');
    const self = (
      await send(anonymous(), { kind: 'child', email: 'p@example.com', subjectEmail: admin.email, message: 'the admin is a child' })
    ).json<PrivacyRequestReceipt>();
    expect((await admin.post(`/api/admin/privacy-requests/${self.reference}/confirm-child`, { reason: 'r' })).status).toBe(403);
    expect(await a.app.db.sql.query(`select 1 from users where id = $1`, [admin.userId])).toHaveLength(1);
    expect((await admin.post(`/api/admin/privacy-requests/PR-0000000000/confirm-child`, { reason: 'r' })).status).toBe(404);
  });

  it('two admins confirming at once delete the account once; the second is told the report is closed', async () => {
    const [a1, a2] = [await reauthed(await member('admin')), await reauthed(await member('admin'))];
    const child = await member('user');
    const { reference } = (
      await send(anonymous(), { kind: 'child', email: 'p2@example.com', subjectEmail: child.email, message: 'a child' })
    ).json<PrivacyRequestReceipt>();
    const answers = await Promise.all([a1, a2].map((x) => x.post(`/api/admin/privacy-requests/${reference}/confirm-child`, { reason: 'confirmed' })));
    expect(answers.map((r) => r.status).sort(), answers.map((r) => r.body).join('\n')).toEqual([200, 409]);
    expect(await a.app.db.sql.query(`select 1 from users where id = $1`, [child.userId])).toEqual([]);
    const [row] = await a.app.db.sql.query<{ status: string }>(`select status from privacy_requests where id = $1`, [reference]);
    expect(row!.status).toBe('done');
  });
});
