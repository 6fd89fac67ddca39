import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafeFetchError } from './safe-fetch';
import { safePost } from './safe-post';

let server: http.Server;
let port: number;
const received: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === '/ok') return res.writeHead(204).end();
      if (req.url === '/redirect') return res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      if (req.url === '/big') return res.writeHead(500).end('x'.repeat(100_000));
      if (req.url === '/slow') return setTimeout(() => res.writeHead(200).end(), 2000);
      res.writeHead(404).end('no such hook');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const allow = () => [`127.0.0.1:${port}`];

describe('safePost', () => {
  it('POSTs the body with the given headers to an allowed host and answers the status', async () => {
    const r = await safePost(`http://127.0.0.1:${port}/ok`, { body: '{"a":1}', headers: { 'webhook-id': 'msg_1' }, timeoutMs: 2000, allowHosts: allow() });
    expect(r.status).toBe(204);
    const got = received.at(-1)!;
    expect(got).toMatchObject({ url: '/ok', body: '{"a":1}' });
    expect(got.headers).toMatchObject({ 'webhook-id': 'msg_1', 'content-type': 'application/json', 'content-length': '7' });
  });

  it('refuses private and reserved addresses before connecting', async () => {
    const before = received.length;
    for (const url of [
      `http://127.0.0.1:${port}/ok`,
      `http://localhost:${port}/ok`,
      'http://10.0.0.1/hook',
      'http://169.254.169.254/latest',
      'http://[::1]:9/',
    ]) {
      await expect(safePost(url, { body: '{}', timeoutMs: 2000 })).rejects.toThrow(/private or reserved/);
    }
    // the allow list names host:port exactly
    await expect(safePost(`http://localhost:${port}/ok`, { body: '{}', timeoutMs: 2000, allowHosts: allow() })).rejects.toThrow(SafeFetchError);
    expect(received.length).toBe(before);
  });

  it('does not follow redirects, keeps only the start of a long answer, and times out', async () => {
    const r = await safePost(`http://127.0.0.1:${port}/redirect`, { body: '{}', timeoutMs: 2000, allowHosts: allow() });
    expect(r).toMatchObject({ status: 302, location: 'http://127.0.0.1:1/elsewhere' });
    const big = await safePost(`http://127.0.0.1:${port}/big`, { body: '{}', timeoutMs: 2000, allowHosts: allow(), maxResponseBytes: 100 });
    expect(big.status).toBe(500);
    expect(big.body).toHaveLength(100);
    await expect(safePost(`http://127.0.0.1:${port}/slow`, { body: '{}', timeoutMs: 300, allowHosts: allow() })).rejects.toThrow('timed out after 0.3 s');
    await expect(safePost(`http://127.0.0.1:1/`, { body: '{}', timeoutMs: 2000, allowHosts: ['127.0.0.1:1'] })).rejects.toThrow(
      /could not be reached \(ECONNREFUSED\)/,
    );
    await expect(safePost('ftp://example.com/', { body: '{}', timeoutMs: 2000 })).rejects.toThrow('must be an http(s) URL');
  });
});
