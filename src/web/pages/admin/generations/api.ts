import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import type { AdminGenerationActionResult, AdminGenerationDetail, AdminGenerationList } from '../../../../shared/api';
import { apiFetch } from '../../../lib/api';

/*
 * The console's generations section in the browser (/admin/generations, /admin/generations/$id):
 * the shapes are the server's (src/shared/api/admin-generations.ts).
 */

export type { AdminGenerationCallback, AdminGenerationDetail, AdminGenerationFull, AdminGenerationRow, AdminGenerationStatus } from '../../../../shared/api';
export { ADMIN_GENERATION_REASON_MAX, adminGenerationStatuses } from '../../../../shared/api/admin-generations';

/** The lookup's filters, as they stand in the address (`?status=running&stuck=1…`). */
export const generationFilterKeys = ['id', 'user', 'model', 'provider', 'status', 'from', 'to', 'stuck'] as const;
export type GenerationFilters = Record<(typeof generationFilterKeys)[number], string>;

/** the video providers a task can run on */
export const videoProviders = ['kie', 'fal', 'local'] as const;

/** Everything of this section lives under this key (dropped on sign-out with the other user queries). */
const key = ['admin-generations'] as const;
const PAGE = 25;

export function generationListQuery(filters: GenerationFilters) {
  return infiniteQueryOptions({
    queryKey: [...key, 'list', filters] as const,
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(PAGE) });
      for (const k of generationFilterKeys) if (filters[k]) params.set(k, filters[k]);
      if (pageParam) params.set('cursor', pageParam);
      return apiFetch<AdminGenerationList>(`/api/admin/generations?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 5_000,
  });
}

export const generationDetailQuery = (id: string) =>
  queryOptions({
    queryKey: [...key, 'detail', id] as const,
    queryFn: ({ signal }) => apiFetch<AdminGenerationDetail>(`/api/admin/generations/${encodeURIComponent(id)}`, { signal }),
    staleTime: 5_000,
  });

export function generationAction(id: string, action: 'cancel' | 'release', reason: string): Promise<AdminGenerationActionResult> {
  return apiFetch<AdminGenerationActionResult>(`/api/admin/generations/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: { reason } });
}

/** After an action: the lists and pages of this section are fetched again. */
export const refreshGenerations = (queryClient: QueryClient) => queryClient.invalidateQueries({ queryKey: key });
