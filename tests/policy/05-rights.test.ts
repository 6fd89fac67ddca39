import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { GenerationList, OrderView } from '../../src/shared/api';
import { signUpVerified, startAccountsApp, type AccountsApp } from '../integration/accounts/setup';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { linkIn, mailTo } from '../integration/accounts/setup';
import { runCommand } from '../../src/server/cli/commands';
import { startBillingApp, type BillingApp } from '../integration/billing/setup';
import { closeAll } from '../helpers/close';
import { seedGeneration } from '../helpers/seed';
import { TestClient } from '../helpers/client';
import { jobsDone } from '../helpers/wait';
import { ObjectNotFound } from '../../src/server/adapters/storage';
import { accountDelete, mediaDeleteObjects } from '../../src/server/jobs/names';

// Privacy policy section 5: rights and choices.
describe('5 Your rights and choices', () => {
  // one app of each kind for the section (each test has its own accounts); deletions run at once
  let a: AccountsApp;
  let b: BillingApp;
  beforeAll(async () => {
    [a, b] = await Promise.all([startAccountsApp(), startBillingApp({ ACCOUNT_DELETION_GRACE_DAYS: '0' })]);
  });
  afterAll(() => closeAll(a, b));

  it('5 a user can view profile, generation history and order records', async () => {
    const c = await b.buyer();
    const { orderId, url } = await b.checkout(c, 'starter', 'stripe');
    await b.payOnPage(url);
    await b.waitOrder(c, orderId, 'paid');
    const made = await seedGeneration(b.app.db, c.userId, { prompt: 'a lighthouse at dusk' });
    // profile
    const me = await c.get('/api/me');
    expect(me.status).toBe(200);
    expect(me.json()).toMatchObject({ id: c.userId, email: c.email });
    // generation history
    const history = (await c.get('/api/generations')).json<GenerationList>();
    expect(history.items.map((g) => [g.id, g.prompt])).toEqual([[made.id, 'a lighthouse at dusk']]);
    // order records, with the receipt
    const billing = (await c.get('/api/billing')).json<{ orders: OrderView[] }>();
    const order = billing.orders.find((o) => o.id === orderId);
    expect(order).toMatchObject({ status: 'paid', amountMinor: 1000, currency: 'usd', provider: 'stripe' });
    expect((await c.get(`/api/billing/orders/${orderId}/receipt`)).headers.get('content-type')).toMatch(/^application\/pdf/);
    // and only their own: another account sees none of it
    const other = await b.buyer();
    expect((await other.get('/api/generations')).json<GenerationList>().items).toEqual([]);
    expect((await other.get('/api/billing')).json<{ orders: OrderView[] }>().orders).toEqual([]);
    expect((await other.get(`/api/billing/orders/${orderId}`)).status).toBe(404);
  });
  it("5 a structured export of a user's data can be produced on request", async () => {
    const { default: yauzl } = await import('yauzl');
    const c = await signUpVerified(a, 'export-policy@example.com');
    const [user] = await a.app.db.sql.query<{ id: string }>('select id from users where email = $1', ['export-policy@example.com']);
    await seedGeneration(a.app.db, user!.id, { prompt: 'a kite over the dunes' });
    // the user asks from the account page; a background job builds the ZIP and mails a link
    const asked = await c.post('/api/me/exports');
    expect(asked.status, asked.body).toBe(202);
    await jobsDone(a.app, ['privacy.export-build', 'privacy.export-mail']);
    const [mine] = (await c.get('/api/me/exports')).json<{ items: { id: string; status: string; downloadable: boolean }[] }>().items;
    expect(mine).toMatchObject({ id: asked.json<{ id: string }>().id, status: 'ready', downloadable: true });
    const mail = await mailTo(a.smtp, 'export-policy@example.com', /data export is ready/i);
    const link = linkIn(mail.text, `${a.app.url}/api/exports/`);
    const redirect = await new TestClient(a.app.url).get(link.replace(a.app.url, ''));
    expect(redirect.status).toBe(302);
    const zipBytes = Buffer.from(await (await fetch(redirect.headers.get('location')!)).arrayBuffer());
    // a valid ZIP of machine-readable files with a README
    const zip = await yauzl.fromBufferPromise(zipBytes, { lazyEntries: true });
    const files = new Map<string, string>();
    for await (const entry of zip.eachEntry()) {
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      files.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
    }
    zip.close();
    expect(files.get('README.txt')).toContain('a copy of your data');
    expect(JSON.parse(files.get('profile.json')!)).toMatchObject({ id: user!.id, email: 'export-policy@example.com' });
    expect(JSON.parse(files.get('generations.json')!)).toEqual([expect.objectContaining({ prompt: 'a kite over the dunes' })]);
    for (const name of ['sessions.json', 'orders.json', 'ledger.json', 'api-keys.json', 'consent.json', 'moderation.json']) {
      expect(Array.isArray(JSON.parse(files.get(name)!)) || typeof JSON.parse(files.get(name)!) === 'object', name).toBe(true);
    }
    // a request that arrives by mail: support starts the export on the user's behalf, and the link goes to the user
    await a.app.platform.ctx.services.users.create({ email: 'export-support@example.com', password: 'a fine password 1', name: 'Support', role: 'support' });
    const support = a.client();
    expect((await support.post('/api/auth/sign-in/email', { email: 'export-support@example.com', password: 'a fine password 1' })).status).toBe(200);
    const byOperator = await support.post(`/api/admin/users/${user!.id}/exports`);
    expect(byOperator.status, byOperator.body).toBe(202);
    await jobsDone(a.app, ['privacy.export-build', 'privacy.export-mail']);
    const latest = (await c.get('/api/me/exports')).json<{ items: { byOperator: boolean; status: string }[] }>().items[0];
    expect(latest).toMatchObject({ byOperator: true, status: 'ready' });
  });
  it('5 a user can correct name, photo, region and language', async () => {
    const c = await signUpVerified(a, 'correct@example.com');
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff8800' } })
      .png()
      .toBuffer();
    expect((await c.put('/api/me/photo', new Uint8Array(png), { 'content-type': 'image/png' })).status).toBe(200);
    const me = (await c.patch('/api/me', { name: 'Corrected Name', region: 'CA', language: 'es' })).json();
    expect(me).toMatchObject({ name: 'Corrected Name', region: 'CA', language: 'es', image: expect.stringMatching(/^\/api\/me\/photo/) });
  });
  it('5 account deletion removes profile, generation files and sessions, keeping only what law requires', async () => {
    // no grace period here: the deletion job runs as soon as it is asked for
    const c = await b.buyer();
    const elsewhere = new TestClient(b.app.url);
    expect((await elsewhere.post('/api/auth/sign-in/email', { email: c.email, password: 'a fine password 1' })).status).toBe(200);
    const { orderId, url } = await b.checkout(c, 'starter', 'stripe');
    await b.payOnPage(url);
    await b.waitOrder(c, orderId, 'paid');
    const made = await seedGeneration(b.app.db, c.userId, { prompt: 'a lighthouse at dusk' });
    const fileKey = `generations/${c.userId}/${made.id}/video.mp4`;
    await b.app.platform.ctx.store.put(fileKey, Buffer.from('video'), { contentType: 'video/mp4' });
    await b.app.db.sql.query(`update generations set status = 'succeeded', output_url = $2 where id = $1`, [made.id, `store:${fileKey}`]);

    const res = await c.post('/api/me/deletion', { password: 'a fine password 1' });
    expect(res.status, res.body).toBe(202);
    await jobsDone(b.app, [accountDelete.name]);
    await jobsDone(b.app, [mediaDeleteObjects.name]);
    const q = (sql: string, params: unknown[]) => b.app.db.sql.query(sql, params);
    // profile, sessions, creations and their files: gone
    expect(await q('select 1 from users where id = $1', [c.userId])).toEqual([]);
    expect(await q('select 1 from sessions where user_id = $1', [c.userId])).toEqual([]);
    expect((await c.get('/api/me')).status).toBe(401);
    expect((await elsewhere.get('/api/me')).status).toBe(401);
    expect((await c.post('/api/auth/sign-in/email', { email: c.email, password: 'a fine password 1' })).status).toBe(401);
    expect(await q('select 1 from generations where user_id = $1', [c.userId])).toEqual([]);
    await expect(b.app.platform.ctx.store.head(fileKey)).rejects.toBeInstanceOf(ObjectNotFound);
    // what the law requires stays, without the person: the order and the credits it bought, under a pseudonym
    const [deletion] = await q(`select status, user_id, subject_ref from account_deletions where origin = 'self'`, []);
    expect(deletion).toMatchObject({ status: 'completed', user_id: null, subject_ref: expect.stringMatching(/^subj_/) });
    const [order] = await q('select status, user_id, subject_ref, checkout_email, receipt_number from orders where id = $1', [orderId]);
    expect(order).toMatchObject({
      status: 'paid',
      user_id: null,
      subject_ref: deletion!.subject_ref,
      checkout_email: null,
      receipt_number: expect.stringMatching(/^SS-/),
    });
    expect(await q('select kind, user_id from credit_ledger where subject_ref = $1', [deletion!.subject_ref])).toEqual([{ kind: 'purchase', user_id: null }]);
  });
  it('5 product emails carry an unsubscribe link that works', async () => {
    const file = path.join(os.tmpdir(), `savesora-policy5-update-${process.pid}.json`);
    try {
      const { services } = a.app.platform.ctx;
      const email = 'policy-5-news@example.com';
      const c = await signUpVerified(a, email);
      expect((await c.put('/api/me/email-preferences', { productUpdates: true })).json()).toMatchObject({ productUpdates: true });
      const update = (key: string, title: string) => {
        fs.writeFileSync(file, JSON.stringify({ key, title: { en: title, es: title }, body: { en: 'What is new.', es: 'Qué hay de nuevo.' } }));
        return runCommand({ database: a.app.db, services }, 'mail:product-update', ['--file', file]);
      };
      expect(await update('policy-5-first', 'First news')).toMatch(/created for 1 account/);
      const mail = await mailTo(a.smtp, email, /First news/);

      // the visible link and the List-Unsubscribe header (RFC 8058) are the same address
      const link = linkIn(mail.text, `${a.app.url}/api/unsubscribe/`);
      expect(mail.headers['list-unsubscribe']).toBe(`<${link}>`);
      expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
      // opening it (or a link scanner) only asks: still subscribed
      const opened = await new TestClient(a.app.url).get(link);
      expect(opened.status).toBe(302);
      expect(opened.headers.get('location')).toMatch(/^\/unsubscribe\//);
      expect((await c.get('/api/me/email-preferences')).json()).toMatchObject({ productUpdates: true });
      // the mail client's one click: a POST with no cookies, answered without a redirect
      const form = new FormData();
      form.append('List-Unsubscribe', 'One-Click');
      const clicked = await new TestClient(a.app.url, { origin: null }).post(link, form);
      expect(clicked.status, clicked.body).toBe(200);
      expect((await c.get('/api/me/email-preferences')).json()).toMatchObject({ productUpdates: false, optedInAt: null });

      // no more product updates; transactional mail still comes
      expect(await update('policy-5-second', 'Second news')).toMatch(/created for 0 account/);
      expect((await services.mailings.status({ idOrKey: 'product-update:policy-5-second' }))[0]).toMatchObject({ sent: 0, pending: 0 });
      expect((await a.client().post('/api/auth/request-password-reset', { email, redirectTo: '/reset-password' })).status).toBe(200);
      await mailTo(a.smtp, email, /reset/i);
      expect(a.smtp.messages.filter((m) => m.to.includes(email) && /news/i.test(m.subject)).map((m) => m.subject)).toEqual(['Save Sora news: First news']);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
