import { and, eq, gte, inArray, lt } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { statsHourly, statsRollupState } from '../../db/schema';
import { BOSS_SCHEMA } from '../../jobs/boss';
import { histogramThresholds } from './stats.histogram';

/**
 * SQL of the dashboard (issue 18): the hourly rollup of the source tables into `stats_hourly`,
 * and the dashboard's reads of it (plus the live figures: the job queue and stuck tasks).
 *
 * What a `stats_hourly` row means, per metric (`hour`: the UTC hour the rows fall in):
 *
 * | metric             | dim1         | dim2                        | count                                 | total                         | ok            | histogram     |
 * |--------------------|--------------|-----------------------------|---------------------------------------|-------------------------------|---------------|---------------|
 * | `signups`          |              |                             | accounts created                      |                               |               |               |
 * | `active_users`     |              |                             | distinct active users (1)             |                               |               |               |
 * | `generations`      | model id     | provider ('' if never sent) | generations finished (2)              | ms to result of the successes | successes (3) | the same (4)  |
 * | `credits`          | ledger kind  | `in`, `out` or '' (5)       | ledger rows                           | credits moved (6)             |               |               |
 * | `revenue`          | currency     | payment provider            | orders paid                           | paid, minor units             |               |               |
 * | `refunds`          | currency     | payment provider            | refunds that moved money (7)          | refunded, minor units         |               |               |
 * | `disputes`         | currency     | payment provider            | orders disputed (first dispute event) | disputed, minor units         |               |               |
 * | `moderation_flags` | case subject | the case's automatic action | moderation cases opened               |                               |               |               |
 *
 * Each metric also has day rows, `<metric>:day` (`hour` is 00:00 UTC of the day), so that the
 * 7-, 30- and 90-day ranges read a row per day instead of 24: the sums (and the histograms added
 * bucket by bucket) of the day's hour rows, except `active_users:day`, the distinct users of the
 * whole day, counted from the source tables (distinct counts do not add up).
 *
 * 1. a user is active in an hour or a UTC day when they created a generation or signed in (a
 *    session was created) then.
 * 2. by `finished_at` (every final status: succeeded, failed, canceled, blocked, under review).
 * 3. succeeded or under review (the provider delivered a video; moderation holds it for review).
 * 4. stats.histogram.ts: fixed log-scale buckets, merged by adding.
 * 5. the sign of the balance change: `in` (grant, purchase, release, refund, positive adjustment),
 *    `out` (hold, clawback, expire, negative adjustment), '' for captures (held credits spent).
 * 6. always positive: the price held, captured or released, or the balance change.
 * 7. payment events are cumulative: a refund counts for what it added to the order's refunded
 *    total (capped at what was paid); a repeated or out-of-order event adds nothing.
 */

export const hourMetrics = ['signups', 'active_users', 'generations', 'credits', 'revenue', 'refunds', 'disputes', 'moderation_flags'] as const;
/** the metrics whose day rows are the sums of their hour rows */
const additiveMetrics = hourMetrics.filter((m) => m !== 'active_users');
const dayMetric = (m: string) => `${m}:day`;
export const dayMetrics = hourMetrics.map(dayMetric);

/** rows of one hour, or of one UTC day */
export type Resolution = 'hour' | 'day';
const metricsAt = (resolution: Resolution): string[] => (resolution === 'hour' ? [...hourMetrics] : dayMetrics);
/** the metric a row counts (without `:day`) */
const baseMetric = (m: string) => (m.endsWith(':day') ? m.slice(0, -4) : m);

/** the rollup's state rows: where the forward rollup got to, and where the history backfill got back to */
export const ROLLUP_FORWARD = 'dashboard';
export const ROLLUP_BACKFILL = 'dashboard.backfill';

const iso = (d: Date) => d.toISOString();
const toDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

const upsert = `on conflict (metric, hour, dim1, dim2) do update
  set count = excluded.count, total = excluded.total, ok = excluded.ok, histogram = excluded.histogram`;

/** One rollup at a time: a run that finds another one going waits for it (the next cron run then has little to do). */
export async function lockRollup(tx: DbHandle): Promise<void> {
  await tx.sql.query(`select pg_advisory_xact_lock(hashtext('savesora.stats-rollup'))`);
}

export interface RollupState {
  computedThrough: Date;
  updatedAt: Date;
}

export async function getRollupStates(db: DbHandle): Promise<Map<string, RollupState>> {
  const rows = await db.db
    .select()
    .from(statsRollupState)
    .where(inArray(statsRollupState.name, [ROLLUP_FORWARD, ROLLUP_BACKFILL]));
  return new Map(rows.map((r) => [r.name, { computedThrough: r.computedThrough, updatedAt: r.updatedAt }]));
}

export async function setRollupState(db: DbHandle, name: string, computedThrough: Date, at: Date): Promise<void> {
  await db.db
    .insert(statsRollupState)
    .values({ name, computedThrough, updatedAt: at })
    .onConflictDoUpdate({ target: statsRollupState.name, set: { computedThrough, updatedAt: at } });
}

/**
 * The oldest source row any metric would count, or null when there is none (each a min() on an
 * index). The backfill stops there.
 */
export async function earliestSourceRow(db: DbHandle): Promise<Date | null> {
  const [row] = await db.sql.query<{ at: unknown }>(
    `select least(
       (select min(created_at) from users),
       (select min(created_at) from generations),
       (select min(finished_at) from generations where finished_at is not null),
       (select min(created_at) from sessions),
       (select min(created_at) from credit_ledger),
       (select min(paid_at) from orders where paid_at is not null),
       (select min(applied_at) from payment_events where state = 'applied' and type in ('payment.refunded', 'payment.disputed')),
       (select min(opened_at) from moderation_cases)
     ) as at`,
  );
  return row?.at ? toDate(row.at) : null;
}

/** Removes the rows of [from, to) at this resolution: the rollup then inserts what the sources say now. */
export async function clearRows(tx: DbHandle, resolution: Resolution, from: Date, to: Date): Promise<void> {
  await tx.db.delete(statsHourly).where(and(inArray(statsHourly.metric, metricsAt(resolution)), gte(statsHourly.hour, from), lt(statsHourly.hour, to)));
}

/** Every hourly metric of the hours [from, to), from the source tables (insert ... select ... group by hour). */
export async function rollupHours(tx: DbHandle, from: Date, to: Date): Promise<void> {
  const range = [iso(from), iso(to)];

  await tx.sql.query(
    `insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select 'signups', date_trunc('hour', created_at, 'UTC'), '', '', count(*), 0, 0, null
       from users where created_at >= $1::timestamptz and created_at < $2::timestamptz
      group by 2
     ${upsert}`,
    range,
  );

  await tx.sql.query(
    `insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select 'active_users', h, '', '', count(distinct user_id), 0, 0, null
       from (select date_trunc('hour', created_at, 'UTC') as h, user_id from generations
              where created_at >= $1::timestamptz and created_at < $2::timestamptz
             union all
             select date_trunc('hour', created_at, 'UTC') as h, user_id from sessions
              where created_at >= $1::timestamptz and created_at < $2::timestamptz) as a
      group by h
     ${upsert}`,
    range,
  );

  // generations by the hour they finished, per model and provider, with the histogram of the successes' time to result
  await tx.sql.query(
    `with f as (
       select date_trunc('hour', finished_at, 'UTC') as h, model_id as m, coalesce(provider, '') as p,
              status in ('succeeded', 'under_review') as ok,
              greatest(0, floor(extract(epoch from finished_at - created_at) * 1000))::bigint as ms
         from generations where finished_at >= $1::timestamptz and finished_at < $2::timestamptz
     ),
     g as (
       select h, m, p, count(*) as n, count(*) filter (where ok) as ok, coalesce(sum(ms) filter (where ok), 0) as ms
         from f group by h, m, p
     ),
     b as (
       select h, m, p, width_bucket(ms, $3::bigint[]) as b, count(*)::int as n from f where ok group by h, m, p, 4
     ),
     hist as (
       select k.h, k.m, k.p, array_agg(coalesce(b.n, 0) order by s.i) as histogram
         from (select h, m, p, max(b) as top from b group by h, m, p) as k
         cross join lateral generate_series(0, k.top) as s(i)
         left join b on b.h = k.h and b.m = k.m and b.p = k.p and b.b = s.i
        group by k.h, k.m, k.p
     )
     insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select 'generations', g.h, g.m, g.p, g.n, g.ms, g.ok, hist.histogram
       from g left join hist on hist.h = g.h and hist.m = g.m and hist.p = g.p
     ${upsert}`,
    [...range, [...histogramThresholds]],
  );

  await tx.sql.query(
    `insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select 'credits', date_trunc('hour', created_at, 'UTC'), kind,
            case when amount > 0 then 'in' when amount < 0 then 'out' else '' end,
            count(*),
            sum(case kind when 'capture' then -held_delta when 'hold' then held_delta else abs(amount) end),
            0, null
       from credit_ledger where created_at >= $1::timestamptz and created_at < $2::timestamptz
      group by 2, 3, 4
     ${upsert}`,
    range,
  );

  await tx.sql.query(
    `insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select 'revenue', date_trunc('hour', paid_at, 'UTC'), currency, provider, count(*), sum(paid_minor), 0, null
       from orders where paid_at >= $1::timestamptz and paid_at < $2::timestamptz
      group by 2, 3, 4
     ${upsert}`,
    range,
  );

  // refunds (by what each event added to its order's refunded total) and disputes (the first per order)
  await rollupTakeBacks(tx, from, to);

  await tx.sql.query(
    `insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select 'moderation_flags', date_trunc('hour', opened_at, 'UTC'), subject, action, count(*), 0, 0, null
       from moderation_cases where opened_at >= $1::timestamptz and opened_at < $2::timestamptz
      group by 2, 3, 4
     ${upsert}`,
    range,
  );
}

/** Refunds and disputes of [from, to): see note 7 above. */
async function rollupTakeBacks(tx: DbHandle, from: Date, to: Date): Promise<void> {
  await tx.sql.query(
    `with touched as (
       select distinct order_id from payment_events
        where state = 'applied' and type in ('payment.refunded', 'payment.disputed')
          and applied_at >= $1::timestamptz and applied_at < $2::timestamptz and order_id is not null
     ),
     ev as (
       select e.order_id, e.event_id, e.type, e.applied_at, o.currency, o.provider,
              case when e.type = 'payment.refunded'
                   then least(coalesce((e.event->>'refundedMinor')::bigint, 0), coalesce(nullif(o.paid_minor, 0), o.amount_minor))
                   else coalesce((e.event->>'amountMinor')::bigint, nullif(o.paid_minor, 0), o.amount_minor) end as amount
         from payment_events e join orders o on o.id = e.order_id
        where e.order_id in (select order_id from touched)
          and e.state = 'applied' and e.type in ('payment.refunded', 'payment.disputed') and e.applied_at < $2::timestamptz
     ),
     steps as (
       select type, applied_at, currency, provider, amount,
              row_number() over w as nth,
              coalesce(max(amount) over (w rows between unbounded preceding and 1 preceding), 0) as before
         from ev
       window w as (partition by order_id, type order by applied_at, event_id)
     )
     insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select case when type = 'payment.refunded' then 'refunds' else 'disputes' end,
            date_trunc('hour', applied_at, 'UTC'), currency, provider, count(*),
            sum(case when type = 'payment.refunded' then amount - before else amount end), 0, null
       from steps
      where applied_at >= $1::timestamptz
        and ((type = 'payment.refunded' and amount > before) or (type = 'payment.disputed' and nth = 1))
      group by 1, 2, 3, 4
     ${upsert}`,
    [iso(from), iso(to)],
  );
}

/**
 * The day rows of the days [from, to) (both 00:00 UTC): the distinct active users of each day from
 * the source tables, the other metrics from their hour rows (computed before, in the same transaction).
 */
export async function rollupDays(tx: DbHandle, from: Date, to: Date): Promise<void> {
  const range = [iso(from), iso(to)];
  await tx.sql.query(
    `insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select 'active_users:day', d, '', '', count(distinct user_id), 0, 0, null
       from (select date_trunc('day', created_at, 'UTC') as d, user_id from generations
              where created_at >= $1::timestamptz and created_at < $2::timestamptz
             union all
             select date_trunc('day', created_at, 'UTC') as d, user_id from sessions
              where created_at >= $1::timestamptz and created_at < $2::timestamptz) as a
      group by d
     ${upsert}`,
    range,
  );
  // sums per day; the histograms added bucket by bucket (every bucket up to the longest array appears, so the result is dense)
  await tx.sql.query(
    `with h as (
       select s.metric, date_trunc('day', s.hour, 'UTC') as d, s.dim1, s.dim2, u.i, sum(u.v)::int as v
         from stats_hourly s cross join lateral unnest(s.histogram) with ordinality as u(v, i)
        where s.metric = 'generations' and s.hour >= $1::timestamptz and s.hour < $2::timestamptz and s.histogram is not null
        group by 1, 2, 3, 4, 5
     ),
     merged as (select metric, d, dim1, dim2, array_agg(v order by i) as histogram from h group by 1, 2, 3, 4),
     sums as (
       select metric, date_trunc('day', hour, 'UTC') as d, dim1, dim2, sum(count) as count, sum(total) as total, sum(ok) as ok
         from stats_hourly
        where metric = any($3::text[]) and hour >= $1::timestamptz and hour < $2::timestamptz
        group by 1, 2, 3, 4
     )
     insert into stats_hourly (metric, hour, dim1, dim2, count, total, ok, histogram)
     select sums.metric || ':day', sums.d, sums.dim1, sums.dim2, sums.count, sums.total, sums.ok, merged.histogram
       from sums left join merged on merged.metric = sums.metric and merged.d = sums.d and merged.dim1 = sums.dim1 and merged.dim2 = sums.dim2
     ${upsert}`,
    [...range, additiveMetrics],
  );
}

// ---------------------------------------------------------------------------------------------
// The dashboard's reads: stats_hourly only (and the live figures below)

/** A `stats_hourly` row as the dashboard reads it. */
export interface StatsRow {
  /** without `:day` */
  metric: string;
  dim1: string;
  dim2: string;
  /** the row's hour, or 00:00 UTC of its day (ms since the epoch) */
  t: number;
  count: number;
  total: number;
  ok: number;
  histogram: number[] | null;
}

/**
 * The rows of [from, to) at this resolution (by the primary key: metric, hour). The dashboard
 * adds them up itself: a few thousand rows at most (90 days of day rows), and adding histograms
 * bucket by bucket in JavaScript costs less than unnesting them in SQL.
 */
export async function rowsAt(db: DbHandle, resolution: Resolution, from: Date, to: Date): Promise<StatsRow[]> {
  // one JSON value rather than thousands of rows: much cheaper to hand over (PGlite above all)
  const [row] = await db.sql.query<{ rows: [string, string, string, number, number, number, number, number[] | null][] | null }>(
    `select json_agg(json_build_array(metric, dim1, dim2, extract(epoch from hour) * 1000, count, total, ok, histogram)) as rows
       from stats_hourly
      where metric = any($3::text[]) and hour >= $1::timestamptz and hour < $2::timestamptz`,
    [iso(from), iso(to), metricsAt(resolution)],
  );
  // (numbers in JSON: exact up to 2^53, beyond any count or sum here)
  return (row?.rows ?? []).map(([metric, dim1, dim2, t, count, total, ok, histogram]) => ({
    metric: baseMetric(metric),
    dim1,
    dim2,
    t,
    count,
    total,
    ok,
    histogram,
  }));
}

/** Distinct active users per UTC day (00:00 UTC, ms since the epoch), for the days [from, to). */
export async function dailyActiveUsers(db: DbHandle, from: Date, to: Date): Promise<Map<number, number>> {
  const rows = await db.db
    .select({ hour: statsHourly.hour, count: statsHourly.count })
    .from(statsHourly)
    .where(and(eq(statsHourly.metric, dayMetric('active_users')), gte(statsHourly.hour, from), lt(statsHourly.hour, to)));
  return new Map(rows.map((r) => [r.hour.getTime(), r.count]));
}

// ---------------------------------------------------------------------------------------------
// Live figures (not aggregated)

export interface QueueDepth {
  name: string;
  /** jobs not taken yet (created or waiting for a retry) */
  waiting: number;
  /** of those, the ones whose start time has come: they wait for a worker */
  due: number;
  /** since when the oldest due job could have run (its start time), or null */
  oldestDueSince: Date | null;
}

/**
 * Waiting jobs per job name, from pg-boss's job table by its partial index on waiting jobs
 * (`job_i5`: name, start_after, where state < 'active'). pg-boss's own internal queues are left out.
 */
export async function queueDepths(db: DbHandle, now: Date): Promise<QueueDepth[]> {
  const rows = await db.sql.query<{ name: string; waiting: unknown; due: unknown; oldest: unknown }>(
    `select name, count(*)::float8 as waiting,
            count(*) filter (where start_after <= $1::timestamptz)::float8 as due,
            min(start_after) filter (where start_after <= $1::timestamptz) as oldest
       from ${BOSS_SCHEMA}.job
      where state < 'active' and name not like '\\_\\_pgboss%'
      group by name order by name`,
    [iso(now)],
  );
  return rows.map((r) => ({ name: r.name, waiting: num(r.waiting), due: num(r.due), oldestDueSince: r.oldest ? toDate(r.oldest) : null }));
}

/** Generations in progress, and those of them past their deadline (by the partial index of active tasks). */
export async function activeTasks(db: DbHandle, now: Date): Promise<{ active: number; stuck: number }> {
  const [row] = await db.sql.query<{ active: unknown; stuck: unknown }>(
    `select count(*)::float8 as active, count(*) filter (where deadline_at <= $1::timestamptz)::float8 as stuck
       from generations where status in ('queued', 'submitting', 'running', 'finalizing')`,
    [iso(now)],
  );
  return { active: num(row?.active), stuck: num(row?.stuck) };
}
