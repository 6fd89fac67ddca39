import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfirmChildResult, GenerationView, PrivacyRequestDetail, PrivacyRequestList, PrivacyRequestReceipt } from '../../src/shared/api';
import { mailTo, startAccountsApp, type AccountsApp } from '../integration/accounts/setup';
import { startGenerationsApp, waitFinal } from '../integration/generations/setup';
import { closeAll } from '../helpers/close';

// Privacy policy section 6: children.
describe("6 Children's privacy", () => {
  // one accounts app for the section (each test has its own accounts)
  let a: AccountsApp;
  beforeAll(async () => {
    a = await startAccountsApp({ SUPPORT_EMAIL: 'safety@savesora.test' });
  });
  afterAll(() => closeAll(a));

  it('6 sign-up requires confirming the minimum age (13, or 16 in the EEA/UK) and keeps nothing when refused', async () => {
    const refused = await a.client().post('/api/auth/sign-up/email', { email: 'child@example.com', password: 'a fine password 1', name: 'C', region: 'FR' });
    expect(refused.status).toBe(400);
    expect(refused.json().error.message).toContain('at least 16');
    const kept = await a.app.db.sql.query(`select 1 from users where email = 'child@example.com'`);
    expect(kept).toHaveLength(0);
    expect(a.smtp.messages.filter((m) => m.to.includes('child@example.com'))).toHaveLength(0);
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
  it('6 anyone can report that a child uses the service; an operator who confirms it deletes the account', async () => {
    const password = 'a fine password 1';
    const services = a.app.platform.ctx.services;
    const child = await services.users.create({ email: 'young-user@example.com', password, name: 'Young', credits: 0 });
    await services.users.create({ email: 'policy-6-desk@example.com', password, name: 'Desk', role: 'admin' });
    // a parent, signed out, sends the report naming the account
    const report = await a.client().post('/api/privacy-requests', {
      kind: 'child',
      email: 'parent@example.com',
      subjectEmail: 'young-user@example.com',
      message: 'This account belongs to my 11-year-old daughter.',
    });
    expect(report.status, report.body).toBe(201);
    const { reference } = report.json<PrivacyRequestReceipt>();
    await mailTo(a.smtp, 'safety@savesora.test', /privacy request/i);
    // operators see it in their queue, with the account it names
    const desk = a.client();
    expect((await desk.post('/api/auth/sign-in/email', { email: 'policy-6-desk@example.com', password })).status).toBe(200);
    const queue = (await desk.get('/api/admin/privacy-requests?kind=child')).json<PrivacyRequestList>();
    expect(queue.items.map((r) => r.id)).toContain(reference);
    const detail = (await desk.get(`/api/admin/privacy-requests/${reference}`)).json<PrivacyRequestDetail>();
    expect(detail.account).toMatchObject({ id: child.id, email: 'young-user@example.com' });
    // confirming deletes the account and closes the report
    const confirmed = await desk.post(`/api/admin/privacy-requests/${reference}/confirm-child`, { reason: 'The parent confirmed the age.' });
    expect(confirmed.status, confirmed.body).toBe(200);
    expect(confirmed.json<ConfirmChildResult>()).toMatchObject({ deletion: { userId: child.id, outcome: 'deleted' }, request: { status: 'done' } });
    expect(await a.app.db.sql.query('select 1 from users where id = $1', [child.id])).toEqual([]);
    expect(await a.app.db.sql.query(`select origin from account_deletions where status = 'completed' and origin = 'child-report'`)).toHaveLength(1);
  });
});
