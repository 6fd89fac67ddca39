import { and, desc, eq, gte, like, lt, lte, or, type SQL } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { auditLog, type AuditVia } from '../../db/schema';

/** SQL for the audit log (issue 18). Append-only: this file has no update and no delete. */

export type AuditRow = typeof auditLog.$inferSelect;

export interface AuditInsert {
  at: Date;
  actorId: string | null;
  actorLabel: string;
  actorRole: string | null;
  via: AuditVia;
  ip: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  reason: string | null;
  before: unknown;
  after: unknown;
}

export async function insertAudit(db: DbHandle, entry: AuditInsert): Promise<number> {
  const rows = await db.db
    .insert(auditLog)
    .values({ ...entry, before: entry.before ?? null, after: entry.after ?? null })
    .returning({ id: auditLog.id });
  return rows[0]?.id ?? 0;
}

export interface AuditFilter {
  /** an actor id, or a part of the actor's label (email, `cli:`) */
  actor?: string | undefined;
  /** an action, or its prefix ending in `.` (`user.` matches every user action) */
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** entries with an id below this (the next page) */
  before?: number | undefined;
  limit: number;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Newest first, at most `limit` entries (by id, which follows insertion order). */
export async function listAudit(db: DbHandle, f: AuditFilter): Promise<AuditRow[]> {
  const where: SQL[] = [];
  if (f.actor) {
    const byActor = or(eq(auditLog.actorId, f.actor), like(auditLog.actorLabel, `%${escapeLike(f.actor)}%`));
    if (byActor) where.push(byActor);
  }
  if (f.action) where.push(f.action.endsWith('.') ? like(auditLog.action, `${escapeLike(f.action)}%`) : eq(auditLog.action, f.action));
  if (f.targetType) where.push(eq(auditLog.targetType, f.targetType));
  if (f.targetId) where.push(eq(auditLog.targetId, f.targetId));
  if (f.from) where.push(gte(auditLog.at, f.from));
  if (f.to) where.push(lte(auditLog.at, f.to));
  if (f.before) where.push(lt(auditLog.id, f.before));
  return db.db
    .select()
    .from(auditLog)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(f.limit);
}
