import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/server/adapters/clock';
import type { ProviderId } from '../../src/server/adapters/providers/provider';
import { createCatalogService, type CatalogService } from '../../src/server/domain/catalog/catalog.service';
import { listRouteHealth, recordRouteFailure, recordRouteSuccess } from '../../src/server/domain/catalog/catalog.repo';
import { AppError } from '../../src/server/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
let configured: Set<ProviderId>;
let catalog: CatalogService;
let clock: FakeClock;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => (db as TestDatabase | undefined)?.drop());
beforeEach(async () => {
  await db.sql.exec('delete from model_settings; delete from route_health;');
  configured = new Set<ProviderId>(['local']);
  clock = new FakeClock();
  catalog = createCatalogService({
    database: db,
    providerStatus: (id) => (configured.has(id) ? { available: true } : { available: false, reason: `${id.toUpperCase()} key is not set` }),
    clock,
  });
});

const availability = async () => Object.fromEntries((await catalog.list()).map((m) => [m.id, m.available]));

async function appError(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('catalog availability', () => {
  it('with only the local renderer, lists local-preview as available and the others as unavailable', async () => {
    expect(await availability()).toEqual({
      'veo-3.1': false,
      'veo-3.1-fast': false,
      'kling-3.0': false,
      'seedance-2.0': false,
      'sora-2': false,
      'sora-2-pro': false,
      'local-preview': true,
    });
    const sora = await catalog.get('sora-2');
    expect(sora).toMatchObject({ unavailableReason: 'no_provider' });
    expect(sora!.routes.map((r) => [r.provider, r.available, r.unavailableReason])).toEqual([
      ['fal', false, 'FAL key is not set'],
      ['kie', false, 'KIE key is not set'],
    ]);
  });

  it('makes a model available as soon as one of its routes is configured', async () => {
    configured.add('fal');
    expect(await availability()).toMatchObject({ 'sora-2': true, 'sora-2-pro': true, 'veo-3.1': false });
    configured.add('kie');
    expect(Object.values(await availability()).every(Boolean)).toBe(true);
  });
});

describe('operator overrides (stored in the database)', () => {
  it('changes a price at run time, and the quote follows', async () => {
    const body = { model: 'local-preview', prompt: 'a lighthouse', duration: 4, resolution: '720p' };
    expect((await catalog.parseRequest(body)).quote.credits).toBe(4);
    await catalog.update('local-preview', { price: { perSecond: { '480p': 2, '720p': 3, '1080p': 5 }, minimum: 1 } }, 'ops@example.com');
    expect((await catalog.parseRequest(body)).quote.credits).toBe(12);
    const m = await catalog.get('local-preview');
    expect(m!.overridden.price).toBe(true);
    const row = await db.sql.query<{ updated_by: string; updated_at: Date }>(
      "select updated_by, updated_at from model_settings where model_id = 'local-preview'",
    );
    expect(row[0]!.updated_by).toBe('ops@example.com');
    expect(new Date(row[0]!.updated_at)).toEqual(clock.now()); // the change is dated by the clock
    await catalog.reset('local-preview');
    expect((await catalog.parseRequest(body)).quote.credits).toBe(4);
  });

  it('refuses a price that leaves a resolution without a rate', async () => {
    const err = await appError(catalog.update('kling-3.0', { price: { perSecond: { '720p': 5 } } }, 'cli'));
    expect(err.message).toMatch(/per-second rate for 1080p/);
    expect(await db.sql.query('select 1 from model_settings')).toHaveLength(0);
  });

  it('disables and re-enables a model', async () => {
    await catalog.update('local-preview', { enabled: false }, 'cli');
    expect(await catalog.get('local-preview')).toMatchObject({ enabled: false, available: false, unavailableReason: 'disabled' });
    const err = await appError(catalog.parseRequest({ model: 'local-preview', prompt: 'x' }, { requireAvailable: true }));
    expect([err.status, err.code]).toEqual([503, 'model_unavailable']);
    await catalog.update('local-preview', { enabled: true }, 'cli');
    expect(await catalog.get('local-preview')).toMatchObject({ enabled: true, available: true });
  });

  it('retires Sora 2 by a setting, naming its replacement', async () => {
    configured.add('kie');
    const sora = (await catalog.get('sora-2'))!;
    await catalog.update('sora-2', { lifecycle: { ...sora.lifecycle, state: 'retired' } }, 'cli');
    const err = await appError(catalog.parseRequest({ model: 'sora-2', prompt: 'x' }, { requireAvailable: true }));
    expect([err.status, err.code]).toEqual([410, 'model_retired']);
    expect(err.message).toBe('Sora 2 has been retired. Try Veo 3.1 Fast (veo-3.1-fast) instead.');
    await expect(catalog.update('sora-2', { lifecycle: { state: 'retired', replacement: 'sora-2' } }, 'cli')).rejects.toThrow(/replacement/);
  });

  it('reorders and removes routes', async () => {
    configured.add('kie').add('fal');
    await catalog.update('sora-2', { routeOrder: ['kie', 'fal'] }, 'cli');
    expect((await catalog.get('sora-2'))!.routes.map((r) => [r.provider, r.priority])).toEqual([
      ['kie', 1],
      ['fal', 2],
    ]);
    await catalog.update('sora-2', { routeOrder: ['fal'] }, 'cli');
    expect((await catalog.get('sora-2'))!.routes.map((r) => r.provider)).toEqual(['fal']);
    // leaving only a route whose provider is not configured makes the model unavailable
    configured.delete('fal');
    expect(await catalog.get('sora-2')).toMatchObject({ available: false, unavailableReason: 'no_provider' });
    await expect(catalog.update('sora-2', { routeOrder: ['local'] }, 'cli')).rejects.toThrow(/no route through local/);
  });
});

describe('request validation', () => {
  it('answers 400 with one entry per bad field, naming the allowed values', async () => {
    const err = await appError(catalog.parseRequest({ model: 'sora-2', prompt: 'x', duration: 7 }));
    expect(err.status).toBe(400);
    expect(err.details).toEqual({ fields: [{ field: 'duration', message: 'Sora 2 makes videos of 4 s, 8 s or 12 s (got 7 s).', allowed: [4, 8, 12] }] });
  });

  it('names the known models when the model is unknown', async () => {
    const err = await appError(catalog.parseRequest({ model: 'sora-3', prompt: 'x' }));
    expect((err.details as { fields: { field: string; allowed: string[] }[] }).fields[0]).toMatchObject({
      field: 'model',
      allowed: expect.arrayContaining(['veo-3.1', 'local-preview']),
    });
  });
});

describe('route health', () => {
  it('marks a route unhealthy after the threshold of failures in a row, across callers, and a success heals it', async () => {
    const route = { modelId: 'sora-2', provider: 'fal' };
    const failedAt = clock.now();
    await Promise.all([1, 2, 3].map(() => db.transaction((tx) => recordRouteFailure(tx, route, 'retryable: 503', 3, 60, failedAt))));
    const [h] = await listRouteHealth(db, 'sora-2');
    expect(h!.consecutiveFailures).toBe(3);
    expect(h!.unhealthyUntil).toEqual(new Date(failedAt.getTime() + 60_000)); // rests for the cooldown, from the failure
    configured.add('kie').add('fal');
    expect((await catalog.get('sora-2'))!.routes[0]!.unhealthyUntil).toEqual(h!.unhealthyUntil);
    await recordRouteSuccess(db, route, clock.now());
    const [healed] = await listRouteHealth(db, 'sora-2');
    expect([healed!.consecutiveFailures, healed!.unhealthyUntil]).toEqual([0, null]);
  });

  it('a resting route is healthy again once its cooldown has passed on the clock', async () => {
    configured.add('kie').add('fal');
    const route = { modelId: 'sora-2', provider: 'fal' };
    for (let i = 0; i < 3; i++) await recordRouteFailure(db, route, 'retryable: 503', 3, 60, clock.now());
    await clock.advance(59_999);
    expect((await catalog.get('sora-2'))!.routes[0]!.unhealthyUntil).toBeInstanceOf(Date);
    await clock.advance(1);
    expect((await catalog.get('sora-2'))!.routes[0]!.unhealthyUntil).toBeUndefined();
  });
});
