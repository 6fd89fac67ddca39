import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotChallengeResponse } from '../../../src/shared/api/bot-challenge';
import { botChallengeHeaders } from '../../helpers/bot-challenge';
import type { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { linkIn, mailTo, startAccountsApp, type AccountsApp } from '../accounts/setup';

/**
 * The bot challenge on the auth endpoints (issue 19), ALTCHA at a low cost: sign-up and password
 * reset always need a solution, sign-in only after BOT_CHALLENGE_AFTER_FAILURES failures from the
 * address, with the cost doubling past that; a refusal happens before Better Auth (no account, no
 * mail); hostile headers get a 4xx.
 */
const COST = 20;
let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp({ BOT_CHALLENGE: 'altcha', ALTCHA_COST: String(COST), BOT_CHALLENGE_AFTER_FAILURES: '3' });
});
afterAll(() => closeAll(a));

const users = async (email: string) => (await a.app.db.sql.query<{ n: number }>('select count(*)::int as n from users where email = $1', [email]))[0]!.n;
const mailsTo = (email: string) => a.smtp.messages.filter((m) => m.to.includes(email)).length;
const solved = (c: TestClient, purpose: 'signup' | 'signin' | 'reset') => botChallengeHeaders((p) => c.get(p), purpose);
const signUpBody = (email: string) => ({ email, password: 'a fine password 1', name: 'Bot Test', region: 'US', ageConfirmed: true });
const challengeFor = async (c: TestClient, purpose: string) => (await c.get(`/api/bot-challenge?for=${purpose}`)).json<BotChallengeResponse>();

describe('GET /api/bot-challenge', () => {
  it('sign-up and reset always need one; a fresh address signs in without', async () => {
    const c = a.client();
    const signup = await challengeFor(c, 'signup');
    expect(signup).toMatchObject({ required: true, kind: 'altcha', challenge: { parameters: { algorithm: 'PBKDF2/SHA-256', cost: COST } } });
    expect(await challengeFor(c, 'reset')).toMatchObject({ required: true, kind: 'altcha' });
    expect(await challengeFor(c, 'signin')).toEqual({ required: false, kind: 'none' });
  });

  it('ALTCHA runs in workers from our own origin: the CSP opens nothing to Cloudflare', async () => {
    const res = await a.client().get('/api/bot-challenge?for=signup');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).not.toContain('cloudflare');
  });

  it('refuses an unknown purpose and junk with 400', async () => {
    const c = a.client();
    for (const q of ['', '?for=other', '?for=%00', `?for=${'x'.repeat(5000)}`, '?for[]=signup']) {
      const res = await c.get(`/api/bot-challenge${q}`);
      expect(res.status, q.slice(0, 20)).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
    }
  });
});

describe('sign-up', () => {
  it('without a solution: 400 bot_challenge_required, no account, no mail', async () => {
    const c = a.client();
    const res = await c.post('/api/auth/sign-up/email', signUpBody('nochallenge@example.com'));
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'bot_challenge_required' } });
    expect(await users('nochallenge@example.com')).toBe(0);
    expect(mailsTo('nochallenge@example.com')).toBe(0);
  });

  it('with a solved challenge: the account is created and mailed; the same solution again is refused', async () => {
    const c = a.client();
    const headers = await solved(c, 'signup');
    const ok = await c.post('/api/auth/sign-up/email', signUpBody('solved@example.com'), headers);
    expect(ok.status).toBe(200);
    expect(await users('solved@example.com')).toBe(1);
    await mailTo(a.smtp, 'solved@example.com', /verif/i);
    const replay = await c.post('/api/auth/sign-up/email', signUpBody('replayed@example.com'), headers);
    expect(replay.status).toBe(400);
    expect(replay.json()).toMatchObject({ error: { code: 'bot_challenge_failed' } });
    expect(await users('replayed@example.com')).toBe(0);
  });

  it('a sign-in challenge does not open sign-up (the purpose is signed)', async () => {
    const c = a.client();
    // make sign-in need one from this address
    for (let i = 0; i < 3; i++) await c.post('/api/auth/sign-in/email', { email: 'nobody@example.com', password: 'wrong password 1' });
    const headers = await solved(c, 'signin');
    expect(headers['x-bot-challenge']).toBeDefined();
    const res = await c.post('/api/auth/sign-up/email', signUpBody('crosspurpose@example.com'), headers);
    expect(res.json()).toMatchObject({ error: { code: 'bot_challenge_failed' } });
    expect(await users('crosspurpose@example.com')).toBe(0);
  });
});

describe('password reset', () => {
  it('needs a solution; refused means no mail; solved sends the link', async () => {
    const c = a.client();
    await c.post('/api/auth/sign-up/email', signUpBody('reset@example.com'), await solved(c, 'signup'));
    const verify = await mailTo(a.smtp, 'reset@example.com', /verif/i);
    await c.get(linkIn(verify.text, a.app.url).replace(a.app.url, ''));
    const before = mailsTo('reset@example.com');

    const refused = await c.post('/api/auth/request-password-reset', { email: 'reset@example.com', redirectTo: '/reset-password' });
    expect(refused.status).toBe(400);
    expect(refused.json()).toMatchObject({ error: { code: 'bot_challenge_required' } });
    const junk = await c.post('/api/auth/request-password-reset', { email: 'reset@example.com', redirectTo: '/reset-password' }, { 'x-bot-challenge': 'AAAA' });
    expect(junk.json()).toMatchObject({ error: { code: 'bot_challenge_failed' } });
    expect(mailsTo('reset@example.com')).toBe(before);

    const ok = await c.post('/api/auth/request-password-reset', { email: 'reset@example.com', redirectTo: '/reset-password' }, await solved(c, 'reset'));
    expect(ok.status).toBe(200);
    await mailTo(a.smtp, 'reset@example.com', /reset|password/i);
  });
});

describe('sign-in', () => {
  it('needs a solution only after 3 failures from the address, and the cost doubles with each further failure', async () => {
    const c = a.client();
    const other = a.client();
    const wrong = { email: 'stuffed@example.com', password: 'wrong password 1' };
    for (let i = 0; i < 3; i++) expect((await c.post('/api/auth/sign-in/email', wrong)).status).toBe(401);
    // the fourth attempt from this address meets the challenge; another address does not
    const refused = await c.post('/api/auth/sign-in/email', wrong);
    expect(refused.status).toBe(400);
    expect(refused.json()).toMatchObject({ error: { code: 'bot_challenge_required' } });
    expect(await challengeFor(other, 'signin')).toEqual({ required: false, kind: 'none' });

    const costs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ch = await challengeFor(c, 'signin');
      if (ch.kind !== 'altcha') throw new Error('expected ALTCHA');
      costs.push(ch.challenge.parameters.cost);
      expect((await c.post('/api/auth/sign-in/email', wrong, await solved(c, 'signin'))).status).toBe(401);
    }
    // 3 failures: the base cost; the 4th and 5th (each with a solved challenge) double it
    expect(costs).toEqual([COST, COST * 2, COST * 4]);
  });

  it('a person with the right password after failures signs in with a solved challenge', async () => {
    const c = a.client();
    await c.post('/api/auth/sign-up/email', signUpBody('person@example.com'), await solved(c, 'signup'));
    const verify = await mailTo(a.smtp, 'person@example.com', /verif/i);
    await a.client().get(linkIn(verify.text, a.app.url).replace(a.app.url, ''));
    const p = a.client();
    for (let i = 0; i < 3; i++) await p.post('/api/auth/sign-in/email', { email: 'person@example.com', password: 'typo password 1' });
    const res = await p.post('/api/auth/sign-in/email', { email: 'person@example.com', password: 'a fine password 1' }, await solved(p, 'signin'));
    expect(res.status).toBe(200);
    expect((await p.get('/api/me')).status).toBe(200);
  });
});

/** One raw HTTP/1.1 request (fetch refuses to send what these tests need to send); answers the status line's code. */
async function rawStatus(headerValue: Buffer): Promise<number> {
  const url = new URL(a.app.url);
  const body = JSON.stringify(signUpBody('hostile@example.com'));
  const head = Buffer.from(
    `POST /api/auth/sign-up/email HTTP/1.1\r\nHost: ${url.host}\r\nOrigin: ${url.origin}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nX-Bot-Challenge: `,
  );
  const request = Buffer.concat([head, headerValue, Buffer.from(`\r\n\r\n${body}`)]);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(request));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    // the server may reset the connection while an oversized request is still being written
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
  });
}

describe('hostile X-Bot-Challenge headers', () => {
  it('get a 4xx, never a 500, and create no account', async () => {
    const c = a.client();
    for (const value of ['x', '{}', 'AAAA', 'e30=', Buffer.from('{"challenge":1}').toString('base64'), 'a'.repeat(5000), '!!!!', '=']) {
      const res = await c.post('/api/auth/sign-up/email', signUpBody('hostile@example.com'), { 'x-bot-challenge': value });
      expect(res.status, value.slice(0, 20)).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'bot_challenge_failed' } });
    }
    // NUL and other control bytes and non-ASCII bytes, sent raw: 400
    for (const value of ['abc\u0000def', 'abc\u0001def', 'caf\u00e9']) expect(await rawStatus(Buffer.from(value, 'latin1')), JSON.stringify(value)).toBe(400);
    // a 100 kB header: Node's parser answers 431 and closes (or resets the connection before the client reads it), never a 5xx
    expect([431, 0]).toContain(await rawStatus(Buffer.alloc(100_000, 'a')));
    expect(await users('hostile@example.com')).toBe(0);
  });
});
