import { useSyncExternalStore } from 'react';

/** Formatting and colours for the console's dashboard (issue 18). Times are UTC, as on the server. */

/** A bucket's start as a short label: "15:00" for an hour, "Dec 7" for a day (UTC). */
export function bucketLabel(iso: string, granularity: 'hour' | 'day', language: string, long = false): string {
  const d = new Date(iso);
  if (granularity === 'hour') {
    return new Intl.DateTimeFormat(language, {
      timeZone: 'UTC',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      ...(long ? { month: 'short', day: 'numeric' } : {}),
    }).format(d);
  }
  return new Intl.DateTimeFormat(language, { timeZone: 'UTC', month: 'short', day: 'numeric', ...(long ? { year: 'numeric' } : {}) }).format(d);
}

/** A UTC date ("Dec 7, 2026"). */
export function utcDate(iso: string, language: string): string {
  return new Intl.DateTimeFormat(language, { timeZone: 'UTC', dateStyle: 'medium' }).format(new Date(iso));
}

const unit = (language: string, u: 'second' | 'minute' | 'hour', digits = 0) =>
  new Intl.NumberFormat(language, { style: 'unit', unit: u, unitDisplay: 'narrow', maximumFractionDigits: digits });

/** A duration in milliseconds, short: "850 ms", "4.2s", "1m 48s", "2h 5m". */
export function formatDuration(ms: number | null, language: string): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return unit(language, 'second', seconds < 10 ? 1 : 0).format(seconds);
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = Math.round(seconds - m * 60);
    return s ? `${unit(language, 'minute').format(m)} ${unit(language, 'second').format(s)}` : unit(language, 'minute').format(m);
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds - h * 3600) / 60);
  return m ? `${unit(language, 'hour').format(h)} ${unit(language, 'minute').format(m)}` : unit(language, 'hour').format(h);
}

/** A share 0-1 as a percentage ("91.4 %"). */
export function formatPercent(share: number | null, language: string): string {
  if (share === null || !Number.isFinite(share)) return '—';
  return new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 1 }).format(share);
}

/** The change from `previous` to `current`, as a signed share (null when there was nothing before). */
export function change(current: number, previous: number): number | null {
  if (previous === 0) return null;
  return (current - previous) / previous;
}

// -------------------------------------------------------------------------------------------------
// Colours: categorical series that read on white and on zinc-950, one set per theme

const light = ['#7c3aed', '#0891b2', '#d97706', '#059669', '#db2777', '#2563eb', '#65a30d', '#dc2626'];
const dark = ['#a78bfa', '#22d3ee', '#fbbf24', '#34d399', '#f472b6', '#60a5fa', '#a3e635', '#f87171'];

export interface ChartColors {
  series: string[];
  /** the "other models" series, and neutral lines */
  muted: string;
  grid: string;
  tick: string;
  tooltipBackground: string;
  tooltipBorder: string;
  tooltipText: string;
  good: string;
  bad: string;
}

const themes: Record<'light' | 'dark', ChartColors> = {
  light: {
    series: light,
    muted: '#a1a1aa',
    grid: '#e4e4e7',
    tick: '#71717a',
    tooltipBackground: '#ffffff',
    tooltipBorder: '#e4e4e7',
    tooltipText: '#18181b',
    good: '#059669',
    bad: '#dc2626',
  },
  dark: {
    series: dark,
    muted: '#71717a',
    grid: '#3f3f46',
    tick: '#a1a1aa',
    tooltipBackground: '#18181b',
    tooltipBorder: '#3f3f46',
    tooltipText: '#f4f4f5',
    good: '#34d399',
    bad: '#f87171',
  },
};

function subscribe(notify: () => void) {
  const observer = new MutationObserver(notify);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
  return () => observer.disconnect();
}

/** The chart colours of the theme in force (the `dark` class on <html>), following its changes. */
export function useChartColors(): ChartColors {
  const isDark = useSyncExternalStore(
    subscribe,
    () => document.documentElement.classList.contains('dark'),
    () => false,
  );
  return themes[isDark ? 'dark' : 'light'];
}
