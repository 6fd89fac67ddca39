import { and, asc, eq, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset.repo';
import { rowMapper } from '../../db/rows';
import { creditLedger, generationCallbacks, generations, users } from '../../db/schema';
import type { GenerationRow } from '../generations/generations.repo';

/** SQL for the console's generations section (issue 18): the lookup, a task's callbacks and ledger rows. */

export type CallbackRow = typeof generationCallbacks.$inferSelect;
export type LedgerRow = typeof creditLedger.$inferSelect;

const ACTIVE_SQL = `status in ('queued', 'submitting', 'running', 'finalizing')`;

export interface GenerationFilter {
  id?: string | undefined;
  userId?: string | undefined;
  model?: string | undefined;
  provider?: string | undefined;
  status?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** only tasks past their deadline at this time that have not ended */
  stuckAt?: Date | undefined;
  cursor?: string | undefined;
  limit: number;
}

const toRow = rowMapper(generations);

/** Tasks matching the filter (deleted ones too), newest first (keyset on created_at, id); null for a malformed cursor. */
export async function listGenerations(db: DbHandle, f: GenerationFilter): Promise<KeysetPage<GenerationRow> | null> {
  const params: unknown[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = ['true'];
  if (f.id) where.push(`id = ${param(f.id)}`);
  if (f.userId) where.push(`user_id = ${param(f.userId)}`);
  if (f.model) where.push(`model_id = ${param(f.model)}`);
  if (f.provider) where.push(`provider = ${param(f.provider)}`);
  if (f.status) where.push(`status = ${param(f.status)}`);
  if (f.from) where.push(`created_at >= ${param(f.from.toISOString())}::timestamptz`);
  if (f.to) where.push(`created_at < ${param(f.to.toISOString())}::timestamptz`);
  if (f.stuckAt) where.push(`${ACTIVE_SQL} and deadline_at <= ${param(f.stuckAt.toISOString())}::timestamptz`);
  return keysetPage(db, { table: 'generations', where, params, limit: f.limit, cursor: f.cursor, map: toRow });
}

/** An account by its id or its email (any letter case). */
export async function findUserByIdOrEmail(db: DbHandle, idOrEmail: string): Promise<{ id: string } | null> {
  const [row] = await db.db
    .select({ id: users.id })
    .from(users)
    .where(idOrEmail.includes('@') ? sql`lower(${users.email}) = lower(${idOrEmail})` : eq(users.id, idOrEmail));
  return row ?? null;
}

export async function ownerOf(db: DbHandle, userId: string) {
  const [row] = await db.db.select({ id: users.id, email: users.email, name: users.name, status: users.status }).from(users).where(eq(users.id, userId));
  return row ?? null;
}

/** The callbacks a task received, oldest first (at most 200). */
export async function callbacksOf(db: DbHandle, generationId: string): Promise<CallbackRow[]> {
  return db.db
    .select()
    .from(generationCallbacks)
    .where(eq(generationCallbacks.generationId, generationId))
    .orderBy(asc(generationCallbacks.receivedAt), asc(generationCallbacks.id))
    .limit(200);
}

/** The ledger rows of a task (hold, capture or release, a support refund), oldest first. */
export async function generationLedger(db: DbHandle, g: Pick<GenerationRow, 'id' | 'userId'>): Promise<LedgerRow[]> {
  return db.db
    .select()
    .from(creditLedger)
    .where(and(eq(creditLedger.userId, g.userId), eq(creditLedger.reference, `generation:${g.id}`)))
    .orderBy(asc(creditLedger.id))
    .limit(50);
}
