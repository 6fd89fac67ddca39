import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountDeletionStatusView, AdminDeleteUserResult, CheckoutResponse, CreatedApiKey, MediaView, OrderView } from '../../../src/shared/api';
import { FakeClock } from '../../../src/server/adapters/clock';
import { ObjectNotFound } from '../../../src/server/adapters/storage';
import { runCommand } from '../../../src/server/cli/commands';
import { accountDelete, mediaDeleteObjects } from '../../../src/server/jobs/names';
import { startFakeOidc, type FakeOidc } from '../../fakes/oidc';
import { startFakeSmtp, type FakeSmtp } from '../../fakes/smtp';
import { startFakeStripe, type FakeStripe } from '../../fakes/stripe';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { seedGeneration } from '../../helpers/seed';
import { jobsDone, until } from '../../helpers/wait';
import { linkIn } from './setup';
import { payOnFakePage } from '../billing/setup';

/**
 * Deleting an account (privacy policy 5 and 6): the user's own request with re-authentication and a
 * grace period in which signing in and confirming cancels it; operators' deletions now or after the
 * grace period; subscriptions canceled with the payment provider before anything goes; legal holds.
 * The app tells time by a clock the tests move (the grace period ends when its day has come on it).
 */
const clock = new FakeClock();
let app: TestApp;
let smtp: FakeSmtp;
let stripe: FakeStripe;
let oidc: FakeOidc;
let admin: User;
let n = 0;
const PASSWORD = 'a fine password 1';

beforeAll(async () => {
  [smtp, stripe, oidc] = await Promise.all([
    startFakeSmtp(),
    startFakeStripe(),
    startFakeOidc({ clientId: 'savesora-test-client', clientSecret: 'savesora-test-secret' }),
  ]);
  app = await startTestApp({
    clock,
    env: {
      SMTP_URL: smtp.url,
      TRUST_PROXY: 'true',
      MAIL_FROM: 'Save Sora <no-reply@savesora.test>',
      SIGNUP_FREE_CREDITS: '0',
      GOOGLE_CLIENT_ID: 'savesora-test-client',
      GOOGLE_CLIENT_SECRET: 'savesora-test-secret',
      GOOGLE_DISCOVERY_URL: oidc.discoveryUrl,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
    },
  });
  stripe.setWebhookUrl(`${app.url}/webhooks/stripe`);
  admin = await user('deleter-admin');
  await app.platform.ctx.services.users.setRole(admin.email, 'admin');
});
afterAll(async () => {
  await (stripe as FakeStripe | undefined)?.settled().catch(() => {});
  await closeAll(app, smtp, stripe, oidc);
});

const services = () => app.platform.ctx.services;
const client = () => new TestClient(app.url, { ip: `198.51.100.${(n++ % 250) + 1}` });

/** A verified user with a password, signed in. */
async function user(name: string, credits = 0) {
  const email = `${name}-${++n}@example.com`;
  const u = await services().users.create({ email, password: PASSWORD, name: `Person ${name}`, credits });
  const c = client();
  expect((await c.post('/api/auth/sign-in/email', { email, password: PASSWORD })).status).toBe(200);
  return Object.assign(c, { userId: u.id, email });
}
type User = Awaited<ReturnType<typeof user>>;

async function signIn(email: string) {
  const c = client();
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  expect(res.status, res.body).toBe(200);
  return c;
}

const rows = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => app.db.sql.query<T>(sql, params);
const count = async (sql: string, params: unknown[]) => (await rows(sql, params)).length;
const exists = (key: string) =>
  app.platform.ctx.store.head(key).then(
    () => true,
    (err: unknown) => {
      if (err instanceof ObjectNotFound) return false;
      throw err;
    },
  );
const mailsTo = (email: string, subject: RegExp) => smtp.messages.filter((m) => m.to.includes(email) && subject.test(m.subject));

/** A finished creation (row and files in the store) and an uploaded reference. */
async function withData(c: User) {
  const id = randomUUID();
  const video = `generations/${c.userId}/${id}/video.mp4`;
  const poster = `generations/${c.userId}/${id}/poster.jpg`;
  await app.platform.ctx.store.put(video, Buffer.from('not really a video'), { contentType: 'video/mp4' });
  await app.platform.ctx.store.put(poster, Buffer.from('not really a poster'), { contentType: 'image/jpeg' });
  await seedGeneration(app.db, c.userId, { id });
  await rows(`update generations set status = 'succeeded', output_url = $2, output_thumbnail_url = $3 where id = $1`, [
    id,
    `store:${video}`,
    `store:${poster}`,
  ]);
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  const ref = (await c.upload('/api/uploads', { data: png, name: 'r.png', type: 'image/png' })).json<MediaView>();
  const [m] = await rows<{ storage_key: string }>('select storage_key from media where id = $1', [ref.id]);
  return { generationId: id, mediaId: ref.id, keys: [video, poster, m!.storage_key] };
}

const status = async (c: TestClient) => {
  const res = await c.get('/api/me/deletion');
  expect(res.status, res.body).toBe(200);
  return res.json<AccountDeletionStatusView>();
};

describe('asking to delete one’s own account', () => {
  it('needs a session; bad bodies are clear 4xx; nothing to cancel is 404', async () => {
    const anon = client();
    for (const [method, body] of [
      ['GET', undefined],
      ['POST', { password: 'x' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await anon.request(method, '/api/me/deletion', body);
      expect(res.status, `${method} ${res.body}`).toBe(401);
      expect(res.json().error.code).toBe('unauthenticated');
    }
    const c = await user('bad-input');
    for (const body of [{ password: 42 }, { password: '' }, { password: 'x'.repeat(5000) }, { password: ['a'] }]) {
      const res = await c.post('/api/me/deletion', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }
    // a NUL byte is a wrong password, not a crash
    expect((await c.post('/api/me/deletion', { password: 'a\u0000b' })).json().error.code).toBe('invalid_password');
    const none = await c.delete('/api/me/deletion');
    expect(none.status).toBe(404);
    expect(none.json().error.code).toBe('not_found');
    expect(await count('select 1 from account_deletions where user_id = $1', [c.userId])).toBe(0);
  });

  it('a password account confirms with its password: scheduled for the end of the grace period, mailed, signed out everywhere', async () => {
    const c = await user('self');
    const second = await signIn(c.email);
    expect(await status(c)).toEqual({ scheduled: null, graceDays: 14, orderRetentionYears: 10, reauth: { password: true, google: false } });

    const missing = await c.post('/api/me/deletion', {});
    expect(missing.status).toBe(403);
    expect(missing.json().error.code).toBe('reauth_required');
    const wrong = await c.post('/api/me/deletion', { password: 'not the password' });
    expect(wrong.status).toBe(400);
    expect(wrong.json().error.code).toBe('invalid_password');
    expect(await count('select 1 from account_deletions where user_id = $1', [c.userId])).toBe(0);

    const res = await c.post('/api/me/deletion', { password: PASSWORD });
    expect(res.status, res.body).toBe(202);
    const view = res.json<AccountDeletionStatusView>();
    const dueAt = new Date(clock.nowMs() + 14 * 86_400_000).toISOString();
    expect(view.scheduled).toMatchObject({ requestedAt: clock.now().toISOString(), dueAt, status: 'scheduled', cancelable: true });
    const [row] = await rows<{ status: string; origin: string; subject_ref: string }>(
      'select status, origin, subject_ref from account_deletions where user_id = $1',
      [c.userId],
    );
    expect(row).toMatchObject({ status: 'scheduled', origin: 'self', subject_ref: expect.stringMatching(/^subj_[0-9a-f]{24}$/) });
    expect(row!.subject_ref).not.toContain(c.userId);

    // the mail: when, what goes, what stays, how to cancel
    const mail = await smtp.waitFor((m) => m.to.includes(c.email) && /will be deleted/.test(m.subject));
    expect(mail.subject).toBe('Your Save Sora account will be deleted');
    const day = new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(dueAt));
    expect(mail.text).toContain(`It will be deleted on ${day}`);
    expect(mail.text).toMatch(/What is deleted: your profile and photo/);
    expect(mail.text).toMatch(/What we keep, without your name or email address: your orders and receipts for 10 years/);
    expect(mail.text).toContain('Cancel deletion');
    expect(linkIn(mail.text, app.url)).toBe(`${app.url}/account`);

    // signed out on every device; signing in again works, and shows the deletion
    expect((await c.get('/api/me')).status).toBe(401);
    expect((await second.get('/api/me')).status).toBe(401);
    const back = await signIn(c.email);
    expect((await status(back)).scheduled).toEqual(view.scheduled);

    // asking again changes nothing and mails nothing more
    const again = await back.post('/api/me/deletion', { password: PASSWORD });
    expect(again.status).toBe(202);
    expect(again.json<AccountDeletionStatusView>().scheduled?.id).toBe(view.scheduled!.id);
    expect(await count('select 1 from account_deletions where user_id = $1', [c.userId])).toBe(1);
    expect(mailsTo(c.email, /will be deleted/)).toHaveLength(1);
    // not due yet: the sweep leaves it
    expect(await services().accountDeletion.run(view.scheduled!.id)).toBeNull();
    expect(await count('select 1 from users where id = $1', [c.userId])).toBe(1);
  });

  it('while scheduled no new video starts (web and API); signing in and confirming cancels it, in Spanish for a Spanish account', async () => {
    const c = await user('cancel');
    expect((await c.patch('/api/me', { language: 'es' })).status).toBe(200);
    const key = (await c.post('/api/keys', { name: 'ci' })).json<CreatedApiKey>();
    expect((await c.post('/api/me/deletion', { password: PASSWORD })).status).toBe(202);
    expect((await smtp.waitFor((m) => m.to.includes(c.email) && /eliminar/.test(m.subject))).subject).toBe('Tu cuenta de Save Sora se va a eliminar');

    const back = await signIn(c.email);
    const web = await back.post('/api/generations', { model: 'local-preview', prompt: 'a boat', duration: 2, resolution: '480p' });
    expect(web.status).toBe(409);
    expect(web.json().error.code).toBe('account_deletion_scheduled');
    const api = await fetch(`${app.url}/v1/videos`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local-preview', prompt: 'a boat', seconds: '4' }),
    });
    expect(api.status).toBe(409);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('account_deletion_scheduled');
    expect(await count('select 1 from generations where user_id = $1', [c.userId])).toBe(0);

    const canceled = await back.delete('/api/me/deletion');
    expect(canceled.status, canceled.body).toBe(200);
    expect(canceled.json<AccountDeletionStatusView>().scheduled).toBeNull();
    const [row] = await rows<{ id: string; status: string; canceled_at: Date | null }>(
      'select id, status, canceled_at from account_deletions where user_id = $1',
      [c.userId],
    );
    expect(row).toMatchObject({ status: 'canceled', canceled_at: clock.now() });
    const mail = await smtp.waitFor((m) => m.to.includes(c.email) && /no se eliminará/.test(m.subject));
    expect(mail.text).toContain('se canceló la eliminación');
    expect((await back.delete('/api/me/deletion')).status).toBe(404);
    // past the deletion gate again (the balance is what stops this one)
    expect((await back.post('/api/generations', { model: 'local-preview', prompt: 'a boat', duration: 2, resolution: '480p' })).json().error.code).toBe(
      'insufficient_credits',
    );
    // a canceled deletion never runs
    await clock.set(clock.nowMs() + 15 * 86_400_000);
    expect(await services().accountDeletion.run(row!.id)).toBeNull();
    await clock.set(Date.now());
    expect(await count('select 1 from users where id = $1', [c.userId])).toBe(1);
  });

  it('limits password attempts, and concurrent requests make one deletion and one mail', async () => {
    const c = await user('guess');
    for (let i = 0; i < 5; i++) expect((await c.post('/api/me/deletion', { password: `guess ${i}` })).status).toBe(400);
    const limited = await c.post('/api/me/deletion', { password: PASSWORD });
    expect(limited.status).toBe(429);
    expect(limited.json().error.code).toBe('rate_limited');

    const d = await user('race');
    // the first one to commit signs the session out: the others find the same deletion, or no session any more
    const answers = await Promise.all(Array.from({ length: 4 }, () => d.post('/api/me/deletion', { password: PASSWORD })));
    const accepted = answers.filter((a) => a.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(answers.filter((a) => a.status !== 202).map((a) => a.status)).toEqual(Array(4 - accepted.length).fill(401));
    expect(new Set(accepted.map((a) => a.json<AccountDeletionStatusView>().scheduled?.id)).size).toBe(1);
    expect(await count('select 1 from account_deletions where user_id = $1', [d.userId])).toBe(1);
    await smtp.waitFor((m) => m.to.includes(d.email) && /will be deleted/.test(m.subject));
    expect(mailsTo(d.email, /will be deleted/)).toHaveLength(1);
  });

  it('an account without a password confirms with a Google sign-in of the last 10 minutes', async () => {
    oidc.setUser({
      sub: '555000555000555000555',
      email: 'googler@example.com',
      email_verified: true,
      name: 'Goo Gler',
      picture: 'https://lh3.googleusercontent.com/a/g.png',
    });
    const google = async (c: TestClient, intent: boolean) => {
      if (intent) expect((await c.post('/api/signup-intent', { region: 'US', ageConfirmed: true })).status).toBe(204);
      const start = await c.post('/api/auth/sign-in/social', { provider: 'google', callbackURL: '/account?confirmDeletion=1', errorCallbackURL: '/sign-in' });
      expect(start.status, start.body).toBe(200);
      const provider = await fetch(start.json<{ url: string }>().url, { redirect: 'manual' });
      const callback = new URL(provider.headers.get('location')!);
      const back = await c.get(callback.pathname + callback.search);
      expect(back.headers.get('location')).toContain('/account?confirmDeletion=1');
    };
    const c = client();
    await google(c, true);
    expect(await status(c)).toMatchObject({ scheduled: null, reauth: { password: false, google: true } });
    // the session began more than 10 minutes ago on the app's clock: sign in with Google again first
    await clock.set(Date.now() + 11 * 60_000);
    const stale = await c.post('/api/me/deletion', {});
    expect(stale.status).toBe(403);
    expect(stale.json().error).toMatchObject({ code: 'reauth_required', message: expect.stringContaining('Google') });
    await clock.set(Date.now());
    const fresh = client();
    await google(fresh, false);
    const res = await fresh.post('/api/me/deletion', {});
    expect(res.status, res.body).toBe(202);
    expect(res.json<AccountDeletionStatusView>().scheduled?.status).toBe('scheduled');
    await smtp.waitFor((m) => m.to.includes('googler@example.com') && /will be deleted/.test(m.subject));
  });

  it('when the grace period ends the due job deletes it, and the address can sign up again as a new person', async () => {
    const c = await user('grace', 5);
    const data = await withData(c);
    expect((await c.post('/api/me/deletion', { password: PASSWORD })).status).toBe(202);
    const [d] = await rows<{ id: string; subject_ref: string }>('select id, subject_ref from account_deletions where user_id = $1', [c.userId]);
    // not due: the sweep sends nothing for it
    await services().accountDeletion.enqueueDue();
    await jobsDone(app, [accountDelete.name]);
    expect(await count('select 1 from users where id = $1', [c.userId])).toBe(1);

    await clock.set(Date.now() + 14 * 86_400_000 + 60_000);
    expect(await services().accountDeletion.enqueueDue()).toBeGreaterThanOrEqual(1);
    // the same sweep slot again sends no second job for it
    await services().accountDeletion.enqueueDue();
    await jobsDone(app, [accountDelete.name, mediaDeleteObjects.name]);
    const [after] = await rows<{ status: string; user_id: string | null; removed: Record<string, number> }>(
      'select status, user_id, removed from account_deletions where id = $1',
      [d!.id],
    );
    expect(after).toMatchObject({ status: 'completed', user_id: null, removed: expect.objectContaining({ generations: 1, media: 1, profile: 1 }) });
    for (const table of [
      'users where id',
      'sessions where user_id',
      'accounts where user_id',
      'generations where user_id',
      'media where user_id',
      'credit_ledger where user_id',
    ]) {
      expect(await count(`select 1 from ${table} = $1`, [c.userId]), table).toBe(0);
    }
    for (const key of data.keys) expect(await exists(key), key).toBe(false);
    // the completed deletion is not due again
    expect(await services().accountDeletion.enqueueDue()).toBe(0);
    await clock.set(Date.now());

    // the same address signs up as a new person
    const again = client();
    const signup = await again.post('/api/auth/sign-up/email', {
      email: c.email,
      password: 'another fine pass 2',
      name: 'New Person',
      region: 'US',
      ageConfirmed: true,
    });
    expect(signup.status, signup.body).toBe(200);
    const verify = await smtp.waitFor((m) => m.to.includes(c.email) && /verif/i.test(m.subject));
    expect((await again.get(linkIn(verify.text, app.url).replace(app.url, ''))).status).toBe(302);
    const me = (await again.get('/api/me')).json<{ id: string; email: string; credits: number }>();
    expect(me).toMatchObject({ email: c.email, credits: 0 });
    expect(me.id).not.toBe(c.userId);
    expect(await status(again)).toMatchObject({ scheduled: null });
    expect(await count('select 1 from account_deletions where user_id = $1', [me.id])).toBe(0);
  });
});

describe('subscriptions', () => {
  it('are canceled with the payment provider first; a refusal deletes nothing, and the retry finishes and keeps the order under the pseudonym', async () => {
    const c = await user('subscriber');
    const res = await c.post('/api/billing/checkout', { plan: 'max-monthly', provider: 'stripe', currency: 'usd' });
    expect(res.status, res.body).toBe(200);
    const { orderId, url } = res.json<CheckoutResponse>();
    await payOnFakePage(url);
    await until(async () => (await c.get(`/api/billing/orders/${orderId}`)).json<OrderView>().status === 'paid', {
      app,
      timeoutMs: 10_000,
      what: 'the order paid',
    });
    const sub = [...stripe.sessions.values()].find((s) => s.client_reference_id === orderId)!.subscription as string;
    await withData(c);
    const mentions = `select 1 from payment_events where position(lower($1) in lower(event::text)) > 0`;
    expect(await count(mentions, [c.email])).toBeGreaterThan(0);

    // Stripe refuses the cancellation: nothing is deleted, the deletion waits with the reason
    stripe.failNext(400);
    const refused = await admin.post(`/api/admin/users/${c.userId}/delete`, { reason: 'asked by mail', when: 'now' });
    expect(refused.status, refused.body).toBe(502);
    expect(refused.json().error.code).toBe('payment_provider_error');
    const [d] = await rows<{ id: string; status: string; last_error: string; subject_ref: string }>(
      'select id, status, last_error, subject_ref from account_deletions where user_id = $1',
      [c.userId],
    );
    expect(d).toMatchObject({ status: 'running', last_error: expect.stringContaining('subscription') });
    expect(await count('select 1 from users where id = $1', [c.userId])).toBe(1);
    expect(await count('select 1 from generations where user_id = $1', [c.userId])).toBe(1);
    expect(await count('select 1 from media where user_id = $1', [c.userId])).toBe(1);
    expect(stripe.subscriptions.get(sub)!.status).toBe('active');

    // the 15-minute sweep takes the running deletion up again
    expect(await services().accountDeletion.enqueueDue()).toBeGreaterThanOrEqual(1);
    await jobsDone(app, [accountDelete.name, mediaDeleteObjects.name]);
    await stripe.settled();
    expect(stripe.subscriptions.get(sub)!.status).toBe('canceled');
    expect(await count('select 1 from users where id = $1', [c.userId])).toBe(0);
    const [s] = await rows('select status, user_id, subject_ref from subscriptions where provider_ref = $1', [sub]);
    expect(s).toEqual({ status: 'canceled', user_id: null, subject_ref: d!.subject_ref });
    const [o] = await rows('select status, user_id, subject_ref, checkout_email, receipt_number from orders where id = $1', [orderId]);
    expect(o).toMatchObject({
      status: 'paid',
      user_id: null,
      subject_ref: d!.subject_ref,
      checkout_email: null,
      receipt_number: expect.stringMatching(/^SS-/),
    });
    const ledger = await rows<{ kind: string; reference: string; user_id: string | null; subject_ref: string }>(
      'select kind, reference, user_id, subject_ref from credit_ledger where subject_ref = $1',
      [d!.subject_ref],
    );
    expect(ledger.map((l) => [l.kind, l.reference, l.user_id])).toEqual([['purchase', `order:${orderId}`, null]]);
    const [done] = await rows('select status, last_error from account_deletions where id = $1', [d!.id]);
    expect(done).toEqual({ status: 'completed', last_error: null });
    // Stripe's own notice of the cancellation came to a deleted account: applied without a trace of the person
    const events = await rows<{ state: string }>(`select state from payment_events where event->>'subscriptionRef' = $1`, [sub]);
    expect(events.length).toBeGreaterThan(0);
    // the payment events keep no address of the person
    expect(await count(mentions, [c.email])).toBe(0);
    expect(await count(`select 1 from payment_events where order_id = $1`, [orderId])).toBeGreaterThan(0);
  });
});

describe('operator deletion', () => {
  it('only an admin may delete; an unknown account is 404; the reason is required', async () => {
    const u = await user('not-admin');
    // the console does not exist for whoever is not staff (issue 18): 404
    expect((await client().post(`/api/admin/users/${u.userId}/delete`, { reason: 'x' })).status).toBe(404);
    expect((await u.post(`/api/admin/users/${u.userId}/delete`, { reason: 'x' })).status).toBe(404);
    await services().users.setRole(u.email, 'moderator');
    expect((await u.post(`/api/admin/users/${u.userId}/delete`, { reason: 'x' })).status).toBe(403);
    const missing = await admin.post('/api/admin/users/00000000-0000-4000-8000-000000000000/delete', { reason: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    expect((await admin.post(`/api/admin/users/${u.userId}/delete`, { reason: '  ' })).status).toBe(400);
    expect((await admin.post(`/api/admin/users/${u.userId}/delete`, { reason: 'x', when: 'tomorrow' })).status).toBe(400);
    // an admin's own account goes through the account page (password, grace period)
    const own = await admin.post(`/api/admin/users/${admin.userId}/delete`, { reason: 'x' });
    expect(own.status).toBe(409);
    expect(own.json().error.code).toBe('own_account');
    expect(await count('select 1 from users where id = $1', [u.userId])).toBe(1);
  });

  it('now: removes the account, its sessions, creations, references and their files at once', async () => {
    const c = await user('deleted-child');
    const data = await withData(c);
    const res = await admin.post(`/api/admin/users/${c.userId}/delete`, { reason: 'reported as a child (ticket 42)' });
    expect(res.status, res.body).toBe(200);
    const result = res.json<AdminDeleteUserResult>();
    expect(result).toMatchObject({
      outcome: 'deleted',
      userId: c.userId,
      subjectRef: expect.stringMatching(/^subj_/),
      removed: { generations: 1, media: 1, profile: 1, signInMethods: 1 },
      kept: { generations: 0, media: 0, orders: 0 },
    });
    for (const table of [
      'users where id',
      'sessions where user_id',
      'accounts where user_id',
      'generations where user_id',
      'media where user_id',
      'credit_ledger where user_id',
    ]) {
      expect(await count(`select 1 from ${table} = $1`, [c.userId]), table).toBe(0);
    }
    const [d] = await rows('select status, origin, actor_id, reason, user_id from account_deletions where subject_ref = $1', [
      (result as { subjectRef: string }).subjectRef,
    ]);
    expect(d).toEqual({ status: 'completed', origin: 'operator', actor_id: admin.userId, reason: 'reported as a child (ticket 42)', user_id: null });
    await jobsDone(app, [mediaDeleteObjects.name]);
    for (const key of data.keys) expect(await exists(key), key).toBe(false);
    expect((await c.get('/api/me')).status).toBe(401);
    // a second request finds nothing to delete
    expect((await admin.post(`/api/admin/users/${c.userId}/delete`, { reason: 'again' })).status).toBe(404);
  });

  it('grace: the user is signed out and mailed, and may cancel by signing in; the CLI does both', async () => {
    const c = await user('op-grace');
    const res = await admin.post(`/api/admin/users/${c.userId}/delete`, { reason: 'asked by mail', when: 'grace' });
    expect(res.status, res.body).toBe(200);
    expect(res.json()).toMatchObject({ outcome: 'scheduled', userId: c.userId, dueAt: new Date(clock.nowMs() + 14 * 86_400_000).toISOString() });
    await smtp.waitFor((m) => m.to.includes(c.email) && /will be deleted/.test(m.subject));
    expect((await c.get('/api/me')).status).toBe(401);
    const back = await signIn(c.email);
    expect((await status(back)).scheduled).toMatchObject({ status: 'scheduled', cancelable: true });
    expect((await back.delete('/api/me/deletion')).status).toBe(200);

    const ctx = { database: app.platform.ctx.database, services: services() };
    const cli = await user('cli');
    await expect(runCommand(ctx, 'user:delete', ['--email', cli.email])).rejects.toThrow(/--reason is required/);
    expect(await runCommand(ctx, 'user:delete', ['--email', cli.email, '--reason', 'asked by phone'])).toMatch(
      new RegExp(`^${cli.email} is scheduled for deletion on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`),
    );
    expect(await count(`select 1 from account_deletions where user_id = $1 and status = 'scheduled' and origin = 'operator'`, [cli.userId])).toBe(1);
    // --now takes the scheduled deletion over and runs it
    expect(await runCommand(ctx, 'user:delete', ['--email', cli.email, '--reason', 'asked by phone', '--now'])).toMatch(
      new RegExp(`^${cli.email} is deleted: 0 creations and 0 references removed; 0 orders and 0 safety cases kept under the pseudonym subj_`),
    );
    expect(await count('select 1 from account_deletions where status = $1 and reason = $2', ['completed', 'asked by phone'])).toBe(1);
    await expect(runCommand(ctx, 'user:delete', ['--email', cli.email, '--reason', 'x', '--now'])).rejects.toMatchObject({ status: 404 });
  });

  it('keeps what a legal hold covers, closes the account, and finishes once the hold is released', async () => {
    const c = await user('held-creation');
    const data = await withData(c);
    const other = await seedGeneration(app.db, c.userId);
    const hold = await services().holds.place(null, { subjectKind: 'generation', subjectId: data.generationId, reason: 'law enforcement request' });

    const res = await admin.post(`/api/admin/users/${c.userId}/delete`, { reason: 'reported as a child' });
    expect(res.json()).toMatchObject({ outcome: 'closed', removed: { generations: 1, media: 1 }, kept: { generations: 1, media: 0 } });
    const [u] = await rows<{ status: string; deletion_requested_at: Date | null }>('select status, deletion_requested_at from users where id = $1', [c.userId]);
    expect(u!.status).toBe('terminated');
    expect(u!.deletion_requested_at).not.toBeNull();
    expect(await count(`select 1 from account_deletions where user_id = $1 and status = 'closed'`, [c.userId])).toBe(1);
    expect((await c.get('/api/me')).status).toBe(401);
    expect(await count('select 1 from generations where id = $1', [data.generationId])).toBe(1);
    expect(await count('select 1 from generations where id = $1', [other.id])).toBe(0);
    await jobsDone(app, [mediaDeleteObjects.name]);
    expect(await exists(data.keys[0]!)).toBe(true);
    expect(await exists(data.keys[2]!)).toBe(false);

    // still held: the daily pass leaves it
    expect(await services().accountDeletion.finishPending()).toBe(0);
    expect(await count('select 1 from users where id = $1', [c.userId])).toBe(1);
    // released: the next pass deletes the rest, completing the same deletion
    await services().holds.release(null, hold.id, 'request closed');
    expect(await services().accountDeletion.finishPending()).toBe(1);
    expect(await count('select 1 from users where id = $1', [c.userId])).toBe(0);
    expect(await count('select 1 from generations where id = $1', [data.generationId])).toBe(0);
    expect(await count(`select 1 from account_deletions where reason = 'reported as a child' and status = 'completed' and user_id is null`, [])).toBe(1);
    // the released hold's record stays (the law's paper trail); the creation and its files go
    expect(await count('select 1 from legal_holds where id = $1 and released_at is not null', [hold.id])).toBe(1);
    await jobsDone(app, [mediaDeleteObjects.name]);
    expect(await exists(data.keys[0]!)).toBe(false);
  });
});
