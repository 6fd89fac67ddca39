import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/server/adapters/clock';
import { startGenerationsApp, type GenerationsApp } from './setup';
import { closeAll } from '../../helpers/close';

/**
 * Polling is concurrent and bounded: with 1,000 generations running upstream (and no callbacks
 * reaching us), every one is checked within each max-interval window. The window here is 6 s —
 * five times tighter than the 30 s default. The tracker runs on a fake clock that the test moves a
 * second at a time, letting each second's polls finish before the next: the schedule (back-off,
 * leases, batches) is what is checked, on clock time, however busy the machine is.
 */
const TASKS = 1000;
const WINDOW_S = 6;

describe('polling at scale', () => {
  let g: GenerationsApp;
  const clock = new FakeClock();
  beforeAll(async () => {
    g = await startGenerationsApp(
      { GENERATION_POLL_MAX_INTERVAL_SECONDS: String(WINDOW_S), GENERATION_POLL_CONCURRENCY: '32', KIE_MAX_CONCURRENCY: '64', KIE_RATE_PER_MINUTE: '100000' },
      { role: 'web', clock },
    );
  });
  afterAll(() => closeAll(g));

  it(`checks each of ${TASKS} running tasks at least every ${WINDOW_S} s`, async () => {
    const c = await g.user('poller@example.com', 0);
    // tasks that run upstream forever, created through the real KIE adapter (no callback URL: polling only)
    const kie = g.app.platform.ctx.providers.get('kie');
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, TASKS - i) }, (_, j) =>
          kie.submit(
            {
              modelId: 'kling-3.0',
              upstreamModel: 'kling-3.0/text-to-video',
              mode: 'text-to-video',
              prompt: `poll ${i + j} [fake:never-finish]`,
              durationSeconds: 3,
              resolution: '720p',
              aspectRatio: '16:9',
              audio: false,
              references: [],
            },
            `poll-${i + j}`,
          ),
        ),
      );
      ids.push(...batch.map((b) => b.upstreamId));
    }
    await g.app.db.sql.query(
      `insert into generations (id, user_id, model_id, mode, prompt, duration_seconds, resolution, aspect_ratio, audio, price_credits,
                                status, provider, upstream_model, upstream_id, callback_key, next_poll_at, deadline_at, started_at)
       select gen_random_uuid()::text, $1, 'kling-3.0', 'text-to-video', 'poll', 3, '720p', '16:9', false, 0,
              'running', 'kie', 'kling-3.0/text-to-video', u, u, $3::timestamptz, $3::timestamptz + interval '1 hour', $3::timestamptz
         from unnest($2::text[]) as u`,
      [c.userId, ids, clock.now().toISOString()],
    );
    const engine = g.app.platform.ctx.services.engine;
    // the tracker's two loops (polling, sweep) asleep on the clock: this second's work is done
    const idle = () => clock.waitForSleepers(2, 100_000);
    const second = async () => {
      await clock.advance(1000);
      await idle();
    };
    engine.startTracker();
    try {
      // warm up one full cycle, then watch one window
      await idle();
      for (let s = 0; s < WINDOW_S; s++) await second();
      const from = g.kie.requests.length;
      for (let s = 0; s < WINDOW_S; s++) await second();
      const polled = new Set(
        g.kie.requests
          .slice(from)
          .filter((r) => r.path === '/api/v1/jobs/recordInfo')
          .map((r) => `job:${r.query.taskId ?? ''}`),
      );
      const missed = ids.filter((id) => !polled.has(id));
      expect(missed.length, `${missed.length} of ${TASKS} not polled in ${WINDOW_S} s`).toBe(0);
    } finally {
      await engine.stop();
    }
  }, 240_000);
});
