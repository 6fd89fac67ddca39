import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMailer, outboxDir } from '../../src/server/adapters/mail';
import { MailError, type Mailer, type OutgoingMail } from '../../src/server/adapters/mail/mailer';
import { createOutboxMailer, listOutbox, readOutbox, type OutboxEntry } from '../../src/server/adapters/mail/outbox';
import { createSmtpMailer } from '../../src/server/adapters/mail/smtp';
import { AppError } from '../../src/server/errors';
import { parseMime, startFakeSmtp, type FakeSmtp } from '../fakes/smtp';
import { closeAll } from '../helpers/close';

/** What a recipient would see, whichever adapter carried the message. */
interface Arrived {
  to: string[];
  subject: string;
  messageId: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

interface Harness {
  mailer: Mailer;
  /** the message the adapter delivered with this Message-ID (read back from where it went) */
  arrived(messageId: string): Promise<Arrived>;
  /** how many messages have been delivered so far */
  count(): Promise<number>;
  cleanup(): Promise<void>;
}

/** Mail bodies travel with CRLF line ends; compare content, not the line-end convention. */
const lf = (s: string) => s.replace(/\r\n/g, '\n');

const longLine = `Öffne diesen Link innerhalb von 60 Minuten, um fortzufahren — ${'sehr '.repeat(30)}lang. 日本語も大丈夫です。`;
const sample: OutgoingMail = {
  to: 'ada@example.com',
  subject: 'Bestätige deine E-Mail – ¡Hola! 🎬',
  text: `Hallo Ada,\n\nBestätige deine E-Mail – ¡Hola! 🎬\n${longLine}\nhttps://savesora.test/verify?token=abc_DEF-123&x=1\n`,
  html: `<!doctype html><html><body><h1 style="color:#111">Bestätige deine E-Mail – ¡Hola! 🎬</h1><p>${longLine}</p><a href="https://savesora.test/verify?token=abc_DEF-123&amp;x=1">Öffnen</a></body></html>`,
  headers: {
    'List-Unsubscribe': '<https://savesora.test/unsubscribe?t=xyz>',
    'X-Save-Sora-Template': 'verify-email',
    'X-Greeting': 'Grüße aus Köln 👋',
  },
};

/** One contract, run against every Mailer adapter. */
function mailerContract(kind: Mailer['kind'], factory: () => Promise<Harness>) {
  describe(`Mailer contract: ${kind}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.mailer.close();
      await h.cleanup();
    });

    it(`says it is ${kind}`, () => {
      expect(h.mailer.kind).toBe(kind);
    });

    it('delivers recipient, subject, text and html intact, non-ASCII included, and returns the Message-ID that arrived', async () => {
      const sent = await h.mailer.send(sample);
      expect(sent.id).toMatch(/^<[^<>\s@]+@[^<>\s@]+>$/);
      const got = await h.arrived(sent.id);
      expect(got.messageId).toBe(sent.id);
      expect(got.to).toEqual(['ada@example.com']);
      expect(got.subject).toBe(sample.subject);
      expect(lf(got.text)).toBe(sample.text);
      expect(lf(got.html)).toBe(sample.html);
    });

    it('delivers custom headers', async () => {
      const sent = await h.mailer.send(sample);
      const got = await h.arrived(sent.id);
      expect(got.headers['list-unsubscribe']).toBe('<https://savesora.test/unsubscribe?t=xyz>');
      expect(got.headers['x-save-sora-template']).toBe('verify-email');
      expect(got.headers['x-greeting']).toBe('Grüße aus Köln 👋');
    });

    it('sends two messages as two messages, each with its own Message-ID', async () => {
      const before = await h.count();
      const a = await h.mailer.send({ ...sample, to: 'one@example.com', subject: 'First', headers: {} });
      const b = await h.mailer.send({ ...sample, to: 'two@example.com', subject: 'Second', headers: {} });
      expect(a.id).not.toBe(b.id);
      expect(await h.count()).toBe(before + 2);
      expect(await h.arrived(a.id)).toMatchObject({ to: ['one@example.com'], subject: 'First' });
      expect(await h.arrived(b.id)).toMatchObject({ to: ['two@example.com'], subject: 'Second' });
    });

    it('refuses a malformed recipient, a multi-line subject and header injection, sending nothing', async () => {
      const before = await h.count();
      await expect(h.mailer.send({ ...sample, to: 'not an address' })).rejects.toBeInstanceOf(MailError);
      await expect(h.mailer.send({ ...sample, to: 'a@example.com, b@example.com' })).rejects.toBeInstanceOf(MailError);
      await expect(h.mailer.send({ ...sample, subject: 'Hi\r\nBcc: victim@example.com' })).rejects.toThrow(/subject/);
      await expect(h.mailer.send({ ...sample, headers: { 'X-Evil': 'a\r\nBcc: victim@example.com' } })).rejects.toThrow(/X-Evil/);
      await expect(h.mailer.send({ ...sample, headers: { Bcc: 'victim@example.com' } })).rejects.toThrow(/Bcc/);
      expect(await h.count()).toBe(before);
    });

    it('refuses to send after close', async () => {
      await h.mailer.close();
      await expect(h.mailer.send(sample)).rejects.toThrow(/closed/);
    });
  });
}

const tempDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'savesora-mail-'));

// --- outbox: the message is read back from the .eml (and its sidecar must agree) --------------

mailerContract('outbox', async () => {
  const root = await tempDir();
  const dir = path.join(root, 'outbox');
  const mailer = createOutboxMailer({ dir, from: 'Save Sora <no-reply@savesora.test>' });
  return {
    mailer,
    async arrived(messageId) {
      const entry = (await listOutbox(dir, { limit: 1000 })).find((e) => e.messageId === messageId);
      if (!entry) throw new Error(`no outbox entry with Message-ID ${messageId}`);
      const { eml } = await readOutbox(dir, entry.id);
      const parsed = parseMime(eml);
      // the sidecar describes the same message as the .eml
      expect(entry).toMatchObject({ to: parsed.headers.to, subject: parsed.headers.subject, messageId: parsed.headers['message-id'] });
      expect(lf(entry.text)).toBe(lf(parsed.text));
      expect(lf(entry.html)).toBe(lf(parsed.html));
      return {
        to: [parsed.headers.to ?? ''],
        subject: parsed.headers.subject ?? '',
        messageId: parsed.headers['message-id'] ?? '',
        text: parsed.text,
        html: parsed.html,
        headers: parsed.headers,
      };
    },
    count: async () => (await listOutbox(dir, { limit: 1000 })).length,
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
});

// --- smtp: the message is read back from a real SMTP server ------------------------------------

describe('with a fake SMTP server', () => {
  let smtp: FakeSmtp;
  beforeAll(async () => {
    smtp = await startFakeSmtp();
  });
  afterAll(async () => {
    await closeAll(smtp);
  });

  mailerContract('smtp', async () => {
    const mailer = createSmtpMailer({ url: smtp.url, from: 'Save Sora <no-reply@savesora.test>' });
    return {
      mailer,
      async arrived(messageId) {
        const m = await smtp.waitFor((x) => x.messageId === messageId, 2_000);
        return { to: m.to, subject: m.subject, messageId: m.messageId, text: m.text, html: m.html, headers: m.headers };
      },
      count: async () => smtp.messages.length,
      cleanup: async () => {},
    };
  });

  it('uses the From address and authenticates with the credentials from the URL, percent-escapes decoded', async () => {
    const url = smtp.url.replace('smtp://', 'smtp://mailer%40savesora.test:p%40ss%3Aword@');
    const mailer = createSmtpMailer({ url, from: 'Save Sora <no-reply@savesora.test>' });
    try {
      const { id } = await mailer.send({ ...sample, to: 'auth@example.com' });
      const m = await smtp.waitFor((x) => x.messageId === id);
      expect(m.authUser).toBe('mailer@savesora.test');
      expect(m.from).toBe('no-reply@savesora.test');
      expect(m.headers.from).toBe('Save Sora <no-reply@savesora.test>');
    } finally {
      await mailer.close();
    }
  });

  it('waitFor returns the newest matching message, waits for one still to come, and times out naming what arrived', async () => {
    const mailer = createSmtpMailer({ url: smtp.url, from: 'Save Sora <no-reply@savesora.test>' });
    try {
      await mailer.send({ ...sample, to: 'wait@example.com', subject: 'Verify your email' });
      await mailer.send({ ...sample, to: 'wait@example.com', subject: 'Your email address was changed' });
      expect((await smtp.waitFor((m) => m.to.includes('wait@example.com') && /email/i.test(m.subject))).subject).toBe('Your email address was changed');
      const later = smtp.waitFor((m) => m.subject === 'Later', 2_000);
      await mailer.send({ ...sample, to: 'wait@example.com', subject: 'Later' });
      expect((await later).to).toEqual(['wait@example.com']);
      await expect(smtp.waitFor((m) => m.subject === 'Never', 50)).rejects.toThrow(/within 50 ms[\s\S]*wait@example\.com: Later/);
    } finally {
      await mailer.close();
    }
  });
});

describe('smtp adapter failures', () => {
  it('rejects with a clear error that names the server but not the password when nothing listens', async () => {
    const port = await closedPort();
    const mailer = createSmtpMailer({ url: `smtp://mailer:sup3r-s3cret-pw@127.0.0.1:${port}`, from: 'Save Sora <no-reply@savesora.test>' });
    try {
      const err = (await mailer.send(sample).then(
        () => null,
        (e: unknown) => e,
      )) as MailError | null;
      expect(err).toBeInstanceOf(MailError);
      expect(err!.message).toContain(`127.0.0.1:${port}`);
      expect(err!.message).toMatch(/ECONNREFUSED|connect/i);
      expect(err!.message).not.toContain('sup3r-s3cret-pw');
      expect(JSON.stringify(err)).not.toContain('sup3r-s3cret-pw');
      expect(String(err!.stack)).not.toContain('sup3r-s3cret-pw');
    } finally {
      await mailer.close();
    }
  });

  it('refuses a URL that is not smtp:// or smtps://, without echoing it', () => {
    expect(() => createSmtpMailer({ url: 'http://user:hunter2-pw@mail.example.com', from: 'x@example.com' })).toThrow(/smtp:\/\/ or smtps:\/\//);
    try {
      createSmtpMailer({ url: 'http://user:hunter2-pw@mail.example.com', from: 'x@example.com' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2-pw');
    }
    expect(() => createSmtpMailer({ url: 'not a url', from: 'x@example.com' })).toThrow(MailError);
  });
});

// --- outbox specifics -------------------------------------------------------------------------

describe('outbox adapter', () => {
  let root: string;
  let dir: string;
  let mailer: Mailer;
  beforeEach(async () => {
    root = await tempDir();
    dir = path.join(root, 'nested', 'outbox');
    mailer = createOutboxMailer({ dir, from: 'Save Sora <no-reply@savesora.test>' });
  });
  afterEach(async () => {
    await mailer.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('creates the directory and writes <time>-<random>.eml and .json, both mode 0600, with no temporary files left', async () => {
    const before = Date.now();
    const { id } = await mailer.send(sample);
    const files = (await fs.readdir(dir)).sort();
    expect(files).toHaveLength(2);
    const [json, eml] = [files.find((f) => f.endsWith('.json'))!, files.find((f) => f.endsWith('.eml'))!];
    const stem = json.slice(0, -5);
    expect(eml).toBe(`${stem}.eml`);
    expect(stem).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-[A-Za-z0-9]+$/);
    const stamp = Date.parse(stem.replace(/^(.{10}T)(\d\d)-(\d\d)-(\d\d)(\.\d{3}Z).*$/, '$1$2:$3:$4$5'));
    expect(stamp).toBeGreaterThanOrEqual(before - 1);
    expect(stamp).toBeLessThanOrEqual(Date.now() + 5);
    for (const f of files) expect((await fs.stat(path.join(dir, f))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(dir)).mode & 0o077).toBe(0);

    const sidecar = JSON.parse(await fs.readFile(path.join(dir, json), 'utf8')) as OutboxEntry;
    expect(sidecar).toEqual({
      id: stem,
      messageId: id,
      from: 'Save Sora <no-reply@savesora.test>',
      to: sample.to,
      subject: sample.subject,
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      text: sample.text,
      html: sample.html,
      headers: sample.headers,
    });
    const raw = await fs.readFile(path.join(dir, eml), 'utf8');
    expect(raw).toContain('\r\n'); // what SMTP carries: CRLF line ends
    expect(raw).not.toMatch(/[^\r]\n/);
    const parsed = parseMime(raw);
    expect(new Date(parsed.headers.date!).getTime()).toBe(Math.floor(Date.parse(sidecar.date) / 1000) * 1000);
    expect(parsed.headers.from).toBe('Save Sora <no-reply@savesora.test>');
  });

  it('lists newest first, with limit and offset', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await mailer.send({ ...sample, subject: `Message ${i}` })).id);
    const all = await listOutbox(dir, { limit: 10, offset: 0 });
    expect(all.map((e) => e.subject)).toEqual(['Message 4', 'Message 3', 'Message 2', 'Message 1', 'Message 0']);
    expect(all.map((e) => e.messageId)).toEqual([...ids].reverse());
    const dates = all.map((e) => Date.parse(e.date));
    expect([...dates].sort((a, b) => b - a)).toEqual(dates);
    expect((await listOutbox(dir, { limit: 2, offset: 1 })).map((e) => e.subject)).toEqual(['Message 3', 'Message 2']);
    expect(await listOutbox(dir, { limit: 2, offset: 10 })).toEqual([]);
  });

  it('lists a missing outbox as empty and skips stray or broken files', async () => {
    expect(await listOutbox(path.join(root, 'nowhere'), { limit: 10, offset: 0 })).toEqual([]);
    await mailer.send(sample);
    await fs.writeFile(path.join(dir, '9999-broken.json'), '{not json');
    await fs.writeFile(path.join(dir, 'notes.txt'), 'hello');
    const entries = await listOutbox(dir, { limit: 10, offset: 0 });
    expect(entries).toHaveLength(1);
    expect(entries[0]!.subject).toBe(sample.subject);
  });

  it('reads one message with its .eml, and refuses ids that could leave the directory', async () => {
    await fs.writeFile(path.join(root, 'x.json'), JSON.stringify({ secret: true }));
    const { id } = await mailer.send(sample);
    const [entry] = await listOutbox(dir, { limit: 1, offset: 0 });
    const m = await readOutbox(dir, entry!.id);
    expect(m).toMatchObject({ id: entry!.id, messageId: id, subject: sample.subject, text: sample.text, html: sample.html });
    expect(parseMime(m.eml).headers['message-id']).toBe(id);

    for (const bad of ['../x', '../../nested/outbox/x', '..', '.hidden', 'a/b', 'a\\b', '', '%2e%2e%2fx']) {
      const err = await readOutbox(dir, bad).catch((e: unknown) => e);
      expect(err, bad).toBeInstanceOf(AppError);
      expect((err as AppError).code, bad).toBe('invalid_message_id');
    }
    const missing = await readOutbox(dir, '2020-01-01T00-00-00.000Z-nothing').catch((e: unknown) => e);
    expect((missing as AppError).status).toBe(404);
  });
});

describe('createMailer', () => {
  it('uses SMTP when a URL is given and the outbox in DATA_DIR/outbox otherwise', async () => {
    const root = await tempDir();
    try {
      const smtpMailer = createMailer({ smtpUrl: 'smtp://127.0.0.1:2525', from: 'x@example.com', dataDir: root });
      expect(smtpMailer.kind).toBe('smtp');
      await smtpMailer.close();
      const outbox = createMailer({ from: 'Save Sora <x@example.com>', dataDir: root });
      expect(outbox.kind).toBe('outbox');
      expect(outboxDir(root)).toBe(path.join(root, 'outbox'));
      await outbox.send(sample);
      expect(await listOutbox(outboxDir(root), { limit: 5, offset: 0 })).toHaveLength(1);
      await outbox.close();
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

/** A port nothing listens on: bind one, then release it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
