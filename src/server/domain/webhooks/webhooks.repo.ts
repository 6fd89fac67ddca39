import { and, asc, count, eq, ne } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset.repo';
import { rowMapper } from '../../db/rows';
import { webhookDeliveries, webhookEndpoints, type WebhookPayload } from '../../db/schema';

/**
 * SQL for customer webhook endpoints and their deliveries. Every user-facing read filters by user.
 * Times are the caller's clock, passed in as `now` / `at`: when an attempt is due, the retry
 * window, updated_at and delivered_at. created_at is the database's: it orders the delivery log in
 * microseconds (its keyset), and a test clock starts at the real time, so the two agree until a
 * test moves its clock.
 */

export type { WebhookPayload };
export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookEventType = EndpointRow['events'][number];
export type DeliveryStatus = DeliveryRow['status'];

const endpointRow = rowMapper(webhookEndpoints);
const deliveryRow = rowMapper(webhookDeliveries);

export async function listEndpoints(db: DbHandle, userId: string): Promise<EndpointRow[]> {
  return db.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.userId, userId)).orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
}

export async function getUserEndpoint(db: DbHandle, userId: string, id: string): Promise<EndpointRow | null> {
  const [row] = await db.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.userId, userId)));
  return row ?? null;
}

export async function countEnabledEndpoints(db: DbHandle, userId: string, exceptId?: string): Promise<number> {
  const [row] = await db.db
    .select({ n: count() })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.userId, userId), eq(webhookEndpoints.enabled, true), ne(webhookEndpoints.id, exceptId ?? '')));
  return row?.n ?? 0;
}

/** Serialize endpoint changes of one user (the per-user cap holds under concurrent requests). */
export async function lockUserEndpoints(tx: DbHandle, userId: string): Promise<void> {
  await tx.sql.query(`select pg_advisory_xact_lock(hashtext('webhook-endpoints:' || $1))`, [userId]);
}

export async function insertEndpoint(
  tx: DbHandle,
  e: { id: string; userId: string; url: string; description: string | null; secretEncrypted: string; events: WebhookEventType[] },
): Promise<EndpointRow> {
  const [row] = await tx.db.insert(webhookEndpoints).values(e).returning();
  if (!row) throw new Error('the webhook endpoint insert returned no row');
  return row;
}

export interface EndpointPatch {
  url?: string;
  description?: string | null;
  events?: WebhookEventType[];
  enabled?: boolean;
}

export async function updateEndpoint(tx: DbHandle, userId: string, id: string, patch: EndpointPatch, at: Date): Promise<EndpointRow | null> {
  const [row] = await tx.db
    .update(webhookEndpoints)
    .set({ ...patch, updatedAt: at })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.userId, userId)))
    .returning();
  return row ?? null;
}

export async function deleteEndpoint(db: DbHandle, userId: string, id: string): Promise<boolean> {
  const rows = await db.db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.userId, userId)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** Enabled endpoints of a user subscribed to `eventType`. */
export async function subscribedEndpoints(db: DbHandle, userId: string, eventType: WebhookEventType): Promise<EndpointRow[]> {
  const rows = await db.sql.query('select * from webhook_endpoints where user_id = $1 and enabled and events ? $2 order by created_at, id', [
    userId,
    eventType,
  ]);
  return rows.map(endpointRow);
}

/** Every endpoint's id and sealed secret, oldest first (secrets:reseal). */
export async function listEndpointSecrets(db: DbHandle): Promise<Pick<EndpointRow, 'id' | 'secretEncrypted'>[]> {
  return db.db
    .select({ id: webhookEndpoints.id, secretEncrypted: webhookEndpoints.secretEncrypted })
    .from(webhookEndpoints)
    .orderBy(asc(webhookEndpoints.createdAt));
}

/** Replace a sealed secret only if it is still `previous` (a concurrent reseal wins); true when replaced. */
export async function replaceEndpointSecret(db: DbHandle, id: string, previous: string, next: string): Promise<boolean> {
  const rows = await db.db
    .update(webhookEndpoints)
    .set({ secretEncrypted: next })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.secretEncrypted, previous)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/**
 * A new pending delivery, due `now`. Returns null when this endpoint already has this event for this
 * object (the unique index on endpoint, event type and payload.data.id): fan-out is idempotent.
 */
export async function insertDelivery(
  tx: DbHandle,
  d: { id: string; endpointId: string; userId: string; eventType: string; payload: WebhookPayload },
  now: Date,
): Promise<DeliveryRow | null> {
  const [row] = await tx.db
    .insert(webhookDeliveries)
    .values({ ...d, nextAttemptAt: now })
    .onConflictDoNothing()
    .returning();
  return row ?? null;
}

export async function getUserDelivery(db: DbHandle, userId: string, id: string): Promise<DeliveryRow | null> {
  const [row] = await db.db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.userId, userId)));
  return row ?? null;
}

export async function listDeliveries(
  db: DbHandle,
  userId: string,
  endpointId: string,
  opts: { limit: number; cursor?: string | undefined },
): Promise<KeysetPage<DeliveryRow> | null> {
  return keysetPage(db, {
    table: 'webhook_deliveries',
    where: ['endpoint_id = $1', 'user_id = $2'],
    params: [endpointId, userId],
    limit: opts.limit,
    cursor: opts.cursor,
    map: deliveryRow,
  });
}

/** The delivery with what an attempt needs from its endpoint (null: deleted). */
export async function getDeliveryForSend(
  db: DbHandle,
  id: string,
): Promise<(DeliveryRow & { endpoint: Pick<EndpointRow, 'id' | 'url' | 'enabled' | 'secretEncrypted'> }) | null> {
  const [row] = await db.db
    .select({
      delivery: webhookDeliveries,
      endpoint: { id: webhookEndpoints.id, url: webhookEndpoints.url, enabled: webhookEndpoints.enabled, secretEncrypted: webhookEndpoints.secretEncrypted },
    })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, id));
  return row ? { ...row.delivery, endpoint: row.endpoint } : null;
}

/**
 * Claim the next attempt of a pending delivery that is due at `now`: count the attempt and lease
 * the delivery for `leaseSeconds` (a second job for the same delivery finds it not due and does
 * nothing). Null when it is not pending or not due.
 */
export async function claimAttempt(db: DbHandle, id: string, leaseSeconds: number, now: Date): Promise<DeliveryRow | null> {
  const [row] = await db.sql.query(
    `update webhook_deliveries set attempts = attempts + 1, next_attempt_at = $3::timestamptz + make_interval(secs => $2)
      where id = $1 and status = 'pending' and (next_attempt_at is null or next_attempt_at <= $3::timestamptz)
      returning *`,
    [id, leaseSeconds, now.toISOString()],
  );
  return row ? deliveryRow(row) : null;
}

export async function markDelivered(db: DbHandle, id: string, httpStatus: number, at: Date): Promise<boolean> {
  const rows = await db.sql.query(
    `update webhook_deliveries set status = 'delivered', delivered_at = $3::timestamptz, last_status = $2, last_error = null, next_attempt_at = null
      where id = $1 and status = 'pending' returning id`,
    [id, httpStatus, at.toISOString()],
  );
  return rows.length > 0;
}

/**
 * Record a failed attempt: due again `retryInSeconds` after `now` when that is still within
 * `windowSeconds` of the delivery's creation (status stays pending), else given up (`failed`). Null
 * when the delivery is gone or no longer pending.
 */
export async function markAttemptFailed(
  tx: DbHandle,
  id: string,
  f: { httpStatus: number | null; error: string; retryInSeconds: number | null; windowSeconds: number; now: Date },
): Promise<DeliveryStatus | null> {
  const [row] = await tx.sql.query<{ status: DeliveryStatus }>(
    `update webhook_deliveries set last_status = $2, last_error = $3,
        status = case when $4::int is not null and created_at + make_interval(secs => $5) >= $6::timestamptz + make_interval(secs => $4::int) then 'pending' else 'failed' end,
        next_attempt_at = case when $4::int is not null and created_at + make_interval(secs => $5) >= $6::timestamptz + make_interval(secs => $4::int)
                               then $6::timestamptz + make_interval(secs => $4::int) else null end
      where id = $1 and status = 'pending' returning status`,
    [id, f.httpStatus, f.error.slice(0, 500), f.retryInSeconds, f.windowSeconds, f.now.toISOString()],
  );
  return row?.status ?? null;
}

/** Give up on a pending delivery without an attempt (e.g. its endpoint was disabled). */
export async function markFailedWithoutAttempt(db: DbHandle, id: string, error: string): Promise<void> {
  await db.sql.query(`update webhook_deliveries set status = 'failed', last_error = $2, next_attempt_at = null where id = $1 and status = 'pending'`, [
    id,
    error,
  ]);
}

/**
 * Make a delivery due again `now`: a finished one (delivered or failed), or a pending one waiting
 * out a back-off longer than `leaseSeconds` (so never one whose attempt is running: a running
 * attempt holds the delivery for exactly `leaseSeconds`). Null when nothing changed.
 */
export async function requeueDelivery(tx: DbHandle, userId: string, id: string, leaseSeconds: number, now: Date): Promise<DeliveryRow | null> {
  const [row] = await tx.sql.query(
    `update webhook_deliveries set status = 'pending', next_attempt_at = $4::timestamptz, delivered_at = null
      where id = $1 and user_id = $2
        and (status in ('delivered', 'failed') or (status = 'pending' and (next_attempt_at is null or next_attempt_at > $4::timestamptz + make_interval(secs => $3))))
      returning *`,
    [id, userId, leaseSeconds, now.toISOString()],
  );
  return row ? deliveryRow(row) : null;
}

/**
 * Pending deliveries whose attempt was due more than `graceSeconds` before `now` without an
 * outcome (the worker died mid-attempt, or the queue gave up on the job), oldest first.
 */
export async function findLostDeliveries(db: DbHandle, now: Date, graceSeconds: number, limit: number): Promise<string[]> {
  const rows = await db.sql.query<{ id: string }>(
    `select id from webhook_deliveries
      where status = 'pending' and next_attempt_at < $1::timestamptz - make_interval(secs => $2)
      order by next_attempt_at limit $3`,
    [now.toISOString(), graceSeconds, limit],
  );
  return rows.map((r) => r.id);
}
