import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Database, DbHandle } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { apiKeyScopes, type ApiKeyScope, type ApiKeyView, type CreatedApiKey, type UsageResponse } from '../../../shared/api/developer';

/**
 * API keys: `ssk_` + 43 characters (256 random bits). The secret is returned once; we keep its
 * SHA-256 (a fast hash is enough for 256-bit random secrets, and lets a request find its key by
 * index) and a short prefix to recognize it. A key acts as its owner, within its scopes.
 */

export const KEY_PREFIX = 'ssk_';
const PREFIX_SHOWN = 12;

export const hashApiKey = (secret: string) => createHash('sha256').update(secret).digest('hex');

export interface ApiKeyRow {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  scopes: ApiKeyScope[];
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

type Raw = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));

function mapKey(r: Raw): ApiKeyRow {
  const scopes = typeof r.scopes === 'string' ? (JSON.parse(r.scopes) as ApiKeyScope[]) : (r.scopes as ApiKeyScope[]);
  return {
    id: r.id as string,
    userId: r.user_id as string,
    name: r.name as string,
    prefix: r.prefix as string,
    scopes,
    expiresAt: date(r.expires_at),
    lastUsedAt: date(r.last_used_at),
    revokedAt: date(r.revoked_at),
    createdAt: new Date(r.created_at as string),
  };
}

export function toKeyView(k: ApiKeyRow): ApiKeyView {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

/** the most keys one user may have that are not revoked */
export const MAX_ACTIVE_KEYS = 20;

export async function createApiKey(
  database: Pick<Database, 'sql'> | DbHandle,
  userId: string,
  input: { name: string; scopes?: readonly ApiKeyScope[]; expiresInDays?: number },
): Promise<CreatedApiKey> {
  const scopes = [...new Set(input.scopes?.length ? input.scopes : apiKeyScopes)];
  if (scopes.some((s) => !apiKeyScopes.includes(s))) throw new AppError('invalid_request', `Scopes must be among ${apiKeyScopes.join(', ')}.`, 400);
  const name = input.name.trim();
  if (!name || name.length > 80) throw new AppError('invalid_request', 'A key needs a name of 1 to 80 characters.', 400, { fields: [{ field: 'name', message: 'is required' }] });
  const [{ n }] = (await database.sql.query<{ n: number }>('select count(*)::int as n from api_keys where user_id = $1 and revoked_at is null', [userId])) as [{ n: number }];
  if (n >= MAX_ACTIVE_KEYS) throw new AppError('too_many_keys', `You have ${MAX_ACTIVE_KEYS} keys; revoke one you no longer use first.`, 409);
  const secret = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = randomUUID();
  const rows = await database.sql.query(
    `insert into api_keys (id, user_id, name, prefix, secret_hash, scopes, expires_at)
     values ($1, $2, $3, $4, $5, $6::jsonb, case when $7::int is null then null else now() + make_interval(days => $7::int) end) returning *`,
    [id, userId, name, secret.slice(0, PREFIX_SHOWN), hashApiKey(secret), JSON.stringify(scopes), input.expiresInDays ?? null],
  );
  return { ...toKeyView(mapKey(rows[0]!)), secret };
}

export async function listApiKeys(database: Pick<Database, 'sql'>, userId: string): Promise<ApiKeyView[]> {
  const rows = await database.sql.query('select * from api_keys where user_id = $1 order by created_at desc', [userId]);
  return rows.map((r) => toKeyView(mapKey(r)));
}

export async function revokeApiKey(database: Pick<Database, 'sql'>, userId: string, id: string): Promise<void> {
  const rows = /^[0-9a-f-]{36}$/i.test(id)
    ? await database.sql.query('update api_keys set revoked_at = coalesce(revoked_at, now()) where id = $1 and user_id = $2 returning id', [id, userId])
    : [];
  if (!rows.length) throw notFound('That key');
}

export type KeyCheck =
  | { ok: true; key: ApiKeyRow; userStatus: string; limits: ApiLimits }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

/** Requests a minute per key and per user: the plan's API rate when the running subscription's plan sets one. */
export interface ApiLimits {
  perKey: number;
  perUser: number;
}

/** the API rate of the user's running subscription's plan (null: the settings' default) */
const planRateSql = (userIdExpr: string) =>
  `(select p.api_requests_per_minute from subscriptions s join plans p on p.id = s.plan_id
     where s.user_id = ${userIdExpr} and s.status in ('active', 'past_due') order by s.created_at desc limit 1)`;

export function apiLimitsFrom(planRate: number | null | undefined, config: { API_RATE_PER_MINUTE: number; API_USER_RATE_PER_MINUTE: number }): ApiLimits {
  const perKey = planRate ?? config.API_RATE_PER_MINUTE;
  return { perKey, perUser: Math.max(config.API_USER_RATE_PER_MINUTE, perKey) };
}

export async function apiLimitsOf(
  database: Pick<Database, 'sql'>,
  userId: string,
  config: { API_RATE_PER_MINUTE: number; API_USER_RATE_PER_MINUTE: number },
): Promise<ApiLimits> {
  const [row] = await database.sql.query<{ rate: number | null }>(`select ${planRateSql('$1')} as rate`, [userId]);
  return apiLimitsFrom(row?.rate, config);
}

/** The key a presented secret belongs to, if it may be used now. */
export async function checkApiKey(
  database: Pick<Database, 'sql'>,
  secret: string,
  config: { API_RATE_PER_MINUTE: number; API_USER_RATE_PER_MINUTE: number },
): Promise<KeyCheck> {
  if (!secret.startsWith(KEY_PREFIX) || secret.length > 200) return { ok: false, reason: 'unknown' };
  // the key, its owner's status and their plan's rate in one round trip (this runs on every API request)
  const rows = await database.sql.query<Raw & { user_status: string; plan_rate: number | null }>(
    `select k.*, u.status as user_status, ${planRateSql('k.user_id')} as plan_rate
       from api_keys k join users u on u.id = k.user_id where k.secret_hash = $1`,
    [hashApiKey(secret)],
  );
  if (!rows[0]) return { ok: false, reason: 'unknown' };
  const key = mapKey(rows[0]);
  if (key.revokedAt) return { ok: false, reason: 'revoked' };
  if (key.expiresAt && key.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired' };
  return { ok: true, key, userStatus: rows[0].user_status, limits: apiLimitsFrom(rows[0].plan_rate, config) };
}

/** per-day requests, errors and credits spent through the API, and the recent log */
export async function usageOf(
  database: Pick<Database, 'sql'>,
  userId: string,
  opts: { days: number; limits: UsageResponse['limits']; retentionDays: number },
): Promise<UsageResponse> {
  const perDay = await database.sql.query<{ day: string; requests: number; errors: number }>(
    `select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, count(*)::int as requests,
            count(*) filter (where status >= 400)::int as errors
       from api_request_log where user_id = $1 and created_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' - make_interval(days => $2 - 1)
      group by 1`,
    [userId, opts.days],
  );
  const spent = await database.sql.query<{ day: string; credits: string | number }>(
    `select to_char(date_trunc('day', l.created_at at time zone 'UTC'), 'YYYY-MM-DD') as day, coalesce(-sum(l.held_delta), 0) as credits
       from credit_ledger l join generations g on l.reference = 'generation:' || g.id
      where l.user_id = $1 and l.kind = 'capture' and g.api_key_id is not null
        and l.created_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' - make_interval(days => $2 - 1)
      group by 1`,
    [userId, opts.days],
  );
  const byDay = new Map(perDay.map((d) => [d.day, d]));
  const creditsByDay = new Map(spent.map((d) => [d.day, Number(d.credits)]));
  const days: UsageResponse['days'] = [];
  const today = new Date();
  for (let i = opts.days - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i)).toISOString().slice(0, 10);
    days.push({ date: d, requests: byDay.get(d)?.requests ?? 0, errors: byDay.get(d)?.errors ?? 0, credits: creditsByDay.get(d) ?? 0 });
  }
  const recent = await database.sql.query<Raw>(
    `select l.*, k.name as key_name from api_request_log l left join api_keys k on k.id = l.key_id
      where l.user_id = $1 order by l.id desc limit 50`,
    [userId],
  );
  return {
    days,
    recent: recent.map((r) => ({
      id: String(r.id),
      keyId: (r.key_id as string | null) ?? null,
      keyName: (r.key_name as string | null) ?? null,
      method: r.method as string,
      endpoint: r.endpoint as string,
      status: Number(r.status),
      bytesIn: Number(r.bytes_in),
      bytesOut: Number(r.bytes_out),
      latencyMs: Number(r.latency_ms),
      requestId: (r.request_id as string | null) ?? null,
      createdAt: new Date(r.created_at as string).toISOString(),
    })),
    limits: opts.limits,
    retentionDays: opts.retentionDays,
  };
}

/** Removes request logs older than the retention window; returns how many. */
export async function purgeRequestLogs(database: Pick<Database, 'sql'>, retentionDays: number): Promise<number> {
  const rows = await database.sql.query('delete from api_request_log where created_at < now() - make_interval(days => $1) returning 1', [retentionDays]);
  return rows.length;
}
