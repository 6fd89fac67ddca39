import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../../helpers/close';
import { linkIn, mailTo, signUpVerified, startAccountsApp, type AccountsApp } from './setup';

let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp();
});
afterAll(() => closeAll(a));

async function requestReset(email: string) {
  const res = await a.client().post('/api/auth/request-password-reset', { email, redirectTo: '/reset-password' });
  expect(res.status).toBe(200);
  const mail = await mailTo(a.smtp, email, /reset/i);
  const link = linkIn(mail.text, `${a.app.url}/api/auth/reset-password/`);
  // the link redirects to the page with the token
  const page = await a.client().get(link.replace(a.app.url, ''));
  expect(page.status).toBe(302);
  const location = new URL(page.headers.get('location')!, a.app.url);
  expect(location.pathname).toBe('/reset-password');
  return { token: location.searchParams.get('token')!, link };
}

describe('password reset', () => {
  it('works once with an emailed link, signs out every session and tells the user', async () => {
    const signedIn = await signUpVerified(a, 'reset@example.com', 'old password 111');
    const { token, link } = await requestReset('reset@example.com');
    const common = await a.client().post('/api/auth/reset-password', { token, newPassword: 'iloveyou' });
    expect(common.json().error.code).toBe('password_too_common');
    const done = await a.client().post('/api/auth/reset-password', { token, newPassword: 'new password 222' });
    expect(done.status).toBe(200);
    expect((await signedIn.get('/api/me')).status).toBe(401); // sessions revoked
    expect((await a.client().post('/api/auth/sign-in/email', { email: 'reset@example.com', password: 'old password 111' })).status).toBe(401);
    expect((await a.client().post('/api/auth/sign-in/email', { email: 'reset@example.com', password: 'new password 222' })).status).toBe(200);
    await mailTo(a.smtp, 'reset@example.com', /password (was )?changed|changed your password/i);
    // the same token again: refused
    const again = await a.client().post('/api/auth/reset-password', { token, newPassword: 'third password 333' });
    expect(again.status).toBe(400);
    expect(again.json().error.code).toBe('invalid_token');
    const relink = await a.client().get(link.replace(a.app.url, ''));
    expect(relink.headers.get('location')).toContain('error=INVALID_TOKEN');
  });

  it('expires', async () => {
    await signUpVerified(a, 'expire@example.com', 'old password 111');
    const { token } = await requestReset('expire@example.com');
    await a.app.db.sql.query(`update verifications set expires_at = now() - interval '1 second' where identifier not like 'change-email:%'`);
    const res = await a.client().post('/api/auth/reset-password', { token, newPassword: 'new password 222' });
    expect(res.status).toBe(400);
    expect(res.json().error.code).toBe('invalid_token');
  });

  it('answers the same for an unknown email and sends nothing', async () => {
    await signUpVerified(a, 'known@example.com', 'old password 444');
    const before = a.smtp.messages.length;
    const res = await a.client().post('/api/auth/request-password-reset', { email: 'ghost@example.com', redirectTo: '/reset-password' });
    expect(res.status).toBe(200);
    // a reset asked for a known address afterwards: once its mail is here, one for the ghost would be too
    await requestReset('known@example.com');
    expect(a.smtp.messages.length).toBe(before + 1);
    expect(a.smtp.messages.some((m) => m.to.includes('ghost@example.com'))).toBe(false);
  });
});

describe('changing the password', () => {
  it('needs the current password, signs out everywhere else and keeps this session', async () => {
    const here = await signUpVerified(a, 'change@example.com', 'first password 1');
    const elsewhere = a.client();
    await elsewhere.post('/api/auth/sign-in/email', { email: 'change@example.com', password: 'first password 1' });
    expect((await elsewhere.get('/api/me')).status).toBe(200);

    const wrong = await here.post('/api/me/password', { currentPassword: 'nope nope nope', newPassword: 'second password 2' });
    expect(wrong.status).toBe(400);
    expect(wrong.json().error.code).toBe('invalid_password');

    const common = await here.post('/api/me/password', { currentPassword: 'first password 1', newPassword: 'sunshine' });
    expect(common.status).toBe(400);
    expect(common.json().error.code).toBe('password_too_common');
    const ok = await here.post('/api/me/password', { currentPassword: 'first password 1', newPassword: 'second password 2' });
    expect(ok.status).toBe(204);
    expect((await here.get('/api/me')).status).toBe(200);
    expect((await elsewhere.get('/api/me')).status).toBe(401);
    await mailTo(a.smtp, 'change@example.com', /password/i);
    expect((await a.client().post('/api/auth/sign-in/email', { email: 'change@example.com', password: 'second password 2' })).status).toBe(200);
  });
});

describe('changing the email', () => {
  it('needs the password, is confirmed from the new address, and the old address is told', async () => {
    const c = await signUpVerified(a, 'old-address@example.com', 'email password 1');
    expect((await c.post('/api/me/email', { newEmail: 'new-address@example.com', currentPassword: 'wrong password' })).status).toBe(400);
    const taken = await c.post('/api/me/email', { newEmail: 'reset@example.com', currentPassword: 'email password 1' });
    expect(taken.status).toBe(409);
    const res = await c.post('/api/me/email', { newEmail: 'new-address@example.com', currentPassword: 'email password 1' });
    expect(res.status).toBe(202);
    expect((await c.get('/api/me')).json().email).toBe('old-address@example.com'); // not before confirmation
    const mail = await mailTo(a.smtp, 'new-address@example.com', /verif|confirm/i);
    const link = linkIn(mail.text, `${a.app.url}/api/me/email/confirm?token=`);
    const confirmed = await a.client().get(link.replace(a.app.url, ''));
    expect(confirmed.status).toBe(303);
    const notice = await mailTo(a.smtp, 'old-address@example.com', /email/i);
    expect(notice.text).toContain('new-address@example.com');
    // sessions ended; signing in with the new address works, the old one does not
    expect((await c.get('/api/me')).status).toBe(401);
    expect((await a.client().post('/api/auth/sign-in/email', { email: 'new-address@example.com', password: 'email password 1' })).status).toBe(200);
    expect((await a.client().post('/api/auth/sign-in/email', { email: 'old-address@example.com', password: 'email password 1' })).status).toBe(401);
    // single use
    const reused = await a.client().get(link.replace(a.app.url, ''));
    expect(reused.headers.get('location')).toBe('/account?error=invalid_token');
  });
});
