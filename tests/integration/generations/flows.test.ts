import { BOSS_SCHEMA } from '../../../src/server/db/migrate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/server/adapters/clock';
import type { GenerationView } from '../../../src/shared/api';
import { balances, startGenerationsApp, waitFinal, type GenerationsApp } from './setup';
import { closeAll } from '../../helpers/close';
import { until } from '../../helpers/wait';

/** Submit-side guarantees, measured on a web-only process (no workers: tasks stay queued). */
describe('submitting without workers', () => {
  let g: GenerationsApp;
  beforeAll(async () => {
    g = await startGenerationsApp({ GENERATION_MAX_IN_FLIGHT: '1000' }, { role: 'web' });
  });
  afterAll(() => closeAll(g));

  it('200 concurrent submissions against a balance that covers exactly 20: 20 accepted, the rest 402, nothing lost', async () => {
    const c = await g.user('burst@example.com', 40); // 20 x 2 credits
    const body = { model: 'local-preview', prompt: 'burst', duration: 2, resolution: '480p' };
    const results = await Promise.all(Array.from({ length: 200 }, () => c.post('/api/generations', body)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(20);
    expect(statuses.filter((s) => s === 402)).toHaveLength(180);
    expect(await balances(c)).toEqual({ balance: 0, held: 40 });
    const [sums] = await g.app.db.sql.query<{ amount: string; held: string; holds: string }>(
      `select sum(amount) as amount, sum(held_delta) as held, count(*) filter (where kind = 'hold') as holds from credit_ledger where user_id = $1`,
      [c.userId],
    );
    expect([Number(sums!.amount), Number(sums!.held), Number(sums!.holds)]).toEqual([0, 40, 20]);
    const [tasks] = await g.app.db.sql.query<{ n: string }>('select count(*) as n from generations where user_id = $1', [c.userId]);
    expect(Number(tasks!.n)).toBe(20);
  });

  it('caps the generations one user has in flight (429)', async () => {
    const local = await startGenerationsApp({ GENERATION_MAX_IN_FLIGHT: '2' }, { role: 'web' });
    try {
      const c = await local.user('cap@example.com', 100);
      const body = { model: 'local-preview', prompt: 'cap', duration: 2, resolution: '480p' };
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await c.post('/api/generations', body)).status);
      expect(statuses).toEqual([202, 202, 429]);
      expect(await balances(c)).toEqual({ balance: 96, held: 4 });
    } finally {
      await local.close();
    }
  });

  it('cancels a queued generation and returns its credits', async () => {
    const c = await g.user('cancel@example.com', 10);
    const v = (await c.post('/api/generations', { model: 'local-preview', prompt: 'never mind', duration: 4, resolution: '480p' })).json<GenerationView>();
    expect(await balances(c)).toEqual({ balance: 6, held: 4 });
    const res = await c.post(`/api/generations/${v.id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'canceled',
      failure: { code: 'canceled', refunded: true, message: 'Canceled before it started. Your 4 credits were returned.' },
    });
    expect(await balances(c)).toEqual({ balance: 10, held: 0 });
    // a second cancel changes nothing
    expect((await c.post(`/api/generations/${v.id}/cancel`)).status).toBe(200);
    expect(await balances(c)).toEqual({ balance: 10, held: 0 });
  });

  it('pages through generations and credit history with cursors, and filters by status and model', async () => {
    const c = await g.user('pages@example.com', 100);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await c.post('/api/generations', { model: 'local-preview', prompt: `p${i}`, duration: 2, resolution: '480p' })).json<GenerationView>().id);
    await c.post(`/api/generations/${ids[0]!}/cancel`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      // (typed here: the cursor it gives is read back into the request that makes it)
      const page: { items: GenerationView[]; nextCursor: string | null } = (await c.get(`/api/generations?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const canceled = (await c.get('/api/generations?status=canceled')).json<{ items: GenerationView[] }>();
    expect(canceled.items.map((i) => i.id)).toEqual([ids[0]]);
    expect((await c.get('/api/generations?model=sora-2')).json<{ items: unknown[] }>().items).toEqual([]);
    expect((await c.get('/api/generations?cursor=not-a-cursor')).status).toBe(400);

    const first = (await c.get('/api/credits?limit=3')).json<{ balance: number; held: number; history: { items: { kind: string }[]; nextCursor: string } }>();
    expect(first).toMatchObject({ balance: 92, held: 8 });
    expect(first.history.items.map((i) => i.kind)).toEqual(['release', 'hold', 'hold']);
    const rest = (await c.get(`/api/credits?limit=10&cursor=${first.history.nextCursor}`)).json<{
      history: { items: { kind: string }[]; nextCursor: null };
    }>();
    expect(rest.history.items.map((i) => i.kind)).toEqual(['hold', 'hold', 'hold', 'grant']);
    expect(rest.history.nextCursor).toBeNull();
  });
});

describe('tracking, with workers', () => {
  let g: GenerationsApp;
  beforeAll(async () => {
    g = await startGenerationsApp({ GENERATION_UNKNOWN_OUTCOME_GRACE_SECONDS: '60' });
  });
  afterAll(() => closeAll(g));

  it('streams progress over Server-Sent Events until the video is ready', async () => {
    const c = await g.user('sse@example.com', 10);
    const controller = new AbortController();
    const res = await fetch(`${g.app.url}/api/generations/events`, { headers: { cookie: c.cookieHeader() }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const v = (await c.post('/api/generations', { model: 'local-preview', prompt: 'live', duration: 2, resolution: '480p' })).json<GenerationView>();
    const statuses: string[] = [];
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const deadline = Date.now() + 20_000;
    while (!statuses.includes('succeeded') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^event: generation\n(?:id: .*\n)?data: (.*)$/m.exec(frame);
        if (data) {
          const view = JSON.parse(data[1]!) as GenerationView;
          expect(view.id).toBe(v.id);
          if (statuses.at(-1) !== view.status) statuses.push(view.status);
        }
      }
    }
    controller.abort();
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('running');
  });

  it('when the create call times out after KIE accepted, it waits for the callback, adopts the task and does not create another', async () => {
    const c = await g.user('unknown@example.com', 100);
    const before = g.kie.tasks.size;
    const v = (
      await c.post('/api/generations', { model: 'kling-3.0', prompt: 'lost answer [fake:accept-then-timeout]', duration: 3, resolution: '720p', audio: false })
    ).json<GenerationView>();
    const done = await waitFinal(c, v.id);
    expect(done.status).toBe('succeeded');
    expect(g.kie.tasks.size).toBe(before + 1); // exactly one upstream task
    expect(await balances(c)).toEqual({ balance: 70, held: 0 });
    const [row] = await g.app.db.sql.query<{ upstream_id: string }>('select upstream_id from generations where id = $1', [v.id]);
    expect(row!.upstream_id).toMatch(/^job:/);
  });
});

/** Time-driven repairs on a web-only process, on a clock the tests move (no workers: tasks stay queued). */
describe('on a clock the test moves, without workers', () => {
  let g: GenerationsApp;
  let clock: FakeClock;
  beforeAll(async () => {
    clock = new FakeClock(); // now: it starts at the real time, as the rows the database dates itself
    g = await startGenerationsApp({}, { role: 'web', clock });
  });
  afterAll(() => closeAll(g));

  it('a queued task whose dispatch job died with its worker is dispatched again after 30 s, not when the job expires', async () => {
    const c = await g.user('orphan@example.com', 10);
    const body = { model: 'local-preview', prompt: 'orphan', duration: 2, resolution: '480p' };
    const orphan = (await c.post('/api/generations', body)).json<GenerationView>().id;
    const waiting = (await c.post('/api/generations', body)).json<GenerationView>().id;
    const jobs = async (id: string) =>
      (
        await g.app.db.sql.query<{ state: string }>(
          `select state::text as state from ${BOSS_SCHEMA}.job where name = 'generation.dispatch' and data->>'id' = $1 order by created_on`,
          [id],
        )
      ).map((r) => r.state);
    // the orphan's job was taken by a worker that died before taking the task; the other one's job still waits for a worker
    await g.app.db.sql.query(`update ${BOSS_SCHEMA}.job set state = 'active', started_on = now() where name = 'generation.dispatch' and data->>'id' = $1`, [
      orphan,
    ]);
    const { engine } = g.app.platform.ctx.services;
    // not yet: a live worker takes its task within 30 s
    await clock.advance(29_000);
    await engine.sweep();
    expect(await jobs(orphan)).toEqual(['active']);
    await clock.advance(2_000);
    await engine.sweep();
    expect(await jobs(orphan)).toEqual(['active', 'created']);
    expect(await jobs(waiting)).toEqual(['created']);
    // once, not at every sweep
    await engine.sweep();
    expect(await jobs(orphan)).toEqual(['active', 'created']);
  });

  it('honours an Idempotency-Key for 24 hours; after that the key makes a new generation', async () => {
    const c = await g.user('daily-key@example.com', 10);
    const body = { model: 'local-preview', prompt: 'every day', duration: 2, resolution: '480p' };
    const first = await c.post('/api/generations', body, { 'idempotency-key': 'daily' });
    expect(first.status).toBe(202);
    await clock.advance(24 * 3600_000 - 1);
    const replayed = await c.post('/api/generations', body, { 'idempotency-key': 'daily' });
    expect([replayed.status, replayed.headers.get('idempotent-replayed'), replayed.json<GenerationView>().id]).toEqual([
      200,
      'true',
      first.json<GenerationView>().id,
    ]);
    await clock.advance(1);
    const next = await c.post('/api/generations', body, { 'idempotency-key': 'daily' });
    expect([next.status, next.headers.get('idempotent-replayed')]).toEqual([202, null]);
    expect(next.json<GenerationView>().id).not.toBe(first.json<GenerationView>().id);
    // the key now names the new generation only
    const keys = await g.app.db.sql.query<{ id: string; k: string | null }>('select id, idempotency_key as k from generations where user_id = $1', [c.userId]);
    expect(Object.fromEntries(keys.map((r) => [r.id, r.k]))).toEqual({ [first.json<GenerationView>().id]: null, [next.json<GenerationView>().id]: 'daily' });
    expect(await balances(c)).toEqual({ balance: 6, held: 4 });
  });
});

/** The tracker on a clock the test moves: deadlines pass when the test says so. */
describe('tracking on a clock the test moves, with workers', () => {
  let g: GenerationsApp;
  let clock: FakeClock;
  beforeAll(async () => {
    clock = new FakeClock();
    g = await startGenerationsApp({}, { clock });
  });
  afterAll(() => closeAll(g));

  it('ends a generation past its deadline and returns the credits', async () => {
    const c = await g.user('deadline@example.com', 100);
    const v = (
      await c.post('/api/generations', { model: 'kling-3.0', prompt: 'forever [fake:never-finish]', duration: 3, resolution: '720p', audio: false })
    ).json<GenerationView>();
    await until(async () => (await c.get(`/api/generations/${v.id}`)).json<GenerationView>().status === 'running', { app: g.app, what: 'the task to run' });
    // the machine wakes a second after the deadline (the tracker's loops wake once, and so does this sweep)
    await clock.set(new Date(v.deadlineAt).getTime() + 1000);
    await g.app.platform.ctx.services.engine.sweep();
    const done = await waitFinal(c, v.id);
    expect([done.status, done.failure?.code, done.failure?.refunded]).toEqual(['failed', 'deadline', true]);
    expect(await balances(c)).toEqual({ balance: 100, held: 0 });
  });
});
