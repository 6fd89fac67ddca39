import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AccountDeletionStatusView, RequestAccountDeletion } from '../../shared/api/account-deletion';
import { apiFetch } from './api';

/** Whether the signed-in account is scheduled for deletion (GET /api/me/deletion). */
export const accountDeletionQuery = queryOptions({
  queryKey: ['account-deletion'] as const,
  queryFn: ({ signal }) => apiFetch<AccountDeletionStatusView>('/api/me/deletion', { signal }),
  staleTime: 60_000,
});

export function useAccountDeletion(enabled = true) {
  return useQuery({ ...accountDeletionQuery, enabled });
}

/** Ask for the account's deletion; the server signs every session out when it accepts. */
export function useRequestDeletion() {
  return useMutation({
    mutationFn: (body: RequestAccountDeletion) => apiFetch<AccountDeletionStatusView>('/api/me/deletion', { method: 'POST', body }),
  });
}

/** Cancel the scheduled deletion; the answer replaces the cached status. */
export function useCancelDeletion() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => apiFetch<AccountDeletionStatusView>('/api/me/deletion', { method: 'DELETE' }),
    onSuccess: (view) => queryClient.setQueryData(accountDeletionQuery.queryKey, view),
    onError: () => queryClient.invalidateQueries({ queryKey: accountDeletionQuery.queryKey }),
  });
}

/** A date in the user's language, e.g. "March 5, 2026". */
export function deletionDay(iso: string, language: string): string {
  return new Intl.DateTimeFormat(language, { dateStyle: 'long' }).format(new Date(iso));
}
