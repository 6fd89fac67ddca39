import { and, eq } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { freeCreditClaims, signupGrants, users, type SignalKind } from '../../db/schema';

/**
 * SQL for risk in the operator console (issue 19): an account's signals and the accounts sharing
 * them, its flags, the clusters of accounts linked by one strong signal, and the guarded change of a
 * withheld free-credit decision. Every match goes through account_signals' match index
 * (kind, value_hash, last_seen_at); an account's own rows through (user_id, kind, value_hash).
 */

const STRONG: SignalKind[] = ['device', 'fingerprint', 'canonical_email', 'card', 'wallet'];

const date = (v: unknown): Date => new Date(v as string | Date);
const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : date(v));

/**
 * Which of the account's rows an other account's row of the same value counts against: any time
 * for a strong kind; for ip and ip_prefix, only when the two were seen within `$2` days of each
 * other (a network is shared by strangers; only nearness in time makes it a hint).
 */
const MATCH = `o.kind = m.kind and o.value_hash = m.value_hash and o.user_id <> m.user_id
  and (m.kind = any($3::text[])
       or (o.last_seen_at >= m.first_seen_at - make_interval(days => $2::int)
           and o.first_seen_at <= m.last_seen_at + make_interval(days => $2::int)))`;

export interface SignalRow {
  kind: SignalKind;
  label: string | null;
  source: 'signup' | 'verification' | 'signin' | 'payment';
  firstSeenAt: Date;
  lastSeenAt: Date;
  sharedWith: number;
}

/** The account's signals (at most 500, most recently seen first) and how many other accounts share each. */
export async function listSignals(db: DbHandle, userId: string, windowDays: number): Promise<SignalRow[]> {
  const rows = await db.sql.query(
    `select m.kind, m.label, m.source, m.first_seen_at, m.last_seen_at,
            (select count(distinct o.user_id) from account_signals o where ${MATCH})::int as shared_with
       from account_signals m
      where m.user_id = $1
      order by m.last_seen_at desc, m.id desc
      limit 500`,
    [userId, windowDays, STRONG],
  );
  return rows.map((r) => ({
    kind: r.kind as SignalKind,
    label: (r.label as string | null) ?? null,
    source: r.source as SignalRow['source'],
    firstSeenAt: date(r.first_seen_at),
    lastSeenAt: date(r.last_seen_at),
    sharedWith: Number(r.shared_with),
  }));
}

export interface LinkedRow {
  id: string;
  email: string;
  role: 'user' | 'support' | 'moderator' | 'admin';
  status: 'active' | 'suspended' | 'terminated';
  statusReason: string | null;
  createdAt: Date;
  freeCredits: 'pending' | 'granted' | 'withheld' | 'none' | null;
  strong: boolean;
  kinds: SignalKind[];
  lastSharedAt: Date;
}

/** The accounts sharing a signal with this one: strong links first, then the most recent; `limit` of them. */
export async function listLinkedAccounts(db: DbHandle, userId: string, windowDays: number, limit: number): Promise<LinkedRow[]> {
  const rows = await db.sql.query(
    `with l as (
       select o.user_id, array_agg(distinct o.kind order by o.kind) as kinds,
              bool_or(o.kind = any($3::text[])) as strong, max(o.last_seen_at) as last_shared_at
         from account_signals m
         join account_signals o on ${MATCH}
        where m.user_id = $1
        group by o.user_id
     )
     select u.id, u.email, u.role, u.status, u.status_reason, u.created_at, g.state as free_credits, l.kinds, l.strong, l.last_shared_at
       from l join users u on u.id = l.user_id
       left join signup_grants g on g.user_id = u.id
      order by l.strong desc, l.last_shared_at desc, u.id
      limit $4`,
    [userId, windowDays, STRONG, limit],
  );
  return rows.map((r) => ({
    id: String(r.id),
    email: String(r.email),
    role: r.role as LinkedRow['role'],
    status: r.status as LinkedRow['status'],
    statusReason: (r.status_reason as string | null) ?? null,
    createdAt: date(r.created_at),
    freeCredits: (r.free_credits as LinkedRow['freeCredits']) ?? null,
    strong: r.strong === true,
    kinds: parseArray(r.kinds) as SignalKind[],
    lastSharedAt: date(r.last_shared_at),
  }));
}

/** A text[] as the drivers return it (an array, or the literal `{a,b}` from some paths). */
function parseArray(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string')
    return v
      .replace(/^\{|\}$/g, '')
      .split(',')
      .filter(Boolean);
  return [];
}

export interface RiskFlagsRow {
  generationHold: string | null;
  generationHoldAt: Date | null;
  billingFlag: string | null;
  canonicalEmail: string | null;
  grant: {
    state: 'pending' | 'granted' | 'withheld' | 'none';
    credits: number;
    reason: string | null;
    matchedUserId: string | null;
    matchedEmail: string | null;
    decidedAt: Date | null;
    createdAt: Date;
  } | null;
}

/** The account's own flags, or undefined when there is no such account. */
export async function findRiskFlags(db: DbHandle, userId: string): Promise<RiskFlagsRow | undefined> {
  const [r] = await db.sql.query(
    `select u.generation_hold, u.generation_hold_at, u.billing_flag, u.canonical_email,
            g.state, g.credits, g.reason, g.matched_user_id, g.decided_at, g.created_at as grant_created_at,
            (select mu.email from users mu where mu.id = g.matched_user_id) as matched_email
       from users u left join signup_grants g on g.user_id = u.id
      where u.id = $1`,
    [userId],
  );
  if (!r) return undefined;
  return {
    generationHold: (r.generation_hold as string | null) ?? null,
    generationHoldAt: dateOrNull(r.generation_hold_at),
    billingFlag: (r.billing_flag as string | null) ?? null,
    canonicalEmail: (r.canonical_email as string | null) ?? null,
    grant: r.state
      ? {
          state: r.state as NonNullable<RiskFlagsRow['grant']>['state'],
          credits: Number(r.credits),
          reason: (r.reason as string | null) ?? null,
          matchedUserId: (r.matched_user_id as string | null) ?? null,
          matchedEmail: (r.matched_email as string | null) ?? null,
          decidedAt: dateOrNull(r.decided_at),
          createdAt: date(r.grant_created_at),
        }
      : null,
  };
}

/** Open trust & safety cases about the account itself, with what opened each (its first event). */
export async function listOpenAccountCases(db: DbHandle, userId: string, limit: number) {
  const rows = await db.sql.query(
    `select c.id, c.opened_at, c.severity, c.top_category,
            (select coalesce(e.note, e.reasons->0->>'detail') from moderation_events e where e.case_id = c.id order by e.id limit 1) as reason
       from moderation_cases c
      where c.user_id = $1 and c.subject = 'account' and c.status = 'open'
      order by c.opened_at desc, c.id desc
      limit $2`,
    [userId, limit],
  );
  return rows.map((r) => ({
    id: String(r.id),
    openedAt: date(r.opened_at),
    severity: Number(r.severity),
    topCategory: (r.top_category as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
  }));
}

/** The account's orders Stripe Radar rated elevated or highest, newest first. */
export async function listRiskyOrders(db: DbHandle, userId: string, limit: number) {
  const rows = await db.sql.query(
    `select id, status, provider, amount_minor, currency, risk_level, risk_outcome, created_at
       from orders
      where user_id = $1 and risk_level in ('elevated', 'highest')
      order by created_at desc, id desc
      limit $2`,
    [userId, limit],
  );
  return rows.map((r) => ({
    id: String(r.id),
    status: String(r.status),
    provider: String(r.provider),
    amountMinor: Number(r.amount_minor),
    currency: String(r.currency),
    riskLevel: String(r.risk_level),
    riskOutcome: (r.risk_outcome as string | null) ?? null,
    createdAt: date(r.created_at),
  }));
}

/* ----- clusters ----- */

export interface ClusterRow {
  kind: SignalKind;
  valueHash: string;
  label: string | null;
  size: number;
  suspended: number;
  terminated: number;
  freeCredits: number;
  newestSignupAt: Date;
  newestMicros: string;
  lastSeenAt: Date;
}

export interface ClusterCursor {
  /** the size, or the newest sign-up in microseconds since the epoch */
  key: string;
  kind: string;
  hash: string;
}

export function encodeClusterCursor(c: ClusterCursor): string {
  return Buffer.from(`${c.key}|${c.kind}|${c.hash}`).toString('base64url');
}

/** null when the cursor is malformed */
export function decodeClusterCursor(cursor: string): ClusterCursor | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const [key, kind, hash, ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (rest.length || !key || !kind || !hash) return null;
  if (!/^-?\d{1,17}$/.test(key) || !(STRONG as string[]).includes(kind) || !/^[0-9a-f]{64}$/.test(hash)) return null;
  return { key, kind, hash };
}

/**
 * One page of clusters: the groups of two or more accounts holding one strong signal value, the
 * largest (or the newest sign-up) first, keyset on (that, kind, value_hash). The grouping reads the
 * strong rows of account_signals in the match index's order.
 */
export async function listClusters(
  db: DbHandle,
  opts: { kinds: SignalKind[]; sort: 'size' | 'newest'; after: ClusterCursor | null; limit: number },
): Promise<ClusterRow[]> {
  const params: unknown[] = [opts.kinds];
  const order = opts.sort === 'size' ? 'size' : 'newest_micros';
  let after = '';
  if (opts.after) {
    params.push(opts.after.key, opts.after.kind, opts.after.hash);
    after = `where (${order} < $2::bigint or (${order} = $2::bigint and (kind, value_hash) > ($3::text, $4::text)))`;
  }
  params.push(opts.limit);
  const rows = await db.sql.query(
    `with g as (
       select s.kind, s.value_hash, max(s.label) as label, count(*)::bigint as size,
              (count(*) filter (where u.status = 'suspended'))::int as suspended,
              (count(*) filter (where u.status = 'terminated'))::int as terminated,
              (count(*) filter (where gr.state = 'granted'))::int as free_credits,
              max(u.created_at) as newest_signup_at,
              (extract(epoch from max(u.created_at)) * 1000000)::bigint as newest_micros,
              max(s.last_seen_at) as last_seen_at
         from account_signals s
         join users u on u.id = s.user_id
         left join signup_grants gr on gr.user_id = s.user_id
        where s.kind = any($1::text[])
        group by s.kind, s.value_hash
       having count(*) >= 2
     )
     select * from g ${after}
      order by ${order} desc, kind, value_hash
      limit $${params.length}`,
    params,
  );
  return rows.map((r) => ({
    kind: r.kind as SignalKind,
    valueHash: String(r.value_hash),
    label: (r.label as string | null) ?? null,
    size: Number(r.size),
    suspended: Number(r.suspended),
    terminated: Number(r.terminated),
    freeCredits: Number(r.free_credits),
    newestSignupAt: date(r.newest_signup_at),
    newestMicros: String(r.newest_micros),
    lastSeenAt: date(r.last_seen_at),
  }));
}

export interface ClusterMemberRow {
  kind: SignalKind;
  valueHash: string;
  id: string;
  email: string;
  status: 'active' | 'suspended' | 'terminated';
  createdAt: Date;
  freeCredits: 'pending' | 'granted' | 'withheld' | 'none' | null;
  lastSeenAt: Date;
}

/** The newest `perCluster` members of each of the given clusters. */
export async function listClusterMembers(db: DbHandle, clusters: { kind: SignalKind; valueHash: string }[], perCluster: number): Promise<ClusterMemberRow[]> {
  if (!clusters.length) return [];
  const rows = await db.sql.query(
    `select x.* from (
       select s.kind, s.value_hash, u.id, u.email, u.status, u.created_at, gr.state as free_credits, s.last_seen_at,
              row_number() over (partition by s.kind, s.value_hash order by u.created_at desc, u.id) as n
         from unnest($1::text[], $2::text[]) as c(kind, value_hash)
         join account_signals s on s.kind = c.kind and s.value_hash = c.value_hash
         join users u on u.id = s.user_id
         left join signup_grants gr on gr.user_id = u.id
     ) x where x.n <= $3
     order by x.kind, x.value_hash, x.n`,
    [clusters.map((c) => c.kind), clusters.map((c) => c.valueHash), perCluster],
  );
  return rows.map((r) => ({
    kind: r.kind as SignalKind,
    valueHash: String(r.value_hash),
    id: String(r.id),
    email: String(r.email),
    status: r.status as ClusterMemberRow['status'],
    createdAt: date(r.created_at),
    freeCredits: (r.free_credits as ClusterMemberRow['freeCredits']) ?? null,
    lastSeenAt: date(r.last_seen_at),
  }));
}

/* ----- the withheld free-credit grant ----- */

export type GrantRow = typeof signupGrants.$inferSelect;

/** The account's free-credit decision, locked until the transaction ends (one decision at a time). */
export async function lockSignupGrant(tx: DbHandle, userId: string): Promise<GrantRow | undefined> {
  const [row] = await tx.db.select().from(signupGrants).where(eq(signupGrants.userId, userId)).for('update');
  return row;
}

/** Marks a withheld decision granted (guarded: only a withheld one); false when it was not withheld. */
export async function markGrantGranted(tx: DbHandle, userId: string, credits: number, reason: string, at: Date): Promise<boolean> {
  const rows = await tx.db
    .update(signupGrants)
    .set({ state: 'granted', credits, reason, decidedAt: at })
    .where(and(eq(signupGrants.userId, userId), eq(signupGrants.state, 'withheld')))
    .returning({ userId: signupGrants.userId });
  return rows.length === 1;
}

/** Records the canonical address's one free-credit grant, unless one is recorded already. */
export async function claimFreeCredits(tx: DbHandle, canonicalHash: string, userId: string, at: Date): Promise<void> {
  await tx.db.insert(freeCreditClaims).values({ canonicalHash, userId, claimedAt: at }).onConflictDoNothing();
}

/** The account's role, status and canonical address, or undefined. */
export async function findGrantTarget(db: DbHandle, userId: string) {
  const [row] = await db.db
    .select({ id: users.id, role: users.role, status: users.status, canonicalEmail: users.canonicalEmail })
    .from(users)
    .where(eq(users.id, userId));
  return row;
}
