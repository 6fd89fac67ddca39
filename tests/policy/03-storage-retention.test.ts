import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView } from '../../src/shared/api';
import { FakeClock } from '../../src/server/adapters/clock';
import { purgeDeleted } from '../../src/server/domain/media/purge';
import { parseConfig } from '../../src/server/config';
import { retentionSchedule } from '../../src/server/domain/privacy/retention';
import { createRetentionService } from '../../src/server/domain/privacy/retention.service';
import { until } from '../helpers/wait';
import { startGenerationsApp, waitFinal, type GenerationsApp } from '../integration/generations/setup';
import { startBillingApp } from '../integration/billing/setup';
import { closeAll } from '../helpers/close';

// Privacy policy section 3: storage and retention.
let g: GenerationsApp;
beforeAll(async () => {
  g = await startGenerationsApp();
});
afterAll(() => closeAll(g));

async function makeVideo(email: string): Promise<{ c: Awaited<ReturnType<GenerationsApp['user']>>; v: GenerationView }> {
  const c = await g.user(email, 10);
  const res = await c.post('/api/generations', { model: 'local-preview', prompt: `policy 3 ${email}`, duration: 2, resolution: '480p' });
  const v = await waitFinal(c, res.json<GenerationView>().id);
  expect(v.status).toBe('succeeded');
  return { c, v };
}

describe('3 Data storage and retention', () => {
  it('3 generated videos are stored tied to the account and downloadable later', async () => {
    const { c, v } = await makeVideo('policy-3-keep@example.com');
    // later: a new session of the same account downloads it; another account cannot
    const again = await g.user('policy-3-other@example.com', 0);
    const location = (await c.get(`${v.output!.videoUrl}?download=1`)).headers.get('location')!;
    const file = await fetch(location);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(
      Buffer.from(await file.arrayBuffer())
        .subarray(4, 8)
        .toString('latin1'),
    ).toBe('ftyp');
    expect((await again.get(v.output!.videoUrl)).status).toBe(404);
    const [row] = await g.app.db.sql.query<{ user_id: string; output_url: string }>('select user_id, output_url from generations where id = $1', [v.id]);
    expect(row!.user_id).toBe(c.userId);
    expect(row!.output_url.startsWith('store:generations/')).toBe(true);
  });

  it('3 deleted creations are removed from active storage and purged', async () => {
    const { c, v } = await makeVideo('policy-3-delete@example.com');
    const keys = (
      await g.app.db.sql.query<{ k: string }>(
        'select unnest(array[output_url, output_thumbnail_url, output_preview_url]) as k from generations where id = $1',
        [v.id],
      )
    ).map((r) => r.k.replace(/^store:/, ''));
    expect((await c.delete(`/api/creations/${v.id}`)).status).toBe(204);
    for (const key of keys) await expect(g.app.platform.ctx.store.head(key)).rejects.toMatchObject({ code: 'not_found' });
    // the record goes when the purge window has passed: the daily purge, run on a clock a minute
    // before the 30 days are up and a minute after
    const [row] = await g.app.db.sql.query<{ deleted_at: string | Date }>('select deleted_at from generations where id = $1', [v.id]);
    const windowEnds = new Date(row!.deleted_at).getTime() + 30 * 86_400_000;
    const ctx = g.app.platform.ctx;
    const purgeAt = (ms: number) => purgeDeleted({ database: ctx.database, store: ctx.store, logger: ctx.logger, clock: new FakeClock(ms) }, { purgeDays: 30 });
    await purgeAt(windowEnds - 60_000);
    expect(await g.app.db.sql.query('select 1 from generations where id = $1', [v.id])).toHaveLength(1);
    await purgeAt(windowEnds + 60_000);
    expect(await g.app.db.sql.query('select 1 from generations where id = $1', [v.id])).toEqual([]);
  });

  it('3 prompts and task metadata are kept for the life of the account', async () => {
    const { c, v } = await makeVideo('policy-3-metadata@example.com');
    // nothing removes a live task's record: the purge, run three years later, leaves it as it is
    const ctx = g.app.platform.ctx;
    const threeYearsLater = new FakeClock(Date.now() + 3 * 365 * 86_400_000);
    await purgeDeleted({ database: ctx.database, store: ctx.store, logger: ctx.logger, clock: threeYearsLater }, { purgeDays: 0, orphanGraceHours: 0 });
    const kept = (await c.get(`/api/generations/${v.id}`)).json<GenerationView>();
    expect(kept).toMatchObject({ id: v.id, prompt: v.prompt, model: 'local-preview', status: 'succeeded' });
    expect((await fetch((await c.get(v.output!.videoUrl)).headers.get('location')!)).status).toBe(200);
  });

  it('3 order and tax records are kept for the legal period', async () => {
    const b = await startBillingApp();
    try {
      const c = await b.buyer();
      const { orderId, url } = await b.checkout(c, 'starter', 'stripe');
      await b.payOnPage(url);
      await b.waitOrder(c, orderId, 'paid');
      // the account goes; the order (and its receipt data) stays, no longer linked to a person
      await b.app.db.sql.query('delete from users where id = $1', [c.userId]);
      const [o] = await b.app.db.sql.query('select user_id, status, amount_minor::int as amount_minor, receipt_number, paid_at from orders where id = $1', [
        orderId,
      ]);
      expect(o).toMatchObject({ user_id: null, status: 'paid', amount_minor: 1000 });
      expect(String(o!.receipt_number)).toMatch(/^SS-\d{4}-\d{6}$/);
      // and no job removes orders: the purge and cleanup leave them
      const ctx = b.app.platform.ctx;
      await purgeDeleted({ database: ctx.database, store: ctx.store, logger: ctx.logger }, { purgeDays: 0, orphanGraceHours: 0 });
      expect(await b.app.db.sql.query('select 1 from orders where id = $1', [orderId])).toHaveLength(1);
    } finally {
      await b.close();
    }
  });
  it('3 application and security logs are deleted after the retention period (30-180 days)', async () => {
    // the period is the operator's setting, and only within the policy's range
    expect(parseConfig({ API_LOG_RETENTION_DAYS: '30' }).API_LOG_RETENTION_DAYS).toBe(30);
    expect(parseConfig({ API_LOG_RETENTION_DAYS: '180' }).API_LOG_RETENTION_DAYS).toBe(180);
    expect(() => parseConfig({ API_LOG_RETENTION_DAYS: '29' })).toThrow(/API_LOG_RETENTION_DAYS: must be at least 30/);
    expect(() => parseConfig({ API_LOG_RETENTION_DAYS: '181' })).toThrow(/API_LOG_RETENTION_DAYS: must be at most 180/);
    expect(retentionSchedule.find((k) => k.id === 'api-request-log')).toMatchObject({ appliedBy: 'privacy.retention', action: 'delete' });

    // an API request is logged (endpoint, time, status, bytes) ...
    const c = await g.user('policy-3-logs@example.com', 0);
    const secret = (await c.post('/api/keys', { name: 'policy 3' })).json<{ secret: string }>().secret;
    expect((await g.app.fetch('/v1/videos', { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    const [logged] = await until(
      async () => {
        const rows = await g.app.db.sql.query<{ id: string; created_at: Date }>('select id::text, created_at from api_request_log where user_id = $1', [
          c.userId,
        ]);
        return rows.length > 0 && rows;
      },
      { what: 'the API request log row' },
    );
    // ... and the daily retention job, on a clock a minute before the 90 days are up and a minute after, deletes it then
    const ctx = g.app.platform.ctx;
    const retentionAt = (ms: number) =>
      createRetentionService({
        database: ctx.database,
        store: ctx.store,
        config: ctx.config,
        logger: ctx.logger,
        clock: new FakeClock(ms),
        expireExports: (now) => ctx.services.exports.expire(now),
      }).run();
    const periodEnds = new Date(logged!.created_at).getTime() + 90 * 86_400_000;
    await retentionAt(periodEnds - 60_000);
    expect(await g.app.db.sql.query('select 1 from api_request_log where id = $1', [logged!.id])).toHaveLength(1);
    const run = await retentionAt(periodEnds + 60_000);
    expect(await g.app.db.sql.query('select 1 from api_request_log where id = $1', [logged!.id])).toEqual([]);
    // the run is logged with what it removed
    const [row] = await g.app.db.sql.query<{ results: Record<string, { removed: number }> }>('select results from retention_runs where id = $1', [run.id]);
    expect(row!.results['api-request-log']!.removed).toBeGreaterThanOrEqual(1);
  });
});
