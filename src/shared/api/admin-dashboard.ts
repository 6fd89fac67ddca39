import { z } from 'zod';

/**
 * The console's dashboard (issue 18): GET /api/admin/dashboard?range=24h|7d|30d|90d. Served from
 * the hourly aggregates (`stats_hourly`, built every minute by the `admin.stats-rollup` job) plus a
 * few live figures (the job queue, stuck tasks). All times are UTC.
 */

export const dashboardRanges = ['24h', '7d', '30d', '90d'] as const;
export type DashboardRange = (typeof dashboardRanges)[number];

export const dashboardQuery = z.object({ range: z.enum(dashboardRanges).default('7d') });

/** A range from the page's URL (`?range=`), or undefined for anything else. */
export const parseDashboardRange = (value: unknown): DashboardRange | undefined =>
  typeof value === 'string' && (dashboardRanges as readonly string[]).includes(value) ? (value as DashboardRange) : undefined;
export type DashboardQuery = z.infer<typeof dashboardQuery>;

const count = z.number().int().nonnegative();

/** money of one currency through one payment provider (minor units: cents) */
export const dashboardMoney = z.object({ currency: z.string(), provider: z.string(), count, amountMinor: z.number().int() });
export type DashboardMoney = z.infer<typeof dashboardMoney>;

export const dashboardTotals = z.object({
  signups: count,
  /**
   * 24h: distinct users active today (UTC) so far, and yesterday for the previous range; the
   * other ranges: the average per complete UTC day (today left out). Active: created a generation
   * or signed in that day.
   */
  activeUsers: z.number().nonnegative(),
  generations: z.object({
    /** finished in the range (every final status) */
    finished: count,
    /** the provider delivered the video (succeeded, or held for moderation review) */
    succeeded: count,
    /** succeeded / finished, 0-1; null without a finished generation */
    successRate: z.number().nullable(),
    /** time to result (finished - created) of the successes, read from merged histograms */
    p50Ms: z.number().nullable(),
    p95Ms: z.number().nullable(),
  }),
  credits: z.object({
    /** free credits (sign-up and operators' grants, positive adjustments) plus bought ones */
    granted: count,
    grantedFree: count,
    grantedBought: count,
    /** held credits captured for delivered videos */
    spent: count,
  }),
  /** paid orders, by the time of payment */
  revenue: z.array(dashboardMoney),
  /** refunds that moved money (what each added to its order's refunded total) */
  refunds: z.array(dashboardMoney),
  /** orders disputed (charge-backs) */
  disputes: z.array(dashboardMoney),
  /** moderation cases opened */
  moderationFlags: count,
});
export type DashboardTotals = z.infer<typeof dashboardTotals>;

export const dashboardSeries = z.object({
  /** the start of each point: an hour (24h) or 00:00 UTC of a day (the other ranges), oldest first */
  buckets: z.array(z.string()),
  signups: z.array(count),
  /** distinct users active in each hour (24h) or UTC day */
  activeUsers: z.array(count),
  finished: z.array(count),
  succeeded: z.array(count),
  p50Ms: z.array(z.number().nullable()),
  p95Ms: z.array(z.number().nullable()),
  creditsGranted: z.array(count),
  creditsSpent: z.array(count),
  moderationFlags: z.array(count),
  refunds: z.array(count),
  disputes: z.array(count),
  /** generations finished per model: the busiest ones, then (model null) the others added up */
  byModel: z.array(z.object({ model: z.string().nullable(), values: z.array(count) })),
  /** paid, minor units, per currency and payment provider */
  revenue: z.array(z.object({ currency: z.string(), provider: z.string(), values: z.array(z.number().int()) })),
});
export type DashboardSeries = z.infer<typeof dashboardSeries>;

export const dashboardModelRow = z.object({
  model: z.string(),
  /** '' when the generations never reached a provider (blocked or canceled before) */
  provider: z.string(),
  finished: count,
  succeeded: count,
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
});
export type DashboardModelRow = z.infer<typeof dashboardModelRow>;

export const dashboardQueue = z.object({
  name: z.string(),
  /** not taken yet (created, or waiting for a retry) */
  waiting: count,
  /** of those, the ones whose start time has come (they wait for a worker) */
  due: count,
  /** how long the oldest due job has waited for a worker, in seconds; null when none is due */
  oldestWaitSeconds: z.number().nullable(),
});
export type DashboardQueue = z.infer<typeof dashboardQueue>;

export const dashboardView = z.object({
  range: z.enum(dashboardRanges),
  granularity: z.enum(['hour', 'day']),
  /** the range [from, to) and the previous one of the same length [previousFrom, from) */
  from: z.string(),
  to: z.string(),
  previousFrom: z.string(),
  /** the server's time of the answer */
  now: z.string(),
  /** the aggregates are complete up to this instant (null: the rollup never ran) */
  computedThrough: z.string().nullable(),
  /** when the rollup last ran */
  rollupAt: z.string().nullable(),
  /** the history is complete back to this instant (the first rollups fill it in, newest first) */
  historyFrom: z.string().nullable(),
  /** the history covers every range the dashboard shows */
  historyComplete: z.boolean(),
  totals: dashboardTotals,
  previous: dashboardTotals,
  series: dashboardSeries,
  models: z.array(dashboardModelRow),
  live: z.object({
    queues: z.array(dashboardQueue),
    /** generations in progress */
    activeTasks: count,
    /** generations in progress past their deadline (the engine should have ended them) */
    stuckTasks: count,
  }),
});
export type DashboardView = z.infer<typeof dashboardView>;
