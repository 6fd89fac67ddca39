import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Me, SetupChecklist, SetupItem } from '../../../src/shared/api';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { startFakeKie, type FakeKie } from '../../fakes/kie';

/**
 * The first run (issue 18): on a fresh install the first account — and only it, and only while no
 * admin exists — may claim the admin role (two claims at once: one winner, audited); then the
 * setup checklist says what is configured, and follows a setting changed in the console. One app
 * on a fresh database (no accounts) for the file.
 */
const PASSWORD = 'a fine password 1';
let app: TestApp;
let kie: FakeKie;
let n = 0;

beforeAll(async () => {
  kie = await startFakeKie();
  app = await startTestApp({ env: { TRUST_PROXY: 'true' } });
});
afterAll(async () => {
  await app.close();
  await kie.close();
});

const ctx = () => app.platform.ctx;
const rows = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => app.db.sql.query<T>(text, params);

type Person = TestClient & { userId: string; email: string };

async function person(role: 'user' | 'support' | 'admin' = 'user'): Promise<Person> {
  const email = `setup-${++n}@example.com`;
  const u = await ctx().services.users.create({ email, password: PASSWORD, name: `Setup ${n}`, role });
  return signIn(email, u.id);
}

async function signIn(email: string, userId: string): Promise<Person> {
  const c = new TestClient(app.url, { ip: `198.51.100.${(++n % 250) + 1}` });
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId, email });
}

const me = async (c: TestClient) => (await c.get('/api/me')).json<Me>();
const roleOf = async (userId: string) => (await rows<{ role: string }>('select role from users where id = $1', [userId]))[0]!.role;

describe('claiming the admin role on a fresh install', () => {
  let first: Person;
  let second: Person;

  beforeAll(async () => {
    expect(await rows('select 1 from users')).toEqual([]);
    first = await person();
    second = await person();
  });

  it('is offered to the first account only, while no admin exists', async () => {
    expect((await me(first)).canClaimAdmin).toBe(true);
    expect((await me(second)).canClaimAdmin).toBe(false);
    const refused = await second.post('/api/setup/claim-admin');
    expect(refused.status).toBe(409);
    expect(refused.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'claim_unavailable',
      message: expect.stringContaining('npm run cli -- user:role'),
    });
    expect(await roleOf(second.userId)).toBe('user');
    // signed out: 401
    expect((await new TestClient(app.url).post('/api/setup/claim-admin')).status).toBe(401);
  });

  it('two claims at once: exactly one wins, audited once', async () => {
    // the first account, signed in on three devices, claims from each at the same moment
    const sessions = [first, await signIn(first.email, first.userId), await signIn(first.email, first.userId)];
    const answers = await Promise.all(sessions.map((c) => c.post('/api/setup/claim-admin')));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
    expect(answers.find((a) => a.status === 200)!.json()).toEqual({ role: 'admin' });
    expect(await roleOf(first.userId)).toBe('admin');
    const entries = await rows<{ action: string; actor_id: string; actor_role: string; via: string; target_id: string; before: unknown; after: unknown }>(
      `select action, actor_id, actor_role, via, target_id, before, after from audit_log where action = 'setup.claim-admin'`,
    );
    expect(entries).toEqual([
      {
        action: 'setup.claim-admin',
        actor_id: first.userId,
        actor_role: 'user',
        via: 'console',
        target_id: first.userId,
        before: { role: 'user' },
        after: { role: 'admin' },
      },
    ]);
  });

  it('is closed once an admin exists, for everyone', async () => {
    expect((await me(first)).canClaimAdmin).toBe(false);
    expect((await me(second)).canClaimAdmin).toBe(false);
    expect((await second.post('/api/setup/claim-admin')).status).toBe(409);
    // nor is it offered to an account that came later
    const third = await person();
    expect((await third.post('/api/setup/claim-admin')).status).toBe(409);
    expect((await rows<{ n: number }>(`select count(*)::int as n from users where role = 'admin'`))[0]!.n).toBe(1);
  });

  it('goes to the next active account when the first one is suspended and there is still no admin', async () => {
    await rows(`update users set role = 'user' where id = $1`, [first.userId]);
    await rows(`update users set status = 'suspended' where id = $1`, [first.userId]);
    try {
      expect((await me(second)).canClaimAdmin).toBe(true);
      expect((await second.post('/api/setup/claim-admin')).status).toBe(200);
      expect(await roleOf(second.userId)).toBe('admin');
    } finally {
      await rows(`update users set status = 'active', role = 'admin' where id = $1`, [first.userId]);
    }
  });
});

describe('the setup checklist', () => {
  let admin: Person;
  beforeAll(async () => {
    admin = await person('admin');
  });

  const checklist = async () => {
    const res = await admin.get('/api/admin/setup');
    expect(res.status, res.body).toBe(200);
    return res.json<SetupChecklist>();
  };
  const item = (list: SetupChecklist, id: SetupItem['id']) => list.items.find((i) => i.id === id)!;

  it('is for admins: support gets 403, a user and a visitor 404', async () => {
    expect((await (await person('support')).get('/api/admin/setup')).status).toBe(403);
    for (const c of [await person(), new TestClient(app.url)]) {
      const res = await c.get('/api/admin/setup');
      expect(res.status).toBe(404);
      expect(res.json<{ error: { message: string } }>().error.message).toMatch(/^No route matches/);
    }
  });

  it('says what is configured on a fresh install, each line with a link to its setting', async () => {
    const list = await checklist();
    expect(list.items.map((i) => i.id)).toEqual([
      'provider.local',
      'provider.kie',
      'provider.fal',
      'payments.stripe',
      'payments.creem',
      'payments.nowpayments',
      'mail',
      'storage',
      'policies',
      'moderation.lists',
    ]);
    expect(item(list, 'provider.local')).toMatchObject({ configured: true, link: '/admin/settings#LOCAL_PROVIDER' });
    expect(item(list, 'provider.kie')).toMatchObject({ configured: false, facts: { reason: 'KIE_API_KEY is not set' }, link: '/admin/settings#KIE_API_KEY' });
    expect(item(list, 'payments.stripe')).toMatchObject({
      configured: false,
      facts: { missing: 'STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET' },
      link: '/admin/settings#STRIPE_SECRET_KEY',
    });
    expect(item(list, 'mail')).toMatchObject({ configured: false, link: '/admin/settings#SMTP_URL' });
    expect(item(list, 'storage')).toMatchObject({ configured: true, facts: { driver: 'disk' } });
    // the shipped documents are published at start-up; the hosting location is not stated yet
    expect(item(list, 'policies')).toMatchObject({ configured: false, facts: { published: 3, total: 3, own: 0, hostingLocation: 'unset' } });
    expect(item(list, 'moderation.lists')).toMatchObject({ configured: false, facts: { hashLists: 0, termEdits: 0 } });
  });

  it('follows a setting changed in the console', async () => {
    const saved = await admin.put('/api/admin/settings', { values: { KIE_API_KEY: kie.apiKey, KIE_BASE_URL: kie.url } });
    expect(saved.status, saved.body).toBe(200);
    expect(item(await checklist(), 'provider.kie')).toMatchObject({ configured: true, facts: {} });
  });
});
