/**
 * The mail port. Services send through a Mailer and never know whether the message goes to an
 * SMTP server (smtp.ts) or to files on disk (outbox.ts, the default without SMTP_URL).
 * Both adapters pass the same contract test (tests/contract/mailer.test.ts).
 */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** extra headers, e.g. List-Unsubscribe */
  headers?: Record<string, string>;
}

export interface SentMail {
  /** the Message-ID header of the message, angle brackets included (`<…@…>`) */
  id: string;
}

export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  /** Resolves once the message is accepted (by the SMTP server, or written to the outbox). */
  send(mail: OutgoingMail): Promise<SentMail>;
  /** Releases connections; sending after close is an error. */
  close(): Promise<void>;
}

/**
 * A message could not be sent. Deliberately not an AppError: the HTTP layer answers a generic 500
 * (and logs this) rather than showing mail-server details to the visitor. Never contains credentials.
 */
export class MailError extends Error {
  /** nodemailer's / the OS's error code when there is one, e.g. ECONNECTION, EAUTH, ECONNREFUSED */
  readonly code: string | undefined;
  /** the SMTP reply code when the server refused, e.g. 535 */
  readonly responseCode: number | undefined;

  constructor(message: string, opts: { code?: string | undefined; responseCode?: number | undefined } = {}) {
    super(message);
    this.name = 'MailError';
    this.code = opts.code;
    this.responseCode = opts.responseCode;
  }
}

/** Header names a caller may not set through `headers` (the mailer owns them). */
const reservedHeaders = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding']);

/** Checks what every adapter needs before it sends; throws MailError on a malformed message. */
export function assertSendable(mail: OutgoingMail): void {
  if (typeof mail.to !== 'string' || !/^[^\s@<>,;]+@[^\s@<>,;]+$/.test(mail.to.trim())) {
    throw new MailError(`Cannot send mail: recipient ${JSON.stringify(mail.to)} is not a single email address.`);
  }
  if (typeof mail.subject !== 'string' || mail.subject.trim() === '' || /[\r\n]/.test(mail.subject)) {
    throw new MailError('Cannot send mail: the subject must be one non-empty line.');
  }
  for (const [name, value] of Object.entries(mail.headers ?? {})) {
    if (!/^[!-9;-~]+$/.test(name)) throw new MailError(`Cannot send mail: ${JSON.stringify(name)} is not a valid header name.`);
    if (reservedHeaders.has(name.toLowerCase())) throw new MailError(`Cannot send mail: header ${name} is set by the mailer.`);
    if (/[\r\n]/.test(value)) throw new MailError(`Cannot send mail: header ${name} must be one line.`);
  }
}
