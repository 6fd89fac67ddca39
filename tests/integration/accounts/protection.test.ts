import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/server/adapters/clock';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { onPostgresServer } from '../../helpers/db';
import { cli, childEnv } from '../../helpers/process';
import { signUpVerified, startAccountsApp, type AccountsApp } from './setup';

let a: AccountsApp;
// rate-limit windows and the absolute session lifetime end when the test moves this clock
const clock = new FakeClock();
beforeAll(async () => {
  a = await startAccountsApp({}, { clock });
});
afterAll(() => closeAll(a));

describe('sign-in options', () => {
  it('offers Google only when its client id and secret are set', async () => {
    const cfg = (await a.client().get('/api/auth-config')).json();
    expect(cfg).toMatchObject({ google: false, devMailbox: false, passwordMinLength: 8, passwordMaxLength: 128 });
    const res = await a.client().post('/api/auth/sign-in/social', { provider: 'google', callbackURL: '/account' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.json().error.code).toBeTruthy();
  });
});

describe('CSRF', () => {
  it('refuses a cookie-authenticated state change from another origin, or with no origin at all', async () => {
    const c = await signUpVerified(a, 'csrf@example.com');
    const evil = new TestClient(a.app.url, { origin: 'https://evil.example' });
    const none = new TestClient(a.app.url, { origin: null });
    for (const attacker of [evil, none]) {
      for (const [k, v] of c.cookies) attacker.cookies.set(k, v);
      const res = await attacker.patch('/api/me', { name: 'Hacked' });
      expect(res.status).toBe(403);
      expect(res.json().error.code).toBe('csrf_rejected');
      expect((await attacker.post('/api/me/sessions/revoke-others', {})).status).toBe(403);
    }
    // a browser that omits Origin but says same-origin is fine
    const sameSite = new TestClient(a.app.url, { origin: null, headers: { 'sec-fetch-site': 'same-origin' } });
    for (const [k, v] of c.cookies) sameSite.cookies.set(k, v);
    expect((await sameSite.patch('/api/me', { name: 'Legit' })).status).toBe(200);
    expect((await c.get('/api/me')).json().name).toBe('Legit');
  });
});

describe('rate limits on sign-in', () => {
  it('refuses the 11th of 50 wrong passwords from one IP, while the right password from another IP still works', async () => {
    await signUpVerified(a, 'target@example.com', 'the right password');
    const attacker = a.client({ ip: '203.0.113.66' });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await attacker.post('/api/auth/sign-in/email', { email: 'target@example.com', password: `guess ${i}` });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(res.json().error.code).toBe('rate_limited');
      }
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    // even the right password is refused from the attacking IP for now...
    expect((await attacker.post('/api/auth/sign-in/email', { email: 'target@example.com', password: 'the right password' })).status).toBe(429);
    // ...but the real user, elsewhere, is not locked out
    const owner = a.client({ ip: '192.0.2.10' });
    const ok = await owner.post('/api/auth/sign-in/email', { email: 'target@example.com', password: 'the right password' });
    expect(ok.status).toBe(200);
    // the attacking IP may try again once its windows (10 and 15 minutes) have passed
    const lockedAt = clock.nowMs();
    await clock.set(lockedAt + 15 * 60_000 - 1000);
    expect((await attacker.post('/api/auth/sign-in/email', { email: 'target@example.com', password: 'the right password' })).status).toBe(429);
    await clock.set(lockedAt + 15 * 60_000);
    expect((await attacker.post('/api/auth/sign-in/email', { email: 'target@example.com', password: 'the right password' })).status).toBe(200);
  });

  it('limits sign-ups and reset requests per IP', async () => {
    const c = a.client({ ip: '203.0.113.77' });
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push(
        (await c.post('/api/auth/sign-up/email', { email: `bulk${i}@example.com`, password: 'a fine password 1', name: 'b', region: 'US', ageConfirmed: true }))
          .status,
      );
    }
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
    const r = a.client({ ip: '203.0.113.78' });
    const resets: number[] = [];
    for (let i = 0; i < 4; i++)
      resets.push((await r.post('/api/auth/request-password-reset', { email: 'bulk0@example.com', redirectTo: '/reset-password' })).status);
    expect(resets).toEqual([200, 200, 200, 429]);
  });
});

describe('account status', () => {
  it('a suspended user cannot sign in, loses open sessions, and gets the reason; reactivation restores access', async () => {
    const c = await signUpVerified(a, 'suspend@example.com', 'paused account phrase 1');
    await a.app.platform.ctx.services.users.setStatus('suspend@example.com', 'suspended', 'Repeated policy violations');
    expect((await c.get('/api/me')).status).toBe(401);
    const res = await a.client().post('/api/auth/sign-in/email', { email: 'suspend@example.com', password: 'paused account phrase 1' });
    expect(res.status).toBe(403);
    expect(res.json().error.code).toBe('account_suspended');
    expect(res.json().error.message).toContain('Repeated policy violations');
    await a.app.platform.ctx.services.users.setStatus('suspend@example.com', 'active');
    expect((await a.client().post('/api/auth/sign-in/email', { email: 'suspend@example.com', password: 'paused account phrase 1' })).status).toBe(200);
  });

  it('a terminated user cannot sign in either', async () => {
    await signUpVerified(a, 'terminated@example.com', 'closed account phrase 1');
    await a.app.platform.ctx.services.users.setStatus('terminated@example.com', 'terminated');
    const res = await a.client().post('/api/auth/sign-in/email', { email: 'terminated@example.com', password: 'closed account phrase 1' });
    expect(res.status).toBe(403);
    expect(res.json().error.code).toBe('account_terminated');
  });
});

describe('session lifetime', () => {
  it('ends a session past its absolute lifetime even while it is in use', async () => {
    const c = await signUpVerified(a, 'old-session@example.com');
    expect((await c.get('/api/me')).status).toBe(200);
    const [session] = await a.app.db.sql.query<{ created_at: string | Date }>(
      `select created_at from sessions where user_id = (select id from users where email = 'old-session@example.com')`,
    );
    const endsAt = new Date(session!.created_at).getTime() + a.app.config.SESSION_ABSOLUTE_DAYS * 86_400_000;
    const before = clock.now();
    try {
      await clock.set(endsAt - 60_000);
      expect((await c.get('/api/me')).status).toBe(200);
      await clock.set(endsAt + 60_000);
      expect((await c.get('/api/me')).status).toBe(401);
    } finally {
      await clock.set(before);
    }
  });

  it('ends an idle session when it expires', async () => {
    const c = await signUpVerified(a, 'idle@example.com');
    await a.app.db.sql.query(
      `update sessions set expires_at = now() - interval '1 second' where user_id = (select id from users where email = 'idle@example.com')`,
    );
    expect((await c.get('/api/me')).status).toBe(401);
  });
});

describe('roles', () => {
  // a second process on the same database needs the PostgreSQL server (the embedded lifecycle test covers the CLI there)
  it.skipIf(!onPostgresServer())('the CLI changes roles and suspends accounts', async () => {
    const env = childEnv({ DATABASE_URL: a.app.db.url });
    await signUpVerified(a, 'cli-role@example.com');
    expect((await cli(['user:role', '--email', 'cli-role@example.com', '--role', 'moderator'], env)).stdout).toBe('cli-role@example.com is now moderator.\n');
    expect((await cli(['user:suspend', '--email', 'cli-role@example.com', '--reason', 'spam'], env)).stdout).toMatch(/is now suspended/);
    expect((await cli(['user:role', '--email', 'cli-role@example.com', '--role', 'emperor'], env)).code).toBe(2);
  });

  it('admin routes check the role: 404 signed out and for users, 403 for other staff, allowed for support and admins', async () => {
    expect((await a.client().get('/api/admin/users')).status).toBe(404);
    const c = await signUpVerified(a, 'staff@example.com');
    const denied = await c.get('/api/admin/users');
    expect(denied.status).toBe(404);
    expect(denied.json().error.code).toBe('not_found');
    await a.app.platform.ctx.services.users.setRole('staff@example.com', 'support');
    const allowed = await c.get('/api/admin/users');
    expect(allowed.status).toBe(200);
    expect(allowed.json().users.map((u: { email: string }) => u.email)).toContain('staff@example.com');
    await a.app.platform.ctx.services.users.setRole('staff@example.com', 'moderator');
    expect((await c.get('/api/admin/users')).status).toBe(403);
    await a.app.platform.ctx.services.users.setRole('staff@example.com', 'admin');
    expect((await c.get('/api/admin/users')).status).toBe(200);
  });

  it('role and status changes through the service', async () => {
    await signUpVerified(a, 'role@example.com');
    const u = await a.app.platform.ctx.services.users.setRole('role@example.com', 'support');
    expect(u.role).toBe('support');
    await expect(a.app.platform.ctx.services.users.setRole('nobody@example.com', 'admin')).rejects.toMatchObject({ status: 404 });
  });
});
