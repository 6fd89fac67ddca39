import { bigserial, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Records of `system.probe` jobs: which worker process handled which probe. Operators use
 * `npm run cli -- queue:probe` to check that workers are alive; tests use it to show that two
 * workers never run the same job. Old rows are removed by the probe handler itself.
 */
export const jobProbeRuns = pgTable(
  'job_probe_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    token: text('token').notNull(),
    jobId: text('job_id').notNull(),
    workerId: text('worker_id').notNull(),
    handledAt: timestamp('handled_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('job_probe_runs_token_idx').on(t.token), index('job_probe_runs_handled_at_idx').on(t.handledAt)],
);

/**
 * Fixed-window counters for rate limits, shared by every web process (one guarded upsert per hit).
 * Expired rows are removed by a maintenance job.
 */
export const rateLimitBuckets = pgTable(
  'rate_limit_buckets',
  {
    key: text('key').primaryKey(),
    count: integer('count').notNull(),
    resetAt: timestamp('reset_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('rate_limit_buckets_reset_idx').on(t.resetAt)],
);
