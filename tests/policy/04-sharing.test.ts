import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProviderRegistry, type ProviderRegistry } from '../../src/server/adapters/providers';
import { parseConfig } from '../../src/server/config';
import { createCatalogService, type CatalogService } from '../../src/server/domain/catalog/catalog.service';
import { createProviderRouter, type ProviderRouter } from '../../src/server/domain/catalog/router';
import { startFakeFal, type FakeFal } from '../fakes/fal';
import { startFakeKie, type FakeKie } from '../fakes/kie';
import { closeAll } from '../helpers/close';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startBillingApp } from '../integration/billing/setup';
import { startHoldsApp } from '../integration/moderation/holds-setup';
import { purgeDeleted } from '../../src/server/domain/media/purge';
import type { HoldView } from '../../src/shared/api';
import pino from 'pino';
import { runCommand } from '../../src/server/cli/commands';
import { mailTo, startAccountsApp } from '../integration/accounts/setup';
import { until } from '../helpers/wait';

// Privacy policy section 4: sharing.
describe('4 How we share information', () => {
  let db: TestDatabase;
  let kie: FakeKie;
  let fal: FakeFal;
  let registry: ProviderRegistry;
  let catalog: CatalogService;
  let router: ProviderRouter;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    [kie, fal] = await Promise.all([startFakeKie(), startFakeFal()]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-policy4-'));
    registry = createProviderRegistry(
      parseConfig({
        DATA_DIR: dataDir,
        KIE_API_KEY: kie.apiKey,
        KIE_BASE_URL: kie.url,
        KIE_UPLOAD_URL: kie.url,
        FAL_KEY: fal.apiKey,
        FAL_QUEUE_URL: fal.url,
        FAL_JWKS_URL: fal.jwksUrl,
      }),
    );
    catalog = createCatalogService({ database: db, providerStatus: (id) => registry.status(id) });
    router = createProviderRouter({ database: db, providers: registry, failureThreshold: 3, cooldownSeconds: 60 });
  });
  afterAll(async () => {
    await closeAll(registry);
    await Promise.allSettled([closeAll(kie), closeAll(fal)]);
    await (db as TestDatabase | undefined)?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const reached = (marker: string) => ({
    kie: kie.requests.some((r) => r.body.includes(marker)),
    fal: fal.requests.some((r) => r.body.includes(marker)),
  });

  it.each([
    ['veo-3.1', 'kie'],
    ['kling-3.0', 'kie'],
    ['seedance-2.0', 'kie'],
    ['sora-2', 'fal'],
    ['local-preview', 'local'],
  ] as const)('4.1 sends prompts and references only to the provider of the model the user selected: %s -> %s', async (modelId, expected) => {
    const marker = `policy-4-1-${modelId}-${Date.now()}`;
    const { model, request } = await catalog.parseRequest({ model: modelId, prompt: `A kite over the dunes ${marker}` }, { requireAvailable: true });
    const references =
      modelId === 'seedance-2.0'
        ? [
            {
              kind: 'image' as const,
              role: 'first_frame' as const,
              url: `data:image/png;base64,${Buffer.from(marker).toString('base64')}`,
              mimeType: 'image/png',
            },
          ]
        : [];
    const dispatched = await router.submit(model, { ...request, ...(references.length ? { mode: 'image-to-video' as const } : {}) }, references, marker);
    expect(dispatched.provider).toBe(expected);
    expect(reached(marker)).toEqual({ kie: expected === 'kie', fal: expected === 'fal' });
    if (modelId === 'seedance-2.0') {
      // the reference went to KIE's upload API and nowhere else
      const uploaded = [...kie.files.values()].some((f) => f.data.toString() === marker);
      expect(uploaded).toBe(true);
      expect(fal.requests.some((r) => r.body.includes(Buffer.from(marker).toString('base64')))).toBe(false);
    }
  });

  it('4.2 shares only amount, currency, order id and customer email with payment processors', async () => {
    const b = await startBillingApp();
    try {
      const c = await b.buyer();
      await b.app.db.sql.query(`update users set name = 'Private Person', region = 'FR' where id = $1`, [c.userId]);
      const stripeOrder = await b.checkout(c, 'starter', 'stripe');
      const npOrder = await b.checkout(c, 'starter', 'nowpayments');
      const creemOrder = await b.checkout(c, 'starter', 'creem');
      const sent = [
        ...b.stripe.requests.filter((r) => r.path === '/v1/checkout/sessions' && r.method === 'POST').map((r) => r.raw),
        ...b.np.requests.filter((r) => r.method === 'POST').map((r) => r.body),
        ...b.creem.requests.filter((r) => r.method === 'POST').map((r) => r.body),
      ].join('\n');
      for (const order of [stripeOrder, npOrder, creemOrder]) expect(sent).toContain(order.orderId);
      expect(decodeURIComponent(sent)).toContain(c.email);
      // nothing else about the person: no user id, name or region
      for (const secret of [c.userId, 'Private Person', 'user_id', 'userId']) expect(decodeURIComponent(sent)).not.toContain(secret);
    } finally {
      await b.close();
    }
  });
  it('4.4 preserves and discloses records for lawful requests (legal hold)', async () => {
    const h = await startHoldsApp();
    try {
      const owner = await h.user('policy-44-owner@example.com');
      const admin = await h.user('policy-44-admin@example.com', 'admin');
      const creation = await h.creation(owner.userId);
      // a lawful request: the operator preserves the creation
      const placed = await admin.post('/api/moderation/holds', { subjectKind: 'generation', subjectId: creation.id, reason: 'subpoena 2026-117' });
      expect(placed.status, placed.body).toBe(201);
      // the user deletes it: gone from their library at once, but preserved through every purge
      expect((await owner.delete(`/api/creations/${creation.id}`)).status).toBe(204);
      expect((await owner.get(`/api/generations/${creation.id}`)).status).toBe(404);
      // disclosed to the operator: the holds list names it, with who placed it and why
      const holds = (await admin.get('/api/moderation/holds')).json<{ items: HoldView[] }>().items;
      expect(holds).toContainEqual(expect.objectContaining({ subjectId: creation.id, reason: 'subpoena 2026-117', placedBy: admin.userId, releasedAt: null }));
      const purge = () =>
        purgeDeleted({ database: h.app.db, store: h.app.platform.ctx.store, logger: pino({ level: 'silent' }), clock: h.clock }, { purgeDays: 30 });
      await h.clock.set(h.clock.nowMs() + 40 * 86_400_000);
      await purge();
      expect(await h.app.db.sql.query('select 1 from generations where id = $1', [creation.id])).toHaveLength(1);
      for (const key of creation.keys) expect(await h.exists(key)).toBe(true);
      // released: the next purge removes what the user deleted
      // (sessions end after 30 idle days on the moved clock: the admin releases through the service)
      await h.app.platform.ctx.services.holds.release(admin.userId, placed.json<HoldView>().id, 'request closed');
      await purge();
      expect(await h.app.db.sql.query('select 1 from generations where id = $1', [creation.id])).toHaveLength(0);
      for (const key of creation.keys) expect(await h.exists(key)).toBe(false);
    } finally {
      await h.close();
    }
  });
  it('4.5 notifies every account of a change in ownership (operator command with a preview and a dry run)', async () => {
    const a = await startAccountsApp();
    const file = path.join(dataDir, 'business-transfer.json');
    try {
      const { services } = a.app.platform.ctx;
      const run = (argv: string[]) => runCommand({ database: a.app.db, services }, 'notice:business-transfer', argv);
      const make = async (email: string, sets: string) => {
        const u = await services.users.create({ email, password: 'a fine password 1', name: email.split('@')[0]! });
        await a.app.db.sql.query(`update users set ${sets} where id = $1`, [u.id]);
        return email;
      };
      const english = await make('policy-45-en@example.com', "language = 'en'");
      const spanish = await make('policy-45-es@example.com', "language = 'es'");
      // a service notice: sent whatever the email preferences; a suspended account is told too
      const optedOut = await make('policy-45-no-news@example.com', 'marketing_opt_in_at = null');
      const suspended = await make('policy-45-suspended@example.com', "status = 'suspended'");
      const terminated = await make('policy-45-terminated@example.com', "status = 'terminated'");
      fs.writeFileSync(
        file,
        JSON.stringify({
          key: 'acme-2027',
          newOwner: 'Acme Media Inc.',
          effectiveDate: '2027-03-01',
          message: { en: 'Acme will keep Save Sora running.', es: 'Acme mantendrá Save Sora en marcha.' },
        }),
      );

      // the dry run previews both languages and counts the accounts; it sends and records nothing
      const dry = await run(['--file', file, '--dry-run']);
      expect(dry).toMatch(/^Dry run: nothing was sent\. It would mail 4 account\(s\)/);
      expect(dry).toContain('--- en ---\nSubject: Save Sora is changing ownership');
      expect(dry).toContain('--- es ---\nSubject: Save Sora cambia de propietario');
      expect(dry).toContain('from March 1, 2027, Acme Media Inc. is responsible for Save Sora');
      expect(await a.app.db.sql.query('select 1 from mailings')).toEqual([]);

      expect(await run(['--file', file])).toMatch(/^Mailing \S+ created for 4 account\(s\)/);
      const en = await mailTo(a.smtp, english, /changing ownership/);
      expect(en.text).toContain('Acme will keep Save Sora running.');
      expect(en.text).toContain(`${a.app.url}/account`);
      const es = await mailTo(a.smtp, spanish, /cambia de propietario/);
      expect(es.text).toContain('a partir del 1 de marzo de 2027, Acme Media Inc. es responsable de Save Sora');
      for (const email of [optedOut, suspended]) await mailTo(a.smtp, email, /changing ownership/);
      await until(async () => (await services.mailings.status())[0]?.status === 'sent', { app: a.app, what: 'the notice sent' });
      // the same notice again mails nobody twice
      expect(await run(['--file', file])).toMatch(/already exists .*nobody was mailed again/);
      expect(await runCommand({ database: a.app.db, services }, 'mailing:status', [])).toMatch(/business-transfer\s+business-transfer:acme-2027\s+sent/);
      for (const email of [english, spanish, optedOut, suspended]) expect(a.smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(1);
      expect(a.smtp.messages.filter((m) => m.to.includes(terminated))).toEqual([]);
    } finally {
      await a.close();
      fs.rmSync(file, { force: true });
    }
  });
});
