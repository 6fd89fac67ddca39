import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LegalDocumentView, PolicyNoticeList } from '../../src/shared/api/legal';
import { runCommand } from '../../src/server/cli/commands';
import { until } from '../helpers/wait';
import { startAccountsApp, type AccountsApp } from '../integration/accounts/setup';

// Privacy policy section 11: changes to this policy. A material change is published with its
// "Last Updated" date, every active account is mailed about it once, signed-in users see a notice
// until they dismiss it, and the earlier versions stay readable.

let a: AccountsApp;
let dir: string;
beforeAll(async () => {
  a = await startAccountsApp();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-policy-11-'));
});
afterAll(async () => {
  await a.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const password = 'a fine password 1';
async function account(email: string, opts: { language?: 'en' | 'es'; status?: 'active' | 'terminated' } = {}) {
  const ctx = a.app.platform.ctx;
  const u = await ctx.services.users.create({ email, password, name: email.split('@')[0]! });
  await a.app.db.sql.query('update users set language = $2, email_verified = true where id = $1', [u.id, opts.language ?? 'en']);
  const c = a.client();
  expect((await c.post('/api/auth/sign-in/email', { email, password })).status).toBe(200);
  if (opts.status) await a.app.db.sql.query('update users set status = $2 where id = $1', [u.id, opts.status]);
  return c;
}

function write(lang: string, front: string, body: string): string {
  fs.mkdirSync(path.join(dir, lang), { recursive: true });
  const file = path.join(dir, lang, 'privacy.md');
  fs.writeFileSync(file, `---\n${front}\n---\n\n${body}\n`);
  return file;
}

describe('11 Changes to this policy', () => {
  it('11 a new version mails each active account once and shows the notice; old versions stay readable', async () => {
    const ctx = a.app.platform.ctx;
    const ada = await account('policy-11-ada@example.com');
    const bea = await account('policy-11-bea@example.com', { language: 'es' });
    await account('policy-11-closed@example.com', { status: 'terminated' });

    const en = write(
      'en',
      'document: privacy\nversion: 2027-06-01\nlastUpdated: 2027-06-01\ntitle: Privacy Policy\nmaterial: yes\nsummary: We now keep API logs for 30 days.',
      '## 1. What we collect\n\nThe same as before.\n\n## 3. How long we keep it\n\nAPI logs: 30 days.',
    );
    const es = write(
      'es',
      'document: privacy\nversion: 2027-06-01\nlastUpdated: 2027-06-01\ntitle: Política de privacidad\nmaterial: yes\nsummary: Ahora guardamos los registros de la API 30 días.',
      '## 1. Qué datos recogemos\n\nLo mismo que antes.',
    );
    const out = await runCommand({ database: ctx.database, services: ctx.services }, 'policy:publish', ['--file', en, '--file', es]);
    expect(out).toContain('privacy 2027-06-01 (en): published, material change; replaces 2026-12-07 as the current version.');

    // posted on the page with its "Last Updated" date; the earlier version stays readable
    const current = (await (await a.app.fetch('/api/legal/privacy')).json()) as LegalDocumentView;
    expect(current).toMatchObject({ version: '2027-06-01', lastUpdated: '2027-06-01', current: true, material: true });
    expect(current.versions.map((v) => v.version)).toEqual(['2027-06-01', '2026-12-07']);
    const earlier = (await (await a.app.fetch('/api/legal/privacy?version=2026-12-07')).json()) as LegalDocumentView;
    expect(earlier).toMatchObject({ version: '2026-12-07', lastUpdated: '2026-12-07', current: false });
    expect(earlier.body).toContain('## 11. Changes to this policy');

    // the notice, in each reader's language, until dismissed
    expect((await ada.get('/api/me/policy-notices')).json<PolicyNoticeList>().notices).toEqual([
      expect.objectContaining({
        document: 'privacy',
        version: '2027-06-01',
        summary: 'We now keep API logs for 30 days.',
        url: '/legal/privacy?version=2027-06-01',
      }),
    ]);
    expect((await bea.get('/api/me/policy-notices')).json<PolicyNoticeList>().notices[0]).toMatchObject({ title: 'Política de privacidad' });
    expect((await ada.post('/api/me/policy-notices/dismiss', { document: 'privacy', version: '2027-06-01' })).status).toBe(204);
    expect((await ada.get('/api/me/policy-notices')).json<PolicyNoticeList>().notices).toEqual([]);
    expect((await bea.get('/api/me/policy-notices')).json<PolicyNoticeList>().notices).toHaveLength(1);

    // every active account mailed once, in its language; not the closed one
    const key = 'policy-change:privacy@2027-06-01';
    await until(async () => (await ctx.services.mailings.status({ idOrKey: key }))[0]?.status === 'sent', {
      app: a.app,
      timeoutMs: 20_000,
      what: 'the notice mailed',
    });
    const notices = (to: string) => a.smtp.messages.filter((m) => m.to.includes(to) && /Privacy Policy|Política de privacidad/.test(m.subject));
    expect(notices('policy-11-ada@example.com').map((m) => m.subject)).toEqual(['Save Sora updated its Privacy Policy']);
    expect(notices('policy-11-ada@example.com')[0]!.text).toContain('We now keep API logs for 30 days.');
    expect(notices('policy-11-bea@example.com').map((m) => m.subject)).toEqual(['Save Sora actualizó un documento: Política de privacidad']);
    expect(notices('policy-11-closed@example.com')).toEqual([]);
    const [active] = await a.app.db.sql.query<{ n: number }>("select count(*)::int as n from users where status = 'active'");
    const [mailed] = await a.app.db.sql.query<{ n: number }>(
      "select count(distinct r.user_id)::int as n from mailing_recipients r join mailings m on m.id = r.mailing_id where m.dedupe_key = $1 and r.status = 'sent'",
      [key],
    );
    expect(mailed!.n).toBe(active!.n);

    // publishing it again mails nobody twice
    await runCommand({ database: ctx.database, services: ctx.services }, 'policy:publish', ['--file', en, '--file', es]);
    expect(notices('policy-11-ada@example.com')).toHaveLength(1);
    expect(await a.app.db.sql.query('select 1 from mailings where dedupe_key = $1', [key])).toHaveLength(1);
  });
});
