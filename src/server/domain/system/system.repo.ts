import { asc, eq, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { jobProbeRuns } from '../../db/schema';

/** SQL of the queue probes (job_probe_runs). */

export type ProbeRunRow = typeof jobProbeRuns.$inferSelect;

export async function recordProbeRun(db: DbHandle, run: { token: string; jobId: string; workerId: string }): Promise<void> {
  await db.db.insert(jobProbeRuns).values(run);
}

/** Records older than a week go: a probe is read right after it ran. */
export async function deleteOldProbeRuns(db: DbHandle): Promise<void> {
  await db.db.delete(jobProbeRuns).where(sql`${jobProbeRuns.handledAt} < now() - interval '7 days'`);
}

/** The runs of one probe, in the order they were recorded. */
export async function listProbeRuns(db: DbHandle, token: string): Promise<ProbeRunRow[]> {
  return db.db.select().from(jobProbeRuns).where(eq(jobProbeRuns.token, token)).orderBy(asc(jobProbeRuns.id));
}
