import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { AppError, notFound } from '../../errors';
import { assertSendable, MailError, type Mailer, type OutgoingMail, type SentMail } from './mailer';

export interface OutboxMailerOptions {
  /** directory the messages are written to; created (mode 0700) when missing */
  dir: string;
  /** the From header, e.g. `Save Sora <no-reply@localhost>` */
  from: string;
}

/** The `.json` sidecar written next to each `.eml`. */
export interface OutboxEntry {
  /** the file stem (`<timestamp>-<random>`), what readOutbox takes */
  id: string;
  /** the Message-ID header, the same value send() returned */
  messageId: string;
  from: string;
  to: string;
  subject: string;
  /** ISO 8601, the Date header of the message */
  date: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

export interface OutboxMessage extends OutboxEntry {
  /** the complete RFC 5322 message, exactly as SMTP would carry it */
  eml: string;
}

const ID_PATTERN = /^[A-Za-z0-9._-]+$/;

/**
 * "Sends" mail by writing it to `dir`: each message is a real `.eml` (built by nodemailer, CRLF
 * line ends, the bytes an SMTP server would receive) plus a `.json` sidecar for quick listing.
 * Names start with the time, so they sort oldest to newest; files are 0600 because messages carry
 * sign-in links. Used when SMTP_URL is unset; the dev mailbox page reads it back.
 */
export function createOutboxMailer({ dir, from }: OutboxMailerOptions): Mailer {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });
  let lastMs = 0;
  let closed = false;

  /** strictly increasing per mailer, so names of messages sent in the same millisecond still sort */
  const nextStem = () => {
    lastMs = Math.max(Date.now(), lastMs + 1);
    const when = new Date(lastMs);
    return { when, stem: `${when.toISOString().replace(/:/g, '-')}-${randomBytes(6).toString('hex')}` };
  };

  return {
    kind: 'outbox',
    async send(mail: OutgoingMail): Promise<SentMail> {
      if (closed) throw new MailError('Cannot send mail: the outbox mailer is closed.');
      assertSendable(mail);
      const { when, stem } = nextStem();
      const headers = { ...(mail.headers ?? {}) };
      let info: { messageId: string; message: Buffer };
      try {
        info = (await composer.sendMail({
          from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          headers,
          date: when,
          newline: 'windows',
        })) as unknown as {
          messageId: string;
          message: Buffer;
        };
      } catch (err) {
        throw new MailError(`Could not compose the message: ${(err as Error).message}`);
      }
      const entry: OutboxEntry = {
        id: stem,
        messageId: info.messageId,
        from,
        to: mail.to,
        subject: mail.subject,
        date: when.toISOString(),
        text: mail.text,
        html: mail.html,
        headers,
      };
      try {
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        // the .eml first: a listed message (one with a sidecar) always has its .eml
        await writeAtomic(path.join(dir, `${stem}.eml`), info.message);
        await writeAtomic(path.join(dir, `${stem}.json`), JSON.stringify(entry, null, 2));
      } catch (err) {
        throw new MailError(`Could not write the message to the outbox ${dir}: ${(err as Error).message}`, { code: (err as NodeJS.ErrnoException).code });
      }
      return { id: info.messageId };
    },
    async close() {
      closed = true;
      composer.close();
    },
  };
}

/** Messages in the outbox, newest first. A missing directory is an empty outbox. */
export async function listOutbox(dir: string, { limit = 50, offset = 0 }: { limit?: number; offset?: number } = {}): Promise<OutboxEntry[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const stems = names
    .filter((n) => n.endsWith('.json') && ID_PATTERN.test(n) && !n.startsWith('.'))
    .map((n) => n.slice(0, -'.json'.length))
    .sort()
    .reverse()
    .slice(Math.max(0, offset), Math.max(0, offset) + Math.max(0, limit));
  const entries = await Promise.all(stems.map((stem) => readEntry(dir, stem).catch(() => null)));
  return entries.filter((e): e is OutboxEntry => e !== null);
}

/**
 * One message by id (its file stem). Throws AppError `invalid_message_id` (400) for an id that is
 * not a plain file stem (so `../x` cannot leave the directory) and `not_found` (404) when absent.
 */
export async function readOutbox(dir: string, id: string): Promise<OutboxMessage> {
  if (typeof id !== 'string' || !ID_PATTERN.test(id) || id.startsWith('.')) {
    throw new AppError('invalid_message_id', 'A message id has only letters, digits, dots, dashes and underscores.', 400);
  }
  try {
    const [entry, eml] = await Promise.all([readEntry(dir, id), fs.readFile(path.join(dir, `${id}.eml`), 'utf8')]);
    return { ...entry, eml };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('Message');
    throw err;
  }
}

async function readEntry(dir: string, stem: string): Promise<OutboxEntry> {
  const entry = JSON.parse(await fs.readFile(path.join(dir, `${stem}.json`), 'utf8')) as OutboxEntry;
  return { ...entry, id: stem };
}

async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}
