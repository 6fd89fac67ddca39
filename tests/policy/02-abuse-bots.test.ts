import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotChallengeResponse } from '../../src/shared/api/bot-challenge';
import { botChallengeHeaders } from '../helpers/bot-challenge';
import { closeAll } from '../helpers/close';
import { startAccountsApp, type AccountsApp } from '../integration/accounts/setup';

// Privacy policy section 2: "we detect and block bots, credential abuse, …" (issue 19). The bot half.
let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp({ BOT_CHALLENGE: 'altcha', ALTCHA_COST: '20', BOT_CHALLENGE_AFTER_FAILURES: '3' });
});
afterAll(() => closeAll(a));

const userCount = async () => (await a.app.db.sql.query<{ n: number }>('select count(*)::int as n from users')).map((r) => r.n)[0]!;

describe('2 How we use your information', () => {
  it('2 detects and blocks bots and credential abuse', async () => {
    // a script (plain HTTP, no browser, no proof of work) trying to create accounts from one address
    const bot = a.client({ ip: '192.0.2.66' });
    const before = await userCount();
    for (let i = 0; i < 5; i++) {
      const res = await bot.post('/api/auth/sign-up/email', {
        email: `farm${i}@example.com`,
        password: 'a fine password 1',
        name: 'Bot',
        region: 'US',
        ageConfirmed: true,
      });
      expect(res.status).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'bot_challenge_required' } });
    }
    const reset = await bot.post('/api/auth/request-password-reset', { email: 'farm0@example.com', redirectTo: '/reset-password' });
    expect(reset.json()).toMatchObject({ error: { code: 'bot_challenge_required' } });
    expect(await userCount()).toBe(before);

    // credential stuffing from one address: after three failures every attempt needs a solved challenge,
    // and each further failure makes the next one costlier
    const stuffer = a.client({ ip: '192.0.2.77' });
    const outcomes: number[] = [];
    for (let i = 0; i < 6; i++)
      outcomes.push((await stuffer.post('/api/auth/sign-in/email', { email: `victim${i}@example.com`, password: `guess ${i} password` })).status);
    expect(outcomes).toEqual([401, 401, 401, 400, 400, 400]);
    const cost = async () => {
      const ch = (await stuffer.get('/api/bot-challenge?for=signin')).json<BotChallengeResponse>();
      return ch.kind === 'altcha' ? ch.challenge.parameters.cost : 0;
    };
    const first = await cost();
    const paid = await stuffer.post(
      '/api/auth/sign-in/email',
      { email: 'victim9@example.com', password: 'guess 9 password' },
      await botChallengeHeaders((p) => stuffer.get(p), 'signin'),
    );
    expect(paid.status).toBe(401);
    expect(await cost()).toBe(first * 2);
  });
});
