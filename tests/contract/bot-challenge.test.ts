import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/server/adapters/clock';
import {
  createAltchaChallenge,
  createBotChallenge,
  createOffChallenge,
  createTurnstileChallenge,
  type BotChallenge,
  type ChallengeUseStore,
  TURNSTILE_DEFAULT_VERIFY_URL as turnstileDefault,
} from '../../src/server/adapters/challenge';
import { claimChallengeUse } from '../../src/server/domain/abuse/challenge.repo';
import { StartupError } from '../../src/server/errors';
import type { BotChallengePurpose } from '../../src/shared/api/bot-challenge';
import { startFakeTurnstile, TURNSTILE_DUMMY_TOKEN, TURNSTILE_TEST_SECRETS, type FakeTurnstile } from '../fakes/turnstile';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * One contract for the bot-challenge port, run against every adapter: ALTCHA (solved here with
 * altcha-lib's own solver), Turnstile (against the fake siteverify server, tokens minted by it as
 * the widget would get them) and off. Redeemed challenges are remembered in the real table.
 */
let db: TestDatabase;
let turnstile: FakeTurnstile;
const clock = new FakeClock();
const SECRET = 'prod-like-secret-0123456789';
const ip = '203.0.113.7';

beforeAll(async () => {
  db = await createTestDatabase();
  turnstile = await startFakeTurnstile({ now: () => clock.nowMs() });
  turnstile.addSite(SECRET);
});
afterAll(async () => {
  await turnstile.close();
  await db.drop();
});

const uses: ChallengeUseStore = { claim: (id, expiresAt) => claimChallengeUse(db, id, expiresAt) };

interface Harness {
  challenge: BotChallenge;
  /** a correct solution for `purpose`, as the page would send it */
  solve(purpose: BotChallengePurpose): Promise<string>;
  /** a solution altered after it was made */
  tamper(purpose: BotChallengePurpose): Promise<string>;
  /** seconds after which a solution no longer counts */
  lifetimeSeconds: number;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

function altcha(): Harness {
  const challenge = createAltchaChallenge({ hmacKey: 'contract-hmac-key-0123456789', cost: 10, uses, maxCounter: 20 });
  const make = async (purpose: BotChallengePurpose) => {
    const issued = await challenge.issue({ purpose, difficulty: 1, now: clock.now() });
    if (issued.kind !== 'altcha') throw new Error('expected an ALTCHA challenge');
    const solution = await solveChallenge({ challenge: issued.challenge, deriveKey });
    return { challenge: issued.challenge, solution: solution! };
  };
  return {
    challenge,
    lifetimeSeconds: 600,
    solve: async (purpose) => b64(await make(purpose)),
    async tamper(purpose) {
      const p = await make(purpose);
      // a cheaper challenge than the one signed
      return b64({ ...p, challenge: { ...p.challenge, parameters: { ...p.challenge.parameters, cost: 1 } } });
    },
  };
}

function turnstileHarness(): Harness {
  const challenge = createTurnstileChallenge({ siteKey: 'site-key', secretKey: SECRET, verifyUrl: turnstile.verifyUrl, expectedHostname: 'localhost', uses });
  return {
    challenge,
    lifetimeSeconds: 300,
    solve: async (purpose) => turnstile.issueToken(SECRET, { action: purpose, hostname: 'localhost' }),
    tamper: async (purpose) => `${turnstile.issueToken(SECRET, { action: purpose })}x`,
  };
}

const purposes: BotChallengePurpose[] = ['signup', 'signin', 'reset'];

describe.each([
  ['altcha', altcha],
  ['turnstile', turnstileHarness],
] as const)('bot challenge contract: %s', (_name, make) => {
  let h: Harness;
  beforeAll(() => {
    h = make();
  });
  const verify = (payload: string, purpose: BotChallengePurpose = 'signup') => h.challenge.verify(payload, { purpose, ip, now: clock.now() });

  it('issues a challenge for each purpose', async () => {
    for (const purpose of purposes) {
      const issued = await h.challenge.issue({ purpose, difficulty: 1, now: clock.now() });
      expect(issued.kind).toBe(h.challenge.kind);
    }
  });

  it('a good solution passes once; the same solution again is a replay', async () => {
    const payload = await h.solve('signup');
    expect(await verify(payload)).toEqual({ ok: true });
    expect(await verify(payload)).toEqual({ ok: false, reason: 'replayed' });
  });

  it('a solution made for another purpose fails', async () => {
    const payload = await h.solve('signin');
    expect((await verify(payload, 'signup')).ok).toBe(false);
  });

  it('a tampered solution fails', async () => {
    expect(await verify(await h.tamper('reset'), 'reset')).toMatchObject({ ok: false });
  });

  it('garbage fails without an error', async () => {
    for (const junk of ['x', 'AAAA', b64({}), b64({ challenge: 1, solution: 'x' }), 'not base64 at all!', '%%%', 'a'.repeat(3000), b64([1, 2])]) {
      const v = await verify(junk);
      expect(v.ok, junk.slice(0, 30)).toBe(false);
    }
  });

  it('an expired solution fails', async () => {
    const payload = await h.solve('signup');
    await clock.advance((h.lifetimeSeconds + 1) * 1000);
    const v = await verify(payload);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(['expired', 'replayed']).toContain(v.reason);
  });

  it('two requests racing with one solution: exactly one passes', async () => {
    const payload = await h.solve('signin');
    const results = await Promise.all([verify(payload, 'signin'), verify(payload, 'signin'), verify(payload, 'signin')]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });
});

describe('bot challenge contract: off', () => {
  const off = createOffChallenge();
  it('asks nothing and lets everything pass', async () => {
    expect(await off.issue({ purpose: 'signup', difficulty: 1, now: clock.now() })).toEqual({ kind: 'off' });
    expect(await off.verify('anything', { purpose: 'signup', ip, now: clock.now() })).toEqual({ ok: true });
  });
});

describe('the registry', () => {
  const base = {
    SESSION_SECRET: 'x'.repeat(40),
    PUBLIC_URL: 'http://localhost:3000',
    ALTCHA_HMAC_KEY: undefined,
    ALTCHA_COST: 10,
    TURNSTILE_SITE_KEY: undefined,
    TURNSTILE_SECRET_KEY: undefined,
    TURNSTILE_VERIFY_URL: turnstileDefault,
  };
  it('builds the configured adapter; turnstile without its keys (saved in the console) stops start-up with one line', () => {
    expect(createBotChallenge({ ...base, BOT_CHALLENGE: 'altcha' }, { uses }).kind).toBe('altcha');
    expect(createBotChallenge({ ...base, BOT_CHALLENGE: 'off' }, { uses }).kind).toBe('off');
    expect(createBotChallenge({ ...base, BOT_CHALLENGE: 'turnstile', TURNSTILE_SITE_KEY: 's', TURNSTILE_SECRET_KEY: 'k' }, { uses }).kind).toBe('turnstile');
    expect(() => createBotChallenge({ ...base, BOT_CHALLENGE: 'turnstile', TURNSTILE_SITE_KEY: 's' }, { uses })).toThrow(StartupError);
  });
});

describe('ALTCHA specifics', () => {
  it('the difficulty multiplies the cost, capped at 4 times', async () => {
    const a = createAltchaChallenge({ hmacKey: 'contract-hmac-key-0123456789', cost: 100, uses });
    const cost = async (difficulty: number) => {
      const c = await a.issue({ purpose: 'signin', difficulty, now: clock.now() });
      return c.kind === 'altcha' ? c.challenge.parameters.cost : 0;
    };
    expect([await cost(1), await cost(2), await cost(4), await cost(64)]).toEqual([100, 200, 400, 400]);
  });

  it('a challenge signed with another key fails', async () => {
    const other = createAltchaChallenge({ hmacKey: 'another-hmac-key-0123456789', cost: 10, uses, maxCounter: 10 });
    const issued = await other.issue({ purpose: 'signup', difficulty: 1, now: clock.now() });
    if (issued.kind !== 'altcha') throw new Error('expected ALTCHA');
    const solution = await solveChallenge({ challenge: issued.challenge, deriveKey });
    const mine = createAltchaChallenge({ hmacKey: 'contract-hmac-key-0123456789', cost: 10, uses });
    expect(await mine.verify(b64({ challenge: issued.challenge, solution }), { purpose: 'signup', ip, now: clock.now() })).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('a wrong counter fails', async () => {
    const a = createAltchaChallenge({ hmacKey: 'contract-hmac-key-0123456789', cost: 10, uses, maxCounter: 10 });
    const issued = await a.issue({ purpose: 'signup', difficulty: 1, now: clock.now() });
    if (issued.kind !== 'altcha') throw new Error('expected ALTCHA');
    const solution = await solveChallenge({ challenge: issued.challenge, deriveKey });
    const wrong = { ...solution!, derivedKey: '00'.repeat(32) };
    expect(await a.verify(b64({ challenge: issued.challenge, solution: wrong }), { purpose: 'signup', ip, now: clock.now() })).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });
});

describe('Turnstile specifics (fake siteverify)', () => {
  const make = (secretKey: string, expectedHostname = 'localhost') =>
    createTurnstileChallenge({ siteKey: 'site-key', secretKey, verifyUrl: turnstile.verifyUrl, expectedHostname, uses });

  it("the documented test secrets: 1x passes the dummy token, 2x fails, 3x is 'already spent'", async () => {
    const opts = { purpose: 'signup' as const, ip, now: clock.now() };
    expect(await make(TURNSTILE_TEST_SECRETS.pass).verify(TURNSTILE_DUMMY_TOKEN, opts)).toEqual({ ok: true });
    expect(await make(TURNSTILE_TEST_SECRETS.fail).verify(TURNSTILE_DUMMY_TOKEN, opts)).toEqual({ ok: false, reason: 'invalid' });
    expect(await make(TURNSTILE_TEST_SECRETS.spent).verify(TURNSTILE_DUMMY_TOKEN, opts)).toEqual({ ok: false, reason: 'replayed' });
  });

  it('sends the secret, the token and the client IP with an idempotency key, as a form', async () => {
    const token = turnstile.issueToken(SECRET, { action: 'signup' });
    await make(SECRET).verify(token, { purpose: 'signup', ip, now: clock.now() });
    const last = turnstile.requests.at(-1)!;
    expect(last.contentType).toContain('application/x-www-form-urlencoded');
    expect(last.fields).toMatchObject({ secret: SECRET, response: token, remoteip: ip });
    expect(last.fields.idempotency_key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries an internal error once with the same idempotency key', async () => {
    const token = turnstile.issueToken(SECRET, { action: 'signup' });
    turnstile.failNext();
    const before = turnstile.requests.length;
    expect(await make(SECRET).verify(token, { purpose: 'signup', ip, now: clock.now() })).toEqual({ ok: true });
    const [first, second] = turnstile.requests.slice(before);
    expect(second!.fields.idempotency_key).toBe(first!.fields.idempotency_key);
  });

  it('a token solved on another host or for another action fails', async () => {
    const opts = { purpose: 'signup' as const, ip, now: clock.now() };
    expect(await make(SECRET, 'video.example.com').verify(turnstile.issueToken(SECRET, { action: 'signup', hostname: 'evil.example' }), opts)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(await make(SECRET).verify(turnstile.issueToken(SECRET, { action: 'reset' }), opts)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('an unreachable siteverify is "unavailable", not a pass', async () => {
    const down = createTurnstileChallenge({ siteKey: 's', secretKey: SECRET, verifyUrl: 'http://127.0.0.1:9/siteverify', expectedHostname: 'localhost', uses });
    expect(await down.verify(turnstile.issueToken(SECRET), { purpose: 'signup', ip, now: clock.now() })).toEqual({ ok: false, reason: 'unavailable' });
  });

  it('the fake accepts JSON bodies too, and names missing and unknown secrets', async () => {
    const post = async (body: unknown) =>
      (await fetch(turnstile.verifyUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
    expect(await post({ response: 'x' })).toMatchObject({ success: false, 'error-codes': ['missing-input-secret'] });
    expect(await post({ secret: 'nope', response: 'x' })).toMatchObject({ success: false, 'error-codes': ['invalid-input-secret'] });
    expect(await post({ secret: SECRET })).toMatchObject({ success: false, 'error-codes': ['missing-input-response'] });
    expect(await post({ secret: SECRET, response: TURNSTILE_DUMMY_TOKEN })).toMatchObject({ success: false, 'error-codes': ['invalid-input-response'] });
    const token = turnstile.issueToken(SECRET, { action: 'signin', cdata: 'c' });
    expect(await post({ secret: SECRET, response: token, idempotency_key: 'k1' })).toMatchObject({ success: true, action: 'signin', cdata: 'c' });
    expect(await post({ secret: SECRET, response: token, idempotency_key: 'k1' })).toMatchObject({ success: true });
    expect(await post({ secret: SECRET, response: token, idempotency_key: 'k2' })).toMatchObject({ success: false, 'error-codes': ['timeout-or-duplicate'] });
  });
});
