import { integer, jsonb, pgTable, primaryKey, text, timestamp, boolean } from 'drizzle-orm/pg-core';
import type { ModelLifecycle, PriceRule } from '../../../shared/catalog/spec';

/**
 * Operators' run-time changes to the built-in catalog (catalog-data.ts): one row per model that
 * has any. A null column means "as built in". Edited with `npm run cli -- models:set`.
 */
export const modelSettings = pgTable('model_settings', {
  modelId: text('model_id').primaryKey(),
  enabled: boolean('enabled'),
  /** a full PriceRule replacing the built-in one */
  price: jsonb('price').$type<PriceRule>(),
  /** a full ModelLifecycle replacing the built-in one */
  lifecycle: jsonb('lifecycle').$type<ModelLifecycle>(),
  /** provider ids in the order to try; providers left out are disabled for this model */
  routeOrder: jsonb('route_order').$type<string[]>(),
  /** where the model appears in lists (lower first); null: after the ordered ones, in built-in order */
  position: integer('position'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  updatedBy: text('updated_by'),
});

/**
 * Recent submit failures per route (model x provider), shared by every worker: after
 * ROUTE_FAILURE_THRESHOLD retryable failures in a row the route is skipped until `unhealthy_until`.
 */
export const routeHealth = pgTable(
  'route_health',
  {
    modelId: text('model_id').notNull(),
    provider: text('provider').notNull(),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    unhealthyUntil: timestamp('unhealthy_until', { withTimezone: true }),
    lastError: text('last_error'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.provider] })],
);
