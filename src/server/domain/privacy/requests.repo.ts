import { and, asc, eq, gt, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { privacyRequests, users, type PrivacyRequestKind, type PrivacyRequestStatus } from '../../db/schema';

/** SQL of privacy requests (privacy_requests). */

export type PrivacyRequestRow = typeof privacyRequests.$inferSelect;
export type NewPrivacyRequest = typeof privacyRequests.$inferInsert;

export const openStatuses = ['open', 'in_progress'] as const satisfies readonly PrivacyRequestStatus[];
export const closedStatuses = ['done', 'rejected'] as const satisfies readonly PrivacyRequestStatus[];

export async function insertPrivacyRequest(db: DbHandle, row: NewPrivacyRequest): Promise<PrivacyRequestRow> {
  const [inserted] = await db.db.insert(privacyRequests).values(row).returning();
  if (!inserted) throw new Error('the privacy request insert returned no row');
  return inserted;
}

export async function getPrivacyRequest(db: DbHandle, id: string): Promise<PrivacyRequestRow | null> {
  const [row] = await db.db.select().from(privacyRequests).where(eq(privacyRequests.id, id));
  return row ?? null;
}

export interface PrivacyRequestFilter {
  statuses: readonly PrivacyRequestStatus[] | null;
  /** true: open or in progress past the due date at `now`; false: not overdue */
  overdue?: boolean;
  kind?: PrivacyRequestKind;
  limit: number;
  /** the last of the previous page (ordered by due date, then id) */
  after?: { dueAt: Date; id: string };
}

const overdueAt = (now: Date): SQL => and(inArray(privacyRequests.status, [...openStatuses]), lt(privacyRequests.dueAt, now)) ?? sql`false`;

/** Requests soonest due first (then by id), one page. */
export async function listPrivacyRequests(db: DbHandle, filter: PrivacyRequestFilter, now: Date): Promise<PrivacyRequestRow[]> {
  const where: (SQL | undefined)[] = [];
  if (filter.statuses) where.push(inArray(privacyRequests.status, [...filter.statuses]));
  if (filter.overdue === true) where.push(overdueAt(now));
  if (filter.overdue === false) where.push(sql`not (${overdueAt(now)})`);
  if (filter.kind) where.push(eq(privacyRequests.kind, filter.kind));
  if (filter.after)
    where.push(or(gt(privacyRequests.dueAt, filter.after.dueAt), and(eq(privacyRequests.dueAt, filter.after.dueAt), gt(privacyRequests.id, filter.after.id))));
  return db.db
    .select()
    .from(privacyRequests)
    .where(and(...where))
    .orderBy(asc(privacyRequests.dueAt), asc(privacyRequests.id))
    .limit(filter.limit);
}

/** Requests still to answer, and how many of them are past their due date at `now`. */
export async function countOpenPrivacyRequests(db: DbHandle, now: Date): Promise<{ open: number; overdue: number }> {
  const [row] = await db.db
    .select({
      open: sql<number>`count(*)::int`,
      overdue: sql<number>`(count(*) filter (where ${privacyRequests.dueAt} < ${now.toISOString()}::timestamptz))::int`,
    })
    .from(privacyRequests)
    .where(inArray(privacyRequests.status, [...openStatuses]));
  return { open: row?.open ?? 0, overdue: row?.overdue ?? 0 };
}

/**
 * Changes a request that is still open or in progress (compare-and-set: a closed one is never
 * changed); null when it is closed already or unknown.
 */
export async function updateOpenPrivacyRequest(
  db: DbHandle,
  id: string,
  patch: Partial<Pick<PrivacyRequestRow, 'status' | 'resolution' | 'closedAt' | 'closedBy' | 'subjectUserId'>>,
): Promise<PrivacyRequestRow | null> {
  const [row] = await db.db
    .update(privacyRequests)
    .set(patch)
    .where(and(eq(privacyRequests.id, id), inArray(privacyRequests.status, [...openStatuses])))
    .returning();
  return row ?? null;
}

export interface AccountSummary {
  id: string;
  email: string;
  name: string;
  role: string;
  status: string;
  language: string;
}

const accountColumns = { id: users.id, email: users.email, name: users.name, role: users.role, status: users.status, language: users.language };

export async function accountById(db: DbHandle, id: string): Promise<AccountSummary | null> {
  const [row] = await db.db.select(accountColumns).from(users).where(eq(users.id, id));
  return row ?? null;
}

/** The account using this address (any case), if any. */
export async function accountByEmail(db: DbHandle, email: string): Promise<AccountSummary | null> {
  const [row] = await db.db
    .select(accountColumns)
    .from(users)
    .where(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`);
  return row ?? null;
}
