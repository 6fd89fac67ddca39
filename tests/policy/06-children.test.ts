import { describe, expect, it } from 'vitest';
import type { GenerationView } from '../../src/shared/api';
import { startAccountsApp } from '../integration/accounts/setup';
import { startGenerationsApp, waitFinal } from '../integration/generations/setup';

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
  it('6 data reported as belonging to a child can be deleted by an operator', async () => {
    const g = await startGenerationsApp();
    try {
      const child = await g.user('reported-child@example.com', 10);
      const made = (
        await child.post('/api/generations', { model: 'local-preview', prompt: 'my video', duration: 2, resolution: '480p' })
      ).json<GenerationView>();
      await waitFinal(child, made.id);
      const admin = await g.user('policy-6-admin@example.com', 0);
      await g.app.platform.ctx.services.users.setRole('policy-6-admin@example.com', 'admin');
      const res = await admin.post(`/api/admin/users/${child.userId}/delete`, { reason: 'a parent reported the account as their 12-year-old' });
      expect(res.status, res.body).toBe(200);
      expect(res.json()).toMatchObject({ outcome: 'deleted', removed: { generations: 1 } });
      for (const table of ['users where id', 'generations where user_id', 'sessions where user_id']) {
        expect(await g.app.db.sql.query(`select 1 from ${table} = $1`, [child.userId]), table).toHaveLength(0);
      }
      expect((await child.get('/api/me')).status).toBe(401);
    } finally {
      await g.close();
    }
  });
});
