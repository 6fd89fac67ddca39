import { queryOptions, useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import type { AuthConfig, Me } from '../../shared/api/account';
import { ApiError, apiFetch } from './api';

/** The signed-in user, or null when signed out (the server answers 401). */
export const meQuery = queryOptions({
  queryKey: ['me'] as const,
  queryFn: async ({ signal }): Promise<Me | null> => {
    try {
      return await apiFetch<Me>('/api/me', { signal });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  },
  // a 401 is an answer, not a failure; other client errors are not retried either (main.tsx)
  retry: (count, error) => count < 1 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
});

/** Sign-in options of this installation: Google, languages, age regions, password limits, dev mailbox. */
export const authConfigQuery = queryOptions({
  queryKey: ['auth-config'] as const,
  queryFn: ({ signal }) => apiFetch<AuthConfig>('/api/auth-config', { signal }),
  staleTime: Infinity,
});

export function useMe() {
  return useQuery(meQuery);
}

export function useAuthConfig() {
  return useQuery(authConfigQuery);
}

/** Queries that belong to the signed-in user; dropped on sign-in and sign-out. */
const publicQueryKeys = new Set(['meta', 'auth-config', 'me']);

export function clearUserQueries(queryClient: QueryClient): void {
  queryClient.removeQueries({ predicate: (q) => !publicQueryKeys.has(String(q.queryKey[0])) });
}

/** Reload the user after signing in (or being signed in by a link). */
export async function refreshMe(queryClient: QueryClient): Promise<Me | null> {
  clearUserQueries(queryClient);
  return queryClient.query({ ...meQuery, staleTime: 0 });
}

/** Sign out, forget everything about the user, and go home. */
export function useSignOut() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: () => apiFetch<unknown>('/api/auth/sign-out', { method: 'POST', body: {} }),
    onSettled: async () => {
      // even if the request failed, the session is unusable from here: treat the user as signed out
      queryClient.setQueryData(meQuery.queryKey, null);
      clearUserQueries(queryClient);
      await navigate({ to: '/' });
    },
  });
}

/**
 * `next` from the query string, when it is a path on this site ("/account", not "//evil.example"
 * or "https://…"); else the fallback.
 */
export function safeNext(next: unknown, fallback = '/account'): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  try {
    const url = new URL(next, window.location.origin);
    if (url.origin !== window.location.origin) return fallback;
    // never bounce back into the sign-in pages themselves
    if (['/sign-in', '/sign-up'].includes(url.pathname)) return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}

/** Minimum age to sign up in a region: 16 in the EEA and UK (per the server's list), else 13. */
export function minimumAge(region: string, config: AuthConfig | undefined): 13 | 16 {
  return region && config?.sixteenPlusRegions.includes(region) ? 16 : 13;
}

/** Who may open the trust & safety pages (the server decides too: support gets 403). */
export const isModerator = (me: Pick<Me, 'role'> | null | undefined) => me?.role === 'moderator' || me?.role === 'admin';
