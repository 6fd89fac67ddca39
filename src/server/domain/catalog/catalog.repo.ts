import { and, eq, or, isNotNull, ne } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { rowMapper } from '../../db/rows';
import { modelSettings, routeHealth } from '../../db/schema';

/**
 * SQL for the catalog overrides (model_settings) and route health (route_health). The time of a
 * change and of a route's rest comes from the caller's clock (`now`), not the database's.
 */

export type ModelSettingsRow = typeof modelSettings.$inferSelect;
export type RouteHealthRow = typeof routeHealth.$inferSelect;
const toRouteHealth = rowMapper(routeHealth);

export async function listModelSettings(db: DbHandle): Promise<ModelSettingsRow[]> {
  return db.db.select().from(modelSettings);
}

/** The columns an operator may change; undefined = leave as is, null = back to built-in. */
export type ModelSettingsPatch = Partial<Pick<ModelSettingsRow, 'enabled' | 'price' | 'lifecycle' | 'routeOrder'>>;

/**
 * Set the given columns (undefined = leave as is, null = back to built-in), changed by `by` at
 * `now`: Drizzle leaves undefined keys out of both the insert and the update.
 */
export async function upsertModelSettings(db: DbHandle, modelId: string, patch: ModelSettingsPatch, by: string, now: Date): Promise<void> {
  await db.db
    .insert(modelSettings)
    .values({ modelId, ...patch, updatedAt: now, updatedBy: by })
    .onConflictDoUpdate({ target: modelSettings.modelId, set: { ...patch, updatedAt: now, updatedBy: by } });
}

export async function deleteModelSettings(db: DbHandle, modelId: string): Promise<boolean> {
  const rows = await db.db.delete(modelSettings).where(eq(modelSettings.modelId, modelId)).returning({ modelId: modelSettings.modelId });
  return rows.length > 0;
}

export async function listRouteHealth(db: DbHandle, modelId?: string): Promise<RouteHealthRow[]> {
  return db.db
    .select()
    .from(routeHealth)
    .where(modelId ? eq(routeHealth.modelId, modelId) : undefined);
}

/**
 * Count one retryable failure at `now`; the route turns unhealthy for `cooldownSeconds` from `now`
 * when the count reaches `threshold` (one guarded upsert, so concurrent workers add up correctly).
 */
export async function recordRouteFailure(
  db: DbHandle,
  route: { modelId: string; provider: string },
  error: string,
  threshold: number,
  cooldownSeconds: number,
  now: Date,
): Promise<RouteHealthRow> {
  const rows = await db.sql.query(
    `insert into route_health (model_id, provider, consecutive_failures, last_error,
                               unhealthy_until, updated_at)
     values ($1, $2, 1, $3, case when 1 >= $4 then $6::timestamptz + make_interval(secs => $5) end, $6::timestamptz)
     on conflict (model_id, provider) do update set
       consecutive_failures = route_health.consecutive_failures + 1,
       last_error = excluded.last_error,
       unhealthy_until = case when route_health.consecutive_failures + 1 >= $4
                              then $6::timestamptz + make_interval(secs => $5) else route_health.unhealthy_until end,
       updated_at = $6::timestamptz
     returning *`,
    [route.modelId, route.provider, error.slice(0, 500), threshold, cooldownSeconds, now.toISOString()],
  );
  const [row] = rows;
  if (!row) throw new Error('the route health upsert returned no row');
  return toRouteHealth(row);
}

/** A success at `now` clears the route's failure count. */
export async function recordRouteSuccess(db: DbHandle, route: { modelId: string; provider: string }, now: Date): Promise<void> {
  await db.db
    .update(routeHealth)
    .set({ consecutiveFailures: 0, unhealthyUntil: null, updatedAt: now })
    .where(
      and(
        eq(routeHealth.modelId, route.modelId),
        eq(routeHealth.provider, route.provider),
        or(ne(routeHealth.consecutiveFailures, 0), isNotNull(routeHealth.unhealthyUntil)),
      ),
    );
}
