import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LegalDocumentView, Meta, PrivacyRequestList, PrivacyRequestReceipt } from '../../src/shared/api';
import { TestClient } from '../helpers/client';
import { closeAll } from '../helpers/close';
import { mailTo, startAccountsApp, type AccountsApp } from '../integration/accounts/setup';

// Privacy policy section 12: contact us. The address is the operator's (SUPPORT_EMAIL), never the
// one the default text was written with; questions and data subject requests reach operators as
// privacy requests with a due date.
const SUPPORT = 'dpo@operator.example';
let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp({ SUPPORT_EMAIL: SUPPORT });
});
afterAll(() => closeAll(a));

describe('12 Contact us', () => {
  it('12 the support address from the settings is the one given wherever the policy names it', async () => {
    // the public facts the footer and the privacy request page show
    const meta = (await a.app.fetch('/api/meta').then((r) => r.json())) as Meta;
    expect(meta).toMatchObject({ supportEmail: SUPPORT, privacyRequestDueDays: 30 });
    // the privacy policy, in each language: its contact, security and children's sections name it
    for (const lang of ['en', 'es']) {
      const res = await a.app.fetch(`/api/legal/privacy?lang=${lang}`);
      expect(res.status, lang).toBe(200);
      const doc = (await res.json()) as LegalDocumentView;
      expect(doc.body.split(SUPPORT).length - 1, lang).toBeGreaterThanOrEqual(3);
      expect(doc.body, lang).not.toContain('support@savesora.com');
      expect(doc.body, lang).not.toContain('{{supportEmail}}');
      // and the way to send a request
      expect(doc.body, lang).toContain(`${a.app.url}/privacy-request`);
    }
  });

  it('12 a privacy request opens a request with a due date (30 days) that operators see, and both sides are told', async () => {
    const sent = await new TestClient(a.app.url, { ip: '203.0.113.120' }).post('/api/privacy-requests', {
      kind: 'access',
      email: 'reader@example.com',
      name: 'Rita Reader',
      message: 'Which of my data do you keep, and for how long?',
    });
    expect(sent.status, sent.body).toBe(201);
    const receipt = sent.json<PrivacyRequestReceipt>();
    expect(new Date(receipt.dueAt).getTime() - new Date(receipt.createdAt).getTime()).toBe(30 * 86_400_000);
    expect(receipt.supportEmail).toBe(SUPPORT);

    // the person gets a receipt with the reference and the date; the operators a notice at the support address
    const mail = await mailTo(a.smtp, 'reader@example.com', /privacy request/i);
    expect(mail.text).toContain(receipt.reference);
    expect(mail.text).toContain(SUPPORT);
    const notice = await mailTo(a.smtp, SUPPORT, /privacy request/i);
    expect(notice.text).toContain(receipt.reference);

    // operators (support) see it with its due date, not yet overdue
    const password = 'a fine password 1';
    await a.app.platform.ctx.services.users.create({ email: 'desk@operator.example', password, name: 'Desk', role: 'support' });
    const desk = a.client();
    expect((await desk.post('/api/auth/sign-in/email', { email: 'desk@operator.example', password })).status).toBe(200);
    const list = (await desk.get('/api/admin/privacy-requests')).json<PrivacyRequestList>();
    expect(list.items.find((r) => r.id === receipt.reference)).toMatchObject({
      kind: 'access',
      status: 'open',
      email: 'reader@example.com',
      dueAt: receipt.dueAt,
      overdue: false,
    });
  });
});
