import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mayReadMailbox } from '../../../src/server/http/routes/dev-mailbox';
import { startTestApp, type TestApp } from '../../helpers/app';
import { closeAll } from '../../helpers/close';
import { rawRequest } from '../../helpers/net';

// Issue 14: with no SMTP_URL outside production, mail (password-reset links included) goes to the
// outbox and the development mailbox shows it. Only this machine may read it.

let app: TestApp;
beforeAll(async () => {
  // the Quick start (no SMTP_URL) behind a reverse proxy
  app = await startTestApp({ env: { TRUST_PROXY: 'true' } });
});
afterAll(() => closeAll(app));

const json = (init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {}) => ({
  ...init,
  headers: { 'content-type': 'application/json', ...init.headers },
});

async function resetLinkMailed(email: string): Promise<string> {
  const signUp = await app.fetch(
    '/api/auth/sign-up/email',
    json({ method: 'POST', body: JSON.stringify({ email, password: 'quiet harbour 4242', name: 'Vee', region: 'US', ageConfirmed: true }) }),
  );
  expect(signUp.status).toBe(200);
  const reset = await app.fetch('/api/auth/request-password-reset', json({ method: 'POST', body: JSON.stringify({ email, redirectTo: '/reset-password' }) }));
  expect(reset.status).toBe(200);
  // the rightful reader (this machine) finds it
  let id: string | undefined;
  for (let i = 0; i < 100 && !id; i++) {
    const list = (await (await app.fetch('/api/dev/mailbox')).json()) as { messages: Array<{ id: string; to: string; subject: string }> };
    id = list.messages.find((m) => m.to.includes(email) && /reset/i.test(m.subject))?.id;
    if (!id) await new Promise((r) => setImmediate(r));
  }
  expect(id).toBeTruthy();
  return id!;
}

describe('development mailbox', () => {
  it('never shows mail to a client that is not this machine, even through a trusted proxy', async () => {
    const id = await resetLinkMailed('victim-mailbox@example.com');
    const own = await app.fetch(`/api/dev/mailbox/${encodeURIComponent(id)}`);
    expect(own.status).toBe(200);
    expect(((await own.json()) as { text: string }).text).toMatch(/reset-password\//);

    const attempts: Array<Record<string, string>> = [
      { 'x-forwarded-for': '203.0.113.5' },
      { 'x-forwarded-for': '203.0.113.5, 127.0.0.1' },
      { 'x-forwarded-for': '::ffff:198.51.100.7' },
      { host: 'attacker.example' },
      { host: `rebound.example:${new URL(app.url).port}` },
    ];
    for (const headers of attempts) {
      for (const path of ['/api/dev/mailbox', `/api/dev/mailbox/${encodeURIComponent(id)}`]) {
        const res = await rawRequest(app.url, { path, headers });
        expect(res.status, `${JSON.stringify(headers)} ${path}`).toBe(403);
        const body = res.body;
        expect(body).not.toContain('reset-password');
        expect(JSON.parse(body).error.code).toBe('mailbox_local_only');
      }
    }
    // and the web app does not offer the page to them
    const cfg = (await (await app.fetch('/api/auth-config', { headers: { 'x-forwarded-for': '203.0.113.5' } })).json()) as { devMailbox: boolean };
    expect(cfg.devMailbox).toBe(false);
    expect(((await (await app.fetch('/api/auth-config')).json()) as { devMailbox: boolean }).devMailbox).toBe(true);
  });

  it('decides by the connection and by the client address together', () => {
    const req = (remote: string, ip: string, host = 'localhost:3000') => ({ ip, socket: { remoteAddress: remote }, headers: { host } });
    expect(mayReadMailbox(req('127.0.0.1', '127.0.0.1'))).toBe(true);
    expect(mayReadMailbox(req('::1', '::1', '[::1]:3000'))).toBe(true);
    expect(mayReadMailbox(req('::ffff:127.0.0.1', '::ffff:127.0.0.1', '127.0.0.1:3000'))).toBe(true);
    // a remote caller who forges X-Forwarded-For: 127.0.0.1 at a TRUST_PROXY server
    expect(mayReadMailbox(req('198.51.100.9', '127.0.0.1'))).toBe(false);
    // a remote visitor behind a proxy on this machine
    expect(mayReadMailbox(req('127.0.0.1', '203.0.113.5'))).toBe(false);
    // DNS rebinding: this machine's browser, another site's name
    expect(mayReadMailbox(req('127.0.0.1', '127.0.0.1', 'evil.example'))).toBe(false);
    expect(mayReadMailbox(req('127.0.0.1', '127.0.0.1', ''))).toBe(false);
  });

  it('does not exist in production', async () => {
    // production refuses the tests' cheap password hash
    const prod = await startTestApp({ env: { NODE_ENV: 'production', METRICS_TOKEN: 'a-metrics-token-0123456789', PASSWORD_HASH_LOG_N: '17' } });
    try {
      const res = await prod.fetch('/api/dev/mailbox');
      expect(res.status).toBe(404);
      expect(((await (await prod.fetch('/api/auth-config')).json()) as { devMailbox: boolean }).devMailbox).toBe(false);
    } finally {
      await prod.close();
    }
  });

  it('says in one warning line at start-up when the server listens beyond this machine with the mailbox on', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const open = await startTestApp({ env: { HOST: '0.0.0.0' }, logger: pino({ level: 'warn' }, sink) });
    await open.close();
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40 && /mailbox/i.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/HOST=0\.0\.0\.0/);

    const local: string[] = [];
    const localSink = new Writable({
      write(chunk, _enc, done) {
        local.push(String(chunk));
        done();
      },
    });
    const quiet = await startTestApp({ logger: pino({ level: 'warn' }, localSink) });
    await quiet.close();
    expect(local.join('')).not.toMatch(/mailbox/i);
  });
});
