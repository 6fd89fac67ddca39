import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import { signUpVerified, startAccountsApp, type AccountsApp } from '../integration/accounts/setup';

// Privacy policy section 2: "we detect and block bots, credential abuse, multi-account evasion, …"
// (issue 19). The accounts half: free-credit farming and a closed account coming back.
let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp({ SIGNUP_FREE_CREDITS: '20', SIGNUP_RATE_PER_HOUR: '1000', MULTI_ACCOUNT_ACTION: 'block' });
});
afterAll(() => closeAll(a));

const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => a.app.db.sql.query<T>(text, params);
const balanceOf = async (email: string) =>
  Number(
    (await sql<{ balance: string }>('select b.balance from credit_balances b join users u on u.id = b.user_id where u.email = $1', [email]))[0]?.balance ?? 0,
  );
const signUp = (c: ReturnType<AccountsApp['client']>, email: string) =>
  c.post('/api/auth/sign-up/email', { email, password: 'a fine password 1', name: 'Someone', region: 'US', ageConfirmed: true });

describe('2 How we use your information', () => {
  it('2 detects and blocks free-credit farming', async () => {
    // one person, one browser: the first verified account gets the welcome credits ...
    const first = await signUpVerified(a, 'pat.grower@gmail.com', undefined, {}, { ip: '203.0.113.40' });
    expect(await balanceOf('pat.grower@gmail.com')).toBe(20);
    // ... a disposable address is refused outright ...
    const disposable = await signUp(a.client({ ip: '203.0.113.41' }), 'pat@mailinator.com');
    expect(disposable.json()).toMatchObject({ error: { code: 'disposable_email' } });
    // ... a Gmail variant of the same mailbox gets nothing, from anywhere ...
    await signUpVerified(a, 'patgrower+more@googlemail.com', undefined, {}, { ip: '198.18.7.7' });
    expect(await balanceOf('patgrower+more@googlemail.com')).toBe(0);
    // ... and neither does another address from the same browser, on another network
    const device = first.cookies.get('savesora_device')!;
    await signUpVerified(a, 'someone-else@orchard.example', undefined, {}, { ip: '198.18.8.8', headers: { cookie: `savesora_device=${device}` } });
    expect(await balanceOf('someone-else@orchard.example')).toBe(0);
    const grants = await sql<{ email: string; state: string; reason: string }>(
      'select u.email, g.state, g.reason from signup_grants g join users u on u.id = g.user_id order by u.created_at',
    );
    expect(grants.map((g) => [g.email, g.state])).toEqual([
      ['pat.grower@gmail.com', 'granted'],
      ['patgrower+more@googlemail.com', 'withheld'],
      ['someone-else@orchard.example', 'withheld'],
    ]);
    expect(grants[2]!.reason).toMatch(/this device/);
    expect(grants[1]!.reason).toMatch(/once per address/);
  });

  it('2 detects and blocks multi-account evasion', async () => {
    const closed = await signUpVerified(a, 'closed-down@example.org', undefined, {}, { ip: '198.18.30.1' });
    await sql(`update users set status = 'terminated', status_reason = 'ban evasion' where email = 'closed-down@example.org'`);
    // the same device tries again under a new address: refused (MULTI_ACCOUNT_ACTION=block), told whom to write to
    const back = a.client({ ip: '198.18.31.1' });
    back.cookies.set('savesora_device', closed.cookies.get('savesora_device')!);
    const refused = await signUp(back, 'brand-new-me@example.net');
    expect(refused.status).toBe(400);
    expect(refused.json()).toMatchObject({ error: { code: 'signup_blocked', message: expect.stringContaining(a.app.config.SUPPORT_EMAIL) } });
    expect(await sql("select 1 from users where email = 'brand-new-me@example.net'")).toEqual([]);
    // a match on the network alone is low confidence: the account is created, without free credits, and reviewed
    await signUpVerified(a, 'flatmate@example.net', undefined, {}, { ip: '198.18.30.2' });
    expect(await balanceOf('flatmate@example.net')).toBe(0);
    const [kase] = await sql<{ subject: string; status: string; note: string }>(
      `select c.subject, c.status, e.note from moderation_cases c join moderation_events e on e.case_id = c.id
        join users u on u.id = c.user_id where u.email = 'flatmate@example.net'`,
    );
    expect(kase).toMatchObject({ subject: 'account', status: 'open', note: expect.stringMatching(/terminated account .*same network.*low confidence/) });
  });
});
