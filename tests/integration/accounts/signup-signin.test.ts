import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PHONE_UA } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { linkIn, mailTo, signUpVerified, startAccountsApp, type AccountsApp } from './setup';

let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp();
});
afterAll(() => closeAll(a));

const count = async (sql: string, params: unknown[] = []) => (await a.app.db.sql.query<{ n: number }>(sql, params))[0]!.n;

describe('sign-up with email and password', () => {
  it('creates the account, mails a verification link, and the link verifies and signs in', async () => {
    const c = a.client();
    const res = await c.post('/api/auth/sign-up/email', {
      email: 'new@example.com',
      password: 'a fine password 1',
      name: 'New Person',
      region: 'US',
      ageConfirmed: true,
    });
    expect(res.status).toBe(200);
    expect([...c.cookies.keys()]).toEqual(['savesora_device']); // no session before verification (only the device cookie, issue 19)
    const [u] = await a.app.db.sql.query<{ email_verified: boolean; age_confirmed_minimum: number; region: string; role: string }>(
      `select email_verified, age_confirmed_minimum, region, role from users where email = 'new@example.com'`,
    );
    expect(u).toEqual({ email_verified: false, age_confirmed_minimum: 13, region: 'US', role: 'user' });

    const mail = await mailTo(a.smtp, 'new@example.com', /verif/i);
    const link = linkIn(mail.text, `${a.app.url}/api/auth/verify-email?token=`);
    const verified = await c.get(link.replace(a.app.url, ''));
    expect(verified.status).toBe(302);
    const me = await c.get('/api/me');
    expect(me.status).toBe(200);
    expect(me.json()).toMatchObject({ email: 'new@example.com', name: 'New Person', emailVerified: true, role: 'user', status: 'active', hasPassword: true });
  });

  it('stores only a salted scrypt hash, different for the same password', async () => {
    const p = await startAccountsApp({ PASSWORD_HASH_LOG_N: '17' }); // production's hashing (tests default to a cheaper one)
    try {
      for (const email of ['same1@example.com', 'same2@example.com']) {
        const r = await p.client().post('/api/auth/sign-up/email', { email, password: 'identical secret 9', name: 'x', region: 'US', ageConfirmed: true });
        expect(r.status).toBe(200);
      }
      const rows = await p.app.db.sql.query<{ password: string }>(
        `select a.password from accounts a join users u on u.id = a.user_id where u.email in ('same1@example.com', 'same2@example.com')`,
      );
      expect(rows).toHaveLength(2);
      for (const r of rows) {
        expect(r.password).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$/);
        expect(r.password).not.toContain('identical secret');
      }
      expect(rows[0]!.password).not.toBe(rows[1]!.password);
    } finally {
      await p.close();
    }
  });

  it('refuses without age confirmation or region, keeping nothing; EEA/UK needs 16', async () => {
    const before = await count('select count(*)::int as n from users');
    const noAge = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'kid@example.com', password: 'a fine password 1', name: 'k', region: 'DE', ageConfirmed: false });
    expect(noAge.status).toBe(400);
    expect(noAge.json().error).toEqual({ code: 'age_confirmation_required', message: 'You must confirm that you are at least 16 years old to use Save Sora.' });
    const usKid = await a.client().post('/api/auth/sign-up/email', { email: 'kid2@example.com', password: 'a fine password 1', name: 'k', region: 'US' });
    expect(usKid.json().error.message).toContain('at least 13 years old');
    const noRegion = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'kid3@example.com', password: 'a fine password 1', name: 'k', ageConfirmed: true });
    expect(noRegion.status).toBe(400);
    expect(noRegion.json().error.code).toBe('region_required');
    expect(await count('select count(*)::int as n from users')).toBe(before);
    expect(await count(`select count(*)::int as n from verifications`)).toBeGreaterThanOrEqual(0);

    const uk = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'adult-uk@example.com', password: 'a fine password 1', name: 'A', region: 'GB', ageConfirmed: true });
    expect(uk.status).toBe(200);
    expect(await count(`select age_confirmed_minimum as n from users where email = 'adult-uk@example.com'`)).toBe(16);
  });

  it('enforces password length 8..128 with a clear message', async () => {
    const short = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'short@example.com', password: 'short', name: 's', region: 'US', ageConfirmed: true });
    expect(short.status).toBe(400);
    expect(short.json().error.code).toBe('password_too_short');
    const long = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'long@example.com', password: 'x'.repeat(129), name: 's', region: 'US', ageConfirmed: true });
    expect(long.json().error.code).toBe('password_too_long');
    const common = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'common@example.com', password: 'Password1', name: 's', region: 'US', ageConfirmed: true });
    expect(common.status).toBe(400);
    expect(common.json().error.code).toBe('password_too_common');
    const max = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'max@example.com', password: 'x'.repeat(128), name: 's', region: 'US', ageConfirmed: true });
    expect(max.status).toBe(200);
  });

  it('answers a sign-up for a taken email exactly like a new one (no account enumeration)', async () => {
    await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'taken@example.com', password: 'a fine password 1', name: 'T', region: 'US', ageConfirmed: true });
    const again = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'taken@example.com', password: 'another password 2', name: 'T', region: 'US', ageConfirmed: true });
    const fresh = await a
      .client()
      .post('/api/auth/sign-up/email', { email: 'fresh@example.com', password: 'another password 2', name: 'T', region: 'US', ageConfirmed: true });
    expect(again.status).toBe(fresh.status);
    expect(Object.keys(again.json()).sort()).toEqual(Object.keys(fresh.json()).sort());
    expect(await count(`select count(*)::int as n from users where email = 'taken@example.com'`)).toBe(1);
  });

  it('records a referral when signing up with a code', async () => {
    const referrer = await signUpVerified(a, 'referrer@example.com');
    const code = (await referrer.get('/api/me')).json().referralCode as string;
    expect(code).toMatch(/^[a-z0-9]{10}$/);
    expect((await referrer.get('/api/me')).json().referralLink).toBe(`${a.app.url}/sign-up?ref=${code}`);
    const invited = await a.client().post('/api/auth/sign-up/email', {
      email: 'invited@example.com',
      password: 'a fine password 1',
      name: 'I',
      region: 'US',
      ageConfirmed: true,
      referralCode: code,
    });
    expect(invited.status).toBe(200);
    const rows = await a.app.db.sql.query<{ referrer: string }>(
      `select r.email as referrer from referrals x join users r on r.id = x.referrer_user_id join users u on u.id = x.referred_user_id where u.email = 'invited@example.com'`,
    );
    expect(rows).toEqual([{ referrer: 'referrer@example.com' }]);
  });
});

describe('sign-in and sessions', () => {
  it('sets an httpOnly SameSite=Lax session cookie and a new session at every sign-in', async () => {
    await signUpVerified(a, 'sess@example.com', 'cookie jar phrase 1');
    const c1 = a.client();
    const c2 = a.client({ userAgent: PHONE_UA });
    expect((await c1.post('/api/auth/sign-in/email', { email: 'sess@example.com', password: 'cookie jar phrase 1' })).status).toBe(200);
    expect((await c2.post('/api/auth/sign-in/email', { email: 'sess@example.com', password: 'cookie jar phrase 1' })).status).toBe(200);
    const cookie = c1.setCookies.find((c) => c.startsWith('savesora.session_token='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // plain http here
    expect(c1.cookies.get('savesora.session_token')).not.toBe(c2.cookies.get('savesora.session_token'));
    const sessions = (await c2.get('/api/me/sessions')).json().sessions as { current: boolean; deviceType: string; browser: string; os: string; ip: string }[];
    expect(sessions.length).toBeGreaterThanOrEqual(3); // verification sign-in + two sign-ins
    const current = sessions.find((s) => s.current)!;
    expect(current).toMatchObject({ deviceType: 'mobile', browser: 'Mobile Safari', os: 'iOS' });
    expect(current.ip).toMatch(/^198\.51\.100\.x$/);
  });

  it('answers a wrong password and an unknown email with the same generic error', async () => {
    await signUpVerified(a, 'generic@example.com', 'vague answer phrase 1');
    const wrong = await a.client().post('/api/auth/sign-in/email', { email: 'generic@example.com', password: 'not the password' });
    const unknown = await a.client().post('/api/auth/sign-in/email', { email: 'nobody-here@example.com', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().error.code).toBe('invalid_email_or_password');
  });

  it('signs out', async () => {
    const c = await signUpVerified(a, 'out@example.com');
    expect((await c.get('/api/me')).status).toBe(200);
    expect((await c.post('/api/auth/sign-out', {})).status).toBe(200);
    expect((await c.get('/api/me')).status).toBe(401);
  });

  it('alerts by mail on a sign-in from a new device, not from a known one', async () => {
    const c = await signUpVerified(a, 'alert@example.com', 'new device phrase 1');
    await c.post('/api/auth/sign-in/email', { email: 'alert@example.com', password: 'new device phrase 1' }); // same desktop browser
    const phone = a.client({ userAgent: PHONE_UA, headers: { 'cf-ipcountry': 'FR' } });
    await phone.post('/api/auth/sign-in/email', { email: 'alert@example.com', password: 'new device phrase 1' });
    const mail = await mailTo(a.smtp, 'alert@example.com', /sign-in|new device/i);
    expect(mail.text).toContain('Mobile Safari');
    expect(mail.text).toContain('FR');
    const alerts = a.smtp.messages.filter((m) => m.to.includes('alert@example.com') && /sign-in|new device/i.test(m.subject));
    expect(alerts).toHaveLength(1);
  });
});
