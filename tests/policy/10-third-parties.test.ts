import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LegalDocumentView } from '../../src/shared/api/legal';
import { startTestApp, type TestApp } from '../helpers/app';

// Privacy policy section 10: third-party services. The privacy page lists the outside services this
// server is set up to use and the models it offers (from its settings and catalog), and says that we
// are not affiliated with the companies behind them. (The services point at closed ports on this
// machine: nothing here calls them.)

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    env: {
      SELLER_NAME: 'Acme Video Ltd',
      KIE_API_KEY: 'kie-key',
      KIE_BASE_URL: 'http://127.0.0.1:9/kie',
      KIE_UPLOAD_URL: 'http://127.0.0.1:9/kie-upload',
      FAL_KEY: 'fal-key',
      FAL_QUEUE_URL: 'http://127.0.0.1:9/fal',
      FAL_JWKS_URL: 'http://127.0.0.1:9/fal-jwks',
      CREEM_API_KEY: 'creem-key',
      CREEM_WEBHOOK_SECRET: 'creem-secret',
      CREEM_API_BASE: 'http://127.0.0.1:9/creem',
      GOOGLE_CLIENT_ID: 'google-client',
      GOOGLE_CLIENT_SECRET: 'google-secret',
      GOOGLE_DISCOVERY_URL: 'http://127.0.0.1:9/.well-known/openid-configuration',
    },
  });
});
afterAll(() => app.close());

const document = async (doc: string, lang: string) => {
  const res = await app.fetch(`/api/legal/${doc}?lang=${lang}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as LegalDocumentView).body;
};
const section = (body: string, heading: RegExp) => {
  const lines = body.split('\n');
  const start = lines.findIndex((l) => heading.test(l));
  expect(start, String(heading)).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
};

describe('10 Third-party services', () => {
  it('10 the third-party section lists the services this server uses and states that we are not affiliated with them', async () => {
    const en = await document('privacy', 'en');
    const third = section(en, /^## 10\. /);
    expect(third).toContain('Each works under its own terms and privacy policy');
    // the companies of the services configured here and of the models offered through them
    const affiliation = /Acme Video Ltd and the Save Sora software are not affiliated with, endorsed by or sponsored by ([^.]+)\./.exec(third);
    expect(affiliation, third).not.toBeNull();
    const named = affiliation![1]!;
    for (const company of ['KIE', 'fal', 'Creem', 'Google', 'Kuaishou', 'ByteDance', 'OpenAI']) expect(named).toContain(company);
    for (const absent of ['Stripe', 'NOWPayments', 'Cloudflare']) expect(named).not.toContain(absent);
    expect(third).toContain('Their names and trademarks are used only to say which services and models this site uses.');

    // the services themselves, what each receives, and the models offered
    const services = section(en, /^## 4\. /);
    for (const line of [
      /- \*\*KIE\*\* \(kie\.ai\): video generation for [^\n]*Kling 3\.0 \(Kuaishou\)[^\n]*Seedance 2\.0 \(ByteDance\)/,
      /- \*\*fal\*\* \(fal\.ai\): video generation for [^\n]*Sora 2 \(OpenAI\)/,
      /- \*\*Creem\*\* \(creem\.io\): card payments and subscriptions/,
      /- \*\*Google\*\* \(google\.com\): “Continue with Google” sign-in/,
      /- Veo 3\.1 \(Google, through KIE\)/,
      /- Sora 2 \(OpenAI, through fal and KIE\)/,
      /- Local preview \(this server\)/,
    ])
      expect(services).toMatch(line);
    expect(services).not.toMatch(/\*\*Stripe\*\*|\*\*NOWPayments\*\*/);

    // the same in Spanish
    const es = await document('privacy', 'es');
    expect(section(es, /^## 10\. /)).toMatch(
      /Acme Video Ltd y el software Save Sora no están afiliados a [^.]*KIE[^.]* ni [^.]+, ni cuentan con su respaldo o patrocinio\./,
    );
    // and the terms say it too, for the companies behind the models and services
    expect(section(await document('terms', 'en'), /^## 10\. /)).toContain(
      'Acme Video Ltd and the software are not affiliated with, endorsed by or sponsored by',
    );
  });
});
