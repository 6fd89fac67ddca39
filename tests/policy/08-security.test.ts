import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { signUpVerified, startAccountsApp } from '../integration/accounts/setup';

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
  it("8 scoped access: a user cannot read or change another user's data", async () => {
    const a = await startAccountsApp();
    try {
      const alice = await signUpVerified(a, 'scoped-a@example.com');
      const bob = await signUpVerified(a, 'scoped-b@example.com');
      const aliceSession = ((await alice.get('/api/me/sessions')).json().sessions as { id: string }[])[0]!.id;
      expect((await bob.delete(`/api/me/sessions/${aliceSession}`)).status).toBe(404);
      expect((await bob.get('/api/admin/users')).status).toBe(403);
      expect((await alice.get('/api/me')).status).toBe(200);
    } finally {
      await a.close();
    }
  });

  it('8 hashed credentials: passwords are stored only as salted scrypt hashes', async () => {
    const a = await startAccountsApp();
    try {
      await signUpVerified(a, 'hashed@example.com', 'a secret phrase 77');
      const rows = await a.app.db.sql.query<{ password: string }>(`select password from accounts where provider_id = 'credential'`);
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(r.password).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    } finally {
      await a.close();
    }
  });
  it.todo('8 encryption at rest for sensitive stores (provider tokens, webhook secrets)');
});
