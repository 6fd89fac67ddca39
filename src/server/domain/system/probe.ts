import { randomBytes } from 'node:crypto';
import type { Database } from '../../db/client';
import type { JobHandler } from '../../jobs/define';
import { systemProbe } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';

/**
 * Queue probes: an operator (or a test) enqueues a probe and waits until some worker records that
 * it ran it. Proves end to end that jobs flow through the queue and says which worker took each.
 */
export function createProbeHandler(database: Database, workerId: string): JobHandler<{ token: string }> {
  return async ({ token }, { jobId }) => {
    await database.sql.query('insert into job_probe_runs (token, job_id, worker_id) values ($1, $2, $3)', [token, jobId, workerId]);
    await database.sql.query(`delete from job_probe_runs where handled_at < now() - interval '7 days'`);
  };
}

export interface ProbeResult {
  token: string;
  runs: { jobId: string; workerId: string; handledAt: Date }[];
}

export function createProbeService(database: Database, queue: JobQueue) {
  return {
    async send(count = 1, token = randomBytes(12).toString('base64url')): Promise<string> {
      await database.transaction(async (tx) => {
        for (let i = 0; i < count; i++) await queue.enqueue(systemProbe, { token }, { tx });
      });
      return token;
    },
    async runs(token: string): Promise<ProbeResult> {
      const rows = await database.sql.query<{ job_id: string; worker_id: string; handled_at: string | Date }>(
        'select job_id, worker_id, handled_at from job_probe_runs where token = $1 order by id',
        [token],
      );
      return { token, runs: rows.map((r) => ({ jobId: r.job_id, workerId: r.worker_id, handledAt: new Date(r.handled_at) })) };
    },
    /** waits until `count` runs are recorded or the timeout passes */
    async waitFor(token: string, count: number, timeoutMs: number): Promise<ProbeResult> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await this.runs(token);
        if (result.runs.length >= count || Date.now() > deadline) return result;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}
export type ProbeService = ReturnType<typeof createProbeService>;
