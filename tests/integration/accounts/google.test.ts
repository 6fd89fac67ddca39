import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOidc } from '../../fakes/oidc';
import type { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { signUpVerified, startAccountsApp, type AccountsApp } from './setup';

type FakeOidc = Awaited<ReturnType<typeof startFakeOidc>>;
let oidc: FakeOidc;
let a: AccountsApp;

beforeAll(async () => {
  oidc = await startFakeOidc({ clientId: 'savesora-test-client', clientSecret: 'savesora-test-secret' });
  a = await startAccountsApp({
    GOOGLE_CLIENT_ID: 'savesora-test-client',
    GOOGLE_CLIENT_SECRET: 'savesora-test-secret',
    GOOGLE_DISCOVERY_URL: oidc.discoveryUrl,
  });
});
afterAll(async () => {
  await closeAll(a, oidc);
});

/**
 * The browser's part of the flow: ask our app for the Google URL, "visit" the provider (which
 * redirects straight back with a code), then visit our callback with the cookies our app set.
 * `tamperCallback` lets a test forge what comes back.
 */
async function googleFlow(c: TestClient, opts: { intent?: Record<string, unknown>; tamperCallback?: (u: URL) => void } = {}) {
  if (opts.intent) expect((await c.post('/api/signup-intent', opts.intent)).status).toBe(204);
  const start = await c.post('/api/auth/sign-in/social', {
    provider: 'google',
    callbackURL: '/account',
    errorCallbackURL: '/sign-in',
    newUserCallbackURL: '/account',
  });
  expect(start.status).toBe(200);
  const authorizeUrl = new URL(start.json().url);
  expect(authorizeUrl.origin).toBe(new URL(oidc.issuer).origin);
  const provider = await fetch(authorizeUrl, { redirect: 'manual' });
  expect(provider.status).toBe(302);
  const callback = new URL(provider.headers.get('location')!);
  opts.tamperCallback?.(callback);
  const back = await c.get(callback.pathname + callback.search);
  return { authorizeUrl, back, location: back.headers.get('location') ?? '' };
}

const usersWith = (email: string) =>
  a.app.db.sql.query<{
    id: string;
    name: string;
    image: string | null;
    email_verified: boolean;
    provider_id: string;
    account_id: string;
    password: string | null;
  }>(
    `select u.id, u.name, u.image, u.email_verified, a.provider_id, a.account_id, a.password
       from users u join accounts a on a.user_id = u.id where lower(u.email) = lower($1) order by a.provider_id`,
    [email],
  );

describe('Google sign-in (OpenID Connect against a local provider)', () => {
  it('offers Google only when configured', async () => {
    expect((await a.client().get('/api/auth-config')).json().google).toBe(true);
  });

  it('creates the user with Google id, email, name and photo, and no password, using PKCE S256, state and nonce', async () => {
    oidc.setUser({
      sub: '111111111111111111111',
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada Lovelace',
      picture: 'https://lh3.googleusercontent.com/a/ada.png',
    });
    const c = a.client();
    const { authorizeUrl, back, location } = await googleFlow(c, { intent: { region: 'GB', ageConfirmed: true } });
    const p = authorizeUrl.searchParams;
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toBeTruthy();
    expect(p.get('nonce')).toBeTruthy();
    expect(p.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email', 'profile']));
    expect(back.status).toBe(302);
    expect(location).toContain('/account');
    const tokenRequest = oidc.requests.find((r) => r.path === '/token');
    expect(String(tokenRequest?.body)).toContain('code_verifier=');

    const rows = await usersWith('ada@example.com');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      name: 'Ada Lovelace',
      image: 'https://lh3.googleusercontent.com/a/ada.png',
      email_verified: true,
      provider_id: 'google',
      account_id: '111111111111111111111',
      password: null,
    });
    const me = (await c.get('/api/me')).json();
    expect(me).toMatchObject({ email: 'ada@example.com', hasPassword: false, providers: ['google'], region: 'GB' });
  });

  it('signs an existing Google user back in without a new sign-up intent', async () => {
    oidc.setUser({
      sub: '111111111111111111111',
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada Lovelace',
      picture: 'https://lh3.googleusercontent.com/a/ada.png',
    });
    const c = a.client();
    const { location } = await googleFlow(c);
    expect(location).toContain('/account');
    expect((await c.get('/api/me')).json().email).toBe('ada@example.com');
    expect(await usersWith('ada@example.com')).toHaveLength(1);
  });

  it('a suspended Google user is sent back to sign-in and can appeal once from there (the token rides in a cookie)', async () => {
    oidc.setUser({
      sub: '333333333333333333333',
      email: 'grace@example.com',
      email_verified: true,
      name: 'Grace Hopper',
      picture: 'https://lh3.googleusercontent.com/a/grace.png',
    });
    await googleFlow(a.client(), { intent: { region: 'US', ageConfirmed: true } });
    await a.app.platform.ctx.services.users.setStatus('grace@example.com', 'suspended', 'spam');

    const c = a.client();
    const { back, location } = await googleFlow(c);
    expect(location).toMatch(/\/sign-in\?error=account_suspended/i);
    // the refusal set the appeal cookie, only for POST /api/appeals, and no session
    expect(back.headers.get('set-cookie')).toMatch(/savesora_appeal=[^;]+;.*Path=\/api\/appeals/i);
    expect((await c.get('/api/me')).status).toBe(401);
    // without the cookie or a token there is nothing to appeal with
    expect((await a.client().post('/api/appeals', { text: 'Please look at my account again.' })).json().error.code).toBe('invalid_token');

    const appeal = await c.post('/api/appeals', { text: 'Please look at my account again.' });
    expect(appeal.status, appeal.body).toBe(200);
    const [kase] = await a.app.db.sql.query<{ id: string; status: string; appeal_text: string }>(
      `select c.id, c.status, c.appeal_text from moderation_cases c join users u on u.id = c.user_id where u.email = 'grace@example.com'`,
    );
    expect(kase).toMatchObject({ status: 'open', appeal_text: 'Please look at my account again.' });
    // once per suspension
    await googleFlow(c);
    expect((await c.post('/api/appeals', { text: 'And once more, please.' })).json().error.code).toBe('appeal_used');
  });

  it('refuses a new Google user who has not confirmed their age, keeping nothing', async () => {
    oidc.setUser({
      sub: '222222222222222222222',
      email: 'young@example.com',
      email_verified: true,
      name: 'Young',
      picture: 'https://lh3.googleusercontent.com/a/y.png',
    });
    const c = a.client();
    const { location } = await googleFlow(c);
    expect(location).toMatch(/\/sign-in\?error=/);
    expect(await usersWith('young@example.com')).toHaveLength(0);
    expect((await c.get('/api/me')).status).toBe(401);
  });

  it('rejects a forged state', async () => {
    oidc.setUser({
      sub: '333333333333333333333',
      email: 'forged@example.com',
      email_verified: true,
      name: 'F',
      picture: 'https://lh3.googleusercontent.com/a/f.png',
    });
    const c = a.client();
    const { location } = await googleFlow(c, {
      intent: { region: 'US', ageConfirmed: true },
      tamperCallback: (u) => u.searchParams.set('state', 'forged-state-value'),
    });
    expect(location).toMatch(/error=/);
    expect(await usersWith('forged@example.com')).toHaveLength(0);
    expect((await c.get('/api/me')).status).toBe(401);
  });

  it('rejects an ID token with the wrong nonce, or signed by another key', async () => {
    oidc.setUser({
      sub: '444444444444444444444',
      email: 'nonce@example.com',
      email_verified: true,
      name: 'N',
      picture: 'https://lh3.googleusercontent.com/a/n.png',
    });
    oidc.tamper.nonce = 'not-the-nonce-we-sent';
    try {
      const c = a.client();
      const { location } = await googleFlow(c, { intent: { region: 'US', ageConfirmed: true } });
      expect(location).toMatch(/error=/);
      expect((await c.get('/api/me')).status).toBe(401);
    } finally {
      delete oidc.tamper.nonce;
    }
    oidc.tamper.signWithOtherKey = true;
    try {
      const c = a.client();
      const { location } = await googleFlow(c, { intent: { region: 'US', ageConfirmed: true } });
      expect(location).toMatch(/error=/);
    } finally {
      oidc.tamper.signWithOtherKey = false;
    }
    expect(await usersWith('nonce@example.com')).toHaveLength(0);
  });

  it('a code cannot be redeemed without the PKCE verifier our app holds', async () => {
    // replay the callback's code at the provider without a verifier, as an attacker who stole it would
    oidc.setUser({
      sub: '555555555555555555555',
      email: 'pkce@example.com',
      email_verified: true,
      name: 'P',
      picture: 'https://lh3.googleusercontent.com/a/p.png',
    });
    const c = a.client();
    await c.post('/api/signup-intent', { region: 'US', ageConfirmed: true });
    const start = await c.post('/api/auth/sign-in/social', { provider: 'google', callbackURL: '/account' });
    const provider = await fetch(start.json().url, { redirect: 'manual' });
    const code = new URL(provider.headers.get('location')!).searchParams.get('code')!;
    const stolen = await fetch(`${oidc.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: `${a.app.url}/api/auth/callback/google`,
        client_id: 'savesora-test-client',
        client_secret: 'savesora-test-secret',
      }),
    });
    expect(stolen.status).toBe(400);
    expect((await stolen.json()).error).toBe('invalid_grant');
  });

  it('links Google to an existing email account only when Google says the email is verified', async () => {
    await signUpVerified(a, 'linkme@example.com', 'link password 1');
    oidc.setUser({
      sub: '666666666666666666666',
      email: 'linkme@example.com',
      email_verified: false,
      name: 'L',
      picture: 'https://lh3.googleusercontent.com/a/l.png',
    });
    const unverified = await googleFlow(a.client());
    expect(unverified.location).toMatch(/error=/);
    expect((await usersWith('linkme@example.com')).map((r) => r.provider_id)).toEqual(['credential']);

    oidc.setUser({
      sub: '666666666666666666666',
      email: 'linkme@example.com',
      email_verified: true,
      name: 'L',
      picture: 'https://lh3.googleusercontent.com/a/l.png',
    });
    const c = a.client();
    const verified = await googleFlow(c);
    expect(verified.location).toContain('/account');
    expect((await usersWith('linkme@example.com')).map((r) => r.provider_id)).toEqual(['credential', 'google']);
    expect((await c.get('/api/me')).json().providers).toEqual(['credential', 'google']);
  });
});
