import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/server/jobs/define';
import { systemProbe } from '../../src/server/jobs/names';
import { startTestApp, type TestApp } from '../helpers/app';
import { closeAll } from '../helpers/close';
import { jobsDone, until } from '../helpers/wait';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => closeAll(app));

/** the runs of a probe once `count` are recorded: looked at again each time a job of the app finishes */
const probeRuns = (token: string, count: number) =>
  until(
    async () => {
      const result = await app.platform.ctx.services.probes.runs(token);
      return result.runs.length >= count && result;
    },
    { app, timeoutMs: 15_000, what: `${String(count)} run(s) of probe ${token}` },
  );

describe('job queue', () => {
  it('runs a job enqueued in a committed transaction, once', async () => {
    const { probes } = app.platform.ctx.services;
    const token = await probes.send(3);
    const result = await probeRuns(token, 3);
    expect(result.runs).toHaveLength(3);
    expect(new Set(result.runs.map((r) => r.jobId)).size).toBe(3);
    expect(result.runs.every((r) => r.workerId === app.platform.ctx.workerId)).toBe(true);
  });

  it('never runs a job whose transaction rolled back', async () => {
    const { database, queue, services } = app.platform.ctx;
    const token = 'rolled-back-probe';
    await expect(
      database.transaction(async (tx) => {
        await queue.enqueue(systemProbe, { token }, { tx });
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    // a committed probe sent afterwards has run, so the worker had every chance to see the first
    const later = await services.probes.send(1);
    expect((await probeRuns(later, 1)).runs).toHaveLength(1);
    expect((await services.probes.runs(token)).runs).toHaveLength(0);
    const jobs = await database.sql.query(`select 1 from pgboss.job where name = 'system.probe' and data->>'token' = $1`, [token]);
    expect(jobs).toHaveLength(0);
  });

  it('validates payloads before they reach the queue', async () => {
    await expect(app.platform.ctx.queue.enqueue(systemProbe, { token: 'x' })).rejects.toThrow();
  });
});

describe('job workers', () => {
  it('retry a failed job with the attempt number and run at most `concurrency` at once', async () => {
    const { queue } = app.platform.ctx;
    const flaky = defineJob('test.flaky', z.object({ n: z.number() }), { retryLimit: 2, retryDelaySeconds: 0 });
    await queue.boss.createQueue(flaky.name, { name: flaky.name, retryLimit: 2, retryDelay: 0, retryBackoff: false });
    const attempts: Record<number, number[]> = {};
    let running = 0;
    let peak = 0;
    // the first handlers stay running until three run at once (the most allowed), so the peak is
    // reached whatever the machine's speed; from then on each handler returns at once
    let full!: () => void;
    const allowedMaximum = new Promise<void>((resolve) => {
      full = resolve;
    });
    await queue.work(
      flaky,
      async ({ n }, { attempt }) => {
        running++;
        peak = Math.max(peak, running);
        if (running === 3) full();
        await allowedMaximum;
        running--;
        (attempts[n] ??= []).push(attempt);
        if (n % 2 === 0 && attempt === 1) throw new Error('first attempt fails');
      },
      { concurrency: 3, pollingIntervalSeconds: 0.2 },
    );
    for (let n = 0; n < 8; n++) await queue.enqueue(flaky, { n });
    await allowedMaximum;
    // every job done: none waiting, retrying or running (a handler's return is not yet its completion)
    await jobsDone(app, [flaky.name], { timeoutMs: 20_000 });
    for (let n = 0; n < 8; n++) expect(attempts[n]).toEqual(n % 2 === 0 ? [1, 2] : [1]);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
    const states = await app.platform.ctx.database.sql.query<{ state: string; n: number }>(
      `select state, count(*)::int as n from pgboss.job where name = 'test.flaky' group by state`,
    );
    expect(states).toEqual([{ state: 'completed', n: 8 }]);
  });
});
