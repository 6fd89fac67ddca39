import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Database } from '../../db/client';
import type { JobHandler } from '../../jobs/define';
import { systemProbe } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { deleteOldProbeRuns, listProbeRuns, recordProbeRun } from './system.repo';

/**
 * Queue probes: an operator (or a test) enqueues a probe and waits until some worker records that
 * it ran it. Proves end to end that jobs flow through the queue and says which worker took each.
 */
export function createProbeHandler(database: Database, workerId: string, clock: Pick<Clock, 'now'> = systemClock): JobHandler<{ token: string }> {
  return async ({ token }, { jobId }) => {
    const now = clock.now();
    await recordProbeRun(database, { token, jobId, workerId, handledAt: now });
    await deleteOldProbeRuns(database, now);
  };
}

export interface ProbeResult {
  token: string;
  runs: { jobId: string; workerId: string; handledAt: Date }[];
}

/** `clock` times `waitFor` (its polls of the runs other processes record, and its timeout). */
export function createProbeService(database: Database, queue: JobQueue, clock: Pick<Clock, 'nowMs' | 'sleep'> = systemClock) {
  return {
    async send(count = 1, token = randomBytes(12).toString('base64url')): Promise<string> {
      await database.transaction(async (tx) => {
        for (let i = 0; i < count; i++) await queue.enqueue(systemProbe, { token }, { tx });
      });
      return token;
    },
    async runs(token: string): Promise<ProbeResult> {
      const rows = await listProbeRuns(database, token);
      return { token, runs: rows.map((r) => ({ jobId: r.jobId, workerId: r.workerId, handledAt: r.handledAt })) };
    },
    /** waits until `count` runs are recorded or the timeout passes */
    async waitFor(token: string, count: number, timeoutMs: number): Promise<ProbeResult> {
      const deadline = clock.nowMs() + timeoutMs;
      for (;;) {
        const result = await this.runs(token);
        if (result.runs.length >= count || clock.nowMs() > deadline) return result;
        await clock.sleep(200);
      }
    },
  };
}
export type ProbeService = ReturnType<typeof createProbeService>;
