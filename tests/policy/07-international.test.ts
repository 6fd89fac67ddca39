import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LegalDocumentView } from '../../src/shared/api/legal';
import { createPoliciesService } from '../../src/server/domain/privacy/policies.service';
import { startTestApp, type TestApp } from '../helpers/app';

// Privacy policy section 7: international data transfers. The privacy page says where this server
// keeps data (HOSTING_LOCATION) and which outside services receive data, at which addresses, from
// the settings of this installation. (The outside services point at closed ports on this machine:
// nothing here calls them.)

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    env: {
      HOSTING_LOCATION: 'Frankfurt, Germany',
      KIE_API_KEY: 'kie-key',
      KIE_BASE_URL: 'http://127.0.0.1:9/kie',
      KIE_UPLOAD_URL: 'http://127.0.0.1:9/kie-upload',
      STRIPE_SECRET_KEY: 'sk_test_policy7',
      STRIPE_WEBHOOK_SECRET: 'whsec_policy7',
      STRIPE_API_BASE: 'http://127.0.0.1:9/stripe',
      OPENAI_MODERATION_API_KEY: 'openai-key',
      OPENAI_MODERATION_BASE_URL: 'http://127.0.0.1:9/openai',
    },
  });
});
afterAll(() => app.close());

const privacy = async (lang: string) => {
  const res = await app.fetch(`/api/legal/privacy?lang=${lang}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as LegalDocumentView).body;
};
/** The text of a `## N.` or `### N.N` section of the Markdown. */
const section = (body: string, heading: RegExp) => {
  const lines = body.split('\n');
  const start = lines.findIndex((l) => heading.test(l));
  expect(start, String(heading)).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
};

describe('7 International data transfers', () => {
  it('7 the privacy page states where data is processed: this server’s location and the processors configured on it, from the settings', async () => {
    const en = await privacy('en');
    const where = section(en, /^## 7\. /);
    expect(where).toContain('This server, its database and its files are in Frankfurt, Germany.');
    expect(where).toMatch(/may be in another country than yours, including the United States/);
    expect(where).toMatch(/standard contractual clauses/);
    // the processors section the transfer section points to lists each configured service and where its data goes
    const processors = section(en, /^### 4\.3 /);
    expect(processors).toMatch(/- \*\*KIE\*\* \(kie\.ai\): video generation for [^\n]*Veo 3\.1 \(Google\)[^\n]*Data is sent to: `127\.0\.0\.1`/);
    expect(processors).toMatch(/- \*\*Stripe\*\* \(stripe\.com\): card payments[^\n]*the email address you pay with[^\n]*Data is sent to: `127\.0\.0\.1`/);
    expect(processors).toMatch(/- \*\*OpenAI\*\* \(openai\.com\): a second opinion on content safety/);
    expect(processors).toMatch(/- \*\*Local renderer\*\*/);
    // and nothing that is not configured here
    for (const absent of [
      'Creem',
      'NOWPayments',
      '**fal**',
      'Google** (google.com)',
      'NCMEC CyberTipline',
      'Cloudflare',
      'Amazon S3',
      'Mail delivery',
      'Redis',
    ])
      expect(processors).not.toContain(absent);

    const es = await privacy('es');
    const dondeEs = section(es, /^## 7\. /);
    expect(dondeEs).toContain('Este servidor, su base de datos y sus archivos están en Frankfurt, Germany.');
    expect(section(es, /^### 4\.3 /)).toMatch(/- \*\*Stripe\*\* \(stripe\.com\): pagos con tarjeta[^\n]*Los datos se envían a: `127\.0\.0\.1`/);
  });

  it('7 the statement follows the settings: another location, other services, and none stated', async () => {
    const ctx = app.platform.ctx;
    const viewWith = async (overrides: Partial<typeof ctx.config>) =>
      createPoliciesService({ database: ctx.database, config: { ...ctx.config, ...overrides }, logger: ctx.logger, catalog: ctx.services.catalog })
        .view('privacy', { language: 'en' })
        .then((v) => v.body);
    const moved = await viewWith({
      HOSTING_LOCATION: 'Helsinki, Finland',
      NOWPAYMENTS_API_KEY: 'np-key',
      NOWPAYMENTS_API_BASE: 'https://api.nowpayments.io',
      S3_BUCKET: 'videos',
      S3_ENDPOINT: 'https://account.r2.cloudflarestorage.com',
      SMTP_URL: 'smtp://mailer:Zq81-pw@smtp.mail.example.com:587',
    });
    expect(section(moved, /^## 7\. /)).toContain('are in Helsinki, Finland.');
    const processors = section(moved, /^### 4\.3 /);
    expect(processors).toMatch(/- \*\*NOWPayments\*\* \(nowpayments\.io\): cryptocurrency payments[^\n]*Data is sent to: `api\.nowpayments\.io`/);
    expect(processors).toMatch(/- \*\*Cloudflare R2\*\* \(cloudflare\.com\): storage of uploaded references[^\n]*`account\.r2\.cloudflarestorage\.com`/);
    expect(processors).toMatch(/- \*\*Mail delivery\*\*: sending the emails[^\n]*`smtp\.mail\.example\.com`/);
    // credentials in a setting never reach the page
    expect(moved).not.toContain('Zq81-pw');
    expect(moved).not.toContain('mailer:');
    expect(moved).not.toContain('np-key');

    const unstated = await viewWith({ HOSTING_LOCATION: undefined });
    expect(section(unstated, /^## 7\. /)).toContain('in a place the operator chooses (not stated yet; ask at the contact address)');
  });
});
