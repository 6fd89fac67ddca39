import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { Button, Card, EmptyState } from '../../components/ui';
import { formatNumber } from '../../lib/billing';
import { cn } from '../../lib/cn';
import { formatBytes, usagePeriods, usageQuery, type RequestLogEntry, type UsagePeriod, type UsageResponse } from '../../lib/developer';
import { dateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { ActivityIcon } from '../../components/icons';
import { HttpStatusBadge, PageHeading, QueryState } from './shared';

type Day = UsageResponse['days'][number];

/** A UTC calendar day ("2025-03-14") in the UI language: "Mar 14". */
function dayLabel(date: string, language: string, long = false): string {
  const d = new Date(`${date.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return date;
  return new Intl.DateTimeFormat(language, { timeZone: 'UTC', month: 'short', day: 'numeric', ...(long ? { year: 'numeric' } : {}) }).format(d);
}

/** /developers/usage: requests and errors per day, credits per day, totals, limits and the recent request log. */
export function UsagePage() {
  const { t, i18n } = useTranslation();
  usePageTitle(`${t('developers.tabs.usage')} · ${t('developers.title')}`);
  const lang = i18n.language;
  const search = useSearch({ from: '/developers/usage' });
  const navigate = useNavigate();
  const days: UsagePeriod = search.days ?? 30;
  const usage = useQuery({ ...usageQuery(days), placeholderData: keepPreviousData, refetchInterval: 30_000 });
  const data = usage.data;

  const totals = (data?.days ?? []).reduce(
    (sum, d) => ({ requests: sum.requests + d.requests, errors: sum.errors + d.errors, credits: sum.credits + d.credits }),
    {
      requests: 0,
      errors: 0,
      credits: 0,
    },
  );
  const errorRate = totals.requests ? (totals.errors / totals.requests) * 100 : 0;

  return (
    <section aria-labelledby="usage-title" data-testid="usage">
      <PageHeading
        id="usage-title"
        title={t('developers.usage.title')}
        lead={t('developers.usage.lead')}
        actions={
          <div
            role="group"
            aria-label={t('developers.usage.period')}
            className="inline-flex rounded-lg border border-zinc-300 bg-white p-0.5 shadow-sm dark:border-zinc-700 dark:bg-zinc-900"
          >
            {usagePeriods.map((p) => (
              <button
                key={p}
                type="button"
                aria-pressed={p === days}
                onClick={() => void navigate({ to: '/developers/usage', search: { days: p }, replace: true })}
                className={cn(
                  'h-8 rounded-md px-3 text-sm font-medium whitespace-nowrap transition-colors focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-brand-500',
                  p === days ? 'bg-brand-600 text-white dark:bg-brand-500' : 'text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800',
                )}
                data-testid={`usage-days-${p}`}
              >
                {t('developers.usage.lastDays', { count: p })}
              </button>
            ))}
          </div>
        }
      />

      <QueryState
        pending={usage.isPending}
        error={usage.isError && !data ? usage.error : null}
        onRetry={() => void usage.refetch()}
        loadingText={t('developers.usage.loading')}
        errorTitle={t('developers.usage.error')}
      >
        {data && (
          <div className={cn('space-y-8 transition-opacity', usage.isPlaceholderData && 'opacity-60')} aria-busy={usage.isPlaceholderData || undefined}>
            <dl className="grid grid-cols-1 gap-4 sm:grid-cols-3" data-testid="usage-totals">
              <Total label={t('developers.usage.totalRequests')} value={formatNumber(totals.requests, lang)} testId="usage-total-requests" />
              <Total
                label={t('developers.usage.totalErrors')}
                value={formatNumber(totals.errors, lang)}
                note={
                  totals.requests
                    ? t('developers.usage.errorRate', { rate: new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(errorRate) })
                    : undefined
                }
                testId="usage-total-errors"
              />
              <Total label={t('developers.usage.totalCredits')} value={formatNumber(totals.credits, lang)} testId="usage-total-credits" />
            </dl>

            <Card padding="sm" className="sm:p-6">
              <h3 className="text-base font-semibold text-zinc-900 dark:text-white">{t('developers.usage.requestsChart')}</h3>
              <p className="mt-0.5 flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-600 dark:text-zinc-400">
                <Legend className="bg-brand-500" label={t('developers.usage.successful')} />
                <Legend className="bg-red-500" label={t('developers.usage.errors')} />
              </p>
              <BarChart
                days={data.days}
                height={180}
                series={[
                  { value: (d) => d.requests - d.errors, className: 'fill-brand-500 dark:fill-brand-400' },
                  { value: (d) => d.errors, className: 'fill-red-500 dark:fill-red-400' },
                ]}
                describe={(d) => t('developers.usage.requestsBar', { date: dayLabel(d.date, lang, true), count: d.requests, errors: d.errors })}
                label={t('developers.usage.requestsChartLabel', { count: days, requests: totals.requests, errors: totals.errors })}
                testId="usage-requests-chart"
              />
            </Card>

            <div className="grid gap-6 md:grid-cols-[minmax(0,1fr)_20rem]">
              <Card padding="sm" className="sm:p-6">
                <h3 className="text-base font-semibold text-zinc-900 dark:text-white">{t('developers.usage.creditsChart')}</h3>
                <BarChart
                  days={data.days}
                  height={90}
                  series={[{ value: (d) => d.credits, className: 'fill-amber-500 dark:fill-amber-400' }]}
                  describe={(d) => t('developers.usage.creditsBar', { date: dayLabel(d.date, lang, true), count: d.credits })}
                  label={t('developers.usage.creditsChartLabel', { count: days, credits: totals.credits })}
                  testId="usage-credits-chart"
                />
              </Card>
              <Card padding="sm" className="sm:p-6" data-testid="usage-limits">
                <h3 className="text-base font-semibold text-zinc-900 dark:text-white">{t('developers.usage.limits')}</h3>
                <dl className="mt-3 space-y-2 text-sm">
                  <Limit label={t('developers.usage.perKey')} value={t('developers.usage.perMinute', { count: data.limits.requestsPerMinutePerKey })} />
                  <Limit label={t('developers.usage.perUser')} value={t('developers.usage.perMinute', { count: data.limits.requestsPerMinutePerUser })} />
                  <Limit label={t('developers.usage.concurrent')} value={formatNumber(data.limits.concurrentTasks, lang)} />
                </dl>
              </Card>
            </div>

            <section aria-labelledby="usage-log-title">
              <div className="mb-3 flex flex-wrap items-baseline justify-between gap-2">
                <h3 id="usage-log-title" className="text-base font-semibold text-zinc-900 dark:text-white">
                  {t('developers.usage.recent')}
                </h3>
                <p className="text-xs text-zinc-500 dark:text-zinc-400" data-testid="usage-retention">
                  {t('developers.usage.retention', { count: data.retentionDays })}
                </p>
              </div>
              {data.recent.length === 0 ? (
                <div className="rounded-2xl border border-dashed border-zinc-300 dark:border-zinc-700">
                  <EmptyState
                    headingLevel={3}
                    icon={<ActivityIcon className="size-7" />}
                    title={t('developers.usage.emptyTitle')}
                    description={t('developers.usage.emptyBody')}
                    action={
                      <Link to="/developers" className="text-sm font-medium text-brand-700 hover:underline dark:text-brand-300">
                        {t('developers.usage.emptyAction')}
                      </Link>
                    }
                  />
                </div>
              ) : (
                <RequestLog entries={data.recent} />
              )}
              <div className="mt-3 flex items-center gap-3">
                <Button variant="ghost" size="sm" onClick={() => void usage.refetch()} loading={usage.isFetching} data-testid="usage-refresh">
                  {t('developers.usage.refresh')}
                </Button>
                {usage.isError && <span className="text-xs text-red-600 dark:text-red-400">{t('developers.usage.refreshFailed')}</span>}
              </div>
            </section>
          </div>
        )}
      </QueryState>
    </section>
  );
}

function Total({ label, value, note, testId }: { label: string; value: string; note?: string; testId: string }) {
  return (
    <Card padding="sm">
      <dt className="text-sm font-medium text-zinc-600 dark:text-zinc-400">{label}</dt>
      <dd className="mt-1 text-2xl font-semibold tracking-tight text-zinc-900 tabular-nums dark:text-white" data-testid={testId}>
        {value}
        {note && <span className="ms-2 text-sm font-normal text-zinc-500 dark:text-zinc-400">{note}</span>}
      </dd>
    </Card>
  );
}

function Limit({ label, value }: { label: string; value: string }) {
  return (
    <div className="flex items-baseline justify-between gap-3">
      <dt className="text-zinc-600 dark:text-zinc-400">{label}</dt>
      <dd className="font-medium text-zinc-900 tabular-nums dark:text-white">{value}</dd>
    </div>
  );
}

function Legend({ className, label }: { className: string; label: string }) {
  return (
    <span className="inline-flex items-center gap-1.5">
      <span className={cn('inline-block size-2.5 rounded-sm', className)} aria-hidden="true" />
      {label}
    </span>
  );
}

/** The largest round number (1, 2, 5 × 10^n) at or above `n`, for the top of the scale. */
function niceMax(n: number): number {
  if (n <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= n) return step * magnitude;
  return 10 * magnitude;
}

/**
 * A stacked bar chart, one bar per day, drawn with inline SVG. The bars stretch to the width
 * (the SVG is scaled without keeping its aspect ratio); labels are HTML around it, so the text
 * never stretches. Each bar has a <title> (shown on hover); the numbers are also in a table.
 */
function BarChart({
  days,
  series,
  height,
  label,
  describe,
  testId,
}: {
  days: Day[];
  series: Array<{ value: (d: Day) => number; className: string }>;
  height: number;
  label: string;
  describe: (d: Day) => string;
  testId: string;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const max = niceMax(Math.max(0, ...days.map((d) => series.reduce((sum, s) => sum + s.value(d), 0))));
  const slot = 10;
  const gap = days.length > 60 ? 1.5 : days.length > 14 ? 2.5 : 3.5;
  const width = Math.max(1, days.length) * slot;
  const first = days[0];
  const last = days[days.length - 1];
  const middle = days[Math.floor(days.length / 2)];

  return (
    <div className="mt-4" data-testid={testId}>
      <div className="flex gap-2">
        <div
          className="flex shrink-0 flex-col justify-between text-end text-[11px] text-zinc-500 tabular-nums dark:text-zinc-400"
          style={{ height }}
          aria-hidden="true"
        >
          <span className="-translate-y-1/2">{formatNumber(max, lang)}</span>
          <span>{formatNumber(max / 2, lang)}</span>
          <span className="translate-y-1/2">0</span>
        </div>
        <div className="relative min-w-0 flex-1">
          <svg
            role="img"
            aria-label={label}
            viewBox={`0 0 ${width} 100`}
            preserveAspectRatio="none"
            className="block w-full overflow-visible"
            style={{ height }}
          >
            {[0, 50, 100].map((y) => (
              <line
                key={y}
                x1={0}
                x2={width}
                y1={y}
                y2={y}
                className="stroke-zinc-200 dark:stroke-zinc-800"
                strokeWidth={1}
                vectorEffect="non-scaling-stroke"
              />
            ))}
            {days.map((d, i) => {
              let base = 100;
              return (
                <g key={d.date}>
                  <title>{describe(d)}</title>
                  {/* a full-height, invisible target so thin bars are easy to hover */}
                  <rect x={i * slot} y={0} width={slot} height={100} fill="transparent" />
                  {series.map((s, j) => {
                    const v = s.value(d);
                    if (v <= 0) return null;
                    const h = (v / max) * 100;
                    base -= h;
                    return <rect key={j} x={i * slot + gap / 2} y={base} width={slot - gap} height={h} className={s.className} />;
                  })}
                </g>
              );
            })}
          </svg>
          {first && (
            <div className="mt-1.5 flex justify-between text-[11px] text-zinc-500 dark:text-zinc-400" aria-hidden="true">
              <span>{dayLabel(first.date, lang)}</span>
              {days.length > 2 && middle && <span className="hidden sm:inline">{dayLabel(middle.date, lang)}</span>}
              {last && last !== first && <span>{dayLabel(last.date, lang)}</span>}
            </div>
          )}
        </div>
      </div>
      <details className="mt-3 text-xs text-zinc-600 dark:text-zinc-400">
        <summary className="cursor-pointer rounded font-medium text-zinc-700 hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-brand-500 dark:text-zinc-300 dark:hover:text-white">
          {t('developers.usage.showTable')}
        </summary>
        <ul className="mt-2 max-h-48 columns-1 overflow-y-auto sm:columns-2 lg:columns-3">
          {days.map((d) => (
            <li key={d.date} className="py-0.5 tabular-nums">
              {describe(d)}
            </li>
          ))}
        </ul>
      </details>
    </div>
  );
}

function RequestLog({ entries }: { entries: RequestLogEntry[] }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const th = 'px-3 py-2.5 text-start text-xs font-semibold tracking-wide whitespace-nowrap text-zinc-500 uppercase dark:text-zinc-400';
  const td = 'px-3 py-2 align-top whitespace-nowrap';
  const time = new Intl.DateTimeFormat(lang, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return (
    // a keyboard-scrollable region: the table is wider than a phone (relative: so its screen-reader-only
    // texts, absolutely positioned, scroll with it instead of widening the page)
    <div
      className="relative overflow-x-auto rounded-2xl border border-zinc-200 bg-white shadow-sm focus-visible:outline-2 focus-visible:outline-brand-500 dark:border-zinc-800 dark:bg-zinc-900/60"
      tabIndex={0}
      role="region"
      aria-labelledby="usage-log-title"
    >
      <table className="w-full min-w-[52rem] text-sm" data-testid="usage-log">
        <caption className="sr-only">{t('developers.usage.recent')}</caption>
        <thead className="border-b border-zinc-200 dark:border-zinc-800">
          <tr>
            <th scope="col" className={th}>
              {t('developers.usage.col.time')}
            </th>
            <th scope="col" className={th}>
              {t('developers.usage.col.key')}
            </th>
            <th scope="col" className={th}>
              {t('developers.usage.col.request')}
            </th>
            <th scope="col" className={th}>
              {t('developers.usage.col.status')}
            </th>
            <th scope="col" className={cn(th, 'text-end')}>
              {t('developers.usage.col.bytes')}
            </th>
            <th scope="col" className={cn(th, 'text-end')}>
              {t('developers.usage.col.latency')}
            </th>
            <th scope="col" className={th}>
              {t('developers.usage.col.requestId')}
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
          {entries.map((e) => (
            <tr key={e.id} data-testid="usage-log-row" data-endpoint={e.endpoint} data-status={e.status} data-key-id={e.keyId ?? ''}>
              <td className={cn(td, 'text-zinc-500 tabular-nums dark:text-zinc-400')}>
                <time dateTime={e.createdAt} title={dateTime(e.createdAt, lang)}>
                  {time.format(new Date(e.createdAt))}
                </time>
              </td>
              <td className={cn(td, 'max-w-40 truncate')}>
                {e.keyName ?? <span className="text-zinc-400 dark:text-zinc-500">{t('developers.usage.noKey')}</span>}
              </td>
              <td className={cn(td, 'font-mono text-xs')}>
                <span className="me-2 font-semibold text-zinc-900 dark:text-white">{e.method}</span>
                {e.endpoint}
              </td>
              <td className={td}>
                <HttpStatusBadge status={e.status} />
              </td>
              <td className={cn(td, 'text-end text-xs tabular-nums')}>
                <span className="sr-only">{t('developers.usage.bytesIn')} </span>
                {formatBytes(e.bytesIn, lang)}
                <span aria-hidden="true"> / </span>
                <span className="sr-only">, {t('developers.usage.bytesOut')} </span>
                {formatBytes(e.bytesOut, lang)}
              </td>
              <td className={cn(td, 'text-end tabular-nums')}>{formatNumber(e.latencyMs, lang)} ms</td>
              <td className={cn(td, 'font-mono text-xs text-zinc-500 dark:text-zinc-400')}>{e.requestId ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
