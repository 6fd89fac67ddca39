import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import { assertSendable, MailError, type Mailer, type OutgoingMail, type SentMail } from './mailer';

export interface SmtpMailerOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://user:pass@host:465` (TLS from the start) */
  url: string;
  /** the From header, e.g. `Save Sora <no-reply@example.com>` */
  from: string;
}

const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;

/**
 * Sends through an SMTP server with a small connection pool. Failures reject with a MailError
 * that names the server (host:port) and the reason, never the user name or password.
 * Options nodemailer understands may be added as query parameters (`?tls.rejectUnauthorized=false`).
 */
export function createSmtpMailer({ url, from }: SmtpMailerOptions): Mailer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MailError('SMTP_URL is not a valid URL; expected smtp://user:pass@host:587 or smtps://…');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new MailError(`SMTP_URL must start with smtp:// or smtps:// (got ${parsed.protocol}//).`);
  }
  if (!parsed.hostname) throw new MailError('SMTP_URL has no host name.');
  const secure = parsed.protocol === 'smtps:';
  const port = parsed.port ? Number(parsed.port) : secure ? 465 : 587;
  const user = safeDecode(parsed.username);
  const pass = safeDecode(parsed.password);
  const secrets = [pass, parsed.password, user ? `${user}:${pass}` : ''].filter((s) => s.length > 0);
  const server = `${parsed.hostname}:${port}`;

  // nodemailer's own URL parser for the query options; host, port and credentials from the WHATWG
  // parser above, which decodes percent-escapes in the user name and password correctly.
  const { auth: _ignored, ...fromQuery } = parseConnectionUrl(`${parsed.protocol}//${parsed.host}${parsed.search}`);
  const options: SMTPPool.Options = {
    pool: true,
    maxConnections: 3,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    ...fromQuery,
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    secure,
    ...(user || pass ? { auth: { user, pass } } : {}),
    logger: false,
    debug: false,
  };
  const transport = nodemailer.createTransport(options);
  let closed = false;

  const redact = (message: string) => secrets.reduce((m, s) => m.split(s).join('***'), message);

  return {
    kind: 'smtp',
    async send(mail: OutgoingMail): Promise<SentMail> {
      if (closed) throw new MailError('Cannot send mail: the SMTP mailer is closed.');
      assertSendable(mail);
      try {
        const info = await transport.sendMail({
          from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          headers: mail.headers ?? {},
        });
        if (info.rejected.length > 0) {
          throw new MailError(`SMTP server ${server} refused the recipient.`);
        }
        return { id: info.messageId };
      } catch (err) {
        if (err instanceof MailError) throw err;
        const e = err as { message?: string; code?: string; responseCode?: number };
        const reason = redact(String(e.message ?? err));
        throw new MailError(`Could not send mail through SMTP server ${server}: ${reason}`, { code: e.code, responseCode: e.responseCode });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
