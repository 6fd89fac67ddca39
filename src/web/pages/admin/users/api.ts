import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import type {
  AdminDeleteUserResult,
  AdminUserCreditsResult,
  AdminUserDetail,
  AdminUserRow,
  AdminUserSearchResult,
  AdminUserSignOutResult,
  CreditsResponse,
  ExportView,
} from '../../../../shared/api';
import type { userRole, userStatus } from '../../../../shared/api/account';
import type { z } from 'zod';
import { apiFetch } from '../../../lib/api';

/*
 * The console's users section in the browser (/admin/users, /admin/users/$id): the shapes are the
 * server's (src/shared/api/admin-users.ts).
 */

export type UserRole = z.infer<typeof userRole>;
export type UserStatus = z.infer<typeof userStatus>;
export const roles: readonly UserRole[] = ['user', 'support', 'moderator', 'admin'];
export const statuses: readonly UserStatus[] = ['active', 'suspended', 'terminated'];
export { ADMIN_CREDITS_MAX, ADMIN_REASON_MAX } from '../../../../shared/api/admin-users';
export type { AdminUserDetail, AdminUserRow };

export interface UserFilters {
  q: string;
  role: UserRole | '';
  status: UserStatus | '';
}

/** Everything of this section lives under this key (dropped on sign-out with the other user queries). */
const key = ['admin-users'] as const;
const PAGE = 25;

export function userSearchQuery(filters: UserFilters) {
  return infiniteQueryOptions({
    queryKey: [...key, 'search', filters] as const,
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(PAGE) });
      if (filters.q.trim()) params.set('q', filters.q.trim());
      if (filters.role) params.set('role', filters.role);
      if (filters.status) params.set('status', filters.status);
      if (pageParam) params.set('cursor', pageParam);
      return apiFetch<AdminUserSearchResult>(`/api/admin/users?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 10_000,
  });
}

export const userDetailQuery = (id: string) =>
  queryOptions({
    queryKey: [...key, 'detail', id] as const,
    queryFn: ({ signal }) => apiFetch<AdminUserDetail>(`/api/admin/users/${encodeURIComponent(id)}`, { signal }),
    staleTime: 5_000,
  });

/** One more page of a user's ledger, after `cursor`. */
export const ledgerPage = (id: string, cursor: string) =>
  apiFetch<CreditsResponse>(`/api/admin/users/${encodeURIComponent(id)}/ledger?${new URLSearchParams({ cursor, limit: '20' })}`);

/** After an action: the user's page and every search show the new state. */
export const refreshUsers = (queryClient: QueryClient) => queryClient.invalidateQueries({ queryKey: key });

const post = <T>(id: string, action: string, body: Record<string, unknown> = {}, headers?: Record<string, string>) =>
  apiFetch<T>(`/api/admin/users/${encodeURIComponent(id)}/${action}`, { method: 'POST', body, ...(headers ? { headers } : {}) });

/** A grant (amount > 0) or a deduction (amount < 0); the key makes a repeated submit apply once. */
export const changeCredits = (id: string, body: { amount: number; reason: string }, idempotencyKey: string) =>
  post<AdminUserCreditsResult>(id, 'credits', body, { 'idempotency-key': idempotencyKey });

export type StatusAction = 'suspend' | 'reactivate' | 'terminate';
export const changeStatus = (id: string, action: StatusAction, reason: string) => post<AdminUserRow>(id, action, { reason });
export const changeRole = (id: string, role: UserRole, reason: string) => post<AdminUserRow>(id, 'role', { role, ...(reason ? { reason } : {}) });
export const signOutEverywhere = (id: string, reason: string) => post<AdminUserSignOutResult>(id, 'sign-out-everywhere', reason ? { reason } : {});
export const startExport = (id: string) => post<ExportView>(id, 'export');
export const deleteUser = (id: string, reason: string, when: 'now' | 'grace') => post<AdminDeleteUserResult>(id, 'delete', { reason, when });

/** A fresh Idempotency-Key (one per credits form: a double click or a retry sends the same one). */
export const newIdempotencyKey = (): string =>
  typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
