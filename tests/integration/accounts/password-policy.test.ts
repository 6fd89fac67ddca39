import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../../helpers/close';
import { signUpVerified, startAccountsApp, type AccountsApp } from './setup';

/** POST /api/me/password applies the one password policy (password-policy.ts) to the new password. */
let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp();
});
afterAll(() => closeAll(a));

describe('changing the password: the password policy', () => {
  it('refuses a breached password, the email or name inside it, and the current password, changing nothing', async () => {
    const current = 'analytical engine notes 1843';
    const c = await signUpVerified(a, 'ada.lovelace@example.com', current, { name: 'Ada Byron' });
    for (const [newPassword, code] of [
      ['password123', 'password_too_common'],
      ['Password123', 'password_too_common'],
      ['qwerty123', 'password_too_common'],
      ['my ada.lovelace phrase', 'password_contains_personal_info'],
      ['ADA.LOVELACE@example.com', 'password_contains_personal_info'],
      ['countess ada byron rules', 'password_contains_personal_info'],
      ['I like save sora a lot', 'password_contains_personal_info'],
      [current, 'password_unchanged'],
    ] as const) {
      const res = await c.post('/api/me/password', { currentPassword: current, newPassword });
      expect(res.status, newPassword).toBe(400);
      expect(res.json().error.code, newPassword).toBe(code);
      expect(res.json().error.message.length, newPassword).toBeGreaterThan(20);
    }
    // still the old password, and this session still works
    expect((await c.get('/api/me')).status).toBe(200);
    expect((await a.client().post('/api/auth/sign-in/email', { email: 'ada.lovelace@example.com', password: current })).status).toBe(200);

    const ok = await c.post('/api/me/password', { currentPassword: current, newPassword: 'difference engine punch cards' });
    expect(ok.status).toBe(204);
    expect((await a.client().post('/api/auth/sign-in/email', { email: 'ada.lovelace@example.com', password: 'difference engine punch cards' })).status).toBe(
      200,
    );
  });
});
