import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import type { AdminFreeCreditsResult, AdminUserRisk, RiskCluster, RiskClustersResult } from '../../../../shared/api/admin-risk';
import { apiFetch } from '../../../lib/api';

/*
 * Risk in the console in the browser (the user page's Risk section, /admin/risk): the shapes are the
 * server's (src/shared/api/admin-risk.ts).
 */

export { riskClusterSorts, riskSignalKinds, strongSignalKinds } from '../../../../shared/api/admin-risk';
export type { AdminUserRisk, RiskCluster };
export type StrongKind = RiskCluster['kind'];
export type ClusterSort = 'size' | 'newest';

/** Everything of risk lives under this key (dropped on sign-out with the other user queries). */
const key = ['admin-risk'] as const;
const PAGE = 25;

export const userRiskQuery = (id: string) =>
  queryOptions({
    queryKey: [...key, 'user', id] as const,
    queryFn: ({ signal }) => apiFetch<AdminUserRisk>(`/api/admin/users/${encodeURIComponent(id)}/risk`, { signal }),
    staleTime: 5_000,
  });

export function clustersQuery(filters: { kind: StrongKind | ''; sort: ClusterSort }) {
  return infiniteQueryOptions({
    queryKey: [...key, 'clusters', filters] as const,
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(PAGE), sort: filters.sort });
      if (filters.kind) params.set('kind', filters.kind);
      if (pageParam) params.set('cursor', pageParam);
      return apiFetch<RiskClustersResult>(`/api/admin/risk/clusters?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 10_000,
  });
}

/** Grants the free credits a sign-up decision withheld (once: a repeat answers replayed). */
export const grantFreeCredits = (id: string, reason: string) =>
  apiFetch<AdminFreeCreditsResult>(`/api/admin/users/${encodeURIComponent(id)}/free-credits`, { method: 'POST', body: { reason } });

export const refreshRisk = (queryClient: QueryClient) => queryClient.invalidateQueries({ queryKey: key });
