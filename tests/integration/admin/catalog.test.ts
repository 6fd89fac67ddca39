import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminCatalog, AdminModelView, AdminPlanView, ModelView, PlansResponse } from '../../../src/shared/api';
import { runCommand } from '../../../src/server/cli/commands';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';

/**
 * The console's models and plans (issue 18): an admin sees every model with its availability and
 * every plan and credit pack; enables, disables, prices, retires and reroutes a model, reorders the
 * models (the public list and so the Studio follow), and edits plans — each change validated as
 * strictly as the CLI always did and written to the audit log with the settings before and after.
 * The CLI's models:set, models:reset and plans:set go through the same service and are audited as
 * the CLI. One app for the whole file.
 */
let app: TestApp;
const PASSWORD = 'a fine password 1';
let n = 0;

beforeAll(async () => {
  app = await startTestApp({ env: { TRUST_PROXY: 'true', SIGNUP_FREE_CREDITS: '0' } });
});
afterAll(() => (app as TestApp | undefined)?.close());

const services = () => app.platform.ctx.services;
const cli = (name: string, argv: string[]) => runCommand({ database: app.db, services: services() }, name, argv);

async function person(role: 'user' | 'support' | 'moderator' | 'admin') {
  const email = `catalog-${role}-${++n}@example.com`;
  const u = await services().users.create({ email, password: PASSWORD, name: `Catalog ${role}`, role });
  const ip = `203.0.113.${n}`;
  const c = new TestClient(app.url, { ip });
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId: u.id, email, ip });
}

interface AuditRow {
  action: string;
  actor_id: string | null;
  actor_label: string;
  actor_role: string | null;
  via: string;
  ip: string | null;
  target_type: string | null;
  target_id: string | null;
  reason: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}
const lastAudit = async (action: string) =>
  (await app.db.sql.query<AuditRow>('select * from audit_log where action = $1 order by id desc limit 1', [action]))[0];
const auditCount = async () => Number((await app.db.sql.query<{ n: string }>('select count(*) as n from audit_log'))[0]?.n);
const publicModels = async () => (await (await app.fetch('/api/models')).json()) as { models: ModelView[] };

describe('the catalog page: who sees it', () => {
  it('admins get every model and every plan; support is refused (403); a normal user and nobody get 404', async () => {
    const admin = await person('admin');
    const res = await admin.get('/api/admin/catalog');
    expect(res.status).toBe(200);
    const body = res.json<AdminCatalog>();
    expect(body.models.map((m) => m.id).sort()).toEqual(
      ['kling-3.0', 'local-preview', 'seedance-2.0', 'sora-2', 'sora-2-pro', 'veo-3.1', 'veo-3.1-fast'].sort(),
    );
    const local = body.models.find((m) => m.id === 'local-preview');
    // the local renderer is configured in tests; KIE and fal have no keys
    expect(local).toMatchObject({ enabled: true, available: true, unavailableReason: null, providers: ['local'], position: null });
    expect(body.models.find((m) => m.id === 'veo-3.1')).toMatchObject({ available: false, unavailableReason: 'no_provider' });
    expect(body.models.find((m) => m.id === 'sora-2')?.routes.map((r) => r.provider)).toEqual(['fal', 'kie']);
    expect(body.plans.map((p) => p.id)).toEqual(expect.arrayContaining(['starter', 'creator', 'studio', 'pro-monthly', 'max-monthly']));
    expect(body.plans.find((p) => p.id === 'pro-monthly')).toMatchObject({ kind: 'subscription', interval: 'month', active: true });

    expect((await (await person('support')).get('/api/admin/catalog')).status).toBe(403);
    expect((await (await person('moderator')).patch('/api/admin/catalog/models/local-preview', { enabled: false })).status).toBe(403);
    const user = await person('user');
    for (const c of [user, new TestClient(app.url)]) {
      const r = await c.get('/api/admin/catalog');
      expect(r.status).toBe(404);
      expect(r.json<{ error: { message: string } }>().error.message).toBe('No route matches GET /api/admin/catalog.');
      expect((await c.patch('/api/admin/catalog/plans/starter', { name: 'x' })).status).toBe(404);
      expect((await c.post('/api/admin/catalog/models/order', { ids: ['veo-3.1'] })).status).toBe(404);
    }
  });
});

describe('changing a model', () => {
  it('disable, enable, price, retire, route order and reset: validated, applied to the public list, audited with before and after', async () => {
    const admin = await person('admin');
    const patch = (id: string, body: unknown) => admin.patch(`/api/admin/catalog/models/${id}`, body);

    // disable: gone from the public list at once
    const off = await patch('local-preview', { enabled: false, reason: 'renderer maintenance' });
    expect(off.status).toBe(200);
    expect(off.json<AdminModelView>()).toMatchObject({ enabled: false, available: false, unavailableReason: 'disabled', overridden: { enabled: true } });
    expect((await publicModels()).models.map((m) => m.id)).not.toContain('local-preview');
    const disabled = await lastAudit('model.update');
    expect(disabled).toMatchObject({
      actor_id: admin.userId,
      actor_label: admin.email,
      actor_role: 'admin',
      via: 'console',
      ip: admin.ip,
      target_type: 'model',
      target_id: 'local-preview',
      reason: 'renderer maintenance',
      before: { enabled: true },
      after: { enabled: false },
    });
    expect((await patch('local-preview', { enabled: true })).json<AdminModelView>()).toMatchObject({ enabled: true, available: true });

    // a price needs every resolution the model offers; the CLI's rule, the same message
    const partial = await patch('kling-3.0', { price: { perSecond: { '720p': 5 } } });
    expect(partial.status).toBe(400);
    expect(partial.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'invalid_request',
      message: 'Cannot change kling-3.0: price needs a per-second rate for 1080p.',
    });
    await expect(cli('models:set', ['--model', 'kling-3.0', '--price', '720p=5,1080p=-1'])).rejects.toThrow(/--price must be a number/);
    expect((await patch('kling-3.0', { price: { perSecond: { '720p': -1, '1080p': 2 } } })).status).toBe(400);
    const priced = await patch('local-preview', { price: { perSecond: { '480p': 2, '720p': 3, '1080p': 5 }, minimum: 1 } });
    expect(priced.status).toBe(200);
    expect((await publicModels()).models.find((m) => m.id === 'local-preview')?.price).toEqual({ perSecond: { '480p': 2, '720p': 3, '1080p': 5 }, minimum: 1 });
    const pricedAudit = await lastAudit('model.update');
    expect(Object.keys(pricedAudit?.after ?? {})).toEqual(['price']);
    expect((pricedAudit?.before as { price: unknown }).price).toEqual(priced.json<AdminModelView>().builtin.price);

    // retire with a sunset date and a replacement (another model); nonsense is a 400
    expect((await patch('sora-2', { lifecycle: { state: 'retired', replacement: 'sora-2' } })).status).toBe(400);
    expect((await patch('sora-2', { lifecycle: { state: 'retired', replacement: 'no-such-model' } })).status).toBe(400);
    expect((await patch('sora-2', { lifecycle: { state: 'retired', sunsetDate: '24/09/2026' } })).status).toBe(400);
    expect((await patch('sora-2', { lifecycle: { state: 'gone' } })).status).toBe(400);
    const retired = await patch('sora-2', { lifecycle: { state: 'retired', sunsetDate: '2026-09-24', replacement: 'veo-3.1', note: 'OpenAI ended it.' } });
    expect(retired.json<AdminModelView>()).toMatchObject({
      available: false,
      unavailableReason: 'retired',
      lifecycle: { state: 'retired', replacement: 'veo-3.1' },
    });
    expect((await publicModels()).models.find((m) => m.id === 'sora-2')).toMatchObject({ available: false, unavailableReason: 'retired' });

    // route order: the model's own providers, each once
    expect((await patch('sora-2', { routeOrder: ['local'] })).status).toBe(400);
    expect((await patch('sora-2', { routeOrder: ['kie', 'kie'] })).status).toBe(400);
    const rerouted = await patch('sora-2', { routeOrder: ['kie', 'fal'] });
    expect(rerouted.json<AdminModelView>().routes.map((r) => r.provider)).toEqual(['kie', 'fal']);
    expect(await lastAudit('model.update')).toMatchObject({ before: { routeOrder: ['fal', 'kie'] }, after: { routeOrder: ['kie', 'fal'] } });

    // null puts one setting back; reset puts them all back
    expect((await patch('local-preview', { price: null })).json<AdminModelView>().overridden.price).toBe(false);
    const reset = await admin.post('/api/admin/catalog/models/sora-2/reset', { reason: 'undo the test' });
    expect(reset.status).toBe(200);
    expect(reset.json<AdminModelView>()).toMatchObject({
      overridden: { price: false, lifecycle: false, enabled: false, routes: false },
      lifecycle: { state: 'deprecated' },
    });
    expect(await lastAudit('model.reset')).toMatchObject({ target_id: 'sora-2', reason: 'undo the test', after: { lifecycle: { state: 'deprecated' } } });

    // unknown models, unknown fields and empty changes
    expect((await patch('no-such-model', { enabled: false })).status).toBe(404);
    expect((await admin.post('/api/admin/catalog/models/no-such-model/reset', {})).status).toBe(404);
    expect((await patch('local-preview', {})).status).toBe(400);
    expect((await patch('local-preview', { enabled: 'no' })).status).toBe(400);
    expect((await patch('local-preview', { deadlineSeconds: 5 })).status).toBe(400);
  });

  it('a refused change writes no audit entry and changes nothing', async () => {
    const admin = await person('admin');
    const before = await auditCount();
    const res = await admin.patch('/api/admin/catalog/models/seedance-2.0', { price: { perSecond: { '720p': 4 } }, enabled: false });
    expect(res.status).toBe(400);
    expect(await auditCount()).toBe(before);
    expect((await publicModels()).models.find((m) => m.id === 'seedance-2.0')).toBeDefined();
  });
});

describe('the order of the models', () => {
  it('the models named come first in every list, the others follow in built-in order; audited', async () => {
    const admin = await person('admin');
    const builtin = (await publicModels()).models.map((m) => m.id);
    const res = await admin.post('/api/admin/catalog/models/order', { ids: ['local-preview', 'kling-3.0'], reason: 'what sells' });
    expect(res.status).toBe(200);
    const expected = ['local-preview', 'kling-3.0', ...builtin.filter((id) => id !== 'local-preview' && id !== 'kling-3.0')];
    expect(res.json<{ models: AdminModelView[] }>().models.map((m) => m.id)).toEqual(expected);
    expect((await publicModels()).models.map((m) => m.id)).toEqual(expected);
    expect((await services().catalog.list()).map((m) => m.id)).toEqual(expected);
    expect(await lastAudit('model.reorder')).toMatchObject({ reason: 'what sells', before: { order: builtin }, after: { order: expected } });

    // a full order, then back
    const reversed = [...builtin].reverse();
    await admin.post('/api/admin/catalog/models/order', { ids: reversed });
    expect((await publicModels()).models.map((m) => m.id)).toEqual(reversed);
    expect((await admin.post('/api/admin/catalog/models/order', { ids: ['veo-3.1', 'nope'] })).status).toBe(400);
    expect((await admin.post('/api/admin/catalog/models/order', { ids: ['veo-3.1', 'veo-3.1'] })).status).toBe(400);
    expect((await admin.post('/api/admin/catalog/models/order', { ids: [] })).status).toBe(400);
    await admin.post('/api/admin/catalog/models/order', { ids: builtin });
    expect((await publicModels()).models.map((m) => m.id)).toEqual(builtin);
  });
});

describe('plans and credit packs', () => {
  it('edited in the console: name, prices, credits, on sale or not; validated; the pricing page follows; audited', async () => {
    const admin = await person('admin');
    const patch = (id: string, body: unknown) => admin.patch(`/api/admin/catalog/plans/${id}`, body);
    const changed = await patch('studio', { name: 'Studio XL', credits: 16_000, prices: { usd: 12_500 }, reason: 'new price list' });
    expect(changed.status).toBe(200);
    expect(changed.json<AdminPlanView>()).toMatchObject({ id: 'studio', name: 'Studio XL', credits: 16_000, prices: { usd: 12_500 } });
    expect(await lastAudit('plan.update')).toMatchObject({
      target_type: 'plan',
      target_id: 'studio',
      reason: 'new price list',
      before: { name: 'Studio', credits: 15_000, prices: { usd: 12_000, eur: 11_200 } },
      after: { name: 'Studio XL', credits: 16_000, prices: { usd: 12_500 } },
    });
    const onSale = async () => ((await (await app.fetch('/api/billing/plans')).json()) as PlansResponse).plans.map((p) => p.id);
    expect(await onSale()).toContain('studio');
    expect((await patch('studio', { active: false })).status).toBe(200);
    expect(await onSale()).not.toContain('studio');

    const refused = async (body: unknown, id = 'starter') => {
      const r = await patch(id, body);
      return [r.status, r.json<{ error: { code: string } }>().error.code];
    };
    expect(await refused({ prices: { dollars: 100 } })).toEqual([400, 'invalid_request']);
    expect(await refused({ prices: {} })).toEqual([400, 'invalid_request']);
    expect(await refused({ prices: { usd: 9.5 } })).toEqual([400, 'invalid_request']);
    expect(await refused({ credits: 0 })).toEqual([400, 'invalid_request']);
    expect(await refused({ interval: 'year' })).toEqual([400, 'invalid_request']);
    expect(await refused({ kind: 'subscription' })).toEqual([400, 'invalid_request']);
    expect(await refused({ name: 'x' }, 'no-such-plan')).toEqual([404, 'not_found']);
    expect(await refused({ name: 'x' }, 'Not An Id')).toEqual([404, 'not_found']);
    expect(await refused({})).toEqual([400, 'invalid_request']);

    // provider ids and the API rate: set, then removed (null)
    const refs = await patch('pro-monthly', { providerRefs: { stripePriceId: 'price_123' }, apiRequestsPerMinute: 30 });
    expect(refs.json<AdminPlanView>()).toMatchObject({ providerRefs: { stripePriceId: 'price_123' }, apiRequestsPerMinute: 30 });
    const cleared = await patch('pro-monthly', { providerRefs: { stripePriceId: null }, apiRequestsPerMinute: null });
    expect(cleared.json<AdminPlanView>()).toMatchObject({ providerRefs: {}, apiRequestsPerMinute: null });
    await patch('studio', { name: 'Studio', credits: 15_000, prices: { usd: 12_000, eur: 11_200 }, active: true });
  });
});

describe('the CLI', () => {
  it('models:set, models:reset and plans:set share the console’s service and rules and are audited as the CLI', async () => {
    const out = await cli('models:set', ['--model', 'seedance-2.0', '--disable', '--reason', 'upstream outage', '--by', 'ops']);
    expect(out).toMatch(/^seedance-2\.0: unavailable \(disabled\)/);
    expect(await lastAudit('model.update')).toMatchObject({
      actor_id: null,
      actor_label: 'cli:ops',
      actor_role: null,
      via: 'cli',
      ip: 'local',
      target_id: 'seedance-2.0',
      reason: 'upstream outage',
      before: { enabled: true },
      after: { enabled: false },
    });
    expect((await publicModels()).models.map((m) => m.id)).not.toContain('seedance-2.0');
    // the console's rules and messages
    await expect(cli('models:set', ['--model', 'seedance-2.0', '--sunset', '24/09/2026', '--routes', 'fal'])).rejects.toMatchObject({
      code: 'invalid_request',
      message: 'Cannot change seedance-2.0: sunset date must be YYYY-MM-DD; seedance-2.0 has no route through fal (its routes: kie).',
    });
    await expect(cli('models:set', ['--model', 'seedance-2.0', '--lifecycle', 'retired', '--replacement', 'seedance-2.0'])).rejects.toThrow(/replacement/);
    expect(await cli('models:reset', ['--model', 'seedance-2.0', '--by', 'ops'])).toBe('seedance-2.0 is back to its built-in settings.');
    expect(await lastAudit('model.reset')).toMatchObject({ via: 'cli', actor_label: 'cli:ops', before: { enabled: false }, after: { enabled: true } });
    await expect(cli('models:reset', ['--model', 'nope'])).rejects.toMatchObject({ status: 404 });

    // plans:set creates a plan with the same rules, and changes it
    await expect(cli('plans:set', ['--plan', 'weekend', '--kind', 'pack', '--prices', 'usd=500'])).rejects.toThrow(/credits are required/);
    await expect(cli('plans:set', ['--plan', 'weekend', '--kind', 'pack', '--credits', '400', '--prices', 'us=500'])).rejects.toThrow(/not a currency code/);
    await expect(cli('plans:set', ['--plan', 'Weekend!', '--kind', 'pack'])).rejects.toThrow(/lowercase letters/);
    expect(await cli('plans:set', ['--plan', 'weekend', '--kind', 'pack', '--credits', '400', '--prices', 'usd=500,eur=450', '--by', 'ops'])).toBe(
      'weekend: weekend, pack, 400 credits, eur=450 usd=500, on sale.',
    );
    expect(await lastAudit('plan.create')).toMatchObject({ via: 'cli', target_id: 'weekend', before: null, after: { kind: 'pack', credits: 400 } });
    await cli('plans:set', ['--plan', 'weekend', '--prices', 'usd=550', '--deactivate']);
    expect(await lastAudit('plan.update')).toMatchObject({
      target_id: 'weekend',
      before: { prices: { usd: 500, eur: 450 }, active: true },
      after: { prices: { usd: 550, eur: 450 }, active: false },
    });
    const admin = await person('admin');
    const listed = (await admin.get('/api/admin/catalog')).json<AdminCatalog>().plans.find((p) => p.id === 'weekend');
    expect(listed).toMatchObject({ name: 'weekend', kind: 'pack', active: false, prices: { usd: 550, eur: 450 } });
  });
});
