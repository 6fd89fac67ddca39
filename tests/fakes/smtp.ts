import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server in the test process (smtp-server on 127.0.0.1, a random port, no TLS, any or
 * no credentials accepted). What arrives is kept raw and parsed just enough for assertions: the
 * envelope, the decoded headers, and the text/plain and text/html parts.
 */
export interface ReceivedMail {
  /** the message exactly as received (DATA, dot-unstuffed), decoded as UTF-8 */
  raw: string;
  /** SMTP envelope sender (MAIL FROM) */
  from: string;
  /** SMTP envelope recipients (RCPT TO) */
  to: string[];
  /** the user name the client authenticated with, if it did */
  authUser: string | undefined;
  /** decoded Subject header */
  subject: string;
  /** Message-ID header, angle brackets included */
  messageId: string;
  /** every top-level header, lower-case name, unfolded and decoded (the first one when repeated) */
  headers: Record<string, string>;
  /** decoded text/plain part ('' when there is none) */
  text: string;
  /** decoded text/html part ('' when there is none) */
  html: string;
}

export interface FakeSmtp {
  port: number;
  /** `smtp://127.0.0.1:PORT` — add credentials if you like, any are accepted */
  url: string;
  messages: ReceivedMail[];
  /**
   * Set to refuse recipients: called with each RCPT TO address; an answer refuses it with that
   * SMTP reply (e.g. `{ code: 550, message: 'No such user' }` for good, 451 for a temporary refusal).
   */
  refuse: ((address: string) => { code: number; message: string } | null) | null;
  /**
   * A message that matches: the newest one already received (so a test that just caused a mail
   * gets that one, not an older look-alike), else the first to arrive within timeoutMs (default 5 s).
   */
  waitFor(pred: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  close(): Promise<void>;
}

export async function startFakeSmtp(): Promise<FakeSmtp> {
  const messages: ReceivedMail[] = [];
  const state: { refuse: FakeSmtp['refuse'] } = { refuse: null };
  const arrivals = new EventEmitter();
  arrivals.setMaxListeners(0);

  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    banner: 'Save Sora test SMTP',
    closeTimeout: 200,
    size: 25 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      const refusal = state.refuse?.(address.address) ?? null;
      if (refusal) callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
      else callback();
    },
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err: Error) => callback(err));
      stream.on('end', () => {
        try {
          const raw = Buffer.concat(chunks);
          const parsed = parseMime(raw);
          const mail: ReceivedMail = {
            raw: raw.toString('utf8'),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            authUser: typeof session.user === 'string' ? session.user : undefined,
            subject: parsed.headers.subject ?? '',
            messageId: parsed.headers['message-id'] ?? '',
            headers: parsed.headers,
            text: parsed.text,
            html: parsed.html,
          };
          messages.push(mail);
          arrivals.emit('mail', mail);
          callback(null, 'queued');
        } catch (err) {
          callback(err as Error);
        }
      });
    },
  });
  server.on('error', () => {
    /* a client that misbehaves must not crash the test process */
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    get refuse() {
      return state.refuse;
    },
    set refuse(fn) {
      state.refuse = fn;
    },
    waitFor(pred, timeoutMs = 5_000) {
      const found = messages.findLast(pred);
      if (found) return Promise.resolve(found);
      return new Promise<ReceivedMail>((resolve, reject) => {
        const onMail = (m: ReceivedMail) => {
          if (!pred(m)) return;
          clearTimeout(timer);
          arrivals.off('mail', onMail);
          resolve(m);
        };
        const timer = setTimeout(() => {
          arrivals.off('mail', onMail);
          const seen = messages.map((m) => `  to ${m.to.join(', ')}: ${m.subject}`).join('\n') || '  (none)';
          reject(new Error(`No matching mail arrived within ${timeoutMs} ms. Received:\n${seen}`));
        }, timeoutMs);
        arrivals.on('mail', onMail);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------
// A minimal MIME reader: enough for what nodemailer writes (multipart/alternative or mixed,
// quoted-printable / base64 / 7bit / 8bit bodies, RFC 2047 encoded words in headers, UTF-8).

export interface ParsedMime {
  headers: Record<string, string>;
  text: string;
  html: string;
}

interface Part {
  headers: Record<string, string>;
  /** body bytes as a latin1 string (one char per byte) */
  body: string;
}

/** Parses an RFC 5322 message (a `.eml` file or what arrived over SMTP). */
export function parseMime(raw: Buffer | string): ParsedMime {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const root = splitPart(bytes.toString('latin1'));
  const found = { text: undefined as string | undefined, html: undefined as string | undefined };
  walk(root, found);
  return { headers: root.headers, text: found.text ?? '', html: found.html ?? '' };
}

/** Decodes quoted-printable (soft line breaks included) to a UTF-8 string. */
export function decodeQuotedPrintable(qp: string, charset = 'utf-8'): string {
  return decodeBytes(qpToLatin1(qp), charset);
}

function walk(part: Part, found: { text: string | undefined; html: string | undefined }): void {
  const { type, params } = contentType(part.headers['content-type']);
  if (type.startsWith('multipart/')) {
    const boundary = params.boundary;
    if (!boundary) return;
    for (const child of splitMultipart(part.body, boundary)) walk(splitPart(child), found);
    return;
  }
  if (/^attachment/i.test(part.headers['content-disposition'] ?? '')) return;
  const cte = (part.headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const latin1 =
    cte === 'quoted-printable' ? qpToLatin1(part.body) : cte === 'base64' ? Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('latin1') : part.body;
  const content = decodeBytes(latin1, params.charset ?? 'utf-8');
  if (type === 'text/plain' && found.text === undefined) found.text = content;
  if (type === 'text/html' && found.html === undefined) found.html = content;
}

function splitPart(s: string): Part {
  const m = /\r?\n\r?\n/.exec(s);
  const head = m ? s.slice(0, m.index) : s;
  const body = m ? s.slice(m.index + m[0].length) : '';
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    if (!(name in headers)) headers[name] = decodeHeader(line.slice(i + 1).trim());
  }
  return { headers, body };
}

function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  const delimiter = `--${boundary}`;
  const lines = body.split(/\r?\n/);
  let current: string[] | null = null;
  for (const line of lines) {
    if (line === `${delimiter}--`) {
      if (current) parts.push(current.join('\r\n'));
      current = null;
      break;
    }
    if (line === delimiter) {
      if (current) parts.push(current.join('\r\n'));
      current = [];
      continue;
    }
    current?.push(line);
  }
  if (current) parts.push(current.join('\r\n'));
  return parts;
}

function contentType(value: string | undefined): { type: string; params: Record<string, string> } {
  const [type = 'text/plain', ...rest] = (value ?? 'text/plain').split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf('=');
    if (i < 0) continue;
    params[p.slice(0, i).trim().toLowerCase()] = p
      .slice(i + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { type: type.trim().toLowerCase(), params };
}

/** RFC 2047: `=?UTF-8?Q?…?=` and `=?UTF-8?B?…?=`; whitespace between adjacent encoded words is dropped. */
function decodeHeader(value: string): string {
  const joined = value.replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?[^?]+\?[QqBb]\?[^?]*\?=)/g, '$1');
  const decoded = joined.replace(/=\?([^?*]+)(?:\*[^?]*)?\?([QqBb])\?([^?]*)\?=/g, (_all, charset: string, enc: string, text: string) => {
    const latin1 = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('latin1') : qpToLatin1(text.replace(/_/g, ' '));
    return decodeBytes(latin1, charset);
  });
  // unencoded non-ASCII (SMTPUTF8) arrives as UTF-8 bytes; the value is a latin1 view of them
  return /[^\p{ASCII}]/u.test(decoded) && !/=\?/.test(value) ? decodeBytes(decoded, 'utf-8') : decoded;
}

function qpToLatin1(qp: string): string {
  return qp
    .replace(/[ \t]+(?=\r?\n)/g, '')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function decodeBytes(latin1: string, charset: string): string {
  const buf = Buffer.from(latin1, 'latin1');
  try {
    return new TextDecoder(charset.toLowerCase(), { fatal: false }).decode(buf);
  } catch {
    return buf.toString('utf8');
  }
}
