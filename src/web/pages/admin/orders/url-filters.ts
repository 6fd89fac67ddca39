import { useLocation, useNavigate } from '@tanstack/react-router';
import { useMemo } from 'react';

/** A search value as text (the router parses `?q=123` as a number). */
const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

/**
 * A list's filters kept in the address (`?status=paid&q=…`), so a filtered list can be reloaded,
 * bookmarked and shared with a colleague. Returns the current values ('' when absent) and a
 * function that changes some of them (an empty value drops the parameter).
 */
export function useUrlFilters<K extends string>(keys: readonly K[]): [Record<K, string>, (next: Partial<Record<K, string>>) => void] {
  const search = useLocation({ select: (l) => l.search as Record<string, unknown> });
  const pathname = useLocation({ select: (l) => l.pathname });
  const navigate = useNavigate();
  const values = useMemo(() => Object.fromEntries(keys.map((k) => [k, text(search[k])])) as Record<K, string>, [search, keys]);
  const update = (next: Partial<Record<K, string>>) => {
    const params = new URLSearchParams();
    for (const k of keys) {
      const v = (k in next ? next[k] : values[k])?.trim();
      if (v) params.set(k, v);
    }
    const query = params.toString();
    void navigate({ href: query ? `${pathname}?${query}` : pathname, replace: true });
  };
  return [values, update];
}
