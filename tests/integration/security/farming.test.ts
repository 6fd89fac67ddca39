import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOutbox, outboxDir } from '../../../src/server/adapters/mail';
import { runCommand } from '../../../src/server/cli/commands';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient, type ClientOptions } from '../../helpers/client';
import { until } from '../../helpers/wait';

/**
 * Free-credit farming and multi-account evasion (issue 19) over plain HTTP, as a script would do
 * it: no browser, one client address (a documentation address in X-Forwarded-For, the app trusting
 * its proxy), mail read from the outbox, each account verified through its link.
 */

let app: TestApp;
const FREE = 20;
const PASSWORD = 'a fine password 1';

beforeAll(async () => {
  app = await startTestApp({ env: { TRUST_PROXY: 'true', SIGNUP_RATE_PER_HOUR: '100000', SIGNUP_FREE_CREDITS: String(FREE) } });
});
afterAll(() => app.close());

const rows = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => app.db.sql.query<T>(text, params);
const client = (opts: ClientOptions = {}) => new TestClient(app.url, { ip: '203.0.113.7', ...opts });

async function signUp(c: TestClient, email: string) {
  return c.post('/api/auth/sign-up/email', { email, password: PASSWORD, name: 'Farmer', region: 'US', ageConfirmed: true });
}

/** The verification link mailed to `email` (the newest one). */
async function verificationLink(email: string): Promise<string> {
  const mail = await until(
    async () =>
      (await listOutbox(outboxDir(app.config.dataDir), { limit: 1000 })).find(
        (m) => m.to.toLowerCase().includes(email.toLowerCase()) && /verif/i.test(m.subject),
      ),
    { what: `the verification mail to ${email}`, timeoutMs: 15_000 },
  );
  const link = (mail.text.match(/https?:\/\/[^\s<>"')]+/g) ?? []).find((l) => l.startsWith(app.url) && l.includes('verify-email'));
  if (!link) throw new Error(`no verification link in the mail to ${email}`);
  return link.replace(app.url, '');
}

/**
 * Signs up, then opens the mailed link with the same cookies (the same browser), from the same
 * address or from `openerIp` (the farming script rotates it: the link limit per address, 30 in
 * 10 minutes, would otherwise stop it).
 */
async function signUpAndVerify(c: TestClient, email: string, openerIp = c.opts.ip): Promise<{ status: number; code?: string }> {
  const res = await signUp(c, email);
  if (res.status !== 200) return { status: res.status, code: res.json<{ error: { code: string } }>().error.code };
  const opener = new TestClient(app.url, { ip: openerIp });
  for (const [k, v] of c.cookies) opener.cookies.set(k, v);
  const verified = await opener.get(await verificationLink(email));
  for (const [k, v] of opener.cookies) c.cookies.set(k, v);
  expect(verified.status).toBe(302);
  return { status: 200 };
}

// (Better Auth stores the address in lower case; the canonical form is only ever compared)
const userId = async (email: string) => (await rows<{ id: string }>('select id from users where email = lower($1)', [email]))[0]?.id;
const balance = async (email: string) =>
  Number(
    (await rows<{ balance: string }>('select b.balance from credit_balances b join users u on u.id = b.user_id where u.email = lower($1)', [email]))[0]
      ?.balance ?? 0,
  );
const grant = async (email: string) =>
  (
    await rows<{ state: string; reason: string | null; matched_user_id: string | null }>(
      'select g.state, g.reason, g.matched_user_id from signup_grants g join users u on u.id = g.user_id where u.email = lower($1)',
      [email],
    )
  )[0];

describe('free-credit farming', () => {
  it('a script farming 50 accounts from one address, with disposable mail and Gmail variants, ends with at most one account holding free credits', async () => {
    const disposable = [
      'farm1@mailinator.com',
      'farm2@yopmail.com',
      'farm3@guerrillamail.com',
      'farm4@10minutemail.com',
      'farm5@MAILINATOR.com',
      'farm6@inbox.mailinator.com',
      'farm7@deep.sub.yopmail.com',
      'farm8@sharklasers.com',
      'farm9@trashmail.com',
      'farm10@temp-mail.org',
    ];
    const gmail = [
      'jane.farmer@gmail.com',
      'janefarmer@gmail.com',
      'j.a.n.e.farmer@gmail.com',
      'janefarmer+1@gmail.com',
      'janefarmer+free@gmail.com',
      'Jane.Farmer+caps@GMAIL.com',
      'janefarmer@googlemail.com',
      'jane.farmer+x@googlemail.com',
      'j.anefarmer+2@gmail.com',
      'janef.armer@gmail.com',
      'janefarmer+3@googlemail.com',
      'ja.ne.fa.rm.er@gmail.com',
      'janefarmer+a.b@gmail.com',
      'jane.farmer+4@gmail.com',
      'janefarmer+5@gmail.com',
    ];
    const ordinary = Array.from({ length: 25 }, (_, i) => `farmer${i}@farm-domain-${i}.example`);
    const all = [...disposable, ...gmail, ...ordinary];
    expect(all).toHaveLength(50);

    // one script, one cookie jar, one address
    const bot = client();
    const outcomes = new Map<string, { status: number; code?: string }>();
    for (const [i, email] of all.entries()) outcomes.set(email, await signUpAndVerify(bot, email, `192.0.2.${i + 1}`));

    for (const email of disposable) expect(outcomes.get(email), email).toEqual({ status: 400, code: 'disposable_email' });
    // the refusal says why, in words a person understands
    const refused = await signUp(client(), 'again@mailinator.com');
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(/disposable or temporary mail/);
    for (const email of [...gmail, ...ordinary]) expect(outcomes.get(email)?.status, email).toBe(200);
    // (a Gmail variant of a taken address is a different account: the address is kept as typed)
    expect(await userId('jane.farmer@gmail.com')).not.toBe(await userId('janefarmer@gmail.com'));

    const withCredits = (await rows<{ email: string }>('select u.email from credit_balances b join users u on u.id = b.user_id where b.balance > 0')).map(
      (r) => r.email,
    );
    expect(withCredits).toEqual(['jane.farmer@gmail.com']);
    expect(await balance('jane.farmer@gmail.com')).toBe(FREE);
    // each refusal of credits has a reason a person can read, and names the account it matched
    const first = await userId('jane.farmer@gmail.com');
    for (const email of [...gmail.slice(1), ...ordinary]) {
      const g = await grant(email);
      expect(g?.state, email).toBe('withheld');
      expect(g?.reason, email).toMatch(/^No free credits: /);
      expect(g?.matched_user_id, email).toBe(first);
    }
    // the accounts work; they start at zero
    const again = client();
    expect((await again.post('/api/auth/sign-in/email', { email: 'farmer3@farm-domain-3.example', password: PASSWORD })).status).toBe(200);
    expect((await again.get('/api/credits')).json<{ balance: number }>().balance).toBe(0);
  });

  it('once per canonical address: Gmail dot, +tag and googlemail variants from other networks and devices get nothing', async () => {
    const a = 'sam.sower@gmail.com';
    expect(await signUpAndVerify(client({ ip: '198.18.1.10' }), a)).toEqual({ status: 200 });
    expect(await balance(a)).toBe(FREE);
    for (const [i, v] of ['samsower+again@googlemail.com', 'S.a.m.Sower@gmail.com'].entries()) {
      expect(await signUpAndVerify(client({ ip: `198.18.${i + 3}.20` }), v)).toEqual({ status: 200 });
      expect(await balance(v)).toBe(0);
      expect((await grant(v))?.reason).toMatch(/s•••@gmail\.com.*already received them/);
    }
    // an ordinary address on a new device and network is a new person
    expect(await signUpAndVerify(client({ ip: '198.18.9.9' }), 'sam@sower-farm.example')).toEqual({ status: 200 });
    expect(await balance('sam@sower-farm.example')).toBe(FREE);
  });

  it('a reused device cookie matches, whatever the address and network', async () => {
    const first = client({ ip: '198.18.10.77' });
    expect(await signUpAndVerify(first, 'device-owner@orchard.example')).toEqual({ status: 200 });
    expect(await balance('device-owner@orchard.example')).toBe(FREE);
    const device = first.cookies.get('savesora_device');
    expect(device).toMatch(/^[0-9a-f]{32}$/);
    const cookie = first.setCookies.find((c) => c.startsWith('savesora_device='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Max-Age=63072000/);
    for (let i = 0; i < 3; i++) {
      const other = client({ ip: `198.18.${20 + i}.5` });
      other.cookies.set('savesora_device', device!);
      const email = `second-${i}@grove-${i}.example`;
      expect(await signUpAndVerify(other, email)).toEqual({ status: 200 });
      expect(await balance(email)).toBe(0);
      expect((await grant(email))?.reason).toMatch(/this device/);
    }
  });

  it('a browser fingerprint (X-Client-Fingerprint) matches too; a malformed one is ignored', async () => {
    const fp = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    expect(await signUpAndVerify(client({ ip: '198.18.30.88', headers: { 'x-client-fingerprint': fp } }), 'fp-one@meadow.example')).toEqual({ status: 200 });
    expect(await balance('fp-one@meadow.example')).toBe(FREE);
    expect(await signUpAndVerify(client({ ip: '198.18.40.1', headers: { 'x-client-fingerprint': fp.toUpperCase() } }), 'fp-two@meadow-2.example')).toEqual({
      status: 200,
    });
    expect(await balance('fp-two@meadow-2.example')).toBe(0);
    expect((await grant('fp-two@meadow-2.example'))?.reason).toMatch(/this browser/);
    // a first request (no cookie yet) from a client that sends no Origin is answered as before: the
    // device cookie it is given does not count as a cookie it sent
    expect((await signUp(client({ ip: '198.18.42.1', origin: null }), 'fp-four@meadow-4.example')).status).toBe(200);
    const odd = await signUp(client({ ip: '198.18.41.1', headers: { 'x-client-fingerprint': `not hex ${'z'.repeat(100)}` } }), 'fp-three@meadow-3.example');
    expect(odd.status).toBe(200);
  });

  it('30 concurrent verifications of one account grant once', async () => {
    const email = 'rush@concurrent.example';
    const c = client({ ip: '198.18.50.99' });
    expect((await signUp(c, email)).status).toBe(200);
    const link = await verificationLink(email);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => new TestClient(app.url, { ip: `198.18.51.${i + 1}` }).get(link)));
    expect(results.every((r) => r.status === 302)).toBe(true);
    expect(await balance(email)).toBe(FREE);
    const ledger = await rows<{ n: string }>(
      "select count(*) as n from credit_ledger l join users u on u.id = l.user_id where u.email = $1 and l.kind = 'grant'",
      [email],
    );
    expect(Number(ledger[0]!.n)).toBe(1);
    expect((await grant(email))?.state).toBe('granted');
  });

  it('loopback and private addresses are not signals; documentation addresses are, masked', async () => {
    const id = await userId('jane.farmer@gmail.com');
    const labels = await rows<{ kind: string; label: string }>('select kind, label from account_signals where user_id = $1 order by kind', [id]);
    expect(labels).toEqual(
      expect.arrayContaining([
        { kind: 'ip', label: '203.0.113.•' },
        { kind: 'ip_prefix', label: '203.0.113.0/24' },
        { kind: 'canonical_email', label: 'j•••@gmail.com' },
        expect.objectContaining({ kind: 'device' }),
      ]),
    );
    // nothing stored in clear
    const all = await rows<{ value_hash: string; label: string }>('select value_hash, label from account_signals');
    expect(all.every((r) => /^[0-9a-f]{64}$/.test(r.value_hash) && !r.label.includes('203.0.113.7'))).toBe(true);
    const local = new TestClient(app.url, { ip: '10.1.2.3' });
    expect((await signUp(local, 'lan@private-net.example')).status).toBe(200);
    const lan = await rows<{ kind: string }>("select kind from account_signals where user_id = $1 and kind in ('ip', 'ip_prefix')", [
      await userId('lan@private-net.example'),
    ]);
    expect(lan).toEqual([]);
    expect(
      (await rows<{ canonical_email: string }>('select canonical_email from users where email = $1', ['jane.farmer+4@gmail.com']))[0]?.canonical_email,
    ).toBe('janefarmer@gmail.com');
  });
});

describe('changing the address', () => {
  it('to a disposable one is refused as at sign-up; a confirmed change moves the canonical form', async () => {
    const c = client({ ip: '198.18.95.1' });
    expect(await signUpAndVerify(c, 'mover@moving.example')).toEqual({ status: 200 });
    const refused = await c.post('/api/me/email', { newEmail: 'mover@yopmail.com', currentPassword: PASSWORD });
    expect([refused.status, refused.json<{ error: { code: string } }>().error.code]).toEqual([400, 'disposable_email']);
    expect((await c.post('/api/me/email', { newEmail: 'Mo.Ver+new@gmail.com', currentPassword: PASSWORD })).status).toBe(202);
    const mail = await until(
      async () => (await listOutbox(outboxDir(app.config.dataDir), { limit: 1000 })).find((m) => m.to.toLowerCase().includes('mo.ver+new@gmail.com')),
      { what: 'the confirmation mail' },
    );
    const link = (mail.text.match(/https?:\/\/[^\s<>"')]+/g) ?? []).find((l) => l.includes('/api/me/email/confirm'));
    expect((await c.get(link!.replace(app.url, ''))).status).toBeLessThan(400);
    expect(await rows('select canonical_email from users where lower(email) = lower($1)', ['Mo.Ver+new@gmail.com'])).toEqual([
      { canonical_email: 'mover@gmail.com' },
    ]);
  });
});

describe('multi-account evasion', () => {
  async function terminated(email: string, ip: string) {
    const c = client({ ip });
    expect(await signUpAndVerify(c, email)).toEqual({ status: 200 });
    await rows(`update users set status = 'terminated', status_reason = 'repeated violations' where email = $1`, [email]);
    return c;
  }

  it("with MULTI_ACCOUNT_ACTION=block a terminated account's device signing up again is refused, with the support address", async () => {
    const old = await terminated('banned-one@evader.example', '198.18.80.150');
    app.config.MULTI_ACCOUNT_ACTION = 'block';
    try {
      const again = client({ ip: '198.18.60.1' });
      again.cookies.set('savesora_device', old.cookies.get('savesora_device')!);
      const res = await signUp(again, 'fresh-start@evader-2.example');
      expect(res.status).toBe(400);
      expect(res.json<{ error: { code: string; message: string } }>().error).toMatchObject({
        code: 'signup_blocked',
        message: expect.stringContaining(app.config.SUPPORT_EMAIL),
      });
      expect(await userId('fresh-start@evader-2.example')).toBeUndefined();
      // a match on the network alone is never a refusal: the account is created and reviewed
      const sameNet = client({ ip: '198.18.80.151' });
      expect(await signUpAndVerify(sameNet, 'neighbour@evader-3.example')).toEqual({ status: 200 });
      const cases = await rows<{ subject: string; action: string }>('select subject, action from moderation_cases where user_id = $1', [
        await userId('neighbour@evader-3.example'),
      ]);
      expect(cases).toEqual([{ subject: 'account', action: 'flag' }]);
      expect((await grant('neighbour@evader-3.example'))?.state).toBe('withheld');
    } finally {
      app.config.MULTI_ACCOUNT_ACTION = 'review';
    }
  });

  it('with MULTI_ACCOUNT_ACTION=review it is allowed without free credits, and an account case is opened with the reason and the matched account', async () => {
    const old = await terminated('banned-two@evader-4.example', '198.18.70.1');
    const oldId = await userId('banned-two@evader-4.example');
    const again = client({ ip: '198.18.71.1' });
    again.cookies.set('savesora_device', old.cookies.get('savesora_device')!);
    expect(await signUpAndVerify(again, 'second-life@evader-5.example')).toEqual({ status: 200 });
    const id = await userId('second-life@evader-5.example');
    expect(await balance('second-life@evader-5.example')).toBe(0);
    const g = await grant('second-life@evader-5.example');
    expect(g).toMatchObject({ state: 'withheld', matched_user_id: oldId });
    expect(g?.reason).toMatch(/terminated account .*the same device.*high confidence/);
    const [c] = await rows<{ id: string; subject: string; status: string }>('select id, subject, status from moderation_cases where user_id = $1', [id]);
    expect(c).toMatchObject({ subject: 'account', status: 'open' });
    const [event] = await rows<{ kind: string; source: string; note: string; details: { matchedUserId: string; confidence: string } }>(
      'select kind, source, note, details from moderation_events where case_id = $1',
      [c!.id],
    );
    expect(event).toMatchObject({ kind: 'classifier', source: 'multi_account', details: { matchedUserId: oldId, confidence: 'high' } });
    // with `off`, nothing is checked
    app.config.MULTI_ACCOUNT_ACTION = 'off';
    try {
      const third = client({ ip: '198.18.72.1' });
      third.cookies.set('savesora_device', old.cookies.get('savesora_device')!);
      expect((await signUp(third, 'third@evader-6.example')).status).toBe(200);
      expect(await rows('select 1 from moderation_cases where user_id = $1', [await userId('third@evader-6.example')])).toEqual([]);
    } finally {
      app.config.MULTI_ACCOUNT_ACTION = 'review';
    }
  });
});

describe("the operator's disposable-mail domains", () => {
  it('console: an admin adds a domain (its subdomains count), lists and removes it; each change is audited; bad input is a 400', async () => {
    await app.platform.ctx.services.users.create({ email: 'abuse-admin@example.com', password: PASSWORD, name: 'Admin', role: 'admin' });
    const admin = client({ ip: '198.18.90.1' });
    expect((await admin.post('/api/auth/sign-in/email', { email: 'abuse-admin@example.com', password: PASSWORD })).status).toBe(200);

    expect((await signUp(client({ ip: '198.18.91.1' }), 'x@mx.burner-farm.example')).status).toBe(200);
    const added = await admin.post('/api/admin/abuse/domains', { domain: '*.Burner-Farm.example', note: 'seen in a farming wave' });
    expect(added.status, added.body).toBe(201);
    expect(added.json()).toMatchObject({ domain: 'burner-farm.example', note: 'seen in a farming wave', addedBy: 'abuse-admin@example.com' });
    expect((await admin.post('/api/admin/abuse/domains', { domain: '@burner-farm.example' })).json<{ error: { code: string } }>().error.code).toBe(
      'domain_exists',
    );
    for (const domain of ['not a domain', 'a\u0000b.example', 'x'.repeat(300), 'localhost']) {
      const bad = await admin.post('/api/admin/abuse/domains', { domain });
      expect(bad.status, domain).toBe(400);
    }
    expect((await admin.post('/api/admin/abuse/domains', { domain: 42 })).status).toBe(400);
    const list = (await admin.get('/api/admin/abuse/domains')).json<{ items: { domain: string }[]; maintainedCount: number }>();
    expect(list.items.map((d) => d.domain)).toEqual(['burner-farm.example']);
    expect(list.maintainedCount).toBeGreaterThan(10_000);

    for (const email of ['y@burner-farm.example', 'z@deep.mx.burner-farm.example']) {
      const refused = await signUp(client({ ip: '198.18.91.2' }), email);
      expect([refused.status, refused.json<{ error: { code: string } }>().error.code]).toEqual([400, 'disposable_email']);
    }
    expect((await signUp(client({ ip: '198.18.91.3' }), 'w@burner-farm.example.org')).status).toBe(200);

    expect((await admin.delete('/api/admin/abuse/domains/BURNER-FARM.example')).status).toBe(204);
    expect((await admin.delete('/api/admin/abuse/domains/burner-farm.example')).status).toBe(404);
    expect((await signUp(client({ ip: '198.18.91.4' }), 'v@burner-farm.example')).status).toBe(200);

    const audit = await rows<{ action: string; actor_label: string; target_id: string; via: string }>(
      "select action, actor_label, target_id, via from audit_log where action like 'abuse.domain.%' order by id",
    );
    expect(audit).toEqual([
      { action: 'abuse.domain.add', actor_label: 'abuse-admin@example.com', target_id: 'burner-farm.example', via: 'console' },
      { action: 'abuse.domain.remove', actor_label: 'abuse-admin@example.com', target_id: 'burner-farm.example', via: 'console' },
    ]);
  });

  it('CLI: abuse:domains:add, :list and :remove, audited as the person at the terminal', async () => {
    const ctx = { database: app.platform.ctx.database, services: app.platform.ctx.services };
    expect(await runCommand(ctx, 'abuse:domains:add', ['--domain', 'cli-burner.example', '--note', 'from the CLI', '--by', 'ops-jane'])).toMatch(
      /refused from now on/,
    );
    expect(await runCommand(ctx, 'abuse:domains:list', [])).toMatch(/cli-burner\.example.*cli:ops-jane.*from the CLI/);
    expect((await signUp(client({ ip: '198.18.92.1' }), 'q@cli-burner.example')).status).toBe(400);
    await expect(runCommand(ctx, 'abuse:domains:add', ['--domain', 'cli-burner.example'])).rejects.toMatchObject({ code: 'domain_exists' });
    await expect(runCommand(ctx, 'abuse:domains:add', [])).rejects.toThrow(/--domain is required/);
    expect(await runCommand(ctx, 'abuse:domains:remove', ['--domain', 'cli-burner.example', '--by', 'ops-jane'])).toMatch(/Removed cli-burner\.example/);
    expect(JSON.parse(await runCommand(ctx, 'abuse:domains:list', ['--json']))).toMatchObject({ items: [] });
    const audit = await rows<{ action: string; actor_label: string; via: string }>(
      "select action, actor_label, via from audit_log where target_id = 'cli-burner.example' order by id",
    );
    expect(audit).toEqual([
      { action: 'abuse.domain.add', actor_label: 'cli:ops-jane', via: 'cli' },
      { action: 'abuse.domain.remove', actor_label: 'cli:ops-jane', via: 'cli' },
    ]);
  });
});

describe('retention', () => {
  it('signals not seen for ABUSE_SIGNAL_RETENTION_DAYS (365) are deleted by the retention job; newer ones stay', async () => {
    const id = await userId('device-owner@orchard.example');
    const before = await rows<{ id: string }>('select id from account_signals where user_id = $1 order by id', [id]);
    expect(before.length).toBeGreaterThan(2);
    const [old, edge] = before;
    await rows(`update account_signals set last_seen_at = now() - interval '366 days' where id = $1`, [old!.id]);
    await rows(`update account_signals set last_seen_at = now() - interval '364 days' where id = $1`, [edge!.id]);
    await app.platform.ctx.services.retention.run();
    const after = (await rows<{ id: string }>('select id from account_signals where user_id = $1 order by id', [id])).map((r) => r.id);
    expect(after).toEqual(before.map((r) => r.id).filter((x) => x !== old!.id));
  });
});
