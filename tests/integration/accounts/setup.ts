import type { Clock } from '../../../src/server/adapters/clock';
import { startTestApp } from '../../helpers/app';
import { TestClient, type ClientOptions } from '../../helpers/client';
import { startFakeSmtp } from '../../fakes/smtp';

export type FakeSmtp = Awaited<ReturnType<typeof startFakeSmtp>>;

/** An app whose mail goes to a real local SMTP server, behind a trusted proxy (so tests can vary the IP). */
export async function startAccountsApp(env: Record<string, string> = {}, opts: { clock?: Clock } = {}) {
  const smtp = await startFakeSmtp();
  const app = await startTestApp({ env: { SMTP_URL: smtp.url, TRUST_PROXY: 'true', MAIL_FROM: 'Save Sora <no-reply@savesora.test>', ...env }, ...opts });
  let n = 0;
  return {
    app,
    smtp,
    client: (opts: ClientOptions = {}) => new TestClient(app.url, { ip: `198.51.100.${(n++ % 250) + 1}`, ...opts }),
    async close() {
      await app.close();
      await smtp.close();
    },
  };
}

export type AccountsApp = Awaited<ReturnType<typeof startAccountsApp>>;

/** The first http(s) link in a mail's text that starts with `prefix`. */
export function linkIn(text: string, prefix: string): string {
  const links = text.match(/https?:\/\/[^\s<>"')]+/g) ?? [];
  const link = links.find((l) => l.startsWith(prefix));
  if (!link) throw new Error(`no link starting with ${prefix} in:\n${text}`);
  return link;
}

export const mailTo = (smtp: FakeSmtp, to: string, subject: RegExp, timeoutMs = 10_000) =>
  smtp.waitFor((m) => m.to.some((t) => t.toLowerCase() === to.toLowerCase()) && subject.test(m.subject), timeoutMs);

/** Sign up, open the verification mail, follow its link: returns a signed-in client. */
export async function signUpVerified(
  a: AccountsApp,
  email: string,
  password = 'a fine password 1',
  extra: Record<string, unknown> = {},
  clientOpts: ClientOptions = {},
) {
  const c = a.client(clientOpts);
  const res = await c.post('/api/auth/sign-up/email', { email, password, name: extra.name ?? 'Test User', region: 'US', ageConfirmed: true, ...extra });
  if (res.status !== 200) throw new Error(`sign-up failed: ${res.status} ${res.body}`);
  const mail = await mailTo(a.smtp, email, /verif/i);
  const link = linkIn(mail.text, a.app.url);
  const verified = await c.get(link.replace(a.app.url, ''));
  if (verified.status !== 302) throw new Error(`verification failed: ${verified.status} ${verified.body}`);
  return c;
}
