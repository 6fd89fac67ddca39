import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';

// Privacy policy section 8: data security.
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { PUBLIC_URL: 'https://video.example.com' } });
});
afterAll(() => app?.close());

describe('8 Data security', () => {
  it('8 HTTPS in transit: an https deployment tells browsers to use HTTPS only (HSTS) and upgrades requests', async () => {
    const res = await app.fetch('/healthz');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d{7,}/);
    expect(res.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
  });
  it.todo('8 signed download URLs that expire and carry no session');
  it.todo('8 scoped access: a user cannot read or change another user\'s data');
  it.todo('8 encryption at rest for sensitive stores (provider tokens, webhook secrets)');
});
