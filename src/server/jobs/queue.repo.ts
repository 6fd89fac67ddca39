import type { DbHandle } from '../db/client';

/** Until the transaction ends: processes starting together set up the job queues one at a time. */
export async function lockQueueSetup(tx: DbHandle): Promise<void> {
  await tx.sql.query(`select pg_advisory_xact_lock(hashtext('savesora.job-queues'))`);
}

/** the NOTIFY channel that wakes idle workers: its payload is the job's name */
export const JOB_SENT_CHANNEL = 'job_sent';

/** Announce a sent job; inside a transaction the announcement goes out on commit, with the job. */
export async function notifyJobSent(db: DbHandle, name: string): Promise<void> {
  await db.sql.query(`select pg_notify('${JOB_SENT_CHANNEL}', $1)`, [name]);
}
