import type { Clock } from '../../adapters/clock';
import type { Database, DbHandle } from '../../db/client';
import type { DashboardMoney, DashboardRange, DashboardTotals, DashboardView } from '../../../shared/api/admin-dashboard';
import { percentile } from './stats.histogram';
import {
  activeTasks,
  clearRows,
  dailyActiveUsers,
  earliestSourceRow,
  getRollupStates,
  lockRollup,
  queueDepths,
  ROLLUP_BACKFILL,
  ROLLUP_FORWARD,
  rollupDays,
  rollupHours,
  rowsAt,
  setRollupState,
  type StatsRow,
} from './stats.repo';

/**
 * The console's dashboard (issue 18): the rollup that keeps `stats_hourly` up to date from the
 * source tables (job `admin.stats-rollup`, every minute), and the dashboard read from it.
 *
 * The rollup, one transaction per run (one run at a time, stats.repo.ts lockRollup):
 * - **Forward**: recomputes every hour from (watermark - 2 h) up to the current hour, deleting
 *   and re-inserting those hours' rows, then moves the watermark (`computedThrough`) to now. The
 *   2 h overlap catches late rows: a row is dated when its transaction began (a ledger row, a
 *   finished generation, an applied payment event...) but becomes visible when it commits, after a
 *   run may already have counted that hour; such rows are counted by the next runs as long as they
 *   commit within 2 hours. A worker that was down catches up 7 days per run, oldest first.
 * - **History (backfill)**: the first run computes the last 7 days (today included), so the
 *   dashboard is right for recent data at once; each later run (when not catching up) computes
 *   the 7 days before the history cursor, newest first, until the oldest source row or the oldest
 *   day any range can show (180 days: 90 days and the 90 before them). 1,000,000 generations over
 *   90 days are thus backfilled in 13 runs of bounded work, about 13 minutes.
 * - The day rows of the days a run touched are recomputed whole: from the hour rows, and the
 *   distinct active users of the day from the source tables (they do not add up across hours).
 * Counted history reflects the rows that still exist: expired sessions and purged rows that the
 * maintenance jobs removed before a backfill reached them are not counted.
 */

export const LATE_ROWS_HOURS = 2;
export const CHUNK_DAYS = 7;
export const HISTORY_DAYS = 180;
/** the busiest models shown in the per-model series; the rest are added up */
export const SERIES_MODELS = 7;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const floorHour = (ms: number) => Math.floor(ms / HOUR) * HOUR;
const floorDay = (ms: number) => Math.floor(ms / DAY) * DAY;
const ceilDay = (ms: number) => Math.ceil(ms / DAY) * DAY;

export interface RollupResult {
  /** the hours recomputed forward [from, to) */
  forward: { from: Date; to: Date };
  /** the history chunk computed in this run, if any */
  backfill: { from: Date; to: Date } | null;
  computedThrough: Date;
  historyFrom: Date;
  historyComplete: boolean;
}

export interface StatsService {
  /** One rollup run at `now` (default: the clock's time). */
  rollup(now?: Date): Promise<RollupResult>;
  /** The dashboard for a range ending now (default: the clock's time): aggregates and live figures. */
  dashboard(range: DashboardRange, now?: Date): Promise<DashboardView>;
}

const rangeLength: Record<DashboardRange, { granularity: 'hour' | 'day'; points: number }> = {
  '24h': { granularity: 'hour', points: 24 },
  '7d': { granularity: 'day', points: 7 },
  '30d': { granularity: 'day', points: 30 },
  '90d': { granularity: 'day', points: 90 },
};

/** The range [from, to) of `range` at `now`, its points and the previous range of the same length (UTC). */
export function dashboardWindow(range: DashboardRange, now: Date) {
  const { granularity, points } = rangeLength[range];
  const step = granularity === 'hour' ? HOUR : DAY;
  // the current (partial) hour is the last one: the rollup keeps it up to date
  const to = floorHour(now.getTime()) + HOUR;
  const from = granularity === 'hour' ? to - points * HOUR : floorDay(now.getTime()) - (points - 1) * DAY;
  const previousFrom = from - (to - from);
  const buckets = Array.from({ length: points }, (_, i) => from + i * step);
  return { granularity, points, step, from, to, previousFrom, buckets };
}

/** the sums of rows per metric and dimensions */
type Sum = Omit<StatsRow, 't' | 'histogram'>;

function sumUp(rows: StatsRow[]): Sum[] {
  const by = new Map<string, Sum>();
  for (const r of rows) {
    const key = `${r.metric}\u0000${r.dim1}\u0000${r.dim2}`;
    const s = by.get(key) ?? { metric: r.metric, dim1: r.dim1, dim2: r.dim2, count: 0, total: 0, ok: 0 };
    s.count += r.count;
    s.total += r.total;
    s.ok += r.ok;
    by.set(key, s);
  }
  return [...by.values()];
}

/** The generations' histograms of these rows added up, per `key` (and all together under ''). */
function histogramsBy(rows: StatsRow[], key: (r: StatsRow) => string | number): Map<string | number, number[]> {
  const by = new Map<string | number, number[]>();
  const add = (k: string | number, h: number[]) => {
    const into = by.get(k) ?? [];
    for (let i = 0; i < h.length; i++) into[i] = (into[i] ?? 0) + (h[i] ?? 0);
    by.set(k, into);
  };
  for (const r of rows) {
    if (r.metric !== 'generations' || !r.histogram) continue;
    add(key(r), r.histogram);
    add('', r.histogram);
  }
  return by;
}

const isGranted = (s: Sum) => s.metric === 'credits' && (s.dim1 === 'grant' || s.dim1 === 'purchase' || (s.dim1 === 'adjustment' && s.dim2 === 'in'));

function money(rows: Sum[], metric: string): DashboardMoney[] {
  const by = new Map<string, DashboardMoney>();
  for (const r of rows) {
    if (r.metric !== metric) continue;
    const key = `${r.dim1}\u0000${r.dim2}`;
    const m = by.get(key) ?? { currency: r.dim1, provider: r.dim2, count: 0, amountMinor: 0 };
    m.count += r.count;
    m.amountMinor += r.total;
    by.set(key, m);
  }
  return [...by.values()].sort((a, b) => a.currency.localeCompare(b.currency) || b.amountMinor - a.amountMinor || a.provider.localeCompare(b.provider));
}

function totalsOf(rows: Sum[], histogram: number[], activeUsers: number): DashboardTotals {
  const sum = (pick: (s: Sum) => boolean, field: 'count' | 'total' | 'ok' = 'count') => rows.reduce((n, s) => (pick(s) ? n + s[field] : n), 0);
  const finished = sum((s) => s.metric === 'generations');
  const succeeded = sum((s) => s.metric === 'generations', 'ok');
  const grantedFree = sum((s) => isGranted(s) && s.dim1 !== 'purchase', 'total');
  const grantedBought = sum((s) => s.metric === 'credits' && s.dim1 === 'purchase', 'total');
  return {
    signups: sum((s) => s.metric === 'signups'),
    activeUsers,
    generations: {
      finished,
      succeeded,
      successRate: finished ? succeeded / finished : null,
      p50Ms: percentile(histogram, 0.5),
      p95Ms: percentile(histogram, 0.95),
    },
    credits: {
      granted: grantedFree + grantedBought,
      grantedFree,
      grantedBought,
      spent: sum((s) => s.metric === 'credits' && s.dim1 === 'capture', 'total'),
    },
    revenue: money(rows, 'revenue'),
    refunds: money(rows, 'refunds'),
    disputes: money(rows, 'disputes'),
    moderationFlags: sum((s) => s.metric === 'moderation_flags'),
  };
}

const average = (values: number[]) => (values.length ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10 : 0);

export function createStatsService({ database, clock }: { database: Database; clock: Pick<Clock, 'now'> }): StatsService {
  /** Recompute [from, to): the hours' rows, and the whole days they touch for the distinct counts. */
  async function recompute(tx: DbHandle, from: number, to: number) {
    await clearRows(tx, 'hour', new Date(from), new Date(to));
    await rollupHours(tx, new Date(from), new Date(to));
    const days = [new Date(floorDay(from)), new Date(ceilDay(to))] as const;
    await clearRows(tx, 'day', ...days);
    await rollupDays(tx, ...days);
  }

  return {
    async rollup(at) {
      const now = (at ?? clock.now()).getTime();
      return database.transaction(async (tx) => {
        await lockRollup(tx);
        const states = await getRollupStates(tx);
        const watermark = states.get(ROLLUP_FORWARD)?.computedThrough.getTime();
        const end = floorHour(now) + HOUR;
        const limit = floorDay(now) - HISTORY_DAYS * DAY;

        // forward: the last 7 days on the first run; then from (watermark - 2 h), for late rows
        let from: number;
        let to: number;
        if (watermark === undefined) {
          from = floorDay(now) - (CHUNK_DAYS - 1) * DAY;
          to = end;
        } else {
          from = Math.min(Math.max(floorHour(watermark - LATE_ROWS_HOURS * HOUR), limit), floorHour(now));
          to = Math.min(end, from + CHUNK_DAYS * DAY);
        }
        await recompute(tx, from, to);
        const computedThrough = to >= end ? now : to;
        await setRollupState(tx, ROLLUP_FORWARD, new Date(computedThrough), new Date(now));

        // history: 7 more days back per run, newest first, unless this run was catching up
        let cursor = states.get(ROLLUP_BACKFILL)?.computedThrough.getTime() ?? from;
        let backfill: RollupResult['backfill'] = null;
        if (watermark !== undefined && to >= end && cursor > limit) {
          const earliest = await earliestSourceRow(tx);
          const stopAt = Math.max(limit, earliest ? floorDay(earliest.getTime()) : cursor);
          if (stopAt >= cursor) {
            cursor = limit; // nothing older to count: the history is complete
          } else {
            const start = Math.max(cursor - CHUNK_DAYS * DAY, stopAt);
            await recompute(tx, start, cursor);
            backfill = { from: new Date(start), to: new Date(cursor) };
            cursor = start;
          }
        }
        await setRollupState(tx, ROLLUP_BACKFILL, new Date(cursor), new Date(now));
        return {
          forward: { from: new Date(from), to: new Date(to) },
          backfill,
          computedThrough: new Date(computedThrough),
          historyFrom: new Date(cursor),
          historyComplete: cursor <= limit,
        };
      });
    },

    async dashboard(range, at) {
      const now = at ?? clock.now();
      const w = dashboardWindow(range, now);
      const today = floorDay(now.getTime());
      // the distinct daily counts: today and yesterday (24h), or the complete days of this range and the previous one
      const dauFrom = w.granularity === 'hour' ? today - DAY : w.from - (w.points - 1) * DAY;
      // the range in rows of its resolution (hours, or days: `from` is 00:00 UTC); the previous range, of the
      // same length, starts within a day: its first hours in hour rows, the rest in day rows
      const res = w.granularity;
      const split = res === 'hour' ? w.from : ceilDay(w.previousFrom);
      const [series, previousHours, previousDays, dau, states, queues, tasks] = await Promise.all([
        rowsAt(database, res, new Date(w.from), new Date(w.to)),
        rowsAt(database, 'hour', new Date(w.previousFrom), new Date(split)),
        res === 'day' ? rowsAt(database, 'day', new Date(split), new Date(w.from)) : [],
        dailyActiveUsers(database, new Date(dauFrom), new Date(w.to)),
        getRollupStates(database),
        queueDepths(database, now),
        activeTasks(database, now),
      ]);
      const previousRows = [...previousHours, ...previousDays];
      // totals per metric and dimensions; the histograms added up per point, per model and provider, and in all
      const rows = sumUp(series);
      const byBucket = histogramsBy(series, (r) => r.t);
      const byModelHist = histogramsBy(series, (r) => `${r.dim1}\u0000${r.dim2}`);
      const all = byBucket.get('') ?? [];

      let activeNow: number;
      let activeBefore: number;
      if (w.granularity === 'hour') {
        activeNow = dau.get(today) ?? 0;
        activeBefore = dau.get(today - DAY) ?? 0;
      } else {
        const days = (start: number) => Array.from({ length: w.points - 1 }, (_, i) => dau.get(start + i * DAY) ?? 0);
        activeNow = average(days(w.from));
        activeBefore = average(days(w.from - (w.points - 1) * DAY));
      }

      // the series, one value per bucket
      const index = new Map(w.buckets.map((t, i) => [t, i]));
      const zeros = () => w.buckets.map(() => 0);
      const perBucket = (pick: (r: (typeof series)[number]) => boolean, field: 'count' | 'total' | 'ok' = 'count') => {
        const values = zeros();
        for (const r of series) {
          const i = index.get(r.t);
          if (i !== undefined && pick(r)) values[i] = (values[i] ?? 0) + r[field];
        }
        return values;
      };
      const modelTotals = new Map<string, number>();
      for (const r of rows) if (r.metric === 'generations') modelTotals.set(r.dim1, (modelTotals.get(r.dim1) ?? 0) + r.count);
      const ranked = [...modelTotals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([m]) => m);
      const shown = new Set(ranked.slice(0, SERIES_MODELS));
      const byModel: DashboardView['series']['byModel'] = ranked
        .slice(0, SERIES_MODELS)
        .map((model) => ({ model, values: perBucket((r) => r.metric === 'generations' && r.dim1 === model) }));
      if (ranked.length > SERIES_MODELS) byModel.push({ model: null, values: perBucket((r) => r.metric === 'generations' && !shown.has(r.dim1)) });

      const models = rows
        .filter((r) => r.metric === 'generations')
        .map((r) => {
          const h = byModelHist.get(`${r.dim1}\u0000${r.dim2}`) ?? [];
          return { model: r.dim1, provider: r.dim2, finished: r.count, succeeded: r.ok, p50Ms: percentile(h, 0.5), p95Ms: percentile(h, 0.95) };
        })
        .sort((a, b) => b.finished - a.finished || a.model.localeCompare(b.model) || a.provider.localeCompare(b.provider));

      const forward = states.get(ROLLUP_FORWARD);
      const history = states.get(ROLLUP_BACKFILL);
      const limit = today - HISTORY_DAYS * DAY;
      return {
        range,
        granularity: w.granularity,
        from: new Date(w.from).toISOString(),
        to: new Date(w.to).toISOString(),
        previousFrom: new Date(w.previousFrom).toISOString(),
        now: now.toISOString(),
        computedThrough: forward?.computedThrough.toISOString() ?? null,
        rollupAt: forward?.updatedAt.toISOString() ?? null,
        historyFrom: history ? new Date(Math.max(history.computedThrough.getTime(), limit)).toISOString() : null,
        historyComplete: history ? history.computedThrough.getTime() <= limit : false,
        totals: totalsOf(rows, all, activeNow),
        previous: totalsOf(sumUp(previousRows), histogramsBy(previousRows, () => '').get('') ?? [], activeBefore),
        series: {
          buckets: w.buckets.map((t) => new Date(t).toISOString()),
          signups: perBucket((r) => r.metric === 'signups'),
          activeUsers: perBucket((r) => r.metric === 'active_users'),
          finished: perBucket((r) => r.metric === 'generations'),
          succeeded: perBucket((r) => r.metric === 'generations', 'ok'),
          p50Ms: w.buckets.map((t) => percentile(byBucket.get(t) ?? [], 0.5)),
          p95Ms: w.buckets.map((t) => percentile(byBucket.get(t) ?? [], 0.95)),
          creditsGranted: perBucket(isGranted, 'total'),
          creditsSpent: perBucket((r) => r.metric === 'credits' && r.dim1 === 'capture', 'total'),
          moderationFlags: perBucket((r) => r.metric === 'moderation_flags'),
          refunds: perBucket((r) => r.metric === 'refunds'),
          disputes: perBucket((r) => r.metric === 'disputes'),
          byModel,
          revenue: money(rows, 'revenue').map((m) => ({
            currency: m.currency,
            provider: m.provider,
            values: perBucket((r) => r.metric === 'revenue' && r.dim1 === m.currency && r.dim2 === m.provider, 'total'),
          })),
        },
        models,
        live: {
          queues: queues.map((q) => ({
            name: q.name,
            waiting: q.waiting,
            due: q.due,
            oldestWaitSeconds: q.oldestDueSince ? Math.max(0, Math.round((now.getTime() - q.oldestDueSince.getTime()) / 1000)) : null,
          })),
          activeTasks: tasks.active,
          stuckTasks: tasks.stuck,
        },
      };
    },
  };
}
