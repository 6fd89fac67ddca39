import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView } from '../../src/shared/api';
import { FakeClock } from '../../src/server/adapters/clock';
import { startTestApp, type TestApp } from '../helpers/app';
import { startGenerationsApp, type GenerationsApp } from '../integration/generations/setup';
import { symmetricDecrypt } from 'better-auth/crypto';
import { startFakeOidc } from '../fakes/oidc';
import { TestClient } from '../helpers/client';
import { until } from '../helpers/wait';
import { linkIn, mailTo, signUpVerified, startAccountsApp } from '../integration/accounts/setup';
import { closeAll } from '../helpers/close';

// Privacy policy section 8: data security.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { PUBLIC_URL: 'https://video.example.com' } });
});
afterAll(() => closeAll(app));

/**
 * waitFinal for an app on a FakeClock, which stands still: the local renderer announces the end of a
 * render and the tracker polls it at once, so the generation ends on events (jobs, generation
 * changes), awaited here. Once the task runs, the clock moves past its first scheduled poll (2 s)
 * once, in case the render ended before the task had recorded which render it is.
 */
async function waitFinalOnClock(clock: FakeClock, g: GenerationsApp, c: TestClient, id: string): Promise<GenerationView> {
  let view: GenerationView | undefined;
  let nudged = false;
  return until(
    async () => {
      view = (await c.get(`/api/generations/${id}`)).json<GenerationView>();
      if (view.status === 'running' && !nudged) {
        nudged = true;
        await clock.advance(2000);
      }
      return ['succeeded', 'failed', 'canceled', 'blocked'].includes(view.status) && view;
    },
    { app: g.app, timeoutMs: 60_000, recheckMs: 500, what: () => `generation ${id} to end (still ${view?.status ?? 'unseen'})` },
  );
}

describe('8 Data security', () => {
  it('8 HTTPS in transit: an https deployment tells browsers to use HTTPS only (HSTS) and upgrades requests', async () => {
    const res = await app.fetch('/healthz');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d{7,}/);
    expect(res.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
  });
  it('8 signed download URLs that expire and carry no session', async () => {
    // the app tells time by this clock: the URL expires when the test moves it, however slow the machine
    const clock = new FakeClock();
    const g = await startGenerationsApp({}, { clock });
    try {
      const c = await g.user('policy-8-urls@example.com', 10);
      const res = await c.post('/api/generations', { model: 'local-preview', prompt: 'policy 8 urls', duration: 2, resolution: '480p' });
      const v = await waitFinalOnClock(clock, g, c, res.json<GenerationView>().id);
      const location = (await c.get(v.output!.videoUrl)).headers.get('location')!;
      const url = new URL(location);
      // no session in it: only the object, an expiry and a signature; it works without cookies
      expect([...url.searchParams.keys()].every((k) => ['exp', 'sig', 'ct', 'dl'].includes(k))).toBe(true);
      expect(c.cookies.size).toBeGreaterThan(0);
      for (const value of c.cookies.values()) expect(location).not.toContain(value.split('.')[0]!);
      expect((await fetch(location)).status).toBe(200);
      const exp = Number(url.searchParams.get('exp'));
      expect(exp * 1000 - clock.nowMs()).toBeGreaterThan(3599_000);
      expect(exp * 1000 - clock.nowMs()).toBeLessThanOrEqual(3600_000);
      // tampered, or moved to another object: refused
      url.searchParams.set('exp', String(exp + 3600));
      expect((await fetch(url)).status).toBe(403);
      expect((await fetch(location.replace('/video.mp4', '/poster.jpg'))).status).toBe(403);
      // expired: refused
      const key = location.slice(location.indexOf('/files/') + '/files/'.length).split('?')[0]!;
      const short = await g.app.platform.ctx.store.signedUrl(decodeURIComponent(key), { expiresInSeconds: 1 });
      expect((await fetch(short)).status).toBe(200);
      await clock.advance(1000);
      const expired = await fetch(short);
      expect(expired.status).toBe(403);
      expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('url_expired');
    } finally {
      await g.close();
    }
  });
  it("8 scoped access: a user cannot read or change another user's data", async () => {
    const a = await startAccountsApp();
    try {
      const alice = await signUpVerified(a, 'scoped-a@example.com');
      const bob = await signUpVerified(a, 'scoped-b@example.com');
      const aliceSession = ((await alice.get('/api/me/sessions')).json().sessions as { id: string }[])[0]!.id;
      expect((await bob.delete(`/api/me/sessions/${aliceSession}`)).status).toBe(404);
      expect((await bob.get('/api/admin/users')).status).toBe(404); // the console does not exist for a user
      expect((await alice.get('/api/me')).status).toBe(200);
    } finally {
      await a.close();
    }
  });

  it('8 hashed credentials: passwords are stored only as salted scrypt hashes', async () => {
    const a = await startAccountsApp({ PASSWORD_HASH_LOG_N: '17' }); // production's hashing (tests default to a cheaper one)
    try {
      await signUpVerified(a, 'hashed@example.com', 'a secret phrase 77');
      const rows = await a.app.db.sql.query<{ password: string }>(`select password from accounts where provider_id = 'credential'`);
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(r.password).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    } finally {
      await a.close();
    }
  });
  it('8 encryption at rest for sensitive stores (provider tokens, webhook secrets)', async () => {
    // (no public DNS here: a local endpoint, let through as an operator would an intranet host)
    const g = await startGenerationsApp({ WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9' });
    try {
      const c = await g.user('policy-8-secrets@example.com', 0);
      const created = await c.post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/savesora' });
      expect(created.status, created.body).toBe(201);
      const { id, secret } = created.json<{ id: string; secret: string }>();
      expect(secret).toMatch(/^whsec_/);
      // the database holds ciphertext only: neither the secret nor its key material appears
      const [row] = await g.app.db.sql.query('select * from webhook_endpoints where id = $1', [id]);
      const stored = JSON.stringify(row);
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain(secret.slice('whsec_'.length));
      expect(String(row!.secret_encrypted)).toMatch(/^v1\./);
      // API keys are kept as hashes (provider tokens live in settings, not in the database)
      const key = (await c.post('/api/keys', { name: 'policy 8' })).json<{ id: string; secret: string }>();
      const [k] = await g.app.db.sql.query('select * from api_keys where id = $1', [key.id]);
      expect(JSON.stringify(k)).not.toContain(key.secret);
      // and the owner can still read the webhook secret back when needed
      expect((await c.get(`/api/webhooks/endpoints/${id}/secret`)).json<{ secret: string }>().secret).toBe(secret);
    } finally {
      await g.close();
    }
  });

  it('8 tokens at rest: no token column holds a cookie, reset-link or verification-link token; OAuth tokens are ciphertext', async () => {
    const oidc = await startFakeOidc({ clientId: 'policy-8-client', clientSecret: 'policy-8-secret' });
    const a = await startAccountsApp({ GOOGLE_CLIENT_ID: 'policy-8-client', GOOGLE_CLIENT_SECRET: 'policy-8-secret', GOOGLE_DISCOVERY_URL: oidc.discoveryUrl });
    try {
      const secrets: string[] = [];
      // an email account: the verification link's token, then a session cookie
      const c = a.client();
      expect(
        (await c.post('/api/auth/sign-up/email', { email: 'at-rest@example.com', password: 'at rest phrase 31', name: 'R', region: 'US', ageConfirmed: true }))
          .status,
      ).toBe(200);
      const verifyLink = linkIn((await mailTo(a.smtp, 'at-rest@example.com', /verif/i)).text, a.app.url);
      secrets.push(new URL(verifyLink).searchParams.get('token')!);
      expect((await c.get(verifyLink.replace(a.app.url, ''))).status).toBe(302);
      // a password-reset link, not yet used
      expect((await a.client().post('/api/auth/request-password-reset', { email: 'at-rest@example.com', redirectTo: '/reset-password' })).status).toBe(200);
      const resetLink = linkIn((await mailTo(a.smtp, 'at-rest@example.com', /reset/i)).text, `${a.app.url}/api/auth/reset-password/`);
      secrets.push(new URL(resetLink).pathname.split('/').pop()!);
      // a Google account, and an OAuth state in flight
      oidc.setUser({
        sub: '808080808080808080808',
        email: 'at-rest-google@example.com',
        email_verified: true,
        name: 'G',
        picture: 'https://lh3.googleusercontent.com/a/g.png',
      });
      const g = a.client();
      expect((await g.post('/api/signup-intent', { region: 'US', ageConfirmed: true })).status).toBe(204);
      const start = await g.post('/api/auth/sign-in/social', { provider: 'google', callbackURL: '/account' });
      const provider = await fetch(new URL(start.json().url), { redirect: 'manual' });
      const callback = new URL(provider.headers.get('location')!);
      secrets.push(callback.searchParams.get('state')!);
      expect((await g.get(callback.pathname + callback.search)).status).toBe(302);
      const pending = new URL(
        (await new TestClient(a.app.url, { ip: '198.51.100.250' }).post('/api/auth/sign-in/social', { provider: 'google', callbackURL: '/account' })).json()
          .url,
      );
      secrets.push(pending.searchParams.get('state')!);
      // every cookie token of both sessions (the value before Better Auth's signature, and whole)
      for (const client of [c, g]) {
        for (const [name, value] of client.cookies) {
          if (!name.includes('session')) continue;
          const raw = decodeURIComponent(value);
          secrets.push(raw, raw.split('.')[0]!);
        }
      }
      expect(secrets.filter((x) => x && x.length >= 16).length).toBeGreaterThanOrEqual(7);

      // every column named like a token, identifier or secret, in every table
      const columns = await a.app.db.sql.query<{ table_name: string; column_name: string }>(
        `select table_name, column_name from information_schema.columns
          where table_schema = 'public' and data_type in ('text', 'character varying')
            and (column_name like '%token%' or column_name like '%identifier%' or column_name like '%secret%' or column_name = 'value')`,
      );
      expect(columns.map((c) => `${c.table_name}.${c.column_name}`)).toEqual(
        expect.arrayContaining(['sessions.token', 'verifications.identifier', 'accounts.access_token', 'accounts.refresh_token', 'accounts.id_token']),
      );
      let values = 0;
      for (const { table_name, column_name } of columns) {
        const rows = await a.app.db.sql.query<{ v: string | null }>(`select "${column_name}" as v from "${table_name}" where "${column_name}" is not null`);
        for (const { v } of rows) {
          values++;
          for (const secret of secrets) if (secret.length >= 16) expect(v, `${table_name}.${column_name}`).not.toContain(secret);
        }
      }
      expect(values).toBeGreaterThan(4);

      // Google's tokens are ciphertext that opens with the server's secret
      const [acct] = await a.app.db.sql.query<{ access_token: string; id_token: string }>(
        `select access_token, id_token from accounts where provider_id = 'google'`,
      );
      for (const v of [acct!.access_token, acct!.id_token]) expect(v).toMatch(/^(\$ba\$\d+\$)?[0-9a-f]{80,}$/);
      const idToken = await symmetricDecrypt({ key: a.app.config.SESSION_SECRET, data: acct!.id_token });
      expect(idToken.split('.')).toHaveLength(3);
      // and sessions are still found by their cookies
      expect((await c.get('/api/me')).json().email).toBe('at-rest@example.com');
      expect((await g.get('/api/me')).json().email).toBe('at-rest-google@example.com');
    } finally {
      await a.close();
      await oidc.close();
    }
  });
});
