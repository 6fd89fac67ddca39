import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminGenerationActionResult, AdminGenerationDetail, AdminGenerationList, GenerationView } from '../../../src/shared/api';
import { FakeClock } from '../../../src/server/adapters/clock';
import { callbackExcerpt } from '../../../src/server/domain/generations/engine';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { seedGeneration } from '../../helpers/seed';
import { balances, startGenerationsApp, type GenerationsApp } from '../generations/setup';

/**
 * The console's generations section (issue 18) on one generations app with the KIE fake, serving
 * the web role only (no worker: tasks move when the test dispatches them, and no sweep ends a task
 * behind its back) on a FakeClock the test moves past deadlines: the lookup by every filter, a
 * task's page with its route attempts and the callbacks KIE sent, cancel, the release of a task
 * stuck past its deadline exactly once under 30 concurrent requests, the refusals (a healthy or
 * finished task: 409), the audit entries and the roles.
 */
const clock = new FakeClock();
let g: GenerationsApp;
const PASSWORD = 'a fine password 1';
let n = 0;

interface Person extends TestClient {
  userId: string;
  email: string;
}

async function person(role: 'user' | 'support' | 'moderator' | 'admin'): Promise<Person> {
  const email = `gens-${role}-${++n}@example.com`;
  const u = await g.app.platform.ctx.services.users.create({ email, password: PASSWORD, name: `Gens ${role}`, role });
  const c = new TestClient(g.app.url, { ip: `192.0.2.${(n % 250) + 1}` });
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId: u.id, email });
}

let admin: Person;
let support: Person;
let moderator: Person;
let user: Person;

beforeAll(async () => {
  g = await startGenerationsApp({ TRUST_PROXY: 'true' }, { role: 'web', clock });
  [admin, support, moderator, user] = await Promise.all([person('admin'), person('support'), person('moderator'), person('user')]);
});
afterAll(() => closeAll(g));

const rows = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => g.app.db.sql.query<T>(text, params);
const engine = () => g.app.platform.ctx.services.engine;
const lookup = async (c: TestClient, params: Record<string, string>) => {
  const res = await c.get(`/api/admin/generations?${new URLSearchParams(params)}`);
  expect(res.status, res.body).toBe(200);
  return res.json<AdminGenerationList>();
};
const detail = async (c: TestClient, id: string) => {
  const res = await c.get(`/api/admin/generations/${id}`);
  expect(res.status, res.body).toBe(200);
  return res.json<AdminGenerationDetail>();
};
const audit = (id: string) =>
  rows<{ action: string; actor_id: string; actor_role: string; via: string; reason: string | null; before: unknown; after: unknown }>(
    `select action, actor_id, actor_role, via, reason, before, after from audit_log where target_type = 'generation' and target_id = $1 order by id`,
    [id],
  );
const ledger = async (id: string) =>
  (await rows<{ kind: string; amount: string }>(`select kind, amount from credit_ledger where reference = $1 order by id`, [`generation:${id}`])).map((r) => [
    r.kind,
    Number(r.amount),
  ]);

/** A user's Kling task on KIE (30 credits), submitted through the API; queued until the test dispatches it. */
async function submit(c: TestClient, prompt: string): Promise<GenerationView> {
  const res = await c.post('/api/generations', { model: 'kling-3.0', prompt, duration: 3, resolution: '720p', audio: false });
  expect(res.status, res.body).toBe(202);
  return res.json<GenerationView>();
}

describe('looking tasks up', () => {
  it('by id, user (id or email), model, provider, status, date and stuck, newest first in pages', async () => {
    const owner = Object.assign(await g.user('lookup-owner@example.com', 0), { email: 'lookup-owner@example.com' });
    const now = clock.nowMs();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    const seed = async (minutesAgo: number, over: Parameters<typeof seedGeneration>[2], set: string) => {
      const row = await seedGeneration(g.app.db, owner.userId, over, at(minutesAgo));
      await rows(`update generations set ${set} where id = $1`, [row.id]);
      return row.id;
    };
    const a = await seed(180, { modelId: 'kling-3.0', prompt: 'a harbour at dawn' }, `status = 'succeeded', provider = 'kie'`);
    const b = await seed(120, { modelId: 'veo-3.1' }, `status = 'failed', provider = 'kie', failure_code = 'generation_failed'`);
    // running since an hour, due after a minute: stuck
    const c = await seed(60, { modelId: 'local-preview', deadlineSeconds: 60 }, `status = 'running', provider = 'local'`);
    const d = await seed(5, { modelId: 'local-preview' }, `status = 'queued'`);

    const all = await lookup(support, { user: owner.email.toUpperCase() });
    expect(all.generations.map((r) => r.id)).toEqual([d, c, b, a]);
    expect(all.generations[3]).toMatchObject({
      model: 'kling-3.0',
      provider: 'kie',
      status: 'succeeded',
      stuck: false,
      promptStart: 'a harbour at dawn',
      user: { id: owner.userId, email: 'lookup-owner@example.com' },
    });
    expect(all.generations[1]).toMatchObject({ id: c, stuck: true });
    expect((await lookup(support, { user: owner.userId })).generations).toHaveLength(4);
    expect((await lookup(support, { user: 'nobody@example.com' })).generations).toEqual([]);
    const ids = async (p: Record<string, string>) => (await lookup(support, { user: owner.userId, ...p })).generations.map((r) => r.id);
    expect(await ids({ model: 'kling-3.0' })).toEqual([a]);
    expect(await ids({ provider: 'kie' })).toEqual([b, a]);
    expect(await ids({ status: 'failed' })).toEqual([b]);
    expect(await ids({ stuck: '1' })).toEqual([c]);
    expect(await ids({ from: at(150).toISOString(), to: at(30).toISOString() })).toEqual([c, b]);
    expect((await lookup(support, { id: b })).generations.map((r) => [r.id, r.failureCode])).toEqual([[b, 'generation_failed']]);
    const first = await lookup(support, { user: owner.userId, limit: '2' });
    const second = await lookup(support, { user: owner.userId, limit: '2', cursor: first.nextCursor! });
    expect([...first.generations, ...second.generations].map((r) => r.id)).toEqual([d, c, b, a]);
    expect(second.nextCursor).toBeNull();
    expect((await lookup(support, { stuck: '1' })).generations.map((r) => r.id)).toContain(c);

    for (const bad of [{ status: 'lost' }, { cursor: 'x' }, { from: 'soon' }, { stuck: 'maybe' }] as Record<string, string>[]) {
      expect((await support.get(`/api/admin/generations?${new URLSearchParams(bad)}`)).status, JSON.stringify(bad)).toBe(400);
    }
    expect((await support.get('/api/admin/generations/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await support.get('/api/admin/generations/nope')).status).toBe(404);

    // the video is a link, opened on purpose, and every look is in the audit log
    const e = await seed(1, {}, `status = 'succeeded', provider = 'local', output_url = 'https://cdn.example.com/v.mp4', output_content_type = 'video/mp4'`);
    const page = await detail(support, e);
    expect(page.generation.output).toMatchObject({ videoUrl: `/api/admin/generations/${e}/video`, contentType: 'video/mp4' });
    const video = await support.get(page.generation.output!.videoUrl!);
    expect([video.status, video.headers.get('location')]).toEqual([302, 'https://cdn.example.com/v.mp4']);
    expect((await support.get(`/api/admin/generations/${c}/video`)).status).toBe(404);
    expect((await audit(e)).map((r) => [r.action, r.actor_id])).toEqual([['generation.output.view', support.userId]]);
  });
});

describe("a task's page", () => {
  it('shows the request, the route attempts, the upstream task and the callbacks KIE sent, with what was done with each', async () => {
    const c = await g.user('page-owner@example.com', 100);
    const v = await submit(c, 'a lighthouse in the fog');
    // the first dispatch: KIE answers 503, the task waits to be sent again; the second is accepted,
    // and KIE calls back twice when it ends (a duplicate delivery)
    g.kie.inject({ kind: 'http-error', status: 503 });
    g.kie.inject({ kind: 'duplicate-callbacks' });
    await engine().dispatch(v.id);
    let d = await detail(support, v.id);
    expect(d.generation).toMatchObject({ status: 'queued', dispatchAttempts: 1, provider: null, prompt: 'a lighthouse in the fog' });
    expect(d.generation.routeAttempts).toEqual([
      { provider: 'kie', upstreamModel: expect.any(String), failure: expect.objectContaining({ kind: 'retryable' }) },
    ]);
    expect(d.ledger).toEqual([expect.objectContaining({ kind: 'hold', amount: -30, heldChange: 30 })]);
    expect(d.user).toMatchObject({ id: c.userId, email: 'page-owner@example.com' });
    expect(d.actions).toEqual({ cancel: true, release: false });

    await engine().dispatch(v.id);
    await g.kie.settled();
    d = await detail(support, v.id);
    const task = [...g.kie.tasks.values()].find((t) => typeof t.body.callBackUrl === 'string' && t.body.callBackUrl.includes(v.id))!;
    expect(d.generation).toMatchObject({
      status: 'finalizing',
      provider: 'kie',
      upstreamId: `job:${task.taskId}`,
      dispatchAttempts: 2,
      deadlineAt: v.deadlineAt,
    });
    expect(d.generation.upstreamModel).toBe(task.model);
    expect(d.generation.startedAt).not.toBeNull();
    expect(d.callbacks.map((cb) => [cb.provider, cb.state, cb.outcome])).toEqual([
      ['kie', 'succeeded', 'applied'],
      ['kie', 'succeeded', 'ignored'],
    ]);
    expect(d.callbacks[0]!.detail).toContain(task.taskId);
    // finalizing: the video is not ours yet, so there is no link to it
    expect(d.generation.output?.videoUrl ?? null).toBeNull();
    expect(d.actions).toEqual({ cancel: false, release: false });
    const late = await support.post(`/api/admin/generations/${v.id}/cancel`, { reason: 'too late' });
    expect([late.status, late.json().error.code]).toEqual([409, 'cannot_cancel']);
    expect(late.json().error.message).toContain('being stored');

    // a verified callback naming no task of ours records nothing
    const before = (await rows(`select id from generation_callbacks`)).length;
    const ts = String(Math.floor(Date.now() / 1000));
    const stray = await fetch(`${g.app.url}/webhooks/kie`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-webhook-timestamp': ts,
        'x-webhook-signature': createHmac('sha256', g.kie.hmacKey!).update(`not-ours.${ts}`).digest('base64'),
      },
      body: JSON.stringify({ code: 200, msg: 'success', data: { taskId: 'not-ours', state: 'success', resultJson: '{"resultUrls":[]}' } }),
    });
    expect([stray.status, await stray.json()]).toEqual([200, { ok: true }]);
    expect((await rows(`select id from generation_callbacks`)).length).toBe(before);
  });

  it('keeps at most 2,000 characters of a callback body, without URL query strings or secret-looking fields', () => {
    const body = Buffer.from(
      JSON.stringify({
        data: { taskId: 't1', resultUrls: ['https://files.example.com/v.mp4?X-Amz-Signature=abc&token=x'], apiKey: 'sk-live-1', pad: 'x'.repeat(3000) },
      }),
    );
    const excerpt = callbackExcerpt(body);
    expect(excerpt.length).toBeLessThanOrEqual(2000);
    expect(excerpt).toContain('https://files.example.com/v.mp4?…');
    expect(excerpt).not.toMatch(/X-Amz-Signature|sk-live-1/);
    expect(excerpt).toContain('"apiKey":"[redacted]"');
  });
});

describe('cancel', () => {
  it("cancels any user's queued or running task, returns its credits once, and refuses a finished one", async () => {
    const c = await g.user('cancel-owner@example.com', 100);
    const queued = await submit(c, 'a queued scene');
    const running = await submit(c, 'a running scene [fake:never-finish]');
    await engine().dispatch(running.id);
    expect(await balances(c)).toEqual({ balance: 40, held: 60 });

    const res = await support.post(`/api/admin/generations/${queued.id}/cancel`, { reason: 'user asked by mail' });
    expect(res.status, res.body).toBe(200);
    expect(res.json<AdminGenerationActionResult>()).toMatchObject({
      upstreamCanceled: null,
      generation: { status: 'canceled', refunded: true, failureCode: 'canceled' },
    });
    const run = await admin.post(`/api/admin/generations/${running.id}/cancel`, { reason: 'runaway task' });
    expect(run.status, run.body).toBe(200);
    // KIE has no cancel: it is told nothing, its result will be ignored
    expect(run.json<AdminGenerationActionResult>()).toMatchObject({ upstreamCanceled: false, generation: { status: 'canceled', refunded: true } });
    expect(await balances(c)).toEqual({ balance: 100, held: 0 });
    expect(await ledger(queued.id)).toEqual([
      ['hold', -30],
      ['release', 30],
    ]);

    const again = await support.post(`/api/admin/generations/${queued.id}/cancel`, { reason: 'twice' });
    expect([again.status, again.json().error.code]).toEqual([409, 'cannot_cancel']);
    expect((await support.post(`/api/admin/generations/${queued.id}/cancel`, {})).status).toBe(400);
    expect(await balances(c)).toEqual({ balance: 100, held: 0 });
    expect(await audit(queued.id)).toEqual([
      expect.objectContaining({
        action: 'generation.cancel',
        actor_id: support.userId,
        actor_role: 'support',
        via: 'console',
        reason: 'user asked by mail',
        before: expect.objectContaining({ status: 'queued', refunded: false }),
        after: expect.objectContaining({ status: 'canceled', refunded: true, upstreamCanceled: null }),
      }),
    ]);
    expect(
      (await audit(running.id)).map((r) => [r.action, (r.before as { status: string }).status, (r.after as { upstreamCanceled: boolean }).upstreamCanceled]),
    ).toEqual([['generation.cancel', 'running', false]]);
  });
});

describe('who may', () => {
  it('a moderator gets 403, a normal user and a visitor 404 on every generations route, whatever the body', async () => {
    const c = await g.user('roles-owner@example.com', 100);
    const v = await submit(c, 'nobody touches this');
    const routes: [string, string, unknown][] = [
      ['GET', '/api/admin/generations', undefined],
      ['GET', `/api/admin/generations/${v.id}`, undefined],
      ['GET', `/api/admin/generations/${v.id}/video`, undefined],
      ['POST', `/api/admin/generations/${v.id}/cancel`, { reason: 'not mine' }],
      ['POST', `/api/admin/generations/${v.id}/cancel`, { reason: 7 }],
      ['POST', `/api/admin/generations/${v.id}/release`, { reason: 'not mine' }],
    ];
    const visitor = new TestClient(g.app.url);
    for (const [method, path, body] of routes) {
      expect((await moderator.request(method, path, body)).status, `${method} ${path} (moderator)`).toBe(403);
      expect((await user.request(method, path, body)).status, `${method} ${path} (user)`).toBe(404);
      expect((await visitor.request(method, path, body)).status, `${method} ${path} (visitor)`).toBe(404);
    }
    expect((await detail(admin, v.id)).generation.status).toBe('queued');
    expect(await audit(v.id)).toEqual([]);
  });
});

// last: it moves the clock past the deadline (and past every session's recent sign-in)
describe('release of a task stuck past its deadline', () => {
  it('is refused for a healthy task, then fails the stuck task and releases its hold exactly once under 30 concurrent requests', async () => {
    const c = await g.user('stuck-owner@example.com', 100);
    const v = await submit(c, 'a scene that never ends [fake:never-finish]');
    await engine().dispatch(v.id);
    expect((await detail(support, v.id)).generation.status).toBe('running');
    const healthy = await support.post(`/api/admin/generations/${v.id}/release`, { reason: 'too early' });
    expect([healthy.status, healthy.json().error.code]).toEqual([409, 'not_stuck']);

    // the machine wakes after the deadline, and no sweep ran (which should never happen)
    await clock.set(new Date(v.deadlineAt).getTime() + 1000);
    expect((await lookup(support, { stuck: '1', user: c.userId })).generations.map((r) => r.id)).toEqual([v.id]);
    expect((await detail(support, v.id)).actions).toEqual({ cancel: true, release: true });

    // a sensitive action: the sign-in is older than 10 minutes now
    const stale = await support.post(`/api/admin/generations/${v.id}/release`, { reason: 'stuck' });
    expect([stale.status, stale.json().error.code]).toEqual([403, 'reauth_required']);
    expect((await support.post('/api/admin/reauth', { password: PASSWORD })).status).toBe(200);

    const answers = await Promise.all(
      Array.from({ length: 30 }, () => support.post(`/api/admin/generations/${v.id}/release`, { reason: 'stuck past its deadline' })),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(answers.filter((r) => r.status !== 200).map((r) => [r.status, r.json().error.code])).toEqual(Array(29).fill([409, 'already_final']));
    const done = answers.find((r) => r.status === 200)!.json<AdminGenerationActionResult>();
    expect(done.generation).toMatchObject({ status: 'failed', failureCode: 'deadline', refunded: true, stuck: false });
    expect(done.upstreamCanceled).toBe(false);

    expect(await ledger(v.id)).toEqual([
      ['hold', -30],
      ['release', 30],
    ]);
    expect(await balances(c)).toEqual({ balance: 100, held: 0 });
    expect((await c.get(`/api/generations/${v.id}`)).json<GenerationView>()).toMatchObject({ status: 'failed', failure: { code: 'deadline', refunded: true } });
    expect(await audit(v.id)).toEqual([
      expect.objectContaining({
        action: 'generation.release',
        actor_id: support.userId,
        reason: 'stuck past its deadline',
        before: expect.objectContaining({ status: 'running', refunded: false }),
        after: expect.objectContaining({ status: 'failed', refunded: true, failureCode: 'deadline' }),
      }),
    ]);
    expect((await lookup(support, { stuck: '1', user: c.userId })).generations).toEqual([]);
    const after = await support.post(`/api/admin/generations/${v.id}/release`, { reason: 'again' });
    expect([after.status, after.json().error.code]).toEqual([409, 'already_final']);
  });
});
