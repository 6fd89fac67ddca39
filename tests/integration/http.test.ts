import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { closeAll } from '../helpers/close';

let app: TestApp;
let webDist: string;

beforeAll(async () => {
  webDist = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-web-'));
  fs.mkdirSync(path.join(webDist, 'assets'));
  fs.writeFileSync(path.join(webDist, 'index.html'), '<!doctype html><html><body><div id="root">spa-index</div></body></html>');
  fs.writeFileSync(path.join(webDist, 'assets', 'app-abc123.js'), 'console.log(1)');
  app = await startTestApp({ webDist });
});
afterAll(async () => {
  await closeAll(app);
  fs.rmSync(webDist, { recursive: true, force: true });
});

describe('health and readiness', () => {
  it('GET /healthz answers 200 ok', async () => {
    const res = await app.fetch('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz checks the database and the queue', async () => {
    const res = await app.fetch('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: { database: 'ok', queue: 'ok' } });
  });
});

describe('request ids', () => {
  it('gives every response an X-Request-Id', async () => {
    const a = await app.fetch('/healthz');
    const b = await app.fetch('/healthz');
    expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });

  it("keeps a caller's well-formed id and replaces a malformed one", async () => {
    const kept = await app.fetch('/healthz', { headers: { 'x-request-id': 'edge-proxy.42:abc' } });
    expect(kept.headers.get('x-request-id')).toBe('edge-proxy.42:abc');
    const replaced = await app.fetch('/healthz', { headers: { 'x-request-id': 'bad id <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('errors', () => {
  it('answers unknown API routes with the JSON error shape and a 404', async () => {
    for (const p of ['/api/nothing-here', '/v1/nothing', '/webhooks/nope']) {
      const res = await app.fetch(p, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { code: 'not_found', message: `No route matches GET ${p}.` } });
    }
    const post = await app.fetch('/anything', { method: 'POST' });
    expect(post.status).toBe(404);
    expect((await post.json()).error.code).toBe('not_found');
  });
});

describe('security headers', () => {
  it('sends a strict CSP and the usual hardening headers', async () => {
    const res = await app.fetch('/');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-powered-by')).toBeNull();
    // no HSTS on plain http
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });
});

describe('metrics', () => {
  it('exposes Prometheus metrics including per-route request durations', async () => {
    await app.fetch('/healthz');
    const res = await app.fetch('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/healthz",status_code="200"\} [1-9]/);
    expect(text).toContain('process_cpu_seconds_total');
  });
});

describe('API documentation', () => {
  it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
    const res = await app.fetch('/openapi.json');
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Save Sora API');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/api/meta']));
    expect(doc.paths['/readyz'].get.responses['503']).toBeDefined();
    expect(doc.paths['/openapi.json']).toBeUndefined();
  });

  it('serves a browsable reference at /docs', async () => {
    const res = await app.fetch('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('swagger');
  });
});

describe('web app', () => {
  it('serves the single-page app at / and for client routes, never for API paths', async () => {
    const home = await app.fetch('/', { headers: { accept: 'text/html' } });
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('spa-index');
    expect(home.headers.get('cache-control')).toBe('no-cache');

    const deep = await app.fetch('/legal/privacy?x=1', { headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('spa-index');

    const json = await app.fetch('/legal/privacy', { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
  });

  it('caches fingerprinted assets for a year and 404s missing ones as JSON', async () => {
    const asset = await app.fetch('/assets/app-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const missing = await app.fetch('/assets/missing.js', { headers: { accept: 'text/html' } });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('not_found');
  });

  it('GET /api/meta names the product and its version', async () => {
    const res = await app.fetch('/api/meta');
    expect(await res.json()).toEqual({
      name: 'Save Sora',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      supportEmail: 'support@savesora.com',
      privacyRequestDueDays: 30,
    });
  });
});
