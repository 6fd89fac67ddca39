import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/server/config';
import { StartupError } from '../../../src/server/errors';
import type { BotChallengeResponse } from '../../../src/shared/api/bot-challenge';
import { startFakeTurnstile, type FakeTurnstile } from '../../fakes/turnstile';
import { closeAll } from '../../helpers/close';
import { startAccountsApp, type AccountsApp } from '../accounts/setup';

/**
 * BOT_CHALLENGE=turnstile (issue 19): the page gets the site key, the token travels in the
 * X-Bot-Challenge header and is validated against the fake siteverify server with the client's
 * IP; the CSP opens challenges.cloudflare.com only in this mode.
 */
const SECRET = 'turnstile-integration-secret';
const SITE_KEY = '0x4AAAAAAAintegration';
let turnstile: FakeTurnstile;
let a: AccountsApp;
beforeAll(async () => {
  turnstile = await startFakeTurnstile();
  turnstile.addSite(SECRET);
  a = await startAccountsApp({
    BOT_CHALLENGE: 'turnstile',
    TURNSTILE_SITE_KEY: SITE_KEY,
    TURNSTILE_SECRET_KEY: SECRET,
    TURNSTILE_VERIFY_URL: turnstile.verifyUrl,
  });
});
afterAll(() => closeAll(a, turnstile));

const users = async (email: string) => (await a.app.db.sql.query<{ n: number }>('select count(*)::int as n from users where email = $1', [email]))[0]!.n;
const body = (email: string) => ({ email, password: 'a fine password 1', name: 'Turnstile Test', region: 'US', ageConfirmed: true });

describe('BOT_CHALLENGE=turnstile', () => {
  it('start-up stops with one line when a key is missing', () => {
    const base = { NODE_ENV: 'test', DATA_DIR: a.app.config.dataDir, BOT_CHALLENGE: 'turnstile' };
    expect(() => parseConfig({ ...base, TURNSTILE_SECRET_KEY: 'x' })).toThrow(StartupError);
    expect(() => parseConfig({ ...base, TURNSTILE_SECRET_KEY: 'x' })).toThrow(/^Invalid setting TURNSTILE_SITE_KEY: BOT_CHALLENGE=turnstile needs both/);
    expect(() => parseConfig({ ...base, TURNSTILE_SITE_KEY: 'x' })).toThrow(/^Invalid setting TURNSTILE_SECRET_KEY/);
  });

  it('the page gets the site key, and the CSP lets Cloudflare script and frame in', async () => {
    const c = a.client();
    const res = await c.get('/api/bot-challenge?for=signup');
    expect(res.json<BotChallengeResponse>()).toEqual({ required: true, kind: 'turnstile', siteKey: SITE_KEY });
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self' https:\/\/challenges\.cloudflare\.com/);
    expect(csp).toMatch(/frame-src 'self' https:\/\/challenges\.cloudflare\.com/);
  });

  it('a token from the widget signs up once, validated with the client IP; a replay and a foreign host are refused', async () => {
    const c = a.client({ ip: '198.51.100.200' });
    const hostname = new URL(a.app.url).hostname;
    const token = turnstile.issueToken(SECRET, { action: 'signup', hostname });
    expect((await c.post('/api/auth/sign-up/email', body('turnstile@example.com'), { 'x-bot-challenge': token })).status).toBe(200);
    expect(turnstile.requests.at(-1)!.fields).toMatchObject({ secret: SECRET, response: token, remoteip: '198.51.100.200' });
    expect(await users('turnstile@example.com')).toBe(1);

    const replay = await c.post('/api/auth/sign-up/email', body('turnstile2@example.com'), { 'x-bot-challenge': token });
    expect(replay.status).toBe(400);
    expect(replay.json()).toMatchObject({ error: { code: 'bot_challenge_failed' } });

    const foreign = turnstile.issueToken(SECRET, { action: 'signup', hostname: 'elsewhere.example' });
    expect((await c.post('/api/auth/sign-up/email', body('turnstile3@example.com'), { 'x-bot-challenge': foreign })).status).toBe(400);
    const missing = await c.post('/api/auth/sign-up/email', body('turnstile4@example.com'));
    expect(missing.json()).toMatchObject({ error: { code: 'bot_challenge_required' } });
    expect(await users('turnstile2@example.com')).toBe(0);
    expect(await users('turnstile3@example.com')).toBe(0);
  });

  it('siteverify down: 503 bot_challenge_unavailable, no account', async () => {
    const c = a.client();
    const token = turnstile.issueToken(SECRET, { action: 'signup', hostname: new URL(a.app.url).hostname });
    turnstile.failNext();
    turnstile.failNext();
    const res = await c.post('/api/auth/sign-up/email', body('turnstile5@example.com'), { 'x-bot-challenge': token });
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'bot_challenge_unavailable' } });
    expect(await users('turnstile5@example.com')).toBe(0);
  });
});
