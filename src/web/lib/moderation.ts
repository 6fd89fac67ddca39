import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import type { z } from 'zod';
import type { Me } from '../../shared/api/account';
import type {
  CaseDetail,
  CaseEvent,
  DecisionBody,
  HoldView,
  ModerationDecision,
  QueueItem,
  QueueResponse,
  UserCaseView,
  publicReportBody,
  reportAccepted,
  reportBody,
} from '../../shared/api/moderation';
import { holdSubject, moderationDecisions, reportReasons } from '../../shared/api/moderation';
import { apiFetch } from './api';

export { APPEAL_MAX, APPEAL_MIN, appealSuspension } from './appeals';

/*
 * Trust & safety in the browser: the moderators' queue, cases, decisions and legal holds; the
 * user's own cases and their one appeal; reports from people. The shapes are the server's
 * (src/shared/api/moderation.ts).
 */

export { moderationDecisions, reportReasons };
export const holdSubjects = holdSubject.options;
export type { CaseDetail, CaseEvent, DecisionBody, HoldView, ModerationDecision, QueueItem, QueueResponse, UserCaseView };
export type ReportReason = (typeof reportReasons)[number];
export type ReportBody = z.input<typeof reportBody>;
export type PublicReportBody = z.input<typeof publicReportBody>;
export type ReportAccepted = z.infer<typeof reportAccepted>;
export type HoldSubject = (typeof holdSubjects)[number];
export type QueueStatus = 'open' | 'closed';

export { isModerator } from './auth';
/** Who may release a legal hold. */
export const isAdmin = (me: Pick<Me, 'role'> | null | undefined) => me?.role === 'admin';

/** Everything of the moderation pages lives under this key (dropped on sign-out with the other user queries). */
export const moderationKey = ['moderation'] as const;
const queueKey = [...moderationKey, 'queue'] as const;
const caseKey = (id: string) => [...moderationKey, 'case', id] as const;
const holdsKey = [...moderationKey, 'holds'] as const;
export const myCasesKey = ['my-cases'] as const;

const QUEUE_PAGE = 20;

/** GET /api/moderation/queue: open cases most severe first, then oldest; or the closed ones. */
export function queueQuery(status: QueueStatus) {
  return infiniteQueryOptions({
    queryKey: [...queueKey, status] as const,
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ status, limit: String(QUEUE_PAGE) });
      if (pageParam) params.set('cursor', pageParam);
      return apiFetch<QueueResponse>(`/api/moderation/queue?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 5_000,
  });
}

/** GET /api/moderation/cases/:id: the case with its audit timeline. */
export const caseQuery = (id: string) =>
  queryOptions({
    queryKey: caseKey(id),
    queryFn: ({ signal }) => apiFetch<CaseDetail>(`/api/moderation/cases/${encodeURIComponent(id)}`, { signal }),
  });

/** The address of a piece of evidence (moderators only; never cached by the browser). */
export const evidenceUrl = (caseId: string, evidenceId: string) =>
  `/api/moderation/cases/${encodeURIComponent(caseId)}/evidence/${encodeURIComponent(evidenceId)}`;

/** POST /api/moderation/cases/:id/decision; the answer (the closed case) replaces the cached one. */
export async function decide(queryClient: QueryClient, id: string, body: DecisionBody): Promise<CaseDetail> {
  const detail = await apiFetch<CaseDetail>(`/api/moderation/cases/${encodeURIComponent(id)}/decision`, { method: 'POST', body: { ...body } });
  queryClient.setQueryData(caseKey(id), detail);
  void queryClient.invalidateQueries({ queryKey: queueKey });
  void queryClient.invalidateQueries({ queryKey: holdsKey });
  return detail;
}

/** The list answer of GET /api/moderation/holds, whether it comes as `{ items }`, `{ holds }` or a bare array. */
function holdsOf(data: unknown): HoldView[] {
  if (Array.isArray(data)) return data as HoldView[];
  if (data && typeof data === 'object') {
    const d = data as { items?: unknown; holds?: unknown };
    if (Array.isArray(d.items)) return d.items as HoldView[];
    if (Array.isArray(d.holds)) return d.holds as HoldView[];
  }
  return [];
}

/** GET /api/moderation/holds: every hold, active and released. */
export const holdsQuery = queryOptions({
  queryKey: holdsKey,
  queryFn: async ({ signal }) => holdsOf(await apiFetch<unknown>('/api/moderation/holds', { signal })),
  staleTime: 5_000,
});

export interface PlaceHoldInput {
  subjectKind: HoldSubject;
  subjectId: string;
  reason: string;
  /** ISO date-time; absent: until released */
  expiresAt?: string;
}

/** POST /api/moderation/holds (moderators and admins). */
export async function placeHold(queryClient: QueryClient, input: PlaceHoldInput): Promise<HoldView> {
  const hold = await apiFetch<HoldView>('/api/moderation/holds', { method: 'POST', body: { ...input } });
  void queryClient.invalidateQueries({ queryKey: holdsKey });
  return hold;
}

/** POST /api/moderation/holds/:id/release (admins). */
export async function releaseHold(queryClient: QueryClient, id: string, reason: string): Promise<HoldView> {
  const hold = await apiFetch<HoldView>(`/api/moderation/holds/${encodeURIComponent(id)}/release`, { method: 'POST', body: { reason } });
  void queryClient.invalidateQueries({ queryKey: holdsKey });
  return hold;
}

/** Whether a hold still protects what it covers, as far as the browser's clock can tell. */
export const isHoldActive = (h: HoldView, now = Date.now()) => !h.releasedAt && (!h.expiresAt || Date.parse(h.expiresAt) > now);

// ---------------------------------------------------------------------------------------------
// The user's side

/** GET /api/me/cases: cases about the user's material that affect them. */
export const myCasesQuery = queryOptions({
  queryKey: myCasesKey,
  queryFn: async ({ signal }) => (await apiFetch<{ items: UserCaseView[] }>('/api/me/cases', { signal })).items,
  staleTime: 10_000,
});

/** POST /api/me/cases/:id/appeal: the one appeal of a removal or suspension. */
export async function appealCase(queryClient: QueryClient, id: string, text: string): Promise<UserCaseView> {
  const view = await apiFetch<UserCaseView>(`/api/me/cases/${encodeURIComponent(id)}/appeal`, { method: 'POST', body: { text } });
  queryClient.setQueryData<UserCaseView[]>(myCasesKey, (list) => list?.map((c) => (c.id === view.id ? view : c)));
  void queryClient.invalidateQueries({ queryKey: myCasesKey });
  return view;
}

/** POST /api/generations/:id/report: a signed-in person reports a creation they can see. */
export const reportCreation = (generationId: string, body: ReportBody) =>
  apiFetch<ReportAccepted>(`/api/generations/${encodeURIComponent(generationId)}/report`, { method: 'POST', body: { ...body } });

/** POST /api/reports: the public content and DMCA form (no account needed). */
export const reportPublic = (body: PublicReportBody) => apiFetch<ReportAccepted>('/api/reports', { method: 'POST', body: { ...body } });

export const REASON_MAX = 2000;
export const DETAILS_MAX = 4000;
