import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LegalDocumentView, PolicyNoticeList } from '../../../src/shared/api/legal';
import { runCommand } from '../../../src/server/cli/commands';
import { createPoliciesService } from '../../../src/server/domain/privacy/policies.service';
import { SHIPPED_LEGAL_DIR } from '../../../src/server/domain/privacy/policies.files';
import { TestClient } from '../../helpers/client';
import { until } from '../../helpers/wait';
import { startAccountsApp, type AccountsApp } from '../accounts/setup';

// The published legal documents (issue 17; privacy policy 11): seeded at start-up, every version
// kept and readable, operators publish with a dry run, a material change mails every active
// account once and shows a notice to older accounts until they dismiss it.

let a: AccountsApp;
let dir: string;
beforeAll(async () => {
  a = await startAccountsApp();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-legal-'));
});
afterAll(async () => {
  await a.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const ctx = () => a.app.platform.ctx;
const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => a.app.db.sql.query<T>(text, params);
const cli = (...argv: string[]) => runCommand({ database: ctx().database, services: ctx().services }, argv[0]!, argv.slice(1));
const anonymous = () => new TestClient(a.app.url);
const password = 'a fine password 1';
let n = 0;

async function account(tag: string, language: 'en' | 'es' = 'en') {
  const email = `legal-${tag}-${++n}@example.com`;
  const u = await ctx().services.users.create({ email, password, name: `Reader ${tag}` });
  await sql('update users set language = $2, email_verified = true where id = $1', [u.id, language]);
  const c = a.client();
  const res = await c.post('/api/auth/sign-in/email', { email, password });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId: u.id, email });
}

/** A legal document file in the temporary folder (`lang/name.md`). */
function docFile(name: string, front: Record<string, string>, body: string, lang = 'en'): string {
  fs.mkdirSync(path.join(dir, lang), { recursive: true });
  const file = path.join(dir, lang, name);
  const head = Object.entries(front)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  fs.writeFileSync(file, `---\n${head}\n---\n\n${body}\n`);
  return file;
}

const legal = async (document: string, query = '') => {
  const res = await anonymous().get(`/api/legal/${document}${query}`);
  return { status: res.status, body: res.json<LegalDocumentView & { error?: { code: string } }>() };
};
const mailsTo = (email: string) => a.smtp.messages.filter((m) => m.to.includes(email) && /updated its|actualizó/.test(m.subject));
const mailingSent = (key: string) =>
  until(async () => (await ctx().services.mailings.status({ idOrKey: key }))[0]?.status === 'sent', {
    app: a.app,
    timeoutMs: 20_000,
    recheckMs: 100,
    what: `mailing ${key} sent`,
  });

describe('published legal documents', () => {
  it('start-up publishes the shipped documents in English and Spanish, and doing it again changes nothing', async () => {
    const rows = await sql<{ document: string; language: string; version: string; material: string; published_by: string | null }>(
      'select document, language, version, material, published_by from policy_versions order by document, language',
    );
    expect(rows.map((r) => `${r.document}/${r.language}`)).toEqual([
      'acceptable-use/en',
      'acceptable-use/es',
      'privacy/en',
      'privacy/es',
      'terms/en',
      'terms/es',
    ]);
    expect(new Set(rows.map((r) => r.version))).toEqual(new Set(['2026-12-07']));
    expect(rows.every((r) => r.material === 'no' && r.published_by === null)).toBe(true);

    const again = await ctx().services.policies.seed();
    expect(again.problems).toEqual([]);
    expect(again.files.map((f) => f.outcome)).toEqual(Array(6).fill('unchanged'));
    expect(again.mailings).toEqual([]);
    expect(await sql('select 1 from policy_versions')).toHaveLength(6);
    expect(fs.readdirSync(path.join(SHIPPED_LEGAL_DIR, 'es')).sort()).toEqual(['acceptable-use.md', 'privacy.md', 'terms.md']);
  });

  it('GET /api/legal/:document answers the current version with this server’s settings filled in, in the reader’s language', async () => {
    const en = await legal('privacy');
    expect(en.status).toBe(200);
    expect(en.body).toMatchObject({
      document: 'privacy',
      version: '2026-12-07',
      language: 'en',
      languages: ['en', 'es'],
      title: 'Privacy Policy',
      lastUpdated: '2026-12-07',
      current: true,
      currentVersion: '2026-12-07',
      material: false,
    });
    expect(en.body.versions).toEqual([expect.objectContaining({ version: '2026-12-07', current: true, material: false })]);
    // placeholders become settings: the support address, the public address, the retention periods
    expect(en.body.body).not.toMatch(/\{\{/);
    expect(en.body.body).toContain(`<${a.app.config.SUPPORT_EMAIL}>`);
    expect(en.body.body).toContain(`${a.app.url}/privacy-request`);
    expect(en.body.body).toContain(`**API request log:** ${a.app.config.API_LOG_RETENTION_DAYS} days.`);
    expect(en.body.body).toContain(`It is deleted after ${a.app.config.ACCOUNT_DELETION_GRACE_DAYS} days`);
    for (const heading of ['## 1. What we collect', '## 7. Where your data is processed', '## 10. Third-party services', '## 11. Changes to this policy'])
      expect(en.body.body).toContain(heading);

    const es = await legal('privacy', '?lang=es-MX');
    expect(es.body).toMatchObject({ language: 'es', title: 'Política de privacidad', version: '2026-12-07' });
    expect(es.body.body).toContain('## 11. Cambios en esta política');
    expect((await legal('privacy', '?lang=fr')).body.language).toBe('en');
    for (const doc of ['terms', 'acceptable-use']) {
      const r = await legal(doc, '?lang=es');
      expect(r.status).toBe(200);
      expect(r.body.body).not.toMatch(/\{\{/);
    }

    // unknown documents and versions, and nonsense, answer in our error shape
    expect(await legal('cookies')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await legal('privacy', '?version=1999-01-01')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await legal('privacy', '?version=%00')).toMatchObject({ status: 400 });
    expect(await legal('privacy', `?version=${'x'.repeat(500)}`)).toMatchObject({ status: 400, body: { error: { code: expect.any(String) } } });
    expect(await legal('privacy', `?lang=${'e'.repeat(100)}`)).toMatchObject({ status: 400 });
    // a name longer than any route parameter may be (100 characters) is refused by the router as 414, in our error shape
    expect([404, 414]).toContain((await legal('x'.repeat(300))).status);
  });

  it('policy:publish --dry-run says what would happen, and changes nothing', async () => {
    await account('dry-run');
    const file = docFile(
      'privacy.md',
      {
        document: 'privacy',
        version: '2027-01-10',
        lastUpdated: '2027-01-10',
        title: 'Privacy Policy',
        material: 'yes',
        summary: 'Exports now include your API request log.',
      },
      '## 1. What we collect\n\nLess than before. Write to <{{supportEmail}}>.',
    );
    const recipients = await ctx().services.mailings.countRecipients('policy-change');
    expect(recipients).toBeGreaterThan(0);
    const out = await cli('policy:publish', '--file', file, '--dry-run');
    expect(out).toContain('Dry run: nothing was published.');
    expect(out).toContain('privacy 2027-01-10 (en): would be published, material change; replaces 2026-12-07 as the current version.');
    expect(out).toContain(`Would mail ${recipients} account(s) about privacy 2027-01-10 (subject: "Save Sora updated its Privacy Policy")`);
    expect(await sql("select 1 from policy_versions where version = '2027-01-10'")).toHaveLength(0);
    expect(await sql("select 1 from mailings where dedupe_key like 'policy-change:%'")).toHaveLength(0);
    expect((await legal('privacy')).body.version).toBe('2026-12-07');
    // the same as JSON
    const json = JSON.parse(await cli('policy:publish', '--file', file, '--dry-run', '--json')) as { dryRun: boolean; mailings: Array<{ recipients: number }> };
    expect(json).toMatchObject({ dryRun: true, files: [{ outcome: 'published', material: true }], mailings: [{ recipients, alreadyCreated: false }] });
  });

  it('a material change: published, the old version stays readable, older accounts see a notice and get one mail each', async () => {
    const older = await account('older');
    const olderEs = await account('older-es', 'es');
    const summary = 'Exports now include your API request log.';
    const en = docFile(
      'privacy.md',
      { document: 'privacy', version: '2027-01-10', lastUpdated: '2027-01-10', title: 'Privacy Policy', material: 'yes', summary },
      '## 1. What we collect\n\nLess than before. Write to <{{supportEmail}}>.',
    );
    const es = docFile(
      'privacy.md',
      {
        document: 'privacy',
        version: '2027-01-10',
        lastUpdated: '2027-01-10',
        title: 'Política de privacidad',
        material: 'yes',
        summary: 'Las exportaciones incluyen ahora tu registro de la API.',
      },
      '## 1. Qué datos recogemos\n\nMenos que antes.',
      'es',
    );
    const out = await cli('policy:publish', '--file', en, '--file', es, '--by', 'ops@example.com');
    expect(out).toContain('privacy 2027-01-10 (en): published, material change; replaces 2026-12-07 as the current version.');
    expect(out).toContain('privacy 2027-01-10 (es): published, material change');
    expect(out).toMatch(/Mailing \d+ account\(s\) about privacy 2027-01-10/);

    // the new version is current; the old one stays readable, marked as replaced
    const current = await legal('privacy');
    expect(current.body).toMatchObject({ version: '2027-01-10', current: true, material: true, summary, lastUpdated: '2027-01-10' });
    expect(current.body.body).toContain(`Write to <${a.app.config.SUPPORT_EMAIL}>.`);
    expect(current.body.versions.map((v) => [v.version, v.current, v.material])).toEqual([
      ['2027-01-10', true, true],
      ['2026-12-07', false, false],
    ]);
    const old = await legal('privacy', '?version=2026-12-07&lang=es');
    expect(old.body).toMatchObject({ version: '2026-12-07', current: false, currentVersion: '2027-01-10', language: 'es' });
    expect(old.body.body).toContain('## 7. Dónde se tratan tus datos');
    const [row] = await sql<{ published_by: string }>("select published_by from policy_versions where version = '2027-01-10' and language = 'en'");
    expect(row!.published_by).toBe('ops@example.com');

    // the notice: accounts older than the version see it, in their language; a newer account does not
    const newer = await account('newer');
    const notices = (await older.get('/api/me/policy-notices')).json<PolicyNoticeList>();
    expect(notices.notices).toEqual([
      {
        document: 'privacy',
        version: '2027-01-10',
        title: 'Privacy Policy',
        summary,
        lastUpdated: '2027-01-10',
        publishedAt: expect.any(String),
        url: '/legal/privacy?version=2027-01-10',
      },
    ]);
    expect((await olderEs.get('/api/me/policy-notices')).json<PolicyNoticeList>().notices).toEqual([
      expect.objectContaining({ title: 'Política de privacidad', summary: 'Las exportaciones incluyen ahora tu registro de la API.' }),
    ]);
    expect((await newer.get('/api/me/policy-notices')).json<PolicyNoticeList>().notices).toEqual([]);
    expect((await anonymous().get('/api/me/policy-notices')).status).toBe(401);

    // one mailing for the version, every active account (as it was) mailed once, in its language
    const mailings = await sql<{ id: string; created_by: string }>("select id, created_by from mailings where dedupe_key = 'policy-change:privacy@2027-01-10'");
    expect(mailings).toHaveLength(1);
    expect(mailings[0]!.created_by).toBe('ops@example.com');
    await mailingSent('policy-change:privacy@2027-01-10');
    expect(mailsTo(older.email).map((m) => m.subject)).toEqual(['Save Sora updated its Privacy Policy']);
    expect(mailsTo(olderEs.email).map((m) => m.subject)).toEqual(['Save Sora actualizó un documento: Política de privacidad']);
    expect(mailsTo(older.email)[0]!.text).toContain(`${a.app.url}/legal/privacy?version=2027-01-10`);
    expect(mailsTo(newer.email)).toHaveLength(0);

    // publishing the same files again: nothing new, nobody mailed again
    const again = await cli('policy:publish', '--file', en, '--file', es);
    expect(again).toContain('privacy 2027-01-10 (en): already published with this text; nothing to do.');
    expect(await sql("select 1 from mailings where dedupe_key = 'policy-change:privacy@2027-01-10'")).toHaveLength(1);
    expect(await sql("select 1 from policy_versions where version = '2027-01-10'")).toHaveLength(2);
    expect(mailsTo(older.email)).toHaveLength(1);

    // policy:list shows every version and which is current
    const list = await cli('policy:list', '--document', 'privacy');
    expect(list).toMatch(/privacy\s+2027-01-10\s+en\s+2027-01-10\s+\S+ \S+\s+yes\s+yes\s+ops@example.com/);
    expect(list).toMatch(/privacy\s+2026-12-07\s+es\s+2026-12-07\s+\S+ \S+\s+no\s+shipped/);
  });

  it('a notice stays until it is dismissed, and dismissing is idempotent and checked', async () => {
    const reader = await account('dismiss');
    const other = await account('dismiss-other');
    const file = docFile(
      'terms.md',
      { document: 'terms', version: '2027-02-01', lastUpdated: '2027-02-01', title: 'Terms of Service', material: 'yes', summary: 'Refunds are explained.' },
      '## 1. Terms\n\nNew terms.',
    );
    await cli('policy:publish', '--file', file);
    const notices = async (c: TestClient) => (await c.get('/api/me/policy-notices')).json<PolicyNoticeList>().notices.map((x) => `${x.document}@${x.version}`);
    // (both accounts are newer than the privacy change of the test before: only the terms concern them)
    expect(await notices(reader)).toEqual(['terms@2027-02-01']);
    // still there on the next visit
    expect(await notices(reader)).toEqual(['terms@2027-02-01']);

    expect((await reader.post('/api/me/policy-notices/dismiss', { document: 'terms', version: '2027-02-01' })).status).toBe(204);
    expect(await notices(reader)).toEqual([]);
    // another user's notice is not touched by it
    expect(await notices(other)).toEqual(['terms@2027-02-01']);
    expect((await reader.post('/api/me/policy-notices/dismiss', { document: 'terms', version: '2027-02-01' })).status).toBe(204);
    const [count] = await sql<{ n: number }>('select count(*)::int as n from policy_notice_dismissals where user_id = $1', [reader.userId]);
    expect(count!.n).toBe(1);

    // what cannot be dismissed
    const refused = async (body: unknown) => {
      const res = await reader.post('/api/me/policy-notices/dismiss', body);
      return [res.status, res.json<{ error: { code: string } }>().error.code];
    };
    expect(await refused({ document: 'privacy', version: '2026-12-07' })).toEqual([404, 'not_found']); // not a material change
    expect(await refused({ document: 'privacy', version: '1999-01-01' })).toEqual([404, 'not_found']);
    expect((await refused({ document: 'cookies', version: '1' }))[0]).toBe(400);
    expect((await refused({ document: 'privacy', version: 'a\u0000b' }))[0]).toBe(400);
    expect((await refused({ document: 'privacy', version: 'x'.repeat(5000) }))[0]).toBe(400);
    expect((await refused({}))[0]).toBe(400);
    expect((await anonymous().post('/api/me/policy-notices/dismiss', { document: 'terms', version: '2027-02-01' })).status).toBe(401);
    // a page of another site cannot dismiss it with the user's cookies
    const elsewhere = new TestClient(a.app.url, { origin: 'https://evil.example' });
    for (const [k, v] of other.cookies) elsewhere.cookies.set(k, v);
    expect((await elsewhere.post('/api/me/policy-notices/dismiss', { document: 'terms', version: '2027-02-01' })).status).toBe(403);
    expect(await notices(other)).toEqual(['terms@2027-02-01']);
  });

  it('a version label already published with another text is refused, and nothing of the set is written', async () => {
    const fresh = docFile(
      'acceptable-use.md',
      { document: 'acceptable-use', version: '2027-03-01', lastUpdated: '2027-03-01', title: 'Acceptable Use Policy' },
      '## 1. Rules\n\nBe kind.',
    );
    const changed = docFile(
      'privacy.md',
      { document: 'privacy', version: '2027-01-10', lastUpdated: '2027-01-10', title: 'Privacy Policy', material: 'yes', summary: 'x' },
      '## 1. What we collect\n\nA quietly different text.',
    );
    const err = await cli('policy:publish', '--file', fresh, '--file', changed).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'policy_version_conflict', status: 409 });
    expect((err as Error).message).toContain('version 2027-01-10 of privacy (en) is already published with a different text');
    expect(await sql("select 1 from policy_versions where version = '2027-03-01'")).toHaveLength(0);
    // the dry run says so too
    await expect(cli('policy:publish', '--file', changed, '--dry-run')).rejects.toMatchObject({ code: 'policy_version_conflict' });
    // and two files for the same version and language at once are refused
    await expect(cli('policy:publish', '--file', fresh, '--file', fresh)).rejects.toMatchObject({ code: 'invalid_legal_document' });
  });

  it('refuses a broken file with a message that names the problem', async () => {
    const bad = (name: string, text: string) => {
      const file = path.join(dir, 'en', name);
      fs.writeFileSync(file, text);
      return cli('policy:publish', '--file', file).catch((e: unknown) => e as Error);
    };
    const cases: Array<[string, string, RegExp]> = [
      ['no-front.md', '# Hello\n', /must start with a front matter block/],
      ['unclosed.md', '---\ndocument: privacy\n', /no closing "---"/],
      [
        'unknown-doc.md',
        '---\ndocument: cookies\nversion: 1\nlastUpdated: 2027-01-01\ntitle: T\n---\nText',
        /"document" must be one of privacy, terms, acceptable-use/,
      ],
      ['bad-date.md', '---\ndocument: terms\nversion: 1\nlastUpdated: 2027-02-30\ntitle: T\n---\nText', /"lastUpdated" is required as a date/],
      ['bad-version.md', '---\ndocument: terms\nversion: ../../etc\nlastUpdated: 2027-02-01\ntitle: T\n---\nText', /"version" is required/],
      [
        'no-summary.md',
        '---\ndocument: terms\nversion: 9\nlastUpdated: 2027-02-01\ntitle: T\nmaterial: yes\n---\nText',
        /"summary" is required for a material change/,
      ],
      ['bad-material.md', '---\ndocument: terms\nversion: 9\nlastUpdated: 2027-02-01\ntitle: T\nmaterial: maybe\n---\nText', /"material" must be yes or no/],
      ['unknown-field.md', '---\ndocument: terms\nversion: 9\nlastUpdated: 2027-02-01\ntitle: T\nauthor: me\n---\nText', /unknown field "author"/],
      ['empty.md', '---\ndocument: terms\nversion: 9\nlastUpdated: 2027-02-01\ntitle: T\n---\n\n', /no text after its front matter/],
      ['nul.md', '---\ndocument: terms\nversion: 9\nlastUpdated: 2027-02-01\ntitle: T\n---\nA\u0000B', /NUL/],
      ['huge.md', `---\ndocument: terms\nversion: 9\nlastUpdated: 2027-02-01\ntitle: T\n---\n${'x'.repeat(600 * 1024)}`, /larger than 512 KB/],
    ];
    for (const [name, text, message] of cases) {
      const err = await bad(name, text);
      expect(err, name).toBeInstanceOf(Error);
      expect((err as Error).message, name).toMatch(message);
      expect((err as Error).message, name).toContain(name);
    }
    // a file in a folder that is no language, without a "language" field
    fs.mkdirSync(path.join(dir, 'docs'), { recursive: true });
    const nolang = path.join(dir, 'docs', 'terms.md');
    fs.writeFileSync(nolang, '---\ndocument: terms\nversion: 9\nlastUpdated: 2027-02-01\ntitle: T\n---\nText');
    await expect(cli('policy:publish', '--file', nolang)).rejects.toThrow(/the language must be one of en, es/);
    await expect(cli('policy:publish', '--file', path.join(dir, 'missing.md'))).rejects.toMatchObject({ code: 'not_found' });
    await expect(cli('policy:publish')).rejects.toThrow(/--file is required/);
    expect(await sql("select 1 from policy_versions where version = '9'")).toHaveLength(0);
  });

  it('two publications of the same version at once publish it once and mail once', async () => {
    const file = docFile(
      'acceptable-use.md',
      {
        document: 'acceptable-use',
        version: '2027-04-01',
        lastUpdated: '2027-04-01',
        title: 'Acceptable Use Policy',
        material: 'yes',
        summary: 'Deepfakes of real people are explained.',
      },
      '## 1. Rules\n\nStill be kind.',
    );
    const results = await Promise.all([cli('policy:publish', '--file', file), cli('policy:publish', '--file', file), cli('policy:publish', '--file', file)]);
    expect(results.filter((r) => r.includes('(en): published')).length).toBe(1);
    expect(results.filter((r) => r.includes('already published with this text')).length).toBe(2);
    expect(await sql("select 1 from policy_versions where version = '2027-04-01'")).toHaveLength(1);
    expect(await sql("select 1 from mailings where dedupe_key = 'policy-change:acceptable-use@2027-04-01'")).toHaveLength(1);
  });

  it('LEGAL_DOCS_DIR: the operator’s documents replace the shipped ones per document and language; bad files are reported', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-own-legal-'));
    try {
      fs.mkdirSync(path.join(own, 'en'));
      fs.writeFileSync(
        path.join(own, 'en', 'privacy.md'),
        '---\ndocument: privacy\nversion: acme-1\nlastUpdated: 2027-05-01\ntitle: "Acme: Privacy"\n---\n## Our promise\n\nWe are {{operatorName}}.\n',
      );
      fs.writeFileSync(path.join(own, 'en', 'notes.md'), 'Just notes, no front matter.\n');
      const c = ctx();
      const seed = () =>
        createPoliciesService({
          database: c.database,
          config: { ...c.config, LEGAL_DOCS_DIR: own },
          logger: c.logger,
          catalog: c.services.catalog,
          clock: c.clock,
          mailings: c.services.mailings,
        }).seed();
      const report = await seed();
      expect(report.problems).toEqual([{ source: path.join(own, 'en', 'notes.md'), message: expect.stringMatching(/front matter/) }]);
      // (every document has an operator's version by now: the shipped files are left alone)
      expect(report.files).toEqual([expect.objectContaining({ document: 'privacy', version: 'acme-1', language: 'en', outcome: 'published' })]);
      const [row] = await sql<{ published_by: string; material: string }>("select published_by, material from policy_versions where version = 'acme-1'");
      expect(row).toEqual({ published_by: 'LEGAL_DOCS_DIR', material: 'no' });

      const now = await legal('privacy');
      expect(now.body).toMatchObject({ version: 'acme-1', title: 'Acme: Privacy', current: true });
      expect(now.body.body).toContain(`We are ${c.config.SELLER_NAME}.`);
      // a Spanish reader gets the version in force, in the language it exists in, and can still read the earlier Spanish ones
      expect((await legal('privacy', '?lang=es')).body).toMatchObject({ version: 'acme-1', language: 'en', languages: ['en'] });
      expect((await legal('privacy', '?lang=es&version=2027-01-10')).body).toMatchObject({ language: 'es', current: false });

      // again: nothing new; the same label with another text is reported, not published
      expect((await seed()).files.filter((f) => f.outcome === 'published')).toEqual([]);
      // a software update shipping a newer text of a document the operator has published never replaces theirs
      const shipped = path.join(own, 'shipped');
      fs.mkdirSync(path.join(shipped, 'en'), { recursive: true });
      fs.writeFileSync(
        path.join(shipped, 'en', 'privacy.md'),
        '---\ndocument: privacy\nversion: 2099-01-01\nlastUpdated: 2099-01-01\ntitle: Shipped\n---\nNewer shipped text.\n',
      );
      const update = await createPoliciesService({
        database: c.database,
        config: c.config,
        logger: c.logger,
        catalog: c.services.catalog,
        mailings: c.services.mailings,
        shippedDir: shipped,
      }).seed();
      expect(update).toEqual({ files: [], mailings: [], problems: [] });
      expect(await sql("select 1 from policy_versions where version = '2099-01-01'")).toHaveLength(0);
      fs.writeFileSync(
        path.join(own, 'en', 'privacy.md'),
        '---\ndocument: privacy\nversion: acme-1\nlastUpdated: 2027-05-01\ntitle: Acme\n---\nChanged quietly.\n',
      );
      const third = await seed();
      expect(third.problems).toContainEqual({
        source: path.join(own, 'en', 'privacy.md'),
        message: expect.stringMatching(/already published with a different text/),
      });
      expect((await legal('privacy')).body.body).toContain('## Our promise');
    } finally {
      fs.rmSync(own, { recursive: true, force: true });
    }
  });
});
