import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import type { Me } from '../../shared/api/account';
import type {
  ConfirmChildResult,
  PrivacyRequestBody,
  PrivacyRequestDetail,
  PrivacyRequestKind,
  PrivacyRequestList,
  PrivacyRequestReceipt,
  PrivacyRequestStatus,
  PrivacyRequestView,
} from '../../shared/api/privacy-requests';
import { PRIVACY_MESSAGE_MAX, PRIVACY_RESOLUTION_MAX, privacyRequestKinds, privacyRequestStatuses } from '../../shared/api/privacy-requests';
import type { Meta } from '../../shared/api/system';
import { apiFetch } from './api';

/*
 * Privacy requests in the browser: the public form (/privacy-request) and the operators' queue
 * (/operator/privacy-requests). The shapes are the server's (src/shared/api/privacy-requests.ts).
 */

export { PRIVACY_MESSAGE_MAX, PRIVACY_RESOLUTION_MAX, privacyRequestKinds, privacyRequestStatuses };
export type {
  ConfirmChildResult,
  PrivacyRequestDetail,
  PrivacyRequestKind,
  PrivacyRequestList,
  PrivacyRequestReceipt,
  PrivacyRequestStatus,
  PrivacyRequestView,
};

/** The installation's public facts (the support address, the days operators have to answer); the footer reads the same. */
export const metaQuery = queryOptions({
  queryKey: ['meta'],
  queryFn: ({ signal }) => apiFetch<Meta>('/api/meta', { signal }),
  staleTime: Infinity,
  retry: false,
});

/** POST /api/privacy-requests */
export const sendPrivacyRequest = (body: PrivacyRequestBody) => apiFetch<PrivacyRequestReceipt>('/api/privacy-requests', { method: 'POST', body: { ...body } });

/** Who works the queue: support and admins (the server checks too). */
export const isPrivacyOperator = (me: Pick<Me, 'role'> | null | undefined) => me?.role === 'support' || me?.role === 'admin';
/** Who may confirm a child report (it deletes an account). */
export const canConfirmChild = (me: Pick<Me, 'role'> | null | undefined) => me?.role === 'admin';

export type QueueStatusFilter = 'open' | 'closed' | 'all';
export interface QueueFilters {
  status: QueueStatusFilter;
  overdue: boolean;
  kind: PrivacyRequestKind | '';
}

/** Everything of the operators' pages lives under this key (dropped on sign-out with the other user queries). */
const key = ['privacy-requests'] as const;
const listKey = [...key, 'list'] as const;
const detailKey = (id: string) => [...key, 'detail', id] as const;

const PAGE = 25;

export function privacyQueueQuery(filters: QueueFilters) {
  return infiniteQueryOptions({
    queryKey: [...listKey, filters] as const,
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ status: filters.status, limit: String(PAGE) });
      if (filters.overdue) params.set('overdue', 'true');
      if (filters.kind) params.set('kind', filters.kind);
      if (pageParam) params.set('cursor', pageParam);
      return apiFetch<PrivacyRequestList>(`/api/admin/privacy-requests?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 10_000,
  });
}

export const privacyRequestQuery = (id: string) =>
  queryOptions({
    queryKey: detailKey(id),
    queryFn: ({ signal }) => apiFetch<PrivacyRequestDetail>(`/api/admin/privacy-requests/${encodeURIComponent(id)}`, { signal }),
  });

/** PATCH /api/admin/privacy-requests/:id; the answer replaces the cached detail and the lists reload. */
export async function updatePrivacyRequest(
  queryClient: QueryClient,
  id: string,
  body: { status?: PrivacyRequestStatus; resolution?: string },
): Promise<PrivacyRequestDetail> {
  const detail = await apiFetch<PrivacyRequestDetail>(`/api/admin/privacy-requests/${encodeURIComponent(id)}`, { method: 'PATCH', body: { ...body } });
  queryClient.setQueryData(detailKey(id), detail);
  await queryClient.invalidateQueries({ queryKey: listKey });
  return detail;
}

/** POST /api/admin/privacy-requests/:id/confirm-child (admins): deletes the account the report names. */
export async function confirmChildReport(queryClient: QueryClient, id: string, reason: string): Promise<ConfirmChildResult> {
  const result = await apiFetch<ConfirmChildResult>(`/api/admin/privacy-requests/${encodeURIComponent(id)}/confirm-child`, {
    method: 'POST',
    body: { reason },
  });
  queryClient.setQueryData(detailKey(id), result.request);
  await queryClient.invalidateQueries({ queryKey: listKey });
  return result;
}

/** POST /api/admin/users/:id/exports (support, admin): an export of the account, on the person's behalf. */
export const startExportFor = (userId: string) => apiFetch<unknown>(`/api/admin/users/${encodeURIComponent(userId)}/exports`, { method: 'POST', body: {} });

/** POST /api/admin/users/:id/delete (admins): deletes the account now, or starts its grace period. */
export const deleteAccountFor = (userId: string, reason: string, when: 'now' | 'grace') =>
  apiFetch<unknown>(`/api/admin/users/${encodeURIComponent(userId)}/delete`, { method: 'POST', body: { reason, when } });
