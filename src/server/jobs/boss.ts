import PgBoss from 'pg-boss';
import type { DbHandle } from '../db/client';

/** pg-boss keeps its tables in their own schema */
export const BOSS_SCHEMA = 'pgboss';

/**
 * pg-boss's API on one connection or transaction, without starting anything (no supervision, no
 * cron, no schema check): for asking the queue about itself, or changing it, inside our own
 * transactions. Its private tables are read only through this API.
 */
export function bossOn(handle: Pick<DbHandle, 'bossDb'>): PgBoss {
  return new PgBoss({ db: handle.bossDb, schema: BOSS_SCHEMA, migrate: false, supervise: false, schedule: false });
}

/**
 * Install pg-boss's schema in the caller's transaction when it is absent (migrate() runs this under
 * its lock). pg-boss upgrades an existing schema itself on start, under its own lock.
 */
export async function installQueueSchema(tx: DbHandle): Promise<void> {
  // typed Promise<Boolean> (the object type) by pg-boss; it is a plain boolean
  const installed: unknown = await bossOn(tx).isInstalled();
  if (installed === true) return;
  // pg-boss's construction plan wraps itself in BEGIN/COMMIT; we are already in a transaction.
  const plan = PgBoss.getConstructionPlans(BOSS_SCHEMA)
    .replace(/^\s*BEGIN;\s*/i, '')
    .replace(/\s*COMMIT;\s*$/i, '');
  await tx.bossDb.executeSql(plan);
}
