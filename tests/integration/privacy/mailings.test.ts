import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUnsubscribeToken, signUnsubscribeToken, type MailingContent } from '../../../src/server/domain/privacy/mailings.service';
import { mailMailingSend } from '../../../src/server/jobs/names';
import type { MailingKind } from '../../../src/server/db/schema';
import { TestClient } from '../../helpers/client';
import { until } from '../../helpers/wait';
import type { ReceivedMail } from '../../fakes/smtp';
import { startAccountsApp, type AccountsApp } from '../accounts/setup';

// Mailings: notices to every account (policy 11, 4.5), product updates only by opt-in with a
// one-click unsubscribe (policy 2 and 5, RFC 8058), and the send job that mails each person once.

let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp();
});
afterAll(() => a.close());

const svc = () => a.app.platform.ctx.services.mailings;
const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => a.app.db.sql.query<T>(text, params);
const password = 'a fine password 1';
let n = 0;

/** a verified account (created by an operator), optionally signed in */
async function account(tag: string, opts: { language?: 'en' | 'es'; status?: string; verified?: boolean; optIn?: boolean } = {}) {
  const email = `mailings-${tag}-${++n}@example.com`;
  const u = await a.app.platform.ctx.services.users.create({ email, password, name: `Person ${tag}` });
  await sql(`update users set language = $2, status = $3, email_verified = $4, marketing_opt_in_at = case when $5 then now() else null end where id = $1`, [
    u.id,
    opts.language ?? 'en',
    opts.status ?? 'active',
    opts.verified ?? true,
    opts.optIn ?? false,
  ]);
  return { id: u.id, email };
}

async function signIn(email: string): Promise<TestClient> {
  const c = a.client();
  const res = await c.post('/api/auth/sign-in/email', { email, password });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return c;
}

const mailsTo = (email: string, subject?: RegExp) => a.smtp.messages.filter((m) => m.to.includes(email) && (!subject || subject.test(m.subject)));
const waitMail = (email: string, subject: RegExp) => a.smtp.waitFor((m) => m.to.includes(email) && subject.test(m.subject), 15_000);
/** every recipient of the mailing is done (sent, failed or skipped) */
const mailingSent = (id: string) =>
  until(async () => (await svc().status({ idOrKey: id }))[0]?.status === 'sent', { app: a.app, timeoutMs: 20_000, recheckMs: 100, what: `mailing ${id} sent` });

const policyContent = (summary = 'We now keep API logs for 30 days.'): MailingContent => ({
  document: 'privacy',
  version: '2026-12-07',
  url: `${a.app.url}/legal/privacy`,
  title: { en: 'Privacy Policy', es: 'Política de privacidad' },
  summary: { en: summary, es: 'Ahora guardamos los registros de la API 30 días.' },
});
const updateContent = (title = 'Longer videos'): MailingContent => ({
  title: { en: title, es: 'Vídeos más largos' },
  body: { en: 'Videos can now be 20 seconds long.\n\nTry it in the studio.', es: 'Los vídeos ya pueden durar 20 segundos.' },
  url: `${a.app.url}/studio`,
});
const create = (kind: MailingKind, content: MailingContent, dedupeKey = `test:${randomUUID()}`) =>
  svc().create({ kind, dedupeKey, content, createdBy: 'test' });

const recipientRows = (mailingId: string) =>
  sql<{ user_id: string; status: string; attempts: string | number; last_error: string | null }>(
    'select user_id, status, attempts, last_error from mailing_recipients where mailing_id = $1',
    [mailingId],
  );
const bytes = (text: string) => new TextEncoder().encode(text);
const urlencoded = { 'content-type': 'application/x-www-form-urlencoded' };
const unsubscribeLink = (m: ReceivedMail) => /^<(.+)>$/.exec(m.headers['list-unsubscribe'] ?? '')?.[1] ?? '';

describe('notices to every account', () => {
  it('a policy-change notice goes once to each active or suspended account, in its language; not to terminated or closed ones', async () => {
    const en = await account('notice-en');
    const es = await account('notice-es', { language: 'es' });
    const suspended = await account('notice-suspended', { status: 'suspended' });
    const unverified = await account('notice-unverified', { verified: false });
    const terminated = await account('notice-terminated', { status: 'terminated' });
    const closed = await account('notice-closed');
    await sql('update users set deletion_requested_at = now() where id = $1', [closed.id]);
    const [eligible] = await sql<{ n: number }>(
      "select count(*)::int as n from users where status in ('active', 'suspended') and deletion_requested_at is null",
    );

    const key = `privacy@${randomUUID()}`;
    const made = await create('policy-change', policyContent(), key);
    expect(made).toMatchObject({ created: true, recipients: eligible!.n });
    const enMail = await waitMail(en.email, /Privacy Policy/);
    const esMail = await waitMail(es.email, /Política de privacidad/);
    expect(enMail.subject).toBe('Save Sora updated its Privacy Policy');
    expect(enMail.text).toContain('What changed: We now keep API logs for 30 days.');
    expect(enMail.text).toContain(`${a.app.url}/legal/privacy`);
    expect(esMail.subject).toBe('Save Sora actualizó un documento: Política de privacidad');
    expect(esMail.text).toContain('Qué cambió: Ahora guardamos los registros de la API 30 días.');
    // a service notice: no unsubscribe header
    expect(enMail.headers['list-unsubscribe']).toBeUndefined();
    await mailingSent(made.id);

    // the same key again: nothing new, nobody mailed twice
    expect(await create('policy-change', policyContent('A different summary.'), key)).toEqual({ id: made.id, recipients: made.recipients, created: false });
    expect(await sql('select 1 from pgboss.job where name = $1 and data->>$2 = $3', [mailMailingSend.name, 'mailingId', made.id])).toHaveLength(1);
    for (const u of [en, es, suspended, unverified]) expect(mailsTo(u.email, /Privacy|privacidad/), u.email).toHaveLength(1);
    for (const u of [terminated, closed]) expect(mailsTo(u.email), u.email).toHaveLength(0);
    const [mailing] = await svc().status({ idOrKey: key });
    expect(mailing).toMatchObject({ id: made.id, kind: 'policy-change', status: 'sent', pending: 0, failed: 0, sent: eligible!.n, skipped: 0 });
    expect(mailing!.finishedAt).toBeInstanceOf(Date);
  });

  it('creates the mailing and its job in the caller’s transaction: a rollback leaves nothing', async () => {
    const key = `rolled-back:${randomUUID()}`;
    await expect(
      a.app.db.transaction(async (tx) => {
        const made = await svc().create({ kind: 'business-transfer', dedupeKey: key, createdBy: null, content: transferContent() }, tx);
        expect(made.created).toBe(true);
        throw new Error('the caller changed its mind');
      }),
    ).rejects.toThrow(/changed its mind/);
    expect(await sql('select 1 from mailings where dedupe_key = $1', [key])).toHaveLength(0);
    const jobs = await sql<{ n: number }>(`select count(*)::int as n from pgboss.job where name = $1 and data->>'mailingId' not in (select id from mailings)`, [
      mailMailingSend.name,
    ]);
    expect(jobs[0]!.n).toBe(0);
  });

  it('refuses content that does not fit its kind, with a clear error', async () => {
    const bad: Array<[MailingKind, unknown, RegExp]> = [
      ['policy-change', { ...policyContent(), url: 'javascript:alert(1)' }, /url/],
      ['policy-change', { ...policyContent(), title: { en: 'Privacy Policy' } }, /title\.es/],
      ['policy-change', { ...policyContent(), summary: { en: 'a\u0000b', es: 'x' } }, /summary\.en.*control/],
      ['business-transfer', { ...transferContent(), effectiveDate: '2027-02-30' }, /effectiveDate/],
      ['business-transfer', { ...transferContent(), newOwner: 'two\nlines' }, /newOwner/],
      ['product-update', { ...updateContent(), extra: 1 }, /extra|Unrecognized/i],
      ['nonsense' as MailingKind, updateContent(), /Unknown mailing kind/],
    ];
    for (const [kind, content, message] of bad) {
      const err = await create(kind, content as MailingContent).catch((e: unknown) => e);
      expect(err, JSON.stringify(content)).toMatchObject({ code: 'invalid_mailing', status: 400 });
      expect((err as Error).message).toMatch(message);
    }
    await expect(svc().create({ kind: 'product-update', dedupeKey: ' ', content: updateContent(), createdBy: null })).rejects.toMatchObject({
      code: 'invalid_mailing',
    });
  });
});

function transferContent(): MailingContent {
  return {
    newOwner: 'Acme Media Inc.',
    effectiveDate: '2027-03-01',
    message: { en: 'Acme keeps the service running as it is.', es: 'Acme mantiene el servicio tal como está.' },
    url: 'https://acme.example/savesora',
  };
}

describe('product updates', () => {
  it('go only to active, verified accounts that opted in, with the RFC 8058 headers and a visible unsubscribe link', async () => {
    const fan = await account('update-fan');
    const c = await signIn(fan.email);
    // off by default, never pre-ticked; turned on by the person
    expect((await c.get('/api/me/email-preferences')).json()).toEqual({ productUpdates: false, optedInAt: null, emailVerified: true });
    const on = await c.put('/api/me/email-preferences', { productUpdates: true });
    expect(on.status, on.body).toBe(200);
    expect(on.json()).toMatchObject({ productUpdates: true, optedInAt: expect.any(String) });
    const quiet = await account('update-quiet');
    const unverified = await account('update-unverified', { verified: false, optIn: true });
    const suspended = await account('update-suspended', { status: 'suspended', optIn: true });
    const leaving = await account('update-leaving', { optIn: true });
    await sql(
      `insert into account_deletions (id, user_id, subject_ref, status, origin, requested_at, due_at) values ($1, $2, $3, 'scheduled', 'self', now(), now() + interval '14 days')`,
      [randomUUID(), leaving.id, `subj-${randomUUID()}`],
    );

    const title = `Longer videos ${randomUUID().slice(0, 8)}`;
    const made = await create('product-update', updateContent(title));
    const mail = await waitMail(fan.email, new RegExp(title));
    await mailingSent(made.id);
    expect(mail.subject).toBe(`Save Sora news: ${title}`);
    const link = unsubscribeLink(mail);
    expect(link).toMatch(new RegExp(`^${a.app.url}/api/unsubscribe/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.raw.match(/^List-Unsubscribe:/gim)).toHaveLength(1);
    expect(mail.raw.match(/^List-Unsubscribe-Post:/gim)).toHaveLength(1);
    expect(mail.text.replace(/\r\n/g, '\n')).toContain(`Unsubscribe from product updates:\n${link}`);
    expect(mail.html).toContain(`href="${link}"`);
    expect(mail.text.replace(/\r\n/g, '\n')).toContain('Videos can now be 20 seconds long.\n\nTry it in the studio.');
    for (const u of [quiet, unverified, suspended, leaving]) expect(mailsTo(u.email, new RegExp(title)), u.email).toHaveLength(0);
    const rows = await recipientRows(made.id);
    expect(rows.map((r) => r.user_id)).toContain(fan.id);
    expect(rows.map((r) => r.user_id)).not.toEqual(expect.arrayContaining([quiet.id]));
  });

  it('one click (POST, no session) unsubscribes; the GET only opens the confirmation page; the link is unforgeable', async () => {
    const fan = await account('unsub', { optIn: true });
    const title = `Unsub test ${randomUUID().slice(0, 8)}`;
    await create('product-update', updateContent(title));
    const link = unsubscribeLink(await waitMail(fan.email, new RegExp(title)));
    const path = new URL(link).pathname;
    const token = path.slice('/api/unsubscribe/'.length);
    const anon = new TestClient(a.app.url, { origin: null });

    // a link scanner's GET changes nothing: it is sent to the page that asks
    const get = await anon.get(path);
    expect(get.status).toBe(302);
    expect(get.headers.get('location')).toBe(`/unsubscribe/${token}`);
    expect((await anon.get(`${path}/status`)).json()).toEqual({ productUpdates: true });
    expect((await sql<{ on: boolean }>('select marketing_opt_in_at is not null as on from users where id = $1', [fan.id]))[0]!.on).toBe(true);

    // documented for API readers
    const doc = (await anon.get('/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths['/api/unsubscribe/{token}'] ?? {}).sort()).toEqual(['get', 'post']);
    // the one-click POST must say so
    expect((await anon.post(path)).status).toBe(400);
    expect((await anon.request('POST', path, bytes('List-Unsubscribe=Other'), urlencoded)).status).toBe(400);

    // a mail client's POST: multipart (RFC 8058's SHOULD), no cookies, no redirect
    const form = new FormData();
    form.append('List-Unsubscribe', 'One-Click');
    const first = await anon.post(path, form);
    expect(first.status, first.body).toBe(200);
    expect(first.headers.get('location')).toBeNull();
    expect(first.json()).toEqual({ productUpdates: false, changed: true });
    expect((await sql<{ on: boolean }>('select marketing_opt_in_at is not null as on from users where id = $1', [fan.id]))[0]!.on).toBe(false);
    // again, urlencoded (Gmail's form): idempotent
    const again = await anon.request('POST', path, bytes('List-Unsubscribe=One-Click'), urlencoded);
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ productUpdates: false, changed: false });
    expect((await anon.get(`${path}/status`)).json()).toEqual({ productUpdates: false });

    // forged and malformed tokens
    const other = await account('unsub-other', { optIn: true });
    const mac = token.split('.')[1] ?? '';
    const forged = `${Buffer.from(other.id).toString('base64url')}.${mac}`;
    const refused = await anon.request('POST', `/api/unsubscribe/${forged}`, bytes('List-Unsubscribe=One-Click'), urlencoded);
    expect(refused.status).toBe(404);
    expect(refused.json().error.code).toBe('not_found');
    expect((await anon.get(`/api/unsubscribe/${forged}/status`)).status).toBe(404);
    expect((await anon.get('/api/unsubscribe/not-a-token/status')).status).toBe(400);
    expect((await anon.get('/api/unsubscribe/%00.abc/status')).status).toBe(400);
    // hostile bodies: a clear 4xx in our error shape
    const huge = await anon.request('POST', path, bytes(`List-Unsubscribe=One-Click&x=${'a'.repeat(20_000)}`), urlencoded);
    expect(huge.status).toBe(413);
    expect(huge.json().error.code).toBeTruthy();
    const broken = await anon.request('POST', path, bytes('--nope\r\n\r\n'), { 'content-type': 'multipart/form-data; boundary=xyz' });
    expect(broken.status).toBe(400);
    expect(broken.json().error.code).toBe('bad_request');
    expect((await anon.request('POST', path, bytes('List-Unsubscribe=One-Click'), { 'content-type': 'application/xml' })).status).toBe(415);
    expect((await sql<{ on: boolean }>('select marketing_opt_in_at is not null as on from users where id = $1', [other.id]))[0]!.on).toBe(true);

    // the next product update skips them; service notices still reach them
    const next = `After unsub ${randomUUID().slice(0, 8)}`;
    const update = await create('product-update', updateContent(next));
    const notice = await create('business-transfer', transferContent());
    await mailingSent(update.id);
    await mailingSent(notice.id);
    expect(mailsTo(fan.email, /changing ownership/)).toHaveLength(1);
    expect(mailsTo(fan.email, new RegExp(next))).toHaveLength(0);
    expect(mailsTo(other.email, new RegExp(next))).toHaveLength(1);
    expect((await recipientRows(notice.id)).find((r) => r.user_id === fan.id)?.status).toBe('sent');
  });

  it('the opt-in needs a session, keeps its first time, and refuses bad bodies', async () => {
    const u = await account('prefs');
    expect((await new TestClient(a.app.url).get('/api/me/email-preferences')).status).toBe(401);
    expect((await new TestClient(a.app.url).put('/api/me/email-preferences', { productUpdates: true })).status).toBe(401);
    const c = await signIn(u.email);
    const first = (await c.put('/api/me/email-preferences', { productUpdates: true })).json<{ optedInAt: string }>();
    const second = (await c.put('/api/me/email-preferences', { productUpdates: true })).json<{ optedInAt: string }>();
    expect(second.optedInAt).toBe(first.optedInAt);
    for (const body of [{ productUpdates: 'yes' }, { productUpdates: true, admin: true }, {}, []]) {
      const res = await c.put('/api/me/email-preferences', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBeTruthy();
    }
    const off = (await c.put('/api/me/email-preferences', { productUpdates: false })).json();
    expect(off).toMatchObject({ productUpdates: false, optedInAt: null });
    // from another site: refused (CSRF)
    const evil = new TestClient(a.app.url, { origin: 'https://evil.example' });
    for (const [k, v] of c.cookies) evil.cookies.set(k, v);
    expect((await evil.put('/api/me/email-preferences', { productUpdates: true })).status).toBe(403);
  });
});

describe('the send job', () => {
  it('marks a refused recipient failed, retries a temporary refusal, and re-sends only a send whose claim ran out', async () => {
    const good = await account('job-good', { optIn: true });
    const refused = await account('job-refused', { optIn: true });
    const flaky = await account('job-flaky', { optIn: true });
    let flakyRefusals = 0;
    a.smtp.refuse = (address) => {
      if (address === refused.email) return { code: 550, message: 'No such user here' };
      if (address === flaky.email && flakyRefusals < 1) {
        flakyRefusals++;
        return { code: 451, message: 'Try again later' };
      }
      return null;
    };
    try {
      const title = `Job test ${randomUUID().slice(0, 8)}`;
      const made = await create('product-update', updateContent(title));
      // the job stops at the temporary refusal and would come back in 30 s: run it now instead
      await until(async () => (await recipientRows(made.id)).some((r) => r.user_id === flaky.id && r.last_error !== null), {
        app: a.app,
        timeoutMs: 20_000,
        what: 'the temporary refusal',
      });
      for (let i = 0; i < 5 && (await recipientRows(made.id)).some((r) => r.status === 'pending'); i++) await svc().send(made.id);
      const rows = new Map((await recipientRows(made.id)).map((r) => [r.user_id, r]));
      expect(rows.get(good.id)).toMatchObject({ status: 'sent' });
      expect(rows.get(refused.id)).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/No such user|refused/) });
      expect(Number(rows.get(refused.id)!.attempts)).toBe(1);
      expect(rows.get(flaky.id)).toMatchObject({ status: 'sent' });
      expect(Number(rows.get(flaky.id)!.attempts)).toBe(2);
      expect(mailsTo(flaky.email, new RegExp(title))).toHaveLength(1);
      expect(mailsTo(good.email, new RegExp(title))).toHaveLength(1);
      expect(mailsTo(refused.email, new RegExp(title))).toHaveLength(0);
      const [summary] = await svc().status({ idOrKey: made.id });
      expect(summary).toMatchObject({ status: 'sent', failed: 1, pending: 0 });
    } finally {
      a.smtp.refuse = null;
    }
  });

  it('a crashed send (its claim expired) is sent again, once; a claim still held is left alone; racing runs mail each person once', async () => {
    const people = await Promise.all(Array.from({ length: 8 }, (_, i) => account(`race-${i}`, { optIn: true })));
    const title = `Race test ${randomUUID().slice(0, 8)}`;
    const [crashed, live] = people;
    // in the creating transaction (before the job can run), the rows as a crashed and a live sender leave them
    const made = await a.app.db.transaction(async (tx) => {
      const m = await svc().create({ kind: 'product-update', dedupeKey: `race:${randomUUID()}`, content: updateContent(title), createdBy: null }, tx);
      const claim = `update mailing_recipients set sent_at = $3, attempts = 1 where mailing_id = $1 and user_id = $2`;
      await tx.sql.query(claim, [m.id, crashed!.id, new Date(Date.now() - 11 * 60_000).toISOString()]);
      await tx.sql.query(claim, [m.id, live!.id, new Date().toISOString()]);
      return m;
    });
    // the job and two more runs race for the same recipients
    await Promise.all([svc().send(made.id), svc().send(made.id)]);
    await until(async () => !(await recipientRows(made.id)).some((r) => r.status === 'pending' && r.user_id !== live!.id), {
      app: a.app,
      timeoutMs: 20_000,
      what: 'every free recipient sent',
    });
    for (const p of people.filter((x) => x !== live)) expect(mailsTo(p.email, new RegExp(title)), p.email).toHaveLength(1);
    // a claim still held (another sender may be mid-send) is not taken over until it runs out
    expect(mailsTo(live!.email, new RegExp(title))).toHaveLength(0);
    const row = (await recipientRows(made.id)).find((r) => r.user_id === live!.id);
    expect(row).toMatchObject({ status: 'pending' });
    await sql(`update mailing_recipients set sent_at = now() - interval '11 minutes' where mailing_id = $1 and user_id = $2`, [made.id, live!.id]);
    await svc().send(made.id);
    expect(mailsTo(live!.email, new RegExp(title))).toHaveLength(1);
    const [summary] = await svc().status({ idOrKey: made.id });
    expect(summary).toMatchObject({ status: 'sent', pending: 0, sent: expect.any(Number) });
  });

  it('skips a recipient who opted out or left after the mailing was created', async () => {
    const stays = await account('skip-stays', { optIn: true });
    const leaves = await account('skip-leaves', { optIn: true });
    const title = `Skip test ${randomUUID().slice(0, 8)}`;
    // created inside a transaction that also opts one person out before the job can run
    const made = await a.app.db.transaction(async (tx) => {
      const m = await svc().create({ kind: 'product-update', dedupeKey: `skip:${randomUUID()}`, content: updateContent(title), createdBy: null }, tx);
      await tx.sql.query('update users set marketing_opt_in_at = null where id = $1', [leaves.id]);
      return m;
    });
    await mailingSent(made.id);
    expect(mailsTo(stays.email, new RegExp(title))).toHaveLength(1);
    const rows = new Map((await recipientRows(made.id)).map((r) => [r.user_id, r.status]));
    expect(rows.get(leaves.id)).toBe('skipped');
    expect(mailsTo(leaves.email, new RegExp(title))).toHaveLength(0);
  });
});

describe('unsubscribe tokens', () => {
  it('are an HMAC of the user id, stable, and still valid after the session secret is rotated', () => {
    const old = 'o'.repeat(40);
    const current = 'c'.repeat(40);
    const token = signUnsubscribeToken(old, 'user-1');
    expect(signUnsubscribeToken(old, 'user-1')).toBe(token);
    expect(readUnsubscribeToken([old], token)).toBe('user-1');
    expect(readUnsubscribeToken([current], token)).toBeNull();
    expect(readUnsubscribeToken([current, old], token)).toBe('user-1');
    const [id, mac] = token.split('.') as [string, string];
    expect(readUnsubscribeToken([old], `${Buffer.from('user-2').toString('base64url')}.${mac}`)).toBeNull();
    expect(readUnsubscribeToken([old], `${id}.${mac.slice(0, -1)}A`)).toBeNull();
    expect(readUnsubscribeToken([old], `${id}.${mac}.x`)).toBeNull();
    expect(readUnsubscribeToken([old], '')).toBeNull();
  });
});
