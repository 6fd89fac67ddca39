import { asc, eq, lt } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { jobProbeRuns } from '../../db/schema';

/** SQL of the queue probes (job_probe_runs). */

export type ProbeRunRow = typeof jobProbeRuns.$inferSelect;

export async function recordProbeRun(db: DbHandle, run: { token: string; jobId: string; workerId: string; handledAt: Date }): Promise<void> {
  await db.db.insert(jobProbeRuns).values(run);
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Records older than a week at `now` go: a probe is read right after it ran. */
export async function deleteOldProbeRuns(db: DbHandle, now: Date): Promise<void> {
  await db.db.delete(jobProbeRuns).where(lt(jobProbeRuns.handledAt, new Date(now.getTime() - WEEK_MS)));
}

/** The runs of one probe, in the order they were recorded. */
export async function listProbeRuns(db: DbHandle, token: string): Promise<ProbeRunRow[]> {
  return db.db.select().from(jobProbeRuns).where(eq(jobProbeRuns.token, token)).orderBy(asc(jobProbeRuns.id));
}
