import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryView, AuditList, PrivacyRequestReceipt } from '../../../src/shared/api';
import { FakeClock } from '../../../src/server/adapters/clock';
import { runCommand } from '../../../src/server/cli/commands';
import { cliActor, type AuditActor } from '../../../src/server/domain/admin/audit.service';
import { openOrExtendCase } from '../../../src/server/domain/moderation/cases.repo';
import { registeredRoutes } from '../../../src/server/http/app';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { jobsDone } from '../../helpers/wait';

/**
 * The audit log (issue 18): admins read it (filtered, paged) and download it as CSV with the same
 * filters; nothing updates or deletes an entry (no route does, and the table refuses it); the CLI
 * prints it. And the operator actions that existed before the console — moderation decisions,
 * strikes, appeals decided, list edits, legal holds, privacy requests, exports, mailings, policies,
 * the secrets reseal — now write their entries, from the console and from the CLI. One app for the
 * whole file, on a FakeClock (the date filters and the recent sign-in move it).
 */
const clock = new FakeClock();
let app: TestApp;
const PASSWORD = 'a fine password 1';
let n = 0;
let dir: string;

beforeAll(async () => {
  app = await startTestApp({ clock, env: { TRUST_PROXY: 'true', SIGNUP_FREE_CREDITS: '0' } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-audit-'));
});
afterAll(async () => {
  await (app as TestApp | undefined)?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const services = () => app.platform.ctx.services;
const cli = (name: string, argv: string[]) => runCommand({ database: app.db, services: services() }, name, argv);
const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => app.db.sql.query<T>(text, params);

async function person(role: 'user' | 'support' | 'moderator' | 'admin', tag: string = role) {
  const email = `audit-${tag}-${++n}@example.com`;
  const u = await services().users.create({ email, password: PASSWORD, name: `Audit ${tag}`, role });
  const ip = `192.0.2.${n}`;
  const c = new TestClient(app.url, { ip });
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId: u.id, email, ip });
}

/** The entries about one target, oldest first. */
const entriesAbout = async (targetId: string) => (await services().audit.list({ targetId, limit: 100 })).reverse();

describe('reading the audit log', () => {
  it('is for admins: support and moderators get 403, a normal user and nobody 404, for the list and the CSV', async () => {
    const admin = await person('admin');
    expect((await admin.get('/api/admin/audit')).status).toBe(200);
    for (const role of ['support', 'moderator'] as const) {
      const c = await person(role);
      expect((await c.get('/api/admin/audit')).status).toBe(403);
      expect((await c.get('/api/admin/audit.csv')).status).toBe(403);
    }
    for (const c of [await person('user'), new TestClient(app.url)]) {
      expect((await c.get('/api/admin/audit')).status).toBe(404);
      const csv = await c.get('/api/admin/audit.csv?action=user.');
      expect(csv.status).toBe(404);
      expect(csv.json<{ error: { message: string } }>().error.message).toBe('No route matches GET /api/admin/audit.csv.');
    }
  });

  it('filters by actor, action prefix, target and time, pages with nextBefore, and exports the same selection as CSV', async () => {
    const admin = await person('admin');
    const alice: AuditActor = { id: 'op-alice', label: 'alice@ops.example', role: 'admin', via: 'console', ip: '198.51.100.7' };
    const t0 = clock.nowMs();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      await clock.set(t0 + i * 3_600_000);
      ids.push(
        await services().audit.record(i % 2 ? alice : cliActor({ SAVESORA_OPERATOR: 'bob' }), {
          action: i < 3 ? 'filtertest.grant' : 'filtertest.revoke',
          targetType: 'user',
          targetId: `filter-target-${i % 2}`,
          reason: i === 4 ? '=HYPERLINK("http://evil.example","click")' : `reason ${i}`,
          before: { credits: i },
          after: { credits: i + 1, note: 'a, "quoted"\nline' },
        }),
      );
    }
    const list = async (query: string) => {
      const res = await admin.get(`/api/admin/audit?${query}`);
      expect(res.status, res.body).toBe(200);
      return res.json<AuditList>();
    };
    expect((await list('action=filtertest.')).entries.map((e) => e.id)).toEqual([...ids].reverse());
    expect((await list('action=filtertest.revoke')).entries.map((e) => e.id)).toEqual([ids[4], ids[3]]);
    expect((await list('action=filtertest')).entries).toEqual([]); // not a prefix without its dot
    expect((await list('action=filtertest.&actor=alice@ops')).entries.map((e) => e.id)).toEqual([ids[3], ids[1]]);
    expect((await list('action=filtertest.&actor=op-alice')).entries.map((e) => e.id)).toEqual([ids[3], ids[1]]);
    expect((await list('action=filtertest.&actor=cli:bob')).entries.map((e) => e.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect((await list('targetType=user&targetId=filter-target-1')).entries.map((e) => e.id)).toEqual([ids[3], ids[1]]);
    const from = new Date(t0 + 3_600_000).toISOString();
    const to = new Date(t0 + 3 * 3_600_000).toISOString();
    expect((await list(`action=filtertest.&from=${from}&to=${to}`)).entries.map((e) => e.id)).toEqual([ids[3], ids[2], ids[1]]);
    const one = (await list('action=filtertest.&limit=1')).entries[0]!;
    expect(one).toEqual({
      id: ids[4]!,
      at: new Date(t0 + 4 * 3_600_000).toISOString(),
      actor: { id: null, label: 'cli:bob', role: null, via: 'cli', ip: 'local' },
      action: 'filtertest.revoke',
      targetType: 'user',
      targetId: 'filter-target-0',
      reason: '=HYPERLINK("http://evil.example","click")',
      before: { credits: 4 },
      after: { credits: 5, note: 'a, "quoted"\nline' },
    } satisfies AuditEntryView);

    // pages: 2 + 2 + 1, then nothing more
    const pages: number[][] = [];
    let before: number | null = null;
    do {
      const page: AuditList = await list(`action=filtertest.&limit=2${before ? `&before=${before}` : ''}`);
      pages.push(page.entries.map((e) => e.id));
      before = page.nextBefore;
    } while (before);
    expect(pages).toEqual([[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]);

    // bad filters are a 400, never a 500
    for (const q of ['limit=0', 'limit=500', 'before=-1', 'from=yesterday', `from=${to}&to=${from}`]) {
      expect((await admin.get(`/api/admin/audit?${q}`)).status, q).toBe(400);
    }

    // the CSV: the same filters, an attachment, RFC 4180 quoting, formulas defused
    const csv = await admin.get('/api/admin/audit.csv?action=filtertest.&actor=cli:bob');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="audit-log-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = csv.body.split('\r\n');
    expect(lines[0]).toBe('id,at,actor_id,actor,role,via,ip,action,target_type,target_id,reason,before,after');
    expect(lines[1]).toBe(
      `${String(ids[4])},${new Date(t0 + 4 * 3_600_000).toISOString()},,cli:bob,,cli,local,filtertest.revoke,user,filter-target-0,` +
        `"'=HYPERLINK(""http://evil.example"",""click"")","{""credits"":4}","{""note"":""a, \\""quoted\\""\\nline"",""credits"":5}"`,
    );
    expect(csv.body.match(/filtertest\./g)).toHaveLength(3);
    expect((await admin.get(`/api/admin/audit.csv?from=${to}&to=${from}`)).status).toBe(400);
  });

  it('is append-only: no route changes an entry, and the table refuses UPDATE and DELETE', async () => {
    const id = await services().audit.record(cliActor(), { action: 'appendonly.test', reason: 'kept' });
    await expect(sql(`update audit_log set reason = 'changed' where id = $1`, [id])).rejects.toThrow(/append-only/);
    await expect(sql(`delete from audit_log where id = $1`, [id])).rejects.toThrow(/append-only/);
    await expect(sql(`delete from audit_log`)).rejects.toThrow(/append-only/);
    expect(await sql(`select reason from audit_log where id = $1`, [id])).toEqual([{ reason: 'kept' }]);
    const writes = registeredRoutes(app.platform.http!).filter((r) => r.url.startsWith('/api/admin/audit') && r.method !== 'GET' && r.method !== 'HEAD');
    expect(writes).toEqual([]);
  });

  it('audit:list prints the log (text or --json) with the same filters', async () => {
    await services().audit.record(
      { id: 'op-cli', label: 'carol@ops.example', role: 'support', via: 'console', ip: '198.51.100.9' },
      {
        action: 'clitest.grant',
        targetType: 'user',
        targetId: 'cli-target',
        reason: 'goodwill',
        before: { credits: 0 },
        after: { credits: 50 },
      },
    );
    const json = JSON.parse(await cli('audit:list', ['--action', 'clitest.', '--json'])) as AuditEntryView[];
    expect(json).toHaveLength(1);
    expect(json[0]).toMatchObject({ action: 'clitest.grant', actor: { label: 'carol@ops.example', via: 'console' }, after: { credits: 50 } });
    const text = await cli('audit:list', ['--actor', 'carol@', '--target-type', 'user', '--target-id', 'cli-target', '--limit', '5']);
    const [head, row] = text.split('\n');
    expect(head).toMatch(/^ID\s+WHEN \(UTC\)\s+WHO\s+VIA\s+FROM\s+ACTION\s+TARGET\s+REASON\s+CHANGE$/);
    expect(row).toContain('carol@ops.example (support)');
    expect(row).toContain('clitest.grant');
    expect(row).toContain('user cli-target');
    expect(row).toContain('credits: 0 -> 50');
    expect(await cli('audit:list', ['--action', 'nothing.like.this'])).toBe('No audit entries match.');
    await expect(cli('audit:list', ['--limit', 'lots'])).rejects.toThrow(/--limit/);
    await expect(cli('audit:list', ['--bogus'])).rejects.toThrow(/Unknown option/);
  });
});

describe('the operator actions that existed before the console are audited', () => {
  it('moderation: a decision with a strike, the appeal decided, the strike taken back; hash and term list edits', async () => {
    const moderator = await person('moderator');
    const admin = await person('admin');
    const owner = await person('user', 'owner');
    const kase = await app.db.transaction((tx) =>
      openOrExtendCase(
        tx,
        { userId: owner.userId, subject: 'report', generationId: null },
        { severity: 0.5, topCategory: 'violence', action: 'flag' },
        clock.now(),
      ),
    );
    const decided = await moderator.post(`/api/moderation/cases/${kase.id}/decision`, { decision: 'remove_strike', reason: 'graphic violence' });
    expect(decided.status, decided.body).toBe(200);
    const appealed = await owner.post(`/api/me/cases/${kase.id}/appeal`, { text: 'This was a scene from my own short film, please look again.' });
    expect(appealed.status, appealed.body).toBe(200);
    expect((await admin.post(`/api/moderation/cases/${kase.id}/decision`, { decision: 'allow', reason: 'fiction, fine' })).status).toBe(200);

    const onCase = await entriesAbout(kase.id);
    expect(onCase.map((e) => [e.action, e.actor.label, e.actor.role, e.actor.ip, e.reason])).toEqual([
      ['case.decide', moderator.email, 'moderator', moderator.ip, 'graphic violence'],
      ['case.appeal.decide', admin.email, 'admin', admin.ip, 'fiction, fine'],
    ]);
    expect(onCase[0]).toMatchObject({
      before: { status: 'open', outcome: null },
      after: { status: 'closed', outcome: 'removed_strike', decision: 'remove_strike' },
    });
    expect(onCase[1]).toMatchObject({ before: { outcome: 'removed_strike' }, after: { outcome: 'allowed', answersAppeal: true, strikeRemoved: true } });
    expect((await entriesAbout(owner.userId)).map((e) => [e.action, e.actor.label])).toEqual([
      ['user.strike.add', moderator.email],
      ['user.strike.remove', admin.email],
    ]);

    const imported = await admin.post('/api/moderation/hash-lists', {
      name: 'audited',
      category: 'sexual/minors',
      format: 'text',
      kind: 'sha256',
      content: 'cd'.repeat(32),
    });
    expect(imported.status, imported.body).toBe(201);
    const listId = imported.json<{ id: string }>().id;
    expect((await admin.delete(`/api/moderation/hash-lists/${listId}`)).status).toBe(204);
    expect((await entriesAbout(listId)).map((e) => [e.action, e.before, e.after])).toEqual([
      ['hash_list.import', null, { name: 'audited', category: 'sexual/minors', pdqThreshold: 31, entryCount: 1, replaced: false }],
      ['hash_list.delete', { name: 'audited', category: 'sexual/minors', pdqThreshold: 31, entryCount: 1 }, null],
    ]);
    const term = await admin.post('/api/moderation/terms', { op: 'add', list: 'violence', language: 'en', term: 'audited phrase' });
    expect(term.status, term.body).toBe(201);
    const termId = term.json<{ id: string }>().id;
    expect((await admin.delete(`/api/moderation/terms/${termId}`)).status).toBe(204);
    expect((await entriesAbout(termId)).map((e) => e.action)).toEqual(['term_edit.add', 'term_edit.delete']);
    // a refused edit writes nothing
    expect((await admin.delete(`/api/moderation/terms/${termId}`)).status).toBe(404);
    expect(await entriesAbout(termId)).toHaveLength(2);
  });

  it('legal holds, from the console and the CLI', async () => {
    const moderator = await person('moderator');
    const admin = await person('admin');
    const owner = await person('user', 'held');
    const placed = await moderator.post('/api/moderation/holds', { subjectKind: 'user', subjectId: owner.userId, reason: 'preservation request #7' });
    expect(placed.status, placed.body).toBe(201);
    const holdId = placed.json<{ id: string }>().id;
    expect((await admin.post(`/api/moderation/holds/${holdId}/release`, { reason: 'request withdrawn' })).status).toBe(200);
    const console = await entriesAbout(holdId);
    expect(console.map((e) => [e.action, e.actor.label, e.reason])).toEqual([
      ['hold.place', moderator.email, 'preservation request #7'],
      ['hold.release', admin.email, 'request withdrawn'],
    ]);
    expect(console[1]).toMatchObject({ before: { releasedAt: null, subjectId: owner.userId }, after: { releasedAt: expect.any(String) } });

    const added = JSON.parse(await cli('hold:add', ['--email', owner.email, '--reason', 'court order', '--json'])) as { id: string };
    await cli('hold:release', ['--id', added.id, '--reason', 'order lifted']);
    expect((await entriesAbout(added.id)).map((e) => [e.action, e.actor.via, e.actor.label])).toEqual([
      ['hold.place', 'cli', cliActor().label],
      ['hold.release', 'cli', cliActor().label],
    ]);
  });

  it('privacy requests: moved on and closed by support; a child report confirmed by an admin who re-entered the password', async () => {
    const support = await person('support');
    const admin = await person('admin');
    const child = await person('user', 'child');
    const send = (body: Record<string, unknown>) => new TestClient(app.url, { ip: `198.18.0.${++n}` }).post('/api/privacy-requests', body);
    const { reference } = (await send({ kind: 'access', email: 'someone@example.com', message: 'what do you have on me?' })).json<PrivacyRequestReceipt>();
    expect((await support.patch(`/api/admin/privacy-requests/${reference}`, { status: 'in_progress' })).status).toBe(200);
    expect((await support.patch(`/api/admin/privacy-requests/${reference}`, { status: 'done', resolution: 'sent the export' })).status).toBe(200);
    expect((await entriesAbout(reference)).map((e) => [e.action, e.actor.label, e.before, e.after])).toEqual([
      ['privacy_request.update', support.email, { status: 'open', resolution: null }, { status: 'in_progress', resolution: null }],
      ['privacy_request.close', support.email, { status: 'in_progress', resolution: null }, { status: 'done', resolution: 'sent the export' }],
    ]);

    // confirming a child report deletes an account: a sign-in or the password within the last 10 minutes
    const report = (
      await send({ kind: 'child', email: 'parent@example.com', subjectEmail: child.email, message: 'my 11-year-old' })
    ).json<PrivacyRequestReceipt>();
    await clock.set(clock.nowMs() + 11 * 60_000);
    const stale = await admin.post(`/api/admin/privacy-requests/${report.reference}/confirm-child`, { reason: 'parent confirmed' });
    expect(stale.status).toBe(403);
    expect(stale.json<{ error: { code: string } }>().error.code).toBe('reauth_required');
    expect(await sql('select 1 from users where id = $1', [child.userId])).toHaveLength(1);
    expect((await admin.post('/api/admin/reauth', { password: PASSWORD })).status).toBe(200);
    const confirmed = await admin.post(`/api/admin/privacy-requests/${report.reference}/confirm-child`, { reason: 'parent confirmed' });
    expect(confirmed.status, confirmed.body).toBe(200);
    expect(await sql('select 1 from users where id = $1', [child.userId])).toEqual([]);
    expect(await entriesAbout(report.reference)).toEqual([
      expect.objectContaining({
        action: 'privacy_request.confirm_child',
        actor: { id: admin.userId, label: admin.email, role: 'admin', via: 'console', ip: admin.ip },
        reason: 'parent confirmed',
        after: { status: 'done', deletedUserId: child.userId, deletion: 'deleted' },
      }),
    ]);
  });

  it('operator exports, mailings, policies and the secrets reseal', async () => {
    const support = await person('support');
    const user = await person('user', 'exported');
    const started = await support.post(`/api/admin/users/${user.userId}/exports`, {});
    expect(started.status, started.body).toBe(202);
    expect(await entriesAbout(user.userId)).toEqual([
      expect.objectContaining({
        action: 'user.export',
        actor: expect.objectContaining({ label: support.email, via: 'console' }),
        after: { exportId: started.json<{ id: string }>().id },
      }),
    ]);

    const mailing = path.join(dir, 'update.json');
    fs.writeFileSync(
      mailing,
      JSON.stringify({ key: 'audit-news', title: { en: 'News', es: 'Novedades' }, body: { en: 'What is new.', es: 'Qué hay de nuevo.' } }),
    );
    await cli('mail:product-update', ['--file', mailing, '--dry-run']);
    await cli('mail:product-update', ['--file', mailing]);
    await cli('mail:product-update', ['--file', mailing]); // the same key again mails nobody, and is no new action
    const mailings = await services().audit.list({ action: 'mailing.create', limit: 10 });
    expect(mailings.map((e) => [e.actor.via, e.after])).toEqual([['cli', { kind: 'product-update', key: 'product-update:audit-news', recipients: 0 }]]);

    fs.mkdirSync(path.join(dir, 'en'), { recursive: true });
    const terms = path.join(dir, 'en', 'terms.md');
    fs.writeFileSync(
      terms,
      '---\ndocument: terms\nversion: 2099-01-01\nlastUpdated: 2099-01-01\ntitle: Terms of Service\nmaterial: no\n---\n\n## 1. Terms\n\nAudited terms.\n',
    );
    await cli('policy:publish', ['--file', terms, '--dry-run']);
    expect(await services().audit.list({ action: 'policy.publish', limit: 10 })).toEqual([]);
    await cli('policy:publish', ['--file', terms, '--by', 'legal-team']);
    expect(await services().audit.list({ action: 'policy.publish', limit: 10 })).toEqual([
      expect.objectContaining({
        actor: expect.objectContaining({ label: 'cli:legal-team', via: 'cli' }),
        targetId: 'terms/en',
        after: { version: '2099-01-01', material: false },
      }),
    ]);

    await cli('secrets:reseal', []);
    const [reseal] = await services().audit.list({ action: 'secrets.reseal', limit: 1 });
    expect(reseal).toMatchObject({ actor: { via: 'cli' }, after: { webhookEndpoints: { checked: 0 }, googleAccounts: { checked: 0 } } });
    // the export the support person started is built in the background: done before the app closes
    await jobsDone(app, ['privacy.export-build', 'privacy.export-mail', 'mail.mailing-send']);
  });
});
