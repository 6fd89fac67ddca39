import type { ReactNode } from 'react';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Card } from '../../../components/ui';
import { cn } from '../../../lib/cn';
import type { ChartColors } from './format';

/**
 * The dashboard's chart frame (issue 18): a titled card with a one-sentence summary, the chart
 * (recharts; hidden from screen readers, which get the summary and the table instead), and the
 * numbers as a table under a disclosure. An empty range shows one sentence instead of all that.
 */
export function ChartCard({
  name,
  title,
  summary,
  empty,
  table,
  children,
  className,
}: {
  name: string;
  title: string;
  summary: ReactNode;
  empty: boolean;
  table: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <Card padding="sm" className={cn('min-w-0 sm:p-6', className)} data-testid={`dashboard-chart-${name}`}>
      <section aria-labelledby={id}>
        <h3 id={id} className="text-base font-semibold text-zinc-900 dark:text-white">
          {title}
        </h3>
        {!empty && (
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400" data-testid={`dashboard-chart-${name}-summary`}>
            {summary}
          </p>
        )}
        {empty ? (
          <p
            className="mt-4 flex h-40 items-center justify-center rounded-xl border border-dashed border-zinc-300 px-4 text-center text-sm text-zinc-500 dark:border-zinc-700 dark:text-zinc-400"
            data-testid="dashboard-chart-empty"
          >
            {t('admin.dashboard.noData')}
          </p>
        ) : (
          <>
            <div className="mt-4 h-64" aria-hidden="true">
              {children}
            </div>
            <details className="mt-3 text-sm">
              <summary className="cursor-pointer rounded font-medium text-zinc-700 hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-brand-500 dark:text-zinc-300 dark:hover:text-white">
                {t('admin.dashboard.showTable')}
              </summary>
              <div className="mt-2">{table}</div>
            </details>
          </>
        )}
      </section>
    </Card>
  );
}

export interface TableColumn {
  key: string;
  label: string;
  /** right-aligned numbers by default */
  align?: 'start' | 'end';
}

/**
 * A plain data table for screen readers and for anyone who wants the figures: a caption (read,
 * not shown), one header row, one row per entry with its first cell as the row's header. Scrolls
 * sideways on a narrow screen.
 */
export function DataTable({
  caption,
  columns,
  rows,
  testId,
  className,
}: {
  caption: string;
  columns: TableColumn[];
  rows: { key: string; cells: ReactNode[] }[];
  testId?: string;
  className?: string;
}) {
  const th = 'px-3 py-2 text-xs font-semibold tracking-wide whitespace-nowrap text-zinc-500 uppercase dark:text-zinc-400';
  const td = 'px-3 py-1.5 whitespace-nowrap tabular-nums';
  return (
    <div
      className={cn(
        'relative max-h-80 overflow-auto rounded-xl border border-zinc-200 focus-visible:outline-2 focus-visible:outline-brand-500 dark:border-zinc-800',
        className,
      )}
      tabIndex={0}
      role="region"
      aria-label={caption}
    >
      <table className="w-full text-sm" data-testid={testId}>
        <caption className="sr-only">{caption}</caption>
        <thead className="sticky top-0 border-b border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <tr>
            {columns.map((c, i) => (
              <th key={c.key} scope="col" className={cn(th, (c.align ?? (i === 0 ? 'start' : 'end')) === 'end' ? 'text-end' : 'text-start')}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
          {rows.map((r) => (
            <tr key={r.key}>
              {r.cells.map((cell, i) =>
                i === 0 ? (
                  <th key={i} scope="row" className={cn(td, 'text-start font-medium text-zinc-900 dark:text-white')}>
                    {cell}
                  </th>
                ) : (
                  <td key={i} className={cn(td, (columns[i]?.align ?? 'end') === 'end' ? 'text-end' : 'text-start')}>
                    {cell}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
  /** the right-hand axis (line charts with two scales) */
  right?: boolean;
}

type Row = Record<string, string | number | null>;

const tooltipStyle = (c: ChartColors) => ({
  contentStyle: { background: c.tooltipBackground, border: `1px solid ${c.tooltipBorder}`, borderRadius: 12, color: c.tooltipText, fontSize: 12 },
  labelStyle: { color: c.tooltipText, fontWeight: 600 },
  itemStyle: { color: c.tooltipText },
  cursor: { fill: c.grid, fillOpacity: 0.4 },
});

const axis = (c: ChartColors) => ({ tick: { fill: c.tick, fontSize: 11 }, stroke: c.grid, tickLine: false });

/** Bars per point, stacked (`stacked`) or side by side, each series its colour. */
export function Bars({
  data,
  series,
  colors,
  stacked,
  format,
}: {
  data: Row[];
  series: SeriesSpec[];
  colors: ChartColors;
  stacked?: boolean;
  format: (value: number) => string;
}) {
  return (
    <ResponsiveContainer width="100%" height="100%">
      <BarChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid vertical={false} stroke={colors.grid} strokeDasharray="3 3" />
        <XAxis dataKey="label" {...axis(colors)} minTickGap={12} />
        <YAxis {...axis(colors)} width={56} allowDecimals={false} tickFormatter={(v: number) => format(v)} />
        <Tooltip {...tooltipStyle(colors)} formatter={(v) => format(Number(v))} />
        <Legend wrapperStyle={{ fontSize: 12, color: colors.tick }} itemSorter={null} />
        {series.map((s) => (
          <Bar key={s.key} dataKey={s.key} name={s.label} fill={s.color} stackId={stacked ? 'stack' : undefined} isAnimationActive={false} maxBarSize={40} />
        ))}
      </BarChart>
    </ResponsiveContainer>
  );
}

/** Lines per point; series marked `right` use the right-hand scale (`formatRight`). */
export function Lines({
  data,
  series,
  colors,
  format,
  formatRight,
}: {
  data: Row[];
  series: SeriesSpec[];
  colors: ChartColors;
  format: (value: number) => string;
  formatRight?: (value: number) => string;
}) {
  const hasRight = series.some((s) => s.right);
  return (
    <ResponsiveContainer width="100%" height="100%">
      <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
        <CartesianGrid vertical={false} stroke={colors.grid} strokeDasharray="3 3" />
        <XAxis dataKey="label" {...axis(colors)} minTickGap={12} />
        <YAxis yAxisId="left" {...axis(colors)} width={56} tickFormatter={(v: number) => format(v)} />
        {hasRight && <YAxis yAxisId="right" orientation="right" {...axis(colors)} width={64} tickFormatter={(v: number) => (formatRight ?? format)(v)} />}
        <Tooltip
          {...tooltipStyle(colors)}
          cursor={{ stroke: colors.grid }}
          formatter={(v, _name, item) => {
            const spec = series.find((s) => s.key === item.dataKey);
            return v === undefined ? '—' : (spec?.right ? (formatRight ?? format) : format)(Number(v));
          }}
        />
        <Legend wrapperStyle={{ fontSize: 12, color: colors.tick }} itemSorter={null} />
        {series.map((s) => (
          <Line
            key={s.key}
            yAxisId={s.right ? 'right' : 'left'}
            type="monotone"
            dataKey={s.key}
            name={s.label}
            stroke={s.color}
            strokeWidth={2}
            dot={data.length <= 31 ? { r: 2 } : false}
            connectNulls
            isAnimationActive={false}
          />
        ))}
      </LineChart>
    </ResponsiveContainer>
  );
}
