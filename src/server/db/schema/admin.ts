import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { generations } from './generations';

/**
 * The operator console (issue 18): the append-only audit log of operator actions, settings kept in
 * the database (sealed with the secret box), the dashboard's hourly aggregates, and the callbacks
 * a generation received.
 */
const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

export const auditVias = ['console', 'cli', 'system'] as const;
export type AuditVia = (typeof auditVias)[number];

/**
 * One operator action: who, when, what, on what, before and after, and from which address.
 * Append-only: a trigger refuses UPDATE and DELETE (migration 0010), and no route changes a row.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    /** the operator's user id; null for the CLI run as a machine user and for the system */
    actorId: text('actor_id'),
    /** what identifies the actor to a reader: the operator's email, `cli:<os user>` or `system` */
    actorLabel: text('actor_label').notNull(),
    /** the actor's role when acting (console) */
    actorRole: text('actor_role'),
    via: text('via', { enum: auditVias }).notNull(),
    /** the client address (console) or `local` (CLI) */
    ip: text('ip'),
    /** dotted, stable: `user.credits.grant`, `order.refund`, `settings.update`, `model.update`, ... */
    action: text('action').notNull(),
    /** `user`, `order`, `generation`, `setting`, `model`, `plan`, `case`, `hold`, ... */
    targetType: text('target_type'),
    targetId: text('target_id'),
    reason: text('reason'),
    /** the state before and after (never a secret: secret settings appear as `{set: true}`) */
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [
    check('audit_log_via_check', sql.raw(`via in (${list(auditVias)})`)),
    index('audit_log_at_idx').on(t.at, t.id),
    index('audit_log_actor_idx').on(t.actorId, t.at),
    index('audit_log_target_idx').on(t.targetType, t.targetId, t.at),
    index('audit_log_action_idx').on(t.action, t.at),
  ],
);

/**
 * Settings edited in the console. The value is JSON sealed with the secret box (purpose
 * `settings`), whether or not the setting is a secret; an environment variable that is set wins.
 */
export const appSettings = pgTable('app_settings', {
  key: text('key').primaryKey(),
  sealedValue: text('sealed_value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  updatedBy: text('updated_by'),
});

/**
 * The dashboard's aggregates: one row per metric, hour and dimensions (model, provider, currency...).
 * Rebuilt for recent hours by the `admin.stats-rollup` job from the indexed source tables; the
 * dashboard reads only these rows.
 */
export const statsHourly = pgTable(
  'stats_hourly',
  {
    metric: text('metric').notNull(),
    hour: timestamp('hour', { withTimezone: true }).notNull(),
    dim1: text('dim1').notNull().default(''),
    dim2: text('dim2').notNull().default(''),
    count: bigint('count', { mode: 'number' }).notNull().default(0),
    /** a sum that goes with the count (credits, minor currency units, milliseconds) */
    total: bigint('total', { mode: 'number' }).notNull().default(0),
    /** successes, where the metric has them */
    ok: bigint('ok', { mode: 'number' }).notNull().default(0),
    /** a latency histogram in fixed buckets (percentiles are read from merged histograms) */
    histogram: integer('histogram').array(),
  },
  (t) => [primaryKey({ columns: [t.metric, t.hour, t.dim1, t.dim2] }), index('stats_hourly_hour_idx').on(t.hour)],
);

/** Where each rollup got to (its watermark). */
export const statsRollupState = pgTable('stats_rollup_state', {
  name: text('name').primaryKey(),
  computedThrough: timestamp('computed_through', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});

/** Every provider callback about a generation, as received (for the console's generation page). */
export const generationCallbacks = pgTable(
  'generation_callbacks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    generationId: text('generation_id')
      .notNull()
      .references(() => generations.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    /** what the callback said (`succeeded`, `failed`, `running`...) */
    state: text('state'),
    /** what we did with it: `applied`, `duplicate`, `ignored`, ... */
    outcome: text('outcome').notNull(),
    /** a short excerpt of the body (no secrets, at most 2 KB) */
    detail: text('detail'),
  },
  (t) => [index('generation_callbacks_generation_idx').on(t.generationId, t.receivedAt)],
);
