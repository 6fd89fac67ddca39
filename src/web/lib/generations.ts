import { infiniteQueryOptions, useQueryClient, type InfiniteData, type QueryClient } from '@tanstack/react-query';
import { useEffect, useEffectEvent, useState } from 'react';
import type { FieldIssue } from '../../shared/catalog/request-schema';
import type { GenerationInput } from '../../shared/catalog/request-schema';
import { isFinalStatus, type GenerationList, type GenerationStatus, type GenerationView } from '../../shared/api/generations';
import { ApiError, apiFetch } from './api';
import { creditsQuery } from './credits';

export type { GenerationList, GenerationStatus, GenerationView };
export { isFinalStatus };

const PAGE_SIZE = 12;

export const generationsKey = ['generations'] as const;
export const generationListKey = ['generations', 'list'] as const;

/** The user's generations, newest first, a page at a time ("Load more" follows `nextCursor`). */
export const generationListQuery = infiniteQueryOptions({
  queryKey: generationListKey,
  queryFn: ({ pageParam, signal }) => {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (pageParam) params.set('cursor', pageParam);
    return apiFetch<GenerationList>(`/api/generations?${params}`, { signal });
  },
  initialPageParam: null as string | null,
  getNextPageParam: (last) => last.nextCursor ?? undefined,
  staleTime: 10_000,
});

/**
 * Still on its way: queued, being submitted, rendering or finishing. A video under review is not
 * (it waits for a person, not for the renderer: no progress, no polling, and it may be deleted).
 */
export const isActive = (g: Pick<GenerationView, 'status'>) => !isFinalStatus(g.status) && g.status !== 'under_review';

/**
 * A failed generation request with what the server said in detail: the bad fields of a 400, or
 * the balance and price of a 402. Still an ApiError, so `errorText` works on it.
 */
export class GenerationRequestError extends ApiError {
  constructor(
    code: string,
    message: string,
    status: number,
    retryAfter: number | undefined,
    readonly fields: FieldIssue[],
    readonly balance?: number,
    readonly price?: number,
  ) {
    super(code, message, status, retryAfter);
  }
}

/**
 * A fresh idempotency key. `crypto.randomUUID` exists only in secure contexts (https or
 * localhost); a self-hosted server reached over plain http on a LAN address still gets a v4 UUID.
 */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * POST /api/generations. `apiFetch` keeps only the code and message of an error; this keeps the
 * rest of the body too (per-field messages, balance and price), as a GenerationRequestError.
 */
export async function createGeneration(input: GenerationInput, idempotencyKey: string): Promise<GenerationView> {
  let res: Response;
  try {
    res = await fetch('/api/generations', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(input),
    });
  } catch {
    throw new ApiError('network_error', 'Could not reach the server.', 0);
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (res.ok) {
    if (!data || typeof data !== 'object') throw new ApiError('invalid_response', 'The server sent a response that is not JSON.', res.status);
    return data as GenerationView;
  }
  const header = res.headers.get('retry-after');
  const retryAfter = header && Number.isFinite(Number(header)) ? Number(header) : undefined;
  const error = (data as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error.code !== 'string') {
    throw new GenerationRequestError(`http_${res.status}`, res.statusText || `Request failed with status ${res.status}.`, res.status, retryAfter, []);
  }
  const fields = Array.isArray(error.fields)
    ? (error.fields as unknown[]).filter(
        (f): f is FieldIssue => !!f && typeof (f as FieldIssue).field === 'string' && typeof (f as FieldIssue).message === 'string',
      )
    : [];
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  throw new GenerationRequestError(
    error.code,
    typeof error.message === 'string' ? error.message : '',
    res.status,
    retryAfter,
    fields,
    num(error.balance),
    num(error.price),
  );
}

/** POST /api/generations/:id/cancel (409 when it has started already). */
export function cancelGeneration(id: string): Promise<GenerationView> {
  return apiFetch<GenerationView>(`/api/generations/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: {} });
}

/** Filters of a list of creations (My Creations); empty for the studio's plain list. */
export interface GenerationFilters {
  status?: GenerationStatus;
  model?: string;
  /** ISO date (YYYY-MM-DD): created on or after */
  from?: string;
  /** ISO date (YYYY-MM-DD): created on or before that day */
  to?: string;
  /** words of the prompt */
  q?: string;
}

/** Every list of creations lives under this key, followed by its filters. */
export const creationListsKey = ['generations', 'creations'] as const;

/** Whether these filters narrow the list (for empty states: "nothing matches" vs "nothing yet"). */
export const hasFilters = (f: GenerationFilters | undefined) => !!f && Object.values(f).some((v) => v !== undefined && v !== '');

/**
 * Whether a generation belongs in a list with these filters, as far as the browser can tell
 * (the search words are matched loosely: the server decides on the next fetch).
 */
function matchesFilters(g: GenerationView, f: GenerationFilters | undefined): boolean {
  if (!f) return true;
  if (f.status && g.status !== f.status) return false;
  if (f.model && g.model !== f.model) return false;
  const day = g.createdAt.slice(0, 10);
  if (f.from && day < f.from) return false;
  if (f.to && day > f.to) return false;
  if (f.q) {
    const prompt = g.prompt.toLowerCase();
    if (
      !f.q
        .toLowerCase()
        .split(/\s+/)
        .filter(Boolean)
        .every((w) => prompt.includes(w))
    )
      return false;
  }
  return true;
}

type ListData = InfiniteData<GenerationList, string | null>;

/**
 * One list with a newer state of a generation: replaced where the list has it (or dropped when it
 * no longer matches the filters), added in date order when it is new and belongs there.
 */
function mergeIntoList(data: ListData, next: GenerationView, filters: GenerationFilters | undefined, found: (g: GenerationView) => void): ListData {
  for (const page of data.pages) {
    const existing = page.items.find((g) => g.id === next.id);
    if (existing) {
      found(existing);
      if (existing.updatedAt > next.updatedAt) return data;
      const keep = matchesFilters(next, filters);
      return {
        ...data,
        pages: data.pages.map((p) =>
          p === page ? { ...p, items: keep ? p.items.map((g) => (g.id === next.id ? next : g)) : p.items.filter((g) => g.id !== next.id) } : p,
        ),
      };
    }
  }
  if (!matchesFilters(next, filters)) return data;
  // new to this list: it belongs on the first page unless it is older than everything loaded
  const [first, ...rest] = data.pages;
  if (!first) return data;
  const loaded = data.pages.flatMap((p) => p.items);
  const oldest = loaded.at(-1);
  const hasMore = data.pages.at(-1)?.nextCursor != null;
  if (hasMore && oldest && next.createdAt < oldest.createdAt) return data;
  const items = [...first.items, next].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return { ...data, pages: [{ ...first, items }, ...rest] };
}

/**
 * Put a newer state of a generation into the caches: the studio's list, every list of creations
 * (My Creations, with its filters) and the one-generation view. Answers (the POST's and the event
 * stream's) can arrive out of order, so an older state never replaces a newer one. Returns the
 * state it replaced, if any.
 */
export function applyGeneration(queryClient: QueryClient, next: GenerationView): GenerationView | undefined {
  let previous: GenerationView | undefined;
  const found = (g: GenerationView) => {
    if (!previous || g.updatedAt > previous.updatedAt) previous = g;
  };
  queryClient.setQueryData<ListData>(generationListKey, (data) => (data ? mergeIntoList(data, next, undefined, found) : data));
  for (const [key, data] of queryClient.getQueriesData<ListData>({ queryKey: creationListsKey })) {
    if (!data || !Array.isArray((data as Partial<ListData>).pages)) continue;
    const filters = key[2] as GenerationFilters | undefined;
    queryClient.setQueryData<ListData>(key, (d) => (d ? mergeIntoList(d, next, filters, found) : d));
  }
  // a page that shows this one generation keeps it under its own key
  const oneKey = generationKey(next.id);
  const one = queryClient.getQueryData<GenerationView>(oneKey);
  if (one) {
    found(one);
    queryClient.setQueryData<GenerationView>(oneKey, (old) => (old && old.updatedAt > next.updatedAt ? old : next));
  }
  return previous;
}

/** Take deleted generations out of every cached list, and forget their own views. */
export function removeGenerations(queryClient: QueryClient, ids: readonly string[]): void {
  const gone = new Set(ids);
  const strip = (data: ListData | undefined) =>
    data && Array.isArray(data.pages) ? { ...data, pages: data.pages.map((p) => ({ ...p, items: p.items.filter((g) => !gone.has(g.id)) })) } : data;
  queryClient.setQueryData<ListData>(generationListKey, strip);
  for (const [key] of queryClient.getQueriesData<ListData>({ queryKey: creationListsKey })) queryClient.setQueryData<ListData>(key, strip);
  // a page still showing one of them leaves first (then forgets it); the others are forgotten now
  for (const id of ids) queryClient.removeQueries({ queryKey: generationKey(id), exact: true, type: 'inactive' });
}

/** The query key of one generation (GET /api/generations/:id). */
export const generationKey = (id: string) => [...generationsKey, 'one', id] as const;

/**
 * Follow the user's generations live (GET /api/generations/events, Server-Sent Events) and keep
 * the caches current. EventSource reconnects by itself; whatever changed while it was away is
 * fetched again when it is back. `onChange` hears every update with the state it replaced.
 * Returns whether the stream is connected, so callers can poll while it is not.
 */
export function useGenerationEvents(onChange?: (next: GenerationView, previous: GenerationView | undefined) => void): boolean {
  const queryClient = useQueryClient();
  const [connected, setConnected] = useState(false);
  // the newest onChange hears updates without reconnecting the stream when it changes
  const notifyChange = useEffectEvent((next: GenerationView, previous: GenerationView | undefined) => onChange?.(next, previous));

  useEffect(() => {
    if (typeof EventSource === 'undefined') return;
    const source = new EventSource('/api/generations/events');
    let lostContact = false;
    const onOpen = () => {
      setConnected(true);
      if (lostContact) {
        lostContact = false;
        void queryClient.invalidateQueries({ queryKey: generationsKey });
        void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
      }
    };
    const onError = () => {
      setConnected(false);
      lostContact = true;
    };
    const onGeneration = (event: MessageEvent<string>) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        return;
      }
      if (typeof parsed !== 'object' || parsed === null || !('id' in parsed) || typeof parsed.id !== 'string') return;
      const next = parsed as GenerationView;
      const previous = applyGeneration(queryClient, next);
      // credits move when a generation is held, charged or refunded
      if (!previous || previous.status !== next.status) void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
      notifyChange(next, previous);
    };
    source.addEventListener('open', onOpen);
    source.addEventListener('error', onError);
    source.addEventListener('generation', onGeneration as EventListener);
    return () => {
      source.removeEventListener('open', onOpen);
      source.removeEventListener('error', onError);
      source.removeEventListener('generation', onGeneration as EventListener);
      source.close();
    };
  }, [queryClient]);

  return connected;
}
