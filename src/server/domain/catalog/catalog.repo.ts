import type { DbHandle } from '../../db/client';
import type { ModelLifecycle, PriceRule } from '../../../shared/catalog/spec';

/** SQL for the catalog overrides (model_settings) and route health (route_health). */

export interface ModelSettingsRow {
  modelId: string;
  enabled: boolean | null;
  price: PriceRule | null;
  lifecycle: ModelLifecycle | null;
  routeOrder: string[] | null;
  updatedAt: Date;
  updatedBy: string | null;
}

interface RawSettings {
  model_id: string;
  enabled: boolean | null;
  price: PriceRule | string | null;
  lifecycle: ModelLifecycle | string | null;
  route_order: string[] | string | null;
  updated_at: Date | string;
  updated_by: string | null;
}

// node-postgres parses jsonb; PGlite does too, but be tolerant of drivers that hand back text.
const json = <T>(v: T | string | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export async function listModelSettings(db: DbHandle): Promise<ModelSettingsRow[]> {
  const rows = await db.sql.query<RawSettings>('select * from model_settings');
  return rows.map((r) => ({
    modelId: r.model_id,
    enabled: r.enabled,
    price: json(r.price),
    lifecycle: json(r.lifecycle),
    routeOrder: json(r.route_order),
    updatedAt: new Date(r.updated_at),
    updatedBy: r.updated_by,
  }));
}

export interface ModelSettingsPatch {
  enabled?: boolean | null;
  price?: PriceRule | null;
  lifecycle?: ModelLifecycle | null;
  routeOrder?: string[] | null;
}

/** Set the given columns (undefined = leave as is, null = back to built-in). */
export async function upsertModelSettings(db: DbHandle, modelId: string, patch: ModelSettingsPatch, by: string): Promise<void> {
  const has = (k: keyof ModelSettingsPatch) => patch[k] !== undefined;
  const enc = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
  await db.sql.query(
    `insert into model_settings (model_id, enabled, price, lifecycle, route_order, updated_by)
     values ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb, $10)
     on conflict (model_id) do update set
       enabled = case when $6 then excluded.enabled else model_settings.enabled end,
       price = case when $7 then excluded.price else model_settings.price end,
       lifecycle = case when $8 then excluded.lifecycle else model_settings.lifecycle end,
       route_order = case when $9 then excluded.route_order else model_settings.route_order end,
       updated_at = now(), updated_by = excluded.updated_by`,
    [
      modelId,
      patch.enabled ?? null,
      enc(patch.price),
      enc(patch.lifecycle),
      enc(patch.routeOrder),
      has('enabled'),
      has('price'),
      has('lifecycle'),
      has('routeOrder'),
      by,
    ],
  );
}

export async function deleteModelSettings(db: DbHandle, modelId: string): Promise<boolean> {
  const rows = await db.sql.query('delete from model_settings where model_id = $1 returning model_id', [modelId]);
  return rows.length > 0;
}

export interface RouteHealthRow {
  modelId: string;
  provider: string;
  consecutiveFailures: number;
  unhealthyUntil: Date | null;
  lastError: string | null;
}

export async function listRouteHealth(db: DbHandle, modelId?: string): Promise<RouteHealthRow[]> {
  const rows = await db.sql.query<{
    model_id: string;
    provider: string;
    consecutive_failures: number;
    unhealthy_until: Date | string | null;
    last_error: string | null;
  }>(
    modelId ? 'select * from route_health where model_id = $1' : 'select * from route_health',
    modelId ? [modelId] : [],
  );
  return rows.map((r) => ({
    modelId: r.model_id,
    provider: r.provider,
    consecutiveFailures: Number(r.consecutive_failures),
    unhealthyUntil: r.unhealthy_until === null ? null : new Date(r.unhealthy_until),
    lastError: r.last_error,
  }));
}

/**
 * Count one retryable failure; the route turns unhealthy for `cooldownSeconds` when the count
 * reaches `threshold` (one guarded upsert, so concurrent workers add up correctly).
 */
export async function recordRouteFailure(
  db: DbHandle,
  route: { modelId: string; provider: string },
  error: string,
  threshold: number,
  cooldownSeconds: number,
): Promise<RouteHealthRow> {
  const rows = await db.sql.query<{ consecutive_failures: number; unhealthy_until: Date | string | null }>(
    `insert into route_health (model_id, provider, consecutive_failures, last_error,
                               unhealthy_until)
     values ($1, $2, 1, $3, case when 1 >= $4 then now() + make_interval(secs => $5) end)
     on conflict (model_id, provider) do update set
       consecutive_failures = route_health.consecutive_failures + 1,
       last_error = excluded.last_error,
       unhealthy_until = case when route_health.consecutive_failures + 1 >= $4
                              then now() + make_interval(secs => $5) else route_health.unhealthy_until end,
       updated_at = now()
     returning consecutive_failures, unhealthy_until`,
    [route.modelId, route.provider, error.slice(0, 500), threshold, cooldownSeconds],
  );
  const r = rows[0]!;
  return {
    modelId: route.modelId,
    provider: route.provider,
    consecutiveFailures: Number(r.consecutive_failures),
    unhealthyUntil: r.unhealthy_until === null ? null : new Date(r.unhealthy_until),
    lastError: error,
  };
}

/** A success clears the route's failure count. */
export async function recordRouteSuccess(db: DbHandle, route: { modelId: string; provider: string }): Promise<void> {
  await db.sql.query(
    `update route_health set consecutive_failures = 0, unhealthy_until = null, updated_at = now()
      where model_id = $1 and provider = $2 and (consecutive_failures <> 0 or unhealthy_until is not null)`,
    [route.modelId, route.provider],
  );
}
