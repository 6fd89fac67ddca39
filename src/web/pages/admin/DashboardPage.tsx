import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { dashboardRanges, type DashboardMoney, type DashboardRange, type DashboardView } from '../../../shared/api/admin-dashboard';
import { QueryState } from '../../components/PageStates';
import { PageHeader } from '../../components/layout/PageHeader';
import { Alert } from '../../components/ui';
import { apiFetch } from '../../lib/api';
import { formatMoney, formatNumber } from '../../lib/billing';
import { cn } from '../../lib/cn';
import { relativeTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { Bars, ChartCard, DataTable, Lines, type SeriesSpec } from './dashboard/charts';
import { bucketLabel, change, formatDuration, formatPercent, useChartColors, utcDate } from './dashboard/format';

/** GET /api/admin/dashboard for a range (refreshed every minute, as the rollup runs). */
const dashboardQuery = (range: DashboardRange) => ({
  queryKey: ['admin', 'dashboard', range] as const,
  queryFn: () => apiFetch<DashboardView>(`/api/admin/dashboard?range=${range}`),
  placeholderData: keepPreviousData,
  refetchInterval: 60_000,
});

/** Money per currency, added up over the providers. */
function byCurrency(items: DashboardMoney[]): { currency: string; amountMinor: number; count: number }[] {
  const map = new Map<string, { currency: string; amountMinor: number; count: number }>();
  for (const m of items) {
    const c = map.get(m.currency) ?? { currency: m.currency, amountMinor: 0, count: 0 };
    c.amountMinor += m.amountMinor;
    c.count += m.count;
    map.set(m.currency, c);
  }
  return [...map.values()];
}

const providerName = (id: string) => ({ stripe: 'Stripe', creem: 'Creem', nowpayments: 'NOWPayments', kie: 'KIE', fal: 'fal', local: 'Local' })[id] ?? id;

/** /admin: the console's dashboard (admins). */
export function DashboardPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  usePageTitle(`${t('admin.dashboard.title')} · ${t('admin.title')}`);
  const search = useSearch({ from: '/admin/' });
  const range: DashboardRange = search.range ?? '7d';
  const navigate = useNavigate();
  const query = useQuery(dashboardQuery(range));
  const data = query.data;

  return (
    <div data-testid="dashboard">
      <PageHeader title={t('admin.dashboard.title')} lead={t('admin.dashboard.lead')}>
        <div
          role="group"
          aria-label={t('admin.dashboard.rangeLabel')}
          className="inline-flex self-start rounded-lg border border-zinc-300 bg-white p-0.5 shadow-sm sm:self-auto dark:border-zinc-700 dark:bg-zinc-900"
        >
          {dashboardRanges.map((r) => (
            <button
              key={r}
              type="button"
              aria-pressed={r === range}
              onClick={() => void navigate({ to: '/admin', search: { range: r }, replace: true })}
              className={cn(
                'h-8 rounded-md px-3 text-sm font-medium whitespace-nowrap transition-colors focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-brand-500',
                r === range ? 'bg-brand-600 text-white dark:bg-brand-500' : 'text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800',
              )}
              data-testid={`dashboard-range-${r}`}
            >
              {t(`admin.dashboard.ranges.${r}`)}
            </button>
          ))}
        </div>
      </PageHeader>

      <p className="sr-only" aria-live="polite" data-testid="dashboard-status">
        {query.isFetching ? t('admin.dashboard.refreshing') : data ? t('admin.dashboard.showing', { range: t(`admin.dashboard.ranges.${data.range}`) }) : ''}
      </p>

      <QueryState
        pending={query.isPending}
        error={query.isError && !data ? query.error : null}
        onRetry={() => void query.refetch()}
        loadingText={t('admin.dashboard.loading')}
        errorTitle={t('admin.dashboard.error')}
        errorMessage={t('admin.dashboard.errorBody')}
        retryLabel={t('admin.dashboard.retry')}
        errorTestId="dashboard-error"
      >
        {data && <Dashboard data={data} stale={query.isPlaceholderData} lang={lang} />}
      </QueryState>
    </div>
  );
}

function Dashboard({ data, stale, lang }: { data: DashboardView; stale: boolean; lang: string }) {
  const { t } = useTranslation();
  const colors = useChartColors();
  const color = (i: number) => colors.series[i % colors.series.length] ?? colors.muted;
  const { totals, previous, series } = data;
  const rangeIn = t(`admin.dashboard.rangeIn.${data.range}`);
  const previousName = t(`admin.dashboard.previousRange.${data.range}`);
  const num = (n: number) => formatNumber(n, lang);
  const labels = series.buckets.map((b) => bucketLabel(b, data.granularity, lang));
  const longLabels = series.buckets.map((b) => bucketLabel(b, data.granularity, lang, true));
  const timeColumn = data.granularity === 'hour' ? t('admin.dashboard.table.hour') : t('admin.dashboard.table.day');
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

  // generations by model, stacked
  const modelSeries: SeriesSpec[] = series.byModel.map((m, i) => ({
    key: `m${i}`,
    label: m.model ?? t('admin.dashboard.charts.otherModels'),
    color: m.model === null ? colors.muted : color(i),
  }));
  const modelRows = labels.map((label, i) => ({ label, ...Object.fromEntries(series.byModel.map((m, k) => [`m${k}`, m.values[i] ?? 0])) }));
  const busiest = series.byModel[0]?.model ?? null;

  // success rate (%) and p50/p95 (seconds)
  const qualityRows = labels.map((label, i) => {
    const finished = series.finished[i] ?? 0;
    const p50 = series.p50Ms[i] ?? null;
    const p95 = series.p95Ms[i] ?? null;
    return {
      label,
      rate: finished ? Math.round(((series.succeeded[i] ?? 0) / finished) * 1000) / 10 : null,
      p50: p50 === null ? null : Math.round(p50 / 100) / 10,
      p95: p95 === null ? null : Math.round(p95 / 100) / 10,
    };
  });
  const creditRows = labels.map((label, i) => ({ label, granted: series.creditsGranted[i] ?? 0, spent: series.creditsSpent[i] ?? 0 }));
  const userRows = labels.map((label, i) => ({ label, signups: series.signups[i] ?? 0, active: series.activeUsers[i] ?? 0 }));
  const currencies = [...new Set(series.revenue.map((r) => r.currency))];

  const revenueTotals = byCurrency(totals.revenue);
  const revenueBefore = byCurrency(previous.revenue);
  const list = new Intl.ListFormat(lang, { style: 'long', type: 'conjunction' });
  const money = (items: { currency: string; amountMinor: number }[]) => list.format(items.map((m) => formatMoney(m.amountMinor, m.currency, lang)));
  const refunds = sum(totals.refunds.map((r) => r.count));
  const disputes = sum(totals.disputes.map((r) => r.count));
  const queued = sum(data.live.queues.map((q) => q.waiting));
  const due = sum(data.live.queues.map((q) => q.due));
  const oldest = Math.max(-1, ...data.live.queues.map((q) => q.oldestWaitSeconds ?? -1));
  const activeBasis = data.range === '24h' ? t('admin.dashboard.kpi.activeToday') : t('admin.dashboard.kpi.activeAverage');

  return (
    <div className={cn('space-y-6 transition-opacity', stale && 'opacity-60')} aria-busy={stale || undefined}>
      <Freshness data={data} lang={lang} />

      <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4" data-testid="dashboard-kpis">
        <Kpi
          name="signups"
          label={t('admin.dashboard.kpi.signups')}
          value={num(totals.signups)}
          compare={{ now: totals.signups, before: previous.signups, shown: num(previous.signups), previousName }}
        />
        <Kpi
          name="active-users"
          label={t('admin.dashboard.kpi.activeUsers')}
          value={formatNumber(totals.activeUsers, lang)}
          note={activeBasis}
          compare={{ now: totals.activeUsers, before: previous.activeUsers, shown: formatNumber(previous.activeUsers, lang), previousName }}
        />
        <Kpi
          name="generations"
          label={t('admin.dashboard.kpi.generations')}
          value={num(totals.generations.finished)}
          note={
            totals.generations.successRate === null
              ? undefined
              : t('admin.dashboard.kpi.successRate', { rate: formatPercent(totals.generations.successRate, lang) })
          }
          compare={{ now: totals.generations.finished, before: previous.generations.finished, shown: num(previous.generations.finished), previousName }}
        />
        <Kpi
          name="latency"
          small
          label={t('admin.dashboard.kpi.latency')}
          value={t('admin.dashboard.kpi.latencyValue', {
            p50: formatDuration(totals.generations.p50Ms, lang),
            p95: formatDuration(totals.generations.p95Ms, lang),
          })}
          note={t('admin.dashboard.kpi.latencyBefore', {
            p50: formatDuration(previous.generations.p50Ms, lang),
            p95: formatDuration(previous.generations.p95Ms, lang),
            range: previousName,
          })}
        />
        <Kpi
          name="credits-granted"
          label={t('admin.dashboard.kpi.creditsGranted')}
          value={num(totals.credits.granted)}
          note={t('admin.dashboard.kpi.creditsSplit', { free: num(totals.credits.grantedFree), bought: num(totals.credits.grantedBought) })}
          compare={{ now: totals.credits.granted, before: previous.credits.granted, shown: num(previous.credits.granted), previousName }}
        />
        <Kpi
          name="credits-spent"
          label={t('admin.dashboard.kpi.creditsSpent')}
          value={num(totals.credits.spent)}
          note={t('admin.dashboard.kpi.creditsSpentNote')}
          compare={{ now: totals.credits.spent, before: previous.credits.spent, shown: num(previous.credits.spent), previousName }}
        />
        <Kpi
          name="revenue"
          label={t('admin.dashboard.kpi.revenue')}
          value={revenueTotals.length ? money(revenueTotals) : t('admin.dashboard.kpi.revenueNone')}
          small={revenueTotals.length > 1}
          note={
            revenueBefore.length
              ? t('admin.dashboard.kpi.revenueBefore', { amount: money(revenueBefore), range: previousName })
              : t('admin.dashboard.kpi.nothingBefore', { range: previousName })
          }
        />
        <Kpi
          name="refunds"
          label={t('admin.dashboard.kpi.refunds')}
          value={t('admin.dashboard.kpi.refundsValue', { count: refunds })}
          note={t('admin.dashboard.kpi.disputesValue', { count: disputes }) + (totals.refunds.length ? ` · ${money(byCurrency(totals.refunds))}` : '')}
          tone={disputes > 0 ? 'warning' : undefined}
        />
        <Kpi
          name="queue"
          label={t('admin.dashboard.kpi.queue')}
          value={t('admin.dashboard.kpi.queueValue', { count: queued })}
          note={
            oldest >= 0 ? t('admin.dashboard.kpi.queueOldest', { count: due, age: formatDuration(oldest * 1000, lang) }) : t('admin.dashboard.kpi.queueIdle')
          }
          tone={oldest >= 300 ? 'warning' : undefined}
        />
        <Kpi
          name="moderation"
          label={t('admin.dashboard.kpi.moderation')}
          value={num(totals.moderationFlags)}
          note={t('admin.dashboard.kpi.moderationNote')}
          compare={{ now: totals.moderationFlags, before: previous.moderationFlags, shown: num(previous.moderationFlags), previousName }}
        />
        <Kpi
          name="stuck"
          label={t('admin.dashboard.kpi.stuck')}
          value={num(data.live.stuckTasks)}
          tone={data.live.stuckTasks > 0 ? 'danger' : undefined}
          note={
            data.live.stuckTasks > 0 ? (
              <>
                {t('admin.dashboard.kpi.stuckNote', { count: data.live.activeTasks })}{' '}
                <Link to="/admin/generations" search={{ stuck: '1' } as never} className="font-medium underline" data-testid="dashboard-stuck-link">
                  {t('admin.dashboard.kpi.stuckLink')}
                </Link>
              </>
            ) : (
              t('admin.dashboard.kpi.stuckNone', { count: data.live.activeTasks })
            )
          }
        />
      </dl>

      <ChartCard
        name="generations"
        title={t('admin.dashboard.charts.generations')}
        summary={t('admin.dashboard.charts.generationsSummary', {
          count: totals.generations.finished,
          range: rangeIn,
          rate: formatPercent(totals.generations.successRate, lang),
          model: busiest ?? '—',
        })}
        empty={totals.generations.finished === 0}
        table={
          <DataTable
            caption={t('admin.dashboard.charts.generations')}
            columns={[{ key: 't', label: timeColumn }, ...modelSeries.map((s) => ({ key: s.key, label: s.label }))]}
            rows={longLabels.map((label, i) => ({
              key: label,
              cells: [label, ...series.byModel.map((m) => num(m.values[i] ?? 0))],
            }))}
          />
        }
      >
        <Bars data={modelRows} series={modelSeries} colors={colors} stacked format={num} />
      </ChartCard>

      <div className="grid gap-6 lg:grid-cols-2">
        <ChartCard
          name="quality"
          title={t('admin.dashboard.charts.quality')}
          summary={t('admin.dashboard.charts.qualitySummary', {
            rate: formatPercent(totals.generations.successRate, lang),
            p50: formatDuration(totals.generations.p50Ms, lang),
            p95: formatDuration(totals.generations.p95Ms, lang),
          })}
          empty={totals.generations.finished === 0}
          table={
            <DataTable
              caption={t('admin.dashboard.charts.quality')}
              columns={[
                { key: 't', label: timeColumn },
                { key: 'rate', label: t('admin.dashboard.charts.successRate') },
                { key: 'p50', label: t('admin.dashboard.charts.p50') },
                { key: 'p95', label: t('admin.dashboard.charts.p95') },
              ]}
              rows={longLabels.map((label, i) => {
                const finished = series.finished[i] ?? 0;
                return {
                  key: label,
                  cells: [
                    label,
                    finished ? formatPercent((series.succeeded[i] ?? 0) / finished, lang) : '—',
                    formatDuration(series.p50Ms[i] ?? null, lang),
                    formatDuration(series.p95Ms[i] ?? null, lang),
                  ],
                };
              })}
            />
          }
        >
          <Lines
            data={qualityRows}
            colors={colors}
            series={[
              { key: 'rate', label: t('admin.dashboard.charts.successRate'), color: colors.good },
              { key: 'p50', label: t('admin.dashboard.charts.p50'), color: color(0), right: true },
              { key: 'p95', label: t('admin.dashboard.charts.p95'), color: color(2), right: true },
            ]}
            format={(v) => `${formatNumber(v, lang)} %`}
            formatRight={(v) => formatDuration(v * 1000, lang)}
          />
        </ChartCard>

        <ChartCard
          name="credits"
          title={t('admin.dashboard.charts.credits')}
          summary={t('admin.dashboard.charts.creditsSummary', {
            granted: num(totals.credits.granted),
            free: num(totals.credits.grantedFree),
            bought: num(totals.credits.grantedBought),
            spent: num(totals.credits.spent),
            range: rangeIn,
          })}
          empty={totals.credits.granted === 0 && totals.credits.spent === 0}
          table={
            <DataTable
              caption={t('admin.dashboard.charts.credits')}
              columns={[
                { key: 't', label: timeColumn },
                { key: 'granted', label: t('admin.dashboard.charts.granted') },
                { key: 'spent', label: t('admin.dashboard.charts.spent') },
              ]}
              rows={longLabels.map((label, i) => ({
                key: label,
                cells: [label, num(series.creditsGranted[i] ?? 0), num(series.creditsSpent[i] ?? 0)],
              }))}
            />
          }
        >
          <Bars
            data={creditRows}
            colors={colors}
            series={[
              { key: 'granted', label: t('admin.dashboard.charts.granted'), color: color(3) },
              { key: 'spent', label: t('admin.dashboard.charts.spent'), color: color(2) },
            ]}
            format={num}
          />
        </ChartCard>

        <ChartCard
          name="revenue"
          title={t('admin.dashboard.charts.revenue')}
          summary={
            totals.revenue.length
              ? list.format(
                  totals.revenue.map((r) =>
                    t('admin.dashboard.charts.revenueItem', {
                      count: r.count,
                      amount: formatMoney(r.amountMinor, r.currency, lang),
                      provider: providerName(r.provider),
                    }),
                  ),
                )
              : t('admin.dashboard.kpi.revenueNone')
          }
          empty={totals.revenue.length === 0}
          table={
            <DataTable
              caption={t('admin.dashboard.charts.revenue')}
              columns={[
                { key: 't', label: timeColumn },
                ...series.revenue.map((r) => ({ key: `${r.currency}-${r.provider}`, label: `${r.currency.toUpperCase()} · ${providerName(r.provider)}` })),
              ]}
              rows={longLabels.map((label, i) => ({
                key: label,
                cells: [label, ...series.revenue.map((r) => formatMoney(r.values[i] ?? 0, r.currency, lang))],
              }))}
            />
          }
        >
          <div className={cn('grid h-full gap-4', currencies.length > 1 && 'grid-rows-2')}>
            {/* one chart per currency (amounts of different currencies never share an axis), the first two; every currency is in the table */}
            {currencies.slice(0, 2).map((currency) => {
              const lines = series.revenue.filter((r) => r.currency === currency);
              return (
                <div key={currency} className="min-h-0" data-testid={`dashboard-chart-revenue-${currency}`}>
                  <Bars
                    data={labels.map((label, i) => ({ label, ...Object.fromEntries(lines.map((r) => [r.provider, (r.values[i] ?? 0) / 100])) }))}
                    colors={colors}
                    stacked
                    series={lines.map((r, k) => ({
                      key: r.provider,
                      label: `${currency.toUpperCase()} · ${providerName(r.provider)}`,
                      color: color(k + 5),
                    }))}
                    format={(v) => formatMoney(Math.round(v * 100), currency, lang, { compact: true })}
                  />
                </div>
              );
            })}
          </div>
        </ChartCard>

        <ChartCard
          name="users"
          title={t('admin.dashboard.charts.users')}
          summary={t('admin.dashboard.charts.usersSummary', {
            count: totals.signups,
            range: rangeIn,
            active: formatNumber(totals.activeUsers, lang),
            basis: activeBasis,
          })}
          empty={totals.signups === 0 && sum(series.activeUsers) === 0}
          table={
            <DataTable
              caption={t('admin.dashboard.charts.users')}
              columns={[
                { key: 't', label: timeColumn },
                { key: 'signups', label: t('admin.dashboard.charts.signups') },
                { key: 'active', label: data.granularity === 'hour' ? t('admin.dashboard.charts.activeHour') : t('admin.dashboard.charts.activeDay') },
              ]}
              rows={longLabels.map((label, i) => ({
                key: label,
                cells: [label, num(series.signups[i] ?? 0), num(series.activeUsers[i] ?? 0)],
              }))}
            />
          }
        >
          <Lines
            data={userRows}
            colors={colors}
            series={[
              { key: 'signups', label: t('admin.dashboard.charts.signups'), color: color(0) },
              {
                key: 'active',
                label: data.granularity === 'hour' ? t('admin.dashboard.charts.activeHour') : t('admin.dashboard.charts.activeDay'),
                color: color(1),
              },
            ]}
            format={num}
          />
        </ChartCard>
      </div>
      <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.dashboard.activeDefinition')}</p>

      <section aria-labelledby="dashboard-models-title" className="space-y-3">
        <h2 id="dashboard-models-title" className="text-lg font-semibold text-zinc-900 dark:text-white">
          {t('admin.dashboard.models.title')}
        </h2>
        {data.models.length === 0 ? (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">{t('admin.dashboard.models.empty')}</p>
        ) : (
          <DataTable
            testId="dashboard-models"
            caption={t('admin.dashboard.models.caption', { range: rangeIn })}
            columns={[
              { key: 'model', label: t('admin.dashboard.models.model') },
              { key: 'provider', label: t('admin.dashboard.models.provider'), align: 'start' },
              { key: 'finished', label: t('admin.dashboard.models.finished') },
              { key: 'rate', label: t('admin.dashboard.models.successRate') },
              { key: 'p50', label: t('admin.dashboard.charts.p50') },
              { key: 'p95', label: t('admin.dashboard.charts.p95') },
            ]}
            rows={data.models.map((m) => ({
              key: `${m.model}/${m.provider}`,
              cells: [
                m.model,
                m.provider ? providerName(m.provider) : t('admin.dashboard.models.noProvider'),
                num(m.finished),
                formatPercent(m.finished ? m.succeeded / m.finished : null, lang),
                formatDuration(m.p50Ms, lang),
                formatDuration(m.p95Ms, lang),
              ],
            }))}
          />
        )}
      </section>

      <section aria-labelledby="dashboard-queues-title" className="space-y-3">
        <h2 id="dashboard-queues-title" className="text-lg font-semibold text-zinc-900 dark:text-white">
          {t('admin.dashboard.queues.title')}
        </h2>
        {data.live.queues.length === 0 ? (
          <p className="text-sm text-zinc-500 dark:text-zinc-400" data-testid="dashboard-queues-empty">
            {t('admin.dashboard.queues.empty')}
          </p>
        ) : (
          <DataTable
            testId="dashboard-queues"
            caption={t('admin.dashboard.queues.title')}
            columns={[
              { key: 'name', label: t('admin.dashboard.queues.job') },
              { key: 'waiting', label: t('admin.dashboard.queues.waiting') },
              { key: 'due', label: t('admin.dashboard.queues.due') },
              { key: 'oldest', label: t('admin.dashboard.queues.oldest') },
            ]}
            rows={data.live.queues.map((q) => ({
              key: q.name,
              cells: [
                <code key="n" className="font-mono text-xs">
                  {q.name}
                </code>,
                num(q.waiting),
                num(q.due),
                q.oldestWaitSeconds === null ? '—' : formatDuration(q.oldestWaitSeconds * 1000, lang),
              ],
            }))}
          />
        )}
      </section>
    </div>
  );
}

/** When the figures were computed, and whether the history is still being filled in. */
function Freshness({ data, lang }: { data: DashboardView; lang: string }) {
  const { t } = useTranslation();
  if (!data.computedThrough) {
    return (
      <Alert tone="info" title={t('admin.dashboard.notComputed')} data-testid="dashboard-not-computed">
        {t('admin.dashboard.notComputedBody')}
      </Alert>
    );
  }
  // against the server's clock, so a wrong clock on this computer does not say "in 5 minutes"
  const updated = relativeTime(data.computedThrough, lang, Date.parse(data.now));
  return (
    <div className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm text-zinc-600 dark:text-zinc-400">
      <p data-testid="dashboard-updated">
        <time dateTime={data.computedThrough}>{t('admin.dashboard.updated', { when: updated })}</time>
      </p>
      {!data.historyComplete && data.historyFrom && (
        <p className="text-amber-700 dark:text-amber-300" data-testid="dashboard-history">
          {t('admin.dashboard.history', { date: utcDate(data.historyFrom, lang) })}
        </p>
      )}
    </div>
  );
}

type KpiTone = 'warning' | 'danger';

/** One figure: its name, value, an optional note, and the change from the previous range. */
function Kpi({
  name,
  label,
  value,
  note,
  compare,
  tone,
  small,
}: {
  name: string;
  label: string;
  value: string;
  note?: ReactNode;
  compare?: { now: number; before: number; shown: string; previousName: string };
  tone?: KpiTone | undefined;
  small?: boolean;
}) {
  const { t, i18n } = useTranslation();
  const delta = compare ? change(compare.now, compare.before) : null;
  const frame = {
    normal: 'border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900/60',
    warning: 'border-amber-300 bg-amber-50 dark:border-amber-800 dark:bg-amber-950/30',
    danger: 'border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950/40',
  }[tone ?? 'normal'];
  return (
    <div className={cn('rounded-2xl border p-4 shadow-sm', frame)} data-testid={`dashboard-kpi-${name}`} data-tone={tone ?? 'normal'}>
      <dt className={cn('text-sm font-medium', tone === 'danger' ? 'text-red-800 dark:text-red-200' : 'text-zinc-600 dark:text-zinc-400')}>{label}</dt>
      <dd className="mt-1">
        <span
          className={cn(
            'block font-semibold tracking-tight tabular-nums',
            small ? 'text-lg' : 'text-2xl',
            tone === 'danger' ? 'text-red-700 dark:text-red-300' : 'text-zinc-900 dark:text-white',
          )}
          data-testid={`dashboard-kpi-${name}-value`}
        >
          {value}
        </span>
        {compare && (
          <span className="mt-1 flex flex-wrap items-center gap-x-2 text-xs text-zinc-500 dark:text-zinc-400">
            {delta !== null && (
              <span
                className={cn(
                  'font-semibold',
                  delta > 0 ? 'text-emerald-700 dark:text-emerald-400' : delta < 0 ? 'text-red-700 dark:text-red-400' : 'text-zinc-600 dark:text-zinc-300',
                )}
              >
                <span aria-hidden="true">{delta > 0 ? '▲' : delta < 0 ? '▼' : '='} </span>
                {delta === 0
                  ? t('admin.dashboard.same')
                  : t(delta > 0 ? 'admin.dashboard.up' : 'admin.dashboard.down', {
                      percent: formatPercent(Math.abs(delta), i18n.language),
                    })}
              </span>
            )}
            <span>
              {compare.before === 0 && compare.now === 0
                ? t('admin.dashboard.nothingEither', { range: compare.previousName })
                : t('admin.dashboard.vsPrevious', { value: compare.shown, range: compare.previousName })}
            </span>
          </span>
        )}
        {note && (
          <span className={cn('mt-1 block text-xs', tone === 'danger' ? 'text-red-800 dark:text-red-200' : 'text-zinc-500 dark:text-zinc-400')}>{note}</span>
        )}
      </dd>
    </div>
  );
}
