import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeFetch, SafeFetchError } from './safe-fetch';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-safe-fetch-'));
let server: http.Server;
let other: http.Server;
let port: number;
let otherPort: number;
const body = Buffer.alloc(100_000, 7);

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/file') return res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length }).end(body);
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const tick = () => {
        if (sent >= 5_000_000 || res.destroyed) return res.end();
        sent += 64 * 1024;
        res.write(Buffer.alloc(64 * 1024), () => setImmediate(tick));
      };
      return tick();
    }
    if (req.url === '/slow') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write('x');
      return; // never ends
    }
    if (req.url === '/to-private') return res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/secret` }).end();
    if (req.url === '/to-metadata') return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    if (req.url === '/to-self') return res.writeHead(301, { location: '/file' }).end();
    if (req.url === '/loop') return res.writeHead(302, { location: '/loop' }).end();
    res.writeHead(404).end('nope');
  });
  other = http.createServer((_req, res) => res.writeHead(200).end('internal secret'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  otherPort = (other.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await new Promise((r) => other.close(r));
  fs.rmSync(work, { recursive: true, force: true });
});

const to = () => path.join(work, `f-${Math.random().toString(36).slice(2)}`);
const opts = (extra: Partial<Parameters<typeof safeFetch>[1]> = {}) => ({ maxBytes: 1_000_000, timeoutMs: 5_000, to: to(), ...extra });

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SafeFetchError);
  return (err as Error).message;
}

describe('safeFetch', () => {
  it('refuses a loopback address by default', async () => {
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/file`, opts()))).toBe('points to a private or reserved network address');
  });

  it('refuses a host name that resolves to a private address (localhost)', async () => {
    expect(await refusal(safeFetch(`http://localhost:${port}/file`, opts()))).toBe('points to a private or reserved network address');
  });

  it('refuses other schemes and credentials', async () => {
    expect(await refusal(safeFetch('file:///etc/passwd', opts()))).toBe('must be an http(s) URL');
    expect(await refusal(safeFetch('ftp://example.com/x', opts()))).toBe('must be an http(s) URL');
    expect(await refusal(safeFetch(`http://user:pw@127.0.0.1:${port}/file`, opts({ allowHosts: [`127.0.0.1:${port}`] })))).toBe('must not contain credentials');
  });

  it('fetches from an allowed host into the file', async () => {
    const o = opts({ allowHosts: [`127.0.0.1:${port}`] });
    const res = await safeFetch(`http://127.0.0.1:${port}/file`, o);
    expect(res).toEqual({ contentType: 'image/png', size: body.length, finalUrl: `http://127.0.0.1:${port}/file` });
    expect(fs.readFileSync(o.to).equals(body)).toBe(true);
  });

  it('an allowed host without a port allows every port of it', async () => {
    const res = await safeFetch(`http://127.0.0.1:${port}/file`, opts({ allowHosts: ['127.0.0.1'] }));
    expect(res.size).toBe(body.length);
  });

  it('follows a redirect on the same allowed host', async () => {
    const res = await safeFetch(`http://127.0.0.1:${port}/to-self`, opts({ allowHosts: [`127.0.0.1:${port}`] }));
    expect(res.finalUrl).toBe(`http://127.0.0.1:${port}/file`);
  });

  it('re-checks every redirect hop: an allowed host redirecting to a private one is refused', async () => {
    const allowHosts = [`127.0.0.1:${port}`];
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/to-private`, opts({ allowHosts })))).toBe('points to a private or reserved network address');
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/to-metadata`, opts({ allowHosts })))).toBe('points to a private or reserved network address');
  });

  it('stops after 5 redirects', async () => {
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/loop`, opts({ allowHosts: ['127.0.0.1'] })))).toBe('redirected more than 5 times');
  });

  it('refuses a declared Content-Length over the cap before reading', async () => {
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/file`, opts({ allowHosts: ['127.0.0.1'], maxBytes: 50_000 })))).toBe('is larger than 50 KB');
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/file`, opts({ allowHosts: ['127.0.0.1'], maxBytes: 99_999 })))).toMatch(/^is larger than/);
  });

  it('aborts a body without Content-Length once it passes the cap', async () => {
    const o = opts({ allowHosts: ['127.0.0.1'], maxBytes: 1024 * 1024 });
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/chunked`, o))).toBe('is larger than 1 MB');
    expect(fs.statSync(o.to).size).toBeLessThanOrEqual(1024 * 1024);
  });

  it('times out', async () => {
    const started = Date.now();
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/slow`, opts({ allowHosts: ['127.0.0.1'], timeoutMs: 300 })))).toBe('timed out after 0.3 s');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports the status of a failed answer', async () => {
    expect(await refusal(safeFetch(`http://127.0.0.1:${port}/missing`, opts({ allowHosts: ['127.0.0.1'] })))).toBe('answered 404');
  });
});
