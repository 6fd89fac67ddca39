import os from 'node:os';
import { openDatabase, type Database } from '../src/server/db/client';
import { migrate } from '../src/server/db/migrate';
import { histogramThresholds } from '../src/server/domain/admin/stats.histogram';
import { createStatsService, dashboardWindow } from '../src/server/domain/admin/stats.service';
import { dashboardRanges, type DashboardRange, type DashboardView } from '../src/shared/api/admin-dashboard';

/**
 * `npm run bench -- dashboard`: the console's dashboard (issue 18) on 1,000,000 generations.
 *
 * Seeds, with set-based SQL (generate_series), BENCH_GENERATIONS (1,000,000) generations spread
 * over 90 days, with proportional users (1 per 20), sessions (2 per user), credit ledger rows (a
 * welcome grant per user, a hold and a capture or release per generation, a purchase per paid
 * order), orders (1 per 25 generations; refunds and disputes as payment events) and moderation cases
 * (1 per 200). Then prints:
 * - the seeding time per table;
 * - the full rollup (the history backfill, 7 days per run, as the every-minute job does it on a new
 *   installation) and an incremental run (a minute of new rows);
 * - per dashboard range (24h, 7d, 30d, 90d), the median of 5 of the dashboard read (aggregates +
 *   live figures) beside the same figures computed directly from the source tables (the
 *   baseline), the ratio, and whether their totals agree. Target: every range under 1 s.
 *
 * Runs on the PostgreSQL server when DATABASE_URL is set (point it at an empty database: the seed
 * refuses one with users or generations, e.g. `createdb bench_dashboard`, then drop it), else on an
 * in-memory PGlite. BENCH_RUNS (5) runs per median.
 */

const GENERATIONS = Number(process.env.BENCH_GENERATIONS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const USERS = Math.max(1, Math.round(GENERATIONS / 20));
const SESSIONS = USERS * 2;
const ORDERS = Math.max(1, Math.round(GENERATIONS / 25));
const CASES = Math.max(1, Math.round(GENERATIONS / 200));

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
const n = (x: number) => x.toLocaleString('en-US');

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** The seed, one statement per table (each in its own transaction with a fixed random seed). */
async function seed(db: Database, now: Date) {
  const params = { now: now.toISOString() };
  const steps: [string, string][] = [
    [
      `users (${n(USERS)})`,
      `insert into users (id, email, name, referral_code, created_at, updated_at)
       select 'u' || i, 'u' || i || '@bench.example', 'User ' || i, 'ref' || i, c, c
         from (select i, $1::timestamptz - random() * interval '90 days' as c from generate_series(1, ${USERS}) as i) as x`,
    ],
    [
      `sessions (${n(SESSIONS)})`,
      `insert into sessions (id, user_id, token, expires_at, created_at, updated_at, last_seen_at)
       select 's' || i, 'u' || (1 + floor(random() * ${USERS}))::int, 'tok' || i, c + interval '30 days', c, c, c
         from (select i, $1::timestamptz - random() * interval '90 days' as c from generate_series(1, ${SESSIONS}) as i) as x`,
    ],
    [
      `generations (${n(GENERATIONS)})`,
      // 8 models, the first ones busier; kie or fal (local for local-preview); 90 % succeed, 7 % fail,
      // 2 % canceled, 1 % blocked before any provider; 20 s to 10 min to result; the last 5 min still running
      `insert into generations (id, user_id, model_id, mode, prompt, duration_seconds, resolution, aspect_ratio, audio, price_credits,
                                status, provider, progress, deadline_at, created_at, updated_at, finished_at)
       select 'g' || i, 'u' || (1 + floor(random() * ${USERS}))::int, model, 'text-to-video', 'a bench scene', 8, '720p', '16:9', false, 20,
              status, case when status = 'blocked' then null when model = 'local-preview' then 'local' else provider end,
              case when status = 'running' then 50 else 100 end, c + interval '1 hour', c, c,
              case when status = 'running' then null else c + secs * interval '1 second' end
         from (select i, c, secs,
                      (array['veo-3', 'veo-3-fast', 'kling-2', 'seedance-pro', 'wan-2', 'hailuo-02', 'runway-gen4', 'local-preview'])[1 + floor(r1 * r1 * 8)::int] as model,
                      (array['kie', 'kie', 'fal'])[1 + floor(r2 * 3)::int] as provider,
                      case when c > $1::timestamptz - interval '5 minutes' then 'running'
                           when r3 < 0.90 then 'succeeded' when r3 < 0.97 then 'failed' when r3 < 0.99 then 'canceled' else 'blocked' end as status
                 from (select i, $1::timestamptz - random() * interval '90 days' as c, random() as r1, random() as r2, random() as r3,
                              exp(ln(20) + random() * ln(30)) as secs
                         from generate_series(1, ${GENERATIONS}) as i) as r) as x`,
    ],
    [
      `orders (${n(ORDERS)})`,
      `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider, checkout_ref, payment_ref,
                           status, paid_minor, credits_granted, created_at, updated_at, paid_at)
       select 'o' || i, 'u' || (1 + floor(random() * ${USERS}))::int, plan, initcap(plan), 'pack', case plan when 'starter' then 1000 else 5000 end,
              amount, currency, provider, 'cs_' || i, 'pi_' || i,
              case when paid then 'paid' else 'pending' end, case when paid then amount else 0 end,
              case when paid then case plan when 'starter' then 1000 else 5000 end else 0 end,
              c, c, case when paid then c + interval '1 minute' end
         from (select i, c, plan, currency, provider, paid,
                      case plan when 'starter' then case currency when 'usd' then 1000 else 950 end else case currency when 'usd' then 4500 else 4200 end end as amount
                 from (select i, $1::timestamptz - random() * interval '90 days' as c, random() < 0.9 as paid,
                              case when random() < 0.6 then 'starter' else 'creator' end as plan,
                              case when random() < 0.7 then 'usd' else 'eur' end as currency,
                              (array['stripe', 'stripe', 'creem', 'nowpayments'])[1 + floor(random() * 4)::int] as provider
                         from generate_series(1, ${ORDERS}) as i) as r) as x`,
    ],
    [
      'payment events (refunds 3 %, disputes 0.5 % of paid orders)',
      // a refund in two steps for some (half, then all), a repeated event for others; disputes once
      `insert into payment_events (provider, event_id, type, state, event, order_id, received_at, applied_at)
       select provider, 'evt_' || kind || '_' || id, type, 'applied', event, id, at, at
         from (select o.provider, o.id, e.kind, e.type, o.paid_at + e.after as at,
                      case when e.type = 'payment.refunded'
                           then jsonb_build_object('type', e.type, 'eventId', 'evt_' || e.kind || '_' || o.id, 'paymentRef', o.payment_ref,
                                                   'refundedMinor', (o.paid_minor * e.share)::bigint, 'currency', o.currency)
                           else jsonb_build_object('type', e.type, 'eventId', 'evt_' || e.kind || '_' || o.id, 'paymentRef', o.payment_ref,
                                                   'amountMinor', o.paid_minor, 'currency', o.currency) end as event
                 from (select *, random() as r from orders where paid_at is not null) as o
                 join (values ('r1', 'payment.refunded', 0.5, interval '1 day', 0.0, 0.03),
                              ('r2', 'payment.refunded', 1.0, interval '2 days', 0.0, 0.015),
                              ('r3', 'payment.refunded', 1.0, interval '2 days 1 minute', 0.0, 0.005),
                              ('d1', 'payment.disputed', 1.0, interval '10 days', 0.03, 0.035)) as e(kind, type, share, after, lo, hi)
                   on o.r >= e.lo and o.r < e.hi
                where o.paid_at + e.after < $1::timestamptz) as x`,
    ],
    [
      'credit ledger: welcome grants',
      `insert into credit_ledger (user_id, kind, amount, held_delta, balance_after, reason, reference, created_at)
       select id, 'grant', 50, 0, 50, 'welcome', 'signup', created_at from users where email like '%@bench.example'`,
    ],
    [
      'credit ledger: holds',
      `insert into credit_ledger (user_id, kind, amount, held_delta, balance_after, reason, reference, created_at)
       select user_id, 'hold', -price_credits, price_credits, 0, 'video', 'generation:' || id, created_at from generations where status <> 'blocked'`,
    ],
    [
      'credit ledger: captures and releases',
      `insert into credit_ledger (user_id, kind, amount, held_delta, balance_after, reason, reference, created_at)
       select user_id, case when status = 'succeeded' then 'capture' else 'release' end,
              case when status = 'succeeded' then 0 else price_credits end, -price_credits, 0, 'video', 'generation:' || id, finished_at
         from generations where finished_at is not null and status <> 'blocked'`,
    ],
    [
      'credit ledger: purchases',
      `insert into credit_ledger (user_id, kind, amount, held_delta, balance_after, reason, reference, created_at)
       select user_id, 'purchase', credits_granted, 0, 0, 'bought', 'order:' || id, paid_at from orders where paid_at is not null`,
    ],
    [
      `moderation cases (${n(CASES)})`,
      `insert into moderation_cases (id, user_id, subject, action, severity, opened_at, updated_at)
       select 'case' || i, 'u' || (1 + floor(random() * ${USERS}))::int,
              (array['prompt', 'reference', 'output', 'report'])[1 + floor(random() * 4)::int],
              case when random() < 0.3 then 'block' else 'flag' end, random(), c, c
         from (select i, $1::timestamptz - random() * interval '90 days' as c from generate_series(1, ${CASES}) as i) as x`,
    ],
  ];
  let total = 0;
  for (const [what, sql] of steps) {
    const [, ms] = await timed(() =>
      db.transaction(async (tx) => {
        await tx.sql.query('select setseed(0.42)');
        await tx.sql.query(sql, sql.includes('$1') ? [params.now] : []);
      }),
    );
    total += ms;
    console.log(`  ${what.padEnd(58)} ${fmt(ms).padStart(9)}`);
  }
  const [, analyze] = await timed(() => db.sql.exec('analyze'));
  console.log(`  ${'analyze'.padEnd(58)} ${fmt(analyze).padStart(9)}`);
  return total + analyze;
}

/**
 * The baseline: the dashboard's figures computed straight from the source tables (by the same
 * indexes the rollup uses), the queries run side by side as the dashboard's are.
 */
async function baseline(db: Database, range: DashboardRange, now: Date) {
  const w = dashboardWindow(range, now);
  const g = w.granularity;
  const [from, to, prev] = [w.from, w.to, w.previousFrom].map((t) => new Date(t).toISOString());
  const today = Math.floor(now.getTime() / DAY) * DAY;
  const dauFrom = new Date(g === 'hour' ? today - DAY : w.from - (w.points - 1) * DAY).toISOString();
  const ms = `extract(epoch from finished_at - created_at) * 1000`;
  const ok = `status in ('succeeded', 'under_review')`;
  const q = (sql: string, params: unknown[]) => db.sql.query(sql, params);
  // every figure the dashboard shows is computed; the totals compared below are read from some of them
  const [gens, , , pctRange, signups, , , , revenue, takeBacks, flags] = await Promise.all([
    q(
      `select date_trunc($3, finished_at, 'UTC') as t, model_id, coalesce(provider, '') as provider, count(*)::float8 as n, count(*) filter (where ${ok})::float8 as ok
         from generations where finished_at >= $1::timestamptz and finished_at < $2::timestamptz group by 1, 2, 3`,
      [prev, to, g],
    ),
    q(
      `select date_trunc($3, finished_at, 'UTC') as t, percentile_cont(array[0.5, 0.95]) within group (order by ${ms}) as p
         from generations where finished_at >= $1::timestamptz and finished_at < $2::timestamptz and ${ok} group by 1`,
      [from, to, g],
    ),
    q(
      `select model_id, provider, percentile_cont(array[0.5, 0.95]) within group (order by ${ms}) as p
         from generations where finished_at >= $1::timestamptz and finished_at < $2::timestamptz and ${ok} group by 1, 2`,
      [from, to],
    ),
    q(
      `select finished_at >= $2::timestamptz as current, percentile_cont(array[0.5, 0.95]) within group (order by ${ms}) as p
         from generations where finished_at >= $1::timestamptz and finished_at < $3::timestamptz and ${ok} group by 1`,
      [prev, from, to],
    ),
    q(
      `select date_trunc($3, created_at, 'UTC') as t, count(*)::float8 as n from users where created_at >= $1::timestamptz and created_at < $2::timestamptz group by 1`,
      [prev, to, g],
    ),
    g === 'hour'
      ? q(
          `select date_trunc('hour', created_at, 'UTC') as t, count(distinct user_id)::float8 as n
             from (select created_at, user_id from generations where created_at >= $1::timestamptz and created_at < $2::timestamptz
                   union all select created_at, user_id from sessions where created_at >= $1::timestamptz and created_at < $2::timestamptz) as a group by 1`,
          [from, to],
        )
      : Promise.resolve([]),
    q(
      `select date_trunc('day', created_at, 'UTC') as t, count(distinct user_id)::float8 as n
         from (select created_at, user_id from generations where created_at >= $1::timestamptz and created_at < $2::timestamptz
               union all select created_at, user_id from sessions where created_at >= $1::timestamptz and created_at < $2::timestamptz) as a group by 1`,
      [dauFrom, to],
    ),
    q(
      `select date_trunc($3, created_at, 'UTC') as t, kind, sign(amount) as s,
              sum(case kind when 'capture' then -held_delta when 'hold' then held_delta else abs(amount) end)::float8 as n
         from credit_ledger where created_at >= $1::timestamptz and created_at < $2::timestamptz group by 1, 2, 3`,
      [prev, to, g],
    ),
    q(
      `select date_trunc($3, paid_at, 'UTC') as t, currency, provider, count(*)::float8 as n, sum(paid_minor)::float8 as amount
         from orders where paid_at >= $1::timestamptz and paid_at < $2::timestamptz group by 1, 2, 3`,
      [prev, to, g],
    ),
    q(
      `with ev as (
         select e.order_id, e.event_id, e.type, e.applied_at, o.currency, o.provider,
                case when e.type = 'payment.refunded' then least((e.event->>'refundedMinor')::bigint, coalesce(nullif(o.paid_minor, 0), o.amount_minor))
                     else (e.event->>'amountMinor')::bigint end as amount
           from payment_events e join orders o on o.id = e.order_id
          where e.state = 'applied' and e.type in ('payment.refunded', 'payment.disputed') and e.applied_at < $2::timestamptz
            and e.order_id in (select order_id from payment_events where state = 'applied' and type in ('payment.refunded', 'payment.disputed')
                                  and applied_at >= $1::timestamptz and applied_at < $2::timestamptz)),
       steps as (select *, row_number() over w as nth, coalesce(max(amount) over (w rows between unbounded preceding and 1 preceding), 0) as before
                   from ev window w as (partition by order_id, type order by applied_at, event_id))
       select date_trunc($3, applied_at, 'UTC') as t, type, currency, provider, count(*)::float8 as n,
              sum(case when type = 'payment.refunded' then amount - before else amount end)::float8 as amount
         from steps where applied_at >= $1::timestamptz and ((type = 'payment.refunded' and amount > before) or (type = 'payment.disputed' and nth = 1))
        group by 1, 2, 3, 4`,
      [prev, to, g],
    ),
    q(
      `select date_trunc($3, opened_at, 'UTC') as t, subject, count(*)::float8 as n from moderation_cases
        where opened_at >= $1::timestamptz and opened_at < $2::timestamptz group by 1, 2`,
      [prev, to, g],
    ),
  ]);
  const inRange = (r: Record<string, unknown>) => new Date(r.t as string).getTime() >= w.from;
  const sum = (rows: Record<string, unknown>[], field: string, pick: (r: Record<string, unknown>) => boolean = inRange) =>
    rows.reduce((a, r) => (pick(r) ? a + Number(r[field]) : a), 0);
  const p = pctRange.find((r) => r.current === true)?.p as number[] | undefined;
  return {
    finished: sum(gens, 'n'),
    succeeded: sum(gens, 'ok'),
    signups: sum(signups, 'n'),
    revenue: sum(revenue, 'amount'),
    refunds: sum(takeBacks, 'amount', (r) => inRange(r) && r.type === 'payment.refunded'),
    flags: sum(flags, 'n'),
    p50: p?.[0] ?? null,
    p95: p?.[1] ?? null,
  };
}

/** Whether the dashboard's totals are the baseline's (counts exactly; percentiles within one histogram bucket, 19 %). */
function agreement(d: DashboardView, b: Awaited<ReturnType<typeof baseline>>): string {
  const t = d.totals;
  const exact: [string, number, number][] = [
    ['finished', t.generations.finished, b.finished],
    ['succeeded', t.generations.succeeded, b.succeeded],
    ['signups', t.signups, b.signups],
    ['revenue', t.revenue.reduce((a, r) => a + r.amountMinor, 0), b.revenue],
    ['refunded', t.refunds.reduce((a, r) => a + r.amountMinor, 0), b.refunds],
    ['flags', t.moderationFlags, b.flags],
  ];
  const off = exact.filter(([, x, y]) => x !== y).map(([k, x, y]) => `${k} ${x} vs ${y}`);
  const width = (histogramThresholds[1]! - histogramThresholds[0]!) / histogramThresholds[0]!;
  for (const [k, x, y] of [
    ['p50', t.generations.p50Ms, b.p50],
    ['p95', t.generations.p95Ms, b.p95],
  ] as const) {
    if (x === null || y === null) {
      if (x !== y) off.push(`${k} ${String(x)} vs ${String(y)}`);
    } else if (Math.abs(x - y) / y > width) off.push(`${k} ${x} vs ${Math.round(y)}`);
  }
  return off.length ? `DIFFER: ${off.join(', ')}` : 'agree';
}

export async function dashboardBench() {
  const url = process.env.DATABASE_URL;
  const database = await openDatabase(url ? { url, poolSize: 10 } : {});
  console.log(
    `dashboard on ${n(GENERATIONS)} generations: ${url ? 'PostgreSQL server' : 'embedded PGlite (in memory)'}; cores: ${os.cpus().length}; node ${process.version}`,
  );
  try {
    await migrate(database);
    const [existing] = await database.sql.query<{ n: string }>('select (select count(*) from generations) + (select count(*) from users) as n');
    if (Number(existing?.n) > 0)
      throw new Error('the database already holds users or generations: point DATABASE_URL at an empty database (e.g. createdb bench_dashboard)');
    const now = new Date(Math.floor(Date.now() / HOUR) * HOUR + 30 * MIN);
    const stats = createStatsService({ database, clock: { now: () => now } });

    console.log('seeding (set-based SQL):');
    const seedMs = await seed(database, now);
    console.log(`  ${'seeded in all'.padEnd(58)} ${fmt(seedMs).padStart(9)}`);

    // the history, as the every-minute job computes it on a new installation: 7 days per run, newest first
    let runs = 0;
    const runTimes: number[] = [];
    for (;;) {
      const [run, ms] = await timed(() => stats.rollup(now));
      runs++;
      runTimes.push(ms);
      if (run.historyComplete || runs > 60) break;
    }
    const [rows] = await database.sql.query<{ n: string }>('select count(*) as n from stats_hourly');
    console.log(
      `full rollup (backfill of 90 days): ${fmt(runTimes.reduce((a, b) => a + b, 0))} in ${runs} runs (one run at most ${fmt(Math.max(...runTimes))}, ` +
        `the first, 7 days: ${fmt(runTimes[0]!)}); ${n(Number(rows?.n))} rows in stats_hourly`,
    );

    // steady state: a minute of new rows (1,000,000 over 90 days is ~8 generations a minute), then a run
    const incremental: number[] = [];
    for (let k = 1; k <= RUNS; k++) {
      const t = new Date(now.getTime() + k * MIN);
      await database.sql.query(
        `insert into generations (id, user_id, model_id, mode, prompt, duration_seconds, resolution, aspect_ratio, audio, price_credits, status, provider, progress, deadline_at, created_at, updated_at, finished_at)
         select 'inc' || $2 || '-' || i, 'u' || i, 'veo-3', 'text-to-video', 'a bench scene', 8, '720p', '16:9', false, 20, 'succeeded', 'kie', 100,
                $1::timestamptz + interval '1 hour', $1::timestamptz - interval '70 seconds', $1::timestamptz, $1::timestamptz - interval '10 seconds'
           from generate_series(1, 8) as i`,
        [t.toISOString(), k],
      );
      const [, ms] = await timed(() => stats.rollup(t));
      incremental.push(ms);
    }
    console.log(
      `incremental rollup (the last 2-3 hours and today's distinct users again, after a minute of new rows): ${fmt(median(incremental))} (median of ${RUNS})`,
    );

    const at = new Date(now.getTime() + RUNS * MIN);
    console.log(`\n${'range'.padEnd(6)} ${'dashboard'.padStart(10)} ${'baseline'.padStart(10)} ${'ratio'.padStart(8)}  totals (median of ${RUNS} each)`);
    for (const range of dashboardRanges) {
      const dash: number[] = [];
      const base: number[] = [];
      let view: DashboardView | null = null;
      let direct: Awaited<ReturnType<typeof baseline>> | null = null;
      for (let k = 0; k < RUNS; k++) {
        const [v, ms] = await timed(() => stats.dashboard(range, at));
        view = v;
        dash.push(ms);
        const [b, bms] = await timed(() => baseline(database, range, at));
        direct = b;
        base.push(bms);
      }
      const d = median(dash);
      const b = median(base);
      console.log(
        `${range.padEnd(6)} ${fmt(d).padStart(10)} ${fmt(b).padStart(10)} ${`${(b / d).toFixed(1)}×`.padStart(8)}  ${agreement(view!, direct!)}` +
          ` (${n(view!.totals.generations.finished)} finished, p50 ${fmt(view!.totals.generations.p50Ms ?? 0)}, p95 ${fmt(view!.totals.generations.p95Ms ?? 0)})` +
          (d < 1000 ? '' : '  OVER 1 s'),
      );
    }
  } finally {
    await database.close();
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  dashboardBench().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
