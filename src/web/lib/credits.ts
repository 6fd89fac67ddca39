import { queryOptions, useQuery } from '@tanstack/react-query';
import type { CreditsResponse } from '../../shared/api/credits';
import { apiFetch } from './api';

/** The signed-in user's spendable and held credits (GET /api/credits; only the newest history line is fetched). */
export const creditsQuery = queryOptions({
  queryKey: ['credits'] as const,
  queryFn: ({ signal }) => apiFetch<CreditsResponse>('/api/credits?limit=1', { signal }),
  select: (data) => ({ balance: data.balance, held: data.held }),
  staleTime: 10_000,
});

export function useCredits() {
  return useQuery(creditsQuery);
}
