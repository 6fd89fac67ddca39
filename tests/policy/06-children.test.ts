import { describe, expect, it } from 'vitest';
import { startAccountsApp } from '../integration/accounts/setup';

// Privacy policy section 6: children.
describe("6 Children's privacy", () => {
  it('6 sign-up requires confirming the minimum age (13, or 16 in the EEA/UK) and keeps nothing when refused', async () => {
    const a = await startAccountsApp();
    try {
      const refused = await a.client().post('/api/auth/sign-up/email', { email: 'child@example.com', password: 'a fine password 1', name: 'C', region: 'FR' });
      expect(refused.status).toBe(400);
      expect(refused.json().error.message).toContain('at least 16');
      const kept = await a.app.db.sql.query(`select 1 from users where email = 'child@example.com'`);
      expect(kept).toHaveLength(0);
      expect(a.smtp.messages.filter((m) => m.to.includes('child@example.com'))).toHaveLength(0);
    } finally {
      await a.close();
    }
  });
  it.todo('6 data reported as belonging to a child can be deleted by an operator');
});
