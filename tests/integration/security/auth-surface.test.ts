import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizePath } from '../../../src/server/http/routes/auth';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { rawRequest } from '../../helpers/net';
import { linkIn, mailTo, signUpVerified, startAccountsApp, type AccountsApp } from '../accounts/setup';

// Issue 14: one path for rate limits and Better Auth, only the endpoints the app uses, no tokens
// in bodies, one password policy, and a sign-up that does not tell whether an address is taken.

let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp({ SIGNUP_RATE_PER_HOUR: '3' });
});
afterAll(() => closeAll(a));

let ipN = 0;
/** a client from an address no other test uses (each limit counts per address) */
const fresh = () => new TestClient(a.app.url, { ip: `203.0.113.${++ipN}` });

/** POST with the path sent exactly as written (fetch would normalise dot segments). */
const rawPost = (path: string, ip: string, body: unknown) =>
  rawRequest(a.app.url, { method: 'POST', path, headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify(body) });

/** Spellings of `/api/auth/<a>/<b>` (or `/api/auth/<a>`) that reach the same endpoint. */
function variants(path: string): string[] {
  const rest = path.slice('/api/auth/'.length);
  const parts = rest.split('/');
  const last = parts[parts.length - 1]!;
  const enc = `%${last.charCodeAt(0).toString(16)}${last.slice(1)}`;
  return [
    path,
    `/api/auth/./${rest}`,
    `/api/auth/x/../${rest}`,
    `/api/auth/${parts.slice(0, -1).concat(enc).join('/')}`,
    `/api/auth//${rest}`,
    `//api/auth/${rest}`,
    `/api/auth/${rest.replace(/\//g, '//')}`,
    `/api/%61uth/${rest}`,
    `/api/auth/%2e/${rest}`,
    `/api/auth/%2E%2E/auth/${rest}`,
    ...(parts.length > 1 ? [`/api/auth/${parts[0]!}/./${parts.slice(1).join('/')}`] : []),
  ];
}

describe('auth paths: one normal form', () => {
  it('normalises dot segments, doubled slashes and escapes, and refuses what cannot be a path of ours', () => {
    expect(normalizePath('/api/auth/sign-in/./email')).toBe('/api/auth/sign-in/email');
    expect(normalizePath('/api/auth/x/../sign-in/email')).toBe('/api/auth/sign-in/email');
    expect(normalizePath('//api//auth/sign-in/%65mail')).toBe('/api/auth/sign-in/email');
    expect(normalizePath('/api/auth/sign-in%2Femail')).toBeNull();
    expect(normalizePath('/api/auth/sign-in%5Cemail')).toBeNull();
    expect(normalizePath('/api/auth/%00/email')).toBeNull();
    expect(normalizePath('/api/auth/%E0%A4%A')).toBeNull();
    expect(normalizePath('/../../etc/passwd')).toBeNull();
  });

  // every limited endpoint, with a body that it answers without side effects we care about
  const limited: Array<{ path: string; limit: number; body: (i: number) => Record<string, unknown> }> = [
    { path: '/api/auth/sign-in/email', limit: 10, body: () => ({ email: 'nobody-limits@example.com', password: 'wrong password 1' }) },
    {
      path: '/api/auth/sign-up/email',
      limit: 3,
      body: (i) => ({ email: `limits-${ipN}-${i}@example.com`, password: 'a fine password 1', name: 'L', region: 'US', ageConfirmed: true }),
    },
    { path: '/api/auth/request-password-reset', limit: 3, body: () => ({ email: `reset-limits-${ipN}@example.com`, redirectTo: '/reset-password' }) },
    { path: '/api/auth/reset-password', limit: 20, body: () => ({ token: 'not-a-real-token', newPassword: 'a fine password 1' }) },
    { path: '/api/auth/send-verification-email', limit: 3, body: () => ({ email: `verify-limits-${ipN}@example.com` }) },
    { path: '/api/auth/sign-in/social', limit: 30, body: () => ({ provider: 'nope', callbackURL: '/account' }) },
  ];

  for (const l of limited) {
    it(`limits every spelling of ${l.path} exactly like the clean path`, async () => {
      const spellings = variants(l.path);
      // 1. requests through the variants count toward the same limit: after `limit` of them (in
      //    turn through every spelling) the clean path is refused
      const ip = `203.0.113.${++ipN}`;
      for (let i = 0; i < l.limit; i++) {
        const spelling = spellings[i % spellings.length]!;
        const r = await rawPost(spelling, ip, l.body(i));
        expect(r.status, `${spelling} -> ${r.body}`).not.toBe(429);
        expect(r.status).toBeLessThan(500);
        // reached the endpoint (Better Auth may answer 404 for an unknown provider, never our route 404)
        if (r.status === 404) expect(JSON.parse(r.body).error.code).not.toBe('not_found');
      }
      expect((await rawPost(l.path, ip, l.body(l.limit))).status).toBe(429);
      // 2. and once the clean path is over the limit, every spelling is refused too
      for (const v of spellings) expect((await rawPost(v, ip, l.body(99))).status, v).toBe(429);
      // 3. spellings that cannot be normalised never reach Better Auth
      for (const bad of [l.path.replace(/\/([^/]+)$/, '%2F$1'), `${l.path}%00`, `${l.path}/../../../..`, `${l.path}/../../../../..`]) {
        const r = await rawPost(bad, `198.18.0.${ipN}`, l.body(0));
        // 404 from the route, or 400 from the guard that refuses control characters anywhere
        expect([400, 404], bad).toContain(r.status);
        expect(JSON.parse(r.body).error.code).toMatch(/^(not_found|invalid_request|bad_request)$/);
      }
    });
  }
});

describe('auth endpoints: only what the app uses', () => {
  it('answers 404 for Better Auth endpoints the app does not use, signed in or not', async () => {
    const c = await signUpVerified(a, 'allow-list@example.com', 'allow list phrase 1');
    const refused: Array<[string, string, unknown?]> = [
      ['POST', '/api/auth/change-password', { currentPassword: 'allow list phrase 1', newPassword: 'password123', revokeOtherSessions: false }],
      ['POST', '/api/auth/update-user', { name: 'x'.repeat(300_000).slice(0, 900_000), image: 'javascript:alert(1)', region: 'not a region' }],
      ['GET', '/api/auth/get-session'],
      ['GET', '/api/auth/list-sessions'],
      ['POST', '/api/auth/revoke-sessions', {}],
      ['POST', '/api/auth/delete-user', {}],
      ['POST', '/api/auth/change-email', { newEmail: 'elsewhere@example.com' }],
      ['GET', '/api/auth/list-accounts'],
      ['POST', '/api/auth/update-session', {}],
      ['GET', '/api/auth/./get-session'],
      ['GET', '/api/auth/x/../list-sessions'],
    ];
    for (const [method, path, body] of refused) {
      for (const client of [c, fresh()]) {
        const res = await client.request(method, path, body);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.json().error.code).toBe('not_found');
      }
    }
    // nothing changed: the name, and the password still works
    expect((await c.get('/api/me')).json().name).toBe('Test User');
    const again = await fresh().post('/api/auth/sign-in/email', { email: 'allow-list@example.com', password: 'allow list phrase 1' });
    expect(again.status).toBe(200);
  });

  it('gives page scripts no session token: sign-in answers without one, the cookie carries it', async () => {
    await signUpVerified(a, 'sessionless-reply@example.com', 'no token body 77');
    const c = fresh();
    const res = await c.post('/api/auth/sign-in/email', { email: 'sessionless-reply@example.com', password: 'no token body 77' });
    expect(res.status).toBe(200);
    expect(res.body).not.toMatch(/token/i);
    const cookie = [...c.cookies].find(([k]) => k.includes('session_token'))?.[1];
    expect(cookie).toBeTruthy();
    expect(res.body).not.toContain(decodeURIComponent(cookie!).split('.')[0]!);
    expect(res.json().user.email).toBe('sessionless-reply@example.com');
  });
});

describe('caching', () => {
  it('sends authenticated JSON with Cache-Control: no-store; public JSON is not marked', async () => {
    const c = await signUpVerified(a, 'no-store@example.com', 'no store phrase 88');
    for (const path of ['/api/me', '/api/me/sessions', '/api/credits', '/api/generations']) {
      const res = await c.get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
    // an authenticated error is not cached either
    expect((await c.get('/api/uploads/00000000-0000-4000-8000-000000000000')).headers.get('cache-control')).toBe('no-store');
    // an anonymous request to public data is left to the route
    expect((await fetch(`${a.app.url}/api/auth-config`)).headers.get('cache-control')).not.toBe('no-store');
  });
});

describe('one password policy (sign-up and reset)', () => {
  it('refuses breached passwords and ones made of the email or name at sign-up', async () => {
    for (const password of ['password123', 'qwerty123', 'iloveyou1', 'PASSWORD123']) {
      const res = await fresh().post('/api/auth/sign-up/email', { email: 'policy@example.com', password, name: 'P', region: 'US', ageConfirmed: true });
      expect(res.status, password).toBe(400);
      expect(res.json().error.code).toBe('password_too_common');
    }
    const own = await fresh().post('/api/auth/sign-up/email', {
      email: 'margarethamilton@example.com',
      password: 'MargaretHamilton!',
      name: 'M',
      region: 'US',
      ageConfirmed: true,
    });
    expect(own.status).toBe(400);
    expect(own.json().error.code).toBe('password_contains_personal_info');
    expect(await a.app.db.sql.query(`select 1 from users where email in ('policy@example.com', 'margarethamilton@example.com')`)).toHaveLength(0);
  });

  it('refuses a breached password or the account’s own name when resetting', async () => {
    await signUpVerified(a, 'reset-policy@example.com', 'reset policy phrase 1', { name: 'Grace Hopper' });
    const res = await fresh().post('/api/auth/request-password-reset', { email: 'reset-policy@example.com', redirectTo: '/reset-password' });
    expect(res.status).toBe(200);
    const mail = await mailTo(a.smtp, 'reset-policy@example.com', /reset/i);
    const token = new URL(linkIn(mail.text, `${a.app.url}/api/auth/reset-password/`)).pathname.split('/').pop()!;
    for (const [password, code] of [
      ['iloveyou1', 'password_too_common'],
      ['grace hopper rocks', 'password_contains_personal_info'],
      ['reset-policy@example.com', 'password_contains_personal_info'],
    ] as const) {
      const r = await fresh().post('/api/auth/reset-password', { token, newPassword: password });
      expect(r.status, password).toBe(400);
      expect(r.json().error.code).toBe(code);
    }
    const ok = await fresh().post('/api/auth/reset-password', { token, newPassword: 'a brand new phrase 5' });
    expect(ok.status).toBe(200);
  });
});

describe('sign-up does not reveal whether an email is taken', () => {
  it('answers a taken address with the same status and body, and mails its owner instead', async () => {
    await signUpVerified(a, 'taken-enum@example.com', 'taken enum phrase 1');
    const body = (email: string) => ({ email, password: 'another phrase 22', name: 'Someone', region: 'FR', ageConfirmed: true, language: 'es' });
    const taken = await fresh().post('/api/auth/sign-up/email', body('taken-enum@example.com'));
    const free = await fresh().post('/api/auth/sign-up/email', body('free-enum@example.com'));
    expect(taken.status).toBe(200);
    expect(free.status).toBe(200);
    expect(taken.body).toBe(free.body);
    expect(taken.json()).toEqual({ status: 'check_inbox' });
    // no session either way; both get a first device cookie (issue 19), alike
    const names = (r: typeof taken) => r.headers.getSetCookie().map((c) => c.slice(0, c.indexOf('=')));
    expect(names(taken)).toEqual(['savesora_device']);
    expect(names(free)).toEqual(names(taken));
    // the owner hears about it; the new address gets its verification link
    const notice = await mailTo(a.smtp, 'taken-enum@example.com', /already have/i);
    expect(notice.text).toContain(`${a.app.url}/forgot-password`);
    await mailTo(a.smtp, 'free-enum@example.com', /verif/i);
  });

  it('takes the same kind of time for a taken and a free address (both hash the password and send a mail)', async () => {
    // at production's hashing cost (tests default to a cheaper one), which dominates both answers
    const p = await startAccountsApp({ PASSWORD_HASH_LOG_N: '17' });
    try {
      await signUpVerified(p, 'timing-taken@example.com', 'timing taken phrase 1');
      const time = async (email: string) => {
        const t0 = performance.now();
        const r = await p.client().post('/api/auth/sign-up/email', { email, password: 'timing phrase 22', name: 'T', region: 'US', ageConfirmed: true });
        expect(r.status).toBe(200);
        return performance.now() - t0;
      };
      const taken: number[] = [];
      const free: number[] = [];
      for (let i = 0; i < 3; i++) {
        taken.push(await time('timing-taken@example.com'));
        free.push(await time(`timing-free-${i}@example.com`));
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1]!;
      // a password hash (scrypt, tens to hundreds of ms) dominates both; a lookup-only answer for a
      // taken address would be an order of magnitude faster
      expect(median(taken)).toBeGreaterThan(median(free) / 4);
    } finally {
      await p.close();
    }
  });
});
