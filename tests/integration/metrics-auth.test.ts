import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { closeAll } from '../helpers/close';

let app: TestApp;
let production: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
  production = await startTestApp({ env: { NODE_ENV: 'production' } });
});
afterAll(async () => {
  await closeAll(production, app);
});

describe('metrics behind METRICS_TOKEN', () => {
  it('refuses /metrics without the token or with a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: 'metrics-token-0123456789' }] as Record<string, string>[]) {
      const res = await app.fetch('/metrics', { headers });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('unauthorized');
    }
  });

  it('serves /metrics with the token', async () => {
    const res = await app.fetch('/metrics', { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('# TYPE http_request_duration_seconds histogram');
  });

  it('in production without METRICS_TOKEN, /metrics is not served (404), whatever the request carries', async () => {
    for (const headers of [{}, { authorization: 'Bearer metrics-token-0123456789' }] as Record<string, string>[]) {
      const res = await production.fetch('/metrics', { headers });
      expect(res.status).toBe(404);
      const body = await res.json();
      expect(body.error.code).toBe('not_found');
      expect(body.error.message).toMatch(/METRICS_TOKEN/);
    }
    // the rest of the operator endpoints are unaffected
    expect((await production.fetch('/healthz')).status).toBe(200);
  });

  it('answers 503 not_ready in the error shape once the database is gone', async () => {
    await app.platform.ctx.database.close();
    const res = await app.fetch('/readyz');
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.error.code).toBe('not_ready');
    expect(body.checks).toEqual({ database: 'fail', queue: 'fail' });
    // liveness is about the process, not its dependencies
    expect((await app.fetch('/healthz')).status).toBe(200);
  });
});
