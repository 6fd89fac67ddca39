import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset';
import type { WebhookDeliveryView, WebhookEndpointView } from '../../../shared/api/developer';

/** SQL for customer webhook endpoints and their deliveries. Every user-facing read filters by user. */

export type WebhookEventType = WebhookEndpointView['events'][number];

export interface EndpointRow {
  id: string;
  userId: string;
  url: string;
  description: string | null;
  secretEncrypted: string;
  events: WebhookEventType[];
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type DeliveryStatus = WebhookDeliveryView['status'];

export interface DeliveryRow {
  id: string;
  endpointId: string;
  userId: string;
  eventType: string;
  payload: WebhookPayload;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: { id: string } & Record<string, unknown>;
}

type Raw = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export function mapEndpoint(r: Raw): EndpointRow {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    url: r.url as string,
    description: (r.description as string | null) ?? null,
    secretEncrypted: r.secret_encrypted as string,
    events: json<WebhookEventType[]>(r.events) ?? [],
    enabled: Boolean(r.enabled),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

export function mapDelivery(r: Raw): DeliveryRow {
  return {
    id: r.id as string,
    endpointId: r.endpoint_id as string,
    userId: r.user_id as string,
    eventType: r.event_type as string,
    payload: json<WebhookPayload>(r.payload),
    status: r.status as DeliveryStatus,
    attempts: Number(r.attempts),
    lastStatus: r.last_status === null || r.last_status === undefined ? null : Number(r.last_status),
    lastError: (r.last_error as string | null) ?? null,
    nextAttemptAt: date(r.next_attempt_at),
    createdAt: new Date(r.created_at as string),
    deliveredAt: date(r.delivered_at),
  };
}

export async function listEndpoints(db: DbHandle, userId: string): Promise<EndpointRow[]> {
  const rows = await db.sql.query('select * from webhook_endpoints where user_id = $1 order by created_at, id', [userId]);
  return rows.map(mapEndpoint);
}

export async function getUserEndpoint(db: DbHandle, userId: string, id: string): Promise<EndpointRow | null> {
  const [row] = await db.sql.query('select * from webhook_endpoints where id = $1 and user_id = $2', [id, userId]);
  return row ? mapEndpoint(row) : null;
}

export async function countEnabledEndpoints(db: DbHandle, userId: string, exceptId?: string): Promise<number> {
  const [row] = await db.sql.query<{ n: string }>(
    'select count(*)::text as n from webhook_endpoints where user_id = $1 and enabled and id <> $2',
    [userId, exceptId ?? ''],
  );
  return Number(row?.n ?? 0);
}

/** Serialize endpoint changes of one user (the per-user cap holds under concurrent requests). */
export async function lockUserEndpoints(tx: DbHandle, userId: string): Promise<void> {
  await tx.sql.query(`select pg_advisory_xact_lock(hashtext('webhook-endpoints:' || $1))`, [userId]);
}

export async function insertEndpoint(
  tx: DbHandle,
  e: { id: string; userId: string; url: string; description: string | null; secretEncrypted: string; events: readonly string[] },
): Promise<EndpointRow> {
  const [row] = await tx.sql.query(
    `insert into webhook_endpoints (id, user_id, url, description, secret_encrypted, events)
     values ($1, $2, $3, $4, $5, $6::jsonb) returning *`,
    [e.id, e.userId, e.url, e.description, e.secretEncrypted, JSON.stringify(e.events)],
  );
  return mapEndpoint(row!);
}

export interface EndpointPatch {
  url?: string;
  description?: string | null;
  events?: readonly string[];
  enabled?: boolean;
}

export async function updateEndpoint(tx: DbHandle, userId: string, id: string, patch: EndpointPatch): Promise<EndpointRow | null> {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [id, userId];
  const set = (column: string, value: unknown, cast = '') => {
    params.push(value);
    sets.push(`${column} = $${params.length}${cast}`);
  };
  if (patch.url !== undefined) set('url', patch.url);
  if (patch.description !== undefined) set('description', patch.description);
  if (patch.events !== undefined) set('events', JSON.stringify(patch.events), '::jsonb');
  if (patch.enabled !== undefined) set('enabled', patch.enabled);
  const [row] = await tx.sql.query(`update webhook_endpoints set ${sets.join(', ')} where id = $1 and user_id = $2 returning *`, params);
  return row ? mapEndpoint(row) : null;
}

export async function deleteEndpoint(db: DbHandle, userId: string, id: string): Promise<boolean> {
  const rows = await db.sql.query('delete from webhook_endpoints where id = $1 and user_id = $2 returning id', [id, userId]);
  return rows.length > 0;
}

/** Enabled endpoints of a user subscribed to `eventType`. */
export async function subscribedEndpoints(db: DbHandle, userId: string, eventType: string): Promise<EndpointRow[]> {
  const rows = await db.sql.query(
    'select * from webhook_endpoints where user_id = $1 and enabled and events ? $2 order by created_at, id',
    [userId, eventType],
  );
  return rows.map(mapEndpoint);
}

/**
 * A new pending delivery, due now. Returns null when this endpoint already has this event for this
 * object (the unique index on endpoint, event type and payload.data.id): fan-out is idempotent.
 */
export async function insertDelivery(
  tx: DbHandle,
  d: { id: string; endpointId: string; userId: string; eventType: string; payload: WebhookPayload },
): Promise<DeliveryRow | null> {
  const [row] = await tx.sql.query(
    `insert into webhook_deliveries (id, endpoint_id, user_id, event_type, payload, next_attempt_at)
     values ($1, $2, $3, $4, $5::jsonb, now())
     on conflict do nothing returning *`,
    [d.id, d.endpointId, d.userId, d.eventType, JSON.stringify(d.payload)],
  );
  return row ? mapDelivery(row) : null;
}

export async function getUserDelivery(db: DbHandle, userId: string, id: string): Promise<DeliveryRow | null> {
  const [row] = await db.sql.query('select * from webhook_deliveries where id = $1 and user_id = $2', [id, userId]);
  return row ? mapDelivery(row) : null;
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
    map: mapDelivery,
  });
}

/** The delivery with what an attempt needs from its endpoint (null: deleted). */
export async function getDeliveryForSend(
  db: DbHandle,
  id: string,
): Promise<(DeliveryRow & { endpoint: Pick<EndpointRow, 'id' | 'url' | 'enabled' | 'secretEncrypted'> }) | null> {
  const [row] = await db.sql.query(
    `select d.*, e.url as endpoint_url, e.enabled as endpoint_enabled, e.secret_encrypted as endpoint_secret
       from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id where d.id = $1`,
    [id],
  );
  if (!row) return null;
  return {
    ...mapDelivery(row),
    endpoint: { id: row.endpoint_id as string, url: row.endpoint_url as string, enabled: Boolean(row.endpoint_enabled), secretEncrypted: row.endpoint_secret as string },
  };
}

/**
 * Claim the next attempt of a pending delivery that is due: count the attempt and lease the
 * delivery for `leaseSeconds` (a second job for the same delivery finds it not due and does
 * nothing). Null when it is not pending or not due.
 */
export async function claimAttempt(db: DbHandle, id: string, leaseSeconds: number): Promise<DeliveryRow | null> {
  const [row] = await db.sql.query(
    `update webhook_deliveries set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
      where id = $1 and status = 'pending' and (next_attempt_at is null or next_attempt_at <= now())
      returning *`,
    [id, leaseSeconds],
  );
  return row ? mapDelivery(row) : null;
}

export async function markDelivered(db: DbHandle, id: string, httpStatus: number): Promise<boolean> {
  const rows = await db.sql.query(
    `update webhook_deliveries set status = 'delivered', delivered_at = now(), last_status = $2, last_error = null, next_attempt_at = null
      where id = $1 and status = 'pending' returning id`,
    [id, httpStatus],
  );
  return rows.length > 0;
}

/**
 * Record a failed attempt: due again in `retryInSeconds` when that is still within `windowSeconds`
 * of the delivery's creation (status stays pending), else given up (`failed`). Null when the
 * delivery is gone or no longer pending.
 */
export async function markAttemptFailed(
  tx: DbHandle,
  id: string,
  f: { httpStatus: number | null; error: string; retryInSeconds: number | null; windowSeconds: number },
): Promise<DeliveryStatus | null> {
  const [row] = await tx.sql.query<{ status: DeliveryStatus }>(
    `update webhook_deliveries set last_status = $2, last_error = $3,
        status = case when $4::int is not null and created_at + make_interval(secs => $5) >= now() + make_interval(secs => $4::int) then 'pending' else 'failed' end,
        next_attempt_at = case when $4::int is not null and created_at + make_interval(secs => $5) >= now() + make_interval(secs => $4::int) then now() + make_interval(secs => $4::int) else null end
      where id = $1 and status = 'pending' returning status`,
    [id, f.httpStatus, f.error.slice(0, 500), f.retryInSeconds, f.windowSeconds],
  );
  return row?.status ?? null;
}

/** Give up on a pending delivery without an attempt (e.g. its endpoint was disabled). */
export async function markFailedWithoutAttempt(db: DbHandle, id: string, error: string): Promise<void> {
  await db.sql.query(`update webhook_deliveries set status = 'failed', last_error = $2, next_attempt_at = null where id = $1 and status = 'pending'`, [id, error]);
}

/**
 * Make a delivery due again now: a finished one (delivered or failed), or a pending one waiting out
 * a back-off longer than `leaseSeconds` (so never one whose attempt is running: a running attempt
 * holds the delivery for exactly `leaseSeconds`). Null when nothing changed.
 */
export async function requeueDelivery(tx: DbHandle, userId: string, id: string, leaseSeconds: number): Promise<DeliveryRow | null> {
  const [row] = await tx.sql.query(
    `update webhook_deliveries set status = 'pending', next_attempt_at = now(), delivered_at = null
      where id = $1 and user_id = $2
        and (status in ('delivered', 'failed') or (status = 'pending' and (next_attempt_at is null or next_attempt_at > now() + make_interval(secs => $3))))
      returning *`,
    [id, userId, leaseSeconds],
  );
  return row ? mapDelivery(row) : null;
}
