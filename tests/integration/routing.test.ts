import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/server/adapters/clock';
import { createFalProvider } from '../../src/server/adapters/providers/fal';
import { registryOf } from '../../src/server/adapters/providers/index';
import { createKieProvider } from '../../src/server/adapters/providers/kie';
import { withLimits } from '../../src/server/adapters/providers/limits';
import type { NormalizedStatus, ProviderId, VideoProvider } from '../../src/server/adapters/providers/provider';
import { listRouteHealth } from '../../src/server/domain/catalog/catalog.repo';
import { createCatalogService, type CatalogService } from '../../src/server/domain/catalog/catalog.service';
import { AllRoutesFailed, createProviderRouter, DispatchOutcomeUnknown, type ProviderRouter } from '../../src/server/domain/catalog/router';
import { startFakeFal, type FakeFal } from '../fakes/fal';
import { startFakeKie, type FakeKie } from '../fakes/kie';
import { closeAll } from '../helpers/close';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startWebhookReceiver, type ReceivedHook, type WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * Routing and failover with the fake KIE and FAL servers running: real adapters, real HTTP,
 * route health in the database, routes resting on a clock the tests move. The fakes announce the
 * end of each task with a signed callback to a local receiver per provider.
 */
let db: TestDatabase;
let kie: FakeKie;
let fal: FakeFal;
let kieHooks: WebhookReceiver;
let falHooks: WebhookReceiver;
const hooksOf = (provider: 'kie' | 'fal') => (provider === 'kie' ? kieHooks : falHooks);
let providers: Map<ProviderId, VideoProvider>;
let catalog: CatalogService;
let router: ProviderRouter;
const clock = new FakeClock();

const submits = (fake: FakeKie | FakeFal) => fake.requests.filter((r) => r.method === 'POST' && !r.path.includes('upload')).length;

beforeAll(async () => {
  db = await createTestDatabase();
  kie = await startFakeKie({ stepMs: 50 });
  fal = await startFakeFal({ stepMs: 50 });
  [kieHooks, falHooks] = await Promise.all([startWebhookReceiver('/webhooks/kie'), startWebhookReceiver('/webhooks/fal')]);
  providers = new Map<ProviderId, VideoProvider>([
    [
      'kie',
      withLimits(createKieProvider({ apiKey: kie.apiKey, baseUrl: kie.url, uploadUrl: kie.url, webhookHmacKey: kie.hmacKey, timeoutMs: 1000 }), {
        maxConcurrent: 4,
        submitsPerMinute: 1000,
      }),
    ],
    [
      'fal',
      withLimits(createFalProvider({ apiKey: fal.apiKey, queueUrl: fal.url, jwksUrl: fal.jwksUrl, timeoutMs: 1000 }), {
        maxConcurrent: 4,
        submitsPerMinute: 1000,
      }),
    ],
  ]);
  const registry = registryOf(providers);
  catalog = createCatalogService({ database: db, providerStatus: (id) => registry.status(id), clock });
  router = createProviderRouter({
    database: db,
    providers: registry,
    failureThreshold: 2,
    cooldownSeconds: 300,
    callbackUrl: (p) => (p === 'kie' || p === 'fal' ? hooksOf(p).url : undefined),
    clock,
  });
});
afterAll(async () => {
  // the fakes first: closing them drops the callbacks they still had to send
  await closeAll(kie, fal, kieHooks, falHooks);
  await (db as TestDatabase | undefined)?.drop();
});
beforeEach(async () => {
  kie.clearInjections();
  fal.clearInjections();
  await db.sql.exec('delete from route_health; delete from model_settings;');
  // operators put KIE first for Sora 2 (the built-in order is FAL first)
  await catalog.update('sora-2', { routeOrder: ['kie', 'fal'] }, 'test');
});

async function dispatch(body: object, key: string) {
  const { model, request } = await catalog.parseRequest(body, { requireAvailable: true });
  return router.submit(model, request, [], key);
}

const isFinal = (s: NormalizedStatus) => s.state === 'succeeded' || s.state === 'failed' || s.state === 'canceled';

/**
 * The task's status as its provider reports it once it has ended: awaits the provider's signed
 * callback saying so (each delivery verified as the webhook route does), then asks the provider.
 */
async function settle(provider: 'kie' | 'fal', upstreamId: string): Promise<NormalizedStatus> {
  const p = providers.get(provider)!;
  const key = p.callbackKey(upstreamId);
  const looked = new Set<ReceivedHook>();
  for (;;) {
    const hook = await hooksOf(provider).waitFor((h) => !looked.has(h), 20_000);
    looked.add(hook);
    const verdict = await p.verifyCallback(hook.body, hook.headers);
    if (verdict.ok && verdict.event.upstreamId === key && isFinal(verdict.event.status)) return p.poll(upstreamId);
  }
}

describe('routing and failover', () => {
  it('goes to the first route when it works', async () => {
    const before = submits(fal);
    const d = await dispatch({ model: 'sora-2', prompt: 'a quiet harbour at dawn' }, 'route-first');
    expect(d).toMatchObject({ provider: 'kie', upstreamModel: 'sora-2-text-to-video', attempts: [] });
    expect(submits(fal)).toBe(before);
    expect((await settle('kie', d.upstreamId)).state).toBe('succeeded');
  });

  it('fails over to the next route when KIE answers 503 at submit', async () => {
    kie.inject({ kind: 'http-error', status: 503 });
    const kieTasks = kie.tasks.size;
    const d = await dispatch({ model: 'sora-2', prompt: 'a lantern festival' }, 'route-503');
    expect(d.provider).toBe('fal');
    expect(d.upstreamModel).toBe('fal-ai/sora-2/text-to-video');
    expect(d.attempts).toEqual([{ provider: 'kie', upstreamModel: 'sora-2-text-to-video', failure: expect.objectContaining({ kind: 'retryable' }) }]);
    expect(kie.tasks.size).toBe(kieTasks); // KIE created nothing
    expect((await settle('fal', d.upstreamId)).state).toBe('succeeded');
    const [health] = await listRouteHealth(db, 'sora-2');
    expect(health).toMatchObject({ provider: 'kie', consecutiveFailures: 1, unhealthyUntil: null });
  });

  it('fails over on 429 as well, and rests a route after repeated failures', async () => {
    kie.inject({ kind: 'rate-limit', retryAfterSeconds: 2 }, 2);
    await dispatch({ model: 'sora-2', prompt: 'one' }, 'route-429-a');
    await dispatch({ model: 'sora-2', prompt: 'two' }, 'route-429-b');
    const [health] = await listRouteHealth(db, 'sora-2');
    expect(health!.consecutiveFailures).toBe(2);
    expect(health!.unhealthyUntil).toEqual(new Date(clock.nowMs() + 300_000)); // the cooldown, from the second failure
    // the resting route is now tried last: the next request goes straight to FAL
    const kieCalls = submits(kie);
    const d = await dispatch({ model: 'sora-2', prompt: 'three' }, 'route-429-c');
    expect([d.provider, d.attempts]).toEqual(['fal', []]);
    expect(submits(kie)).toBe(kieCalls);
    // once its cooldown has passed, the route is first again
    await clock.advance(300_000);
    const rested = await dispatch({ model: 'sora-2', prompt: 'four' }, 'route-429-d');
    expect([rested.provider, rested.attempts]).toEqual(['kie', []]);
    expect(submits(kie)).toBe(kieCalls + 1);
  });

  it('ends a task accepted by KIE and then rejected for content as a policy rejection, not success', async () => {
    kie.inject({ kind: 'policy-after-accept' });
    const d = await dispatch({ model: 'sora-2', prompt: 'something the upstream refuses' }, 'route-policy');
    expect(d.provider).toBe('kie'); // accepted: no failover
    const final = await settle('kie', d.upstreamId);
    expect(final.state).toBe('failed');
    expect(final.state === 'failed' && final.error.kind).toBe('policy');
  });

  it('never moves on when the upstream may have accepted the task', async () => {
    kie.inject({ kind: 'accept-then-timeout' });
    const falCalls = submits(fal);
    const err = await dispatch({ model: 'sora-2', prompt: 'maybe accepted' }, 'route-unknown').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DispatchOutcomeUnknown);
    expect((err as DispatchOutcomeUnknown).provider).toBe('kie');
    expect(submits(fal)).toBe(falCalls); // no duplicate upstream task
  });

  it('does not fail over a request the upstream calls invalid', async () => {
    kie.inject({ kind: 'invalid-input' });
    const falCalls = submits(fal);
    const err = await dispatch({ model: 'sora-2', prompt: 'bad for kie' }, 'route-invalid').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AllRoutesFailed);
    expect((err as AllRoutesFailed).last.kind).toBe('invalid_input');
    expect(submits(fal)).toBe(falCalls);
  });

  it('reports the last error when every route fails', async () => {
    kie.inject({ kind: 'http-error', status: 502 });
    fal.inject({ kind: 'http-error', status: 503 });
    const err = (await dispatch({ model: 'sora-2', prompt: 'everything is down' }, 'route-all-down').catch((e: unknown) => e)) as AllRoutesFailed;
    expect(err).toBeInstanceOf(AllRoutesFailed);
    expect(err.attempts.map((a) => [a.provider, a.failure.kind])).toEqual([
      ['kie', 'retryable'],
      ['fal', 'retryable'],
    ]);
  });
});
