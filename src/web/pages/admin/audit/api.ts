import { infiniteQueryOptions } from '@tanstack/react-query';
import type { AuditEntryView, AuditList } from '../../../../shared/api/admin';
import { apiFetch } from '../../../lib/api';

/*
 * The console's audit log in the browser (/admin/audit): the shapes are the server's
 * (src/shared/api/admin.ts); the filters live in the address so a filtered view can be shared.
 */

export type { AuditEntryView };

/** The filters as they stand in the address (`?action=user.&from=2026-12-01`); dates are local days. */
export const auditFilterKeys = ['actor', 'action', 'targetType', 'targetId', 'from', 'to'] as const;
export type AuditFilters = Record<(typeof auditFilterKeys)[number], string>;

/** Target types the console's pages show (a filter may name any other). */
export const auditTargetTypes = [
  'user',
  'order',
  'generation',
  'model',
  'plan',
  'setting',
  'case',
  'hold',
  'hash_list',
  'term_edit',
  'privacy_request',
  'mailing',
  'legal_document',
] as const;

const key = ['admin-audit'] as const;
const PAGE = 50;

/** A local day (YYYY-MM-DD) as the instant it starts, or (`end`) the last millisecond of it; '' when unreadable. */
export function dayBound(day: string, end = false): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return '';
  const at = new Date(`${day}T${end ? '23:59:59.999' : '00:00:00.000'}`);
  return Number.isNaN(at.getTime()) ? '' : at.toISOString();
}

/** The server's query for these filters (without paging): shared by the list and the CSV link. */
export function auditParams(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const k of ['actor', 'action', 'targetType', 'targetId'] as const) if (filters[k].trim()) params.set(k, filters[k].trim());
  const from = dayBound(filters.from);
  const to = dayBound(filters.to, true);
  if (from) params.set('from', from);
  if (to) params.set('to', to);
  return params;
}

export function auditListQuery(filters: AuditFilters) {
  return infiniteQueryOptions({
    queryKey: [...key, 'list', filters] as const,
    queryFn: ({ pageParam, signal }) => {
      const params = auditParams(filters);
      params.set('limit', String(PAGE));
      if (pageParam) params.set('before', String(pageParam));
      return apiFetch<AuditList>(`/api/admin/audit?${params}`, { signal });
    },
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.nextBefore ?? undefined,
    staleTime: 10_000,
  });
}

/** The CSV download of the same selection (every matching entry, not just the pages loaded). */
export const auditCsvHref = (filters: AuditFilters) => {
  const query = auditParams(filters).toString();
  return `/api/admin/audit.csv${query ? `?${query}` : ''}`;
};

export interface ChangedField {
  key: string;
  before: unknown;
  after: unknown;
}

/** The fields that differ between before and after (objects compared key by key; anything else as one value). */
export function changedFields(before: unknown, after: unknown): ChangedField[] {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRecord(before) && !isRecord(after)) {
    return before === null && after === null ? [] : [{ key: '', before, after }];
  }
  const b = isRecord(before) ? before : {};
  const a = isRecord(after) ? after : {};
  return [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .map((k) => ({ key: k, before: b[k], after: a[k] }));
}

/** A value of a diff as text: strings as they are, the rest as compact JSON. */
export const showValue = (v: unknown): string => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 1).replace(/\n\s*/g, ' '));
