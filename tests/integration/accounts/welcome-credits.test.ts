import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../../helpers/close';
import { signUpVerified, startAccountsApp, type AccountsApp } from './setup';

describe('welcome credits', () => {
  let a: AccountsApp;
  beforeAll(async () => {
    a = await startAccountsApp({ SIGNUP_FREE_CREDITS: '15' });
  });
  afterAll(() => closeAll(a));

  it('a new account gets SIGNUP_FREE_CREDITS once, as one ledger row', async () => {
    const c = await signUpVerified(a, 'welcome@example.com');
    const credits = (await c.get('/api/credits')).json<{
      balance: number;
      held: number;
      history: { items: { kind: string; amount: number; reason: string }[] };
    }>();
    expect(credits.balance).toBe(15);
    expect(credits.history.items).toEqual([expect.objectContaining({ kind: 'grant', amount: 15, reason: 'Welcome credits' })]);
    // signing in again grants nothing more
    const again = a.client();
    expect((await again.post('/api/auth/sign-in/email', { email: 'welcome@example.com', password: 'a fine password 1' })).status).toBe(200);
    expect((await again.get('/api/credits')).json<{ balance: number }>().balance).toBe(15);
    expect((await c.get('/api/me')).json<{ credits: number }>().credits).toBe(15);
  });
});
