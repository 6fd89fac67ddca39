import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import type { DeleteCreationsResult, MediaKind } from '../../shared/api/media';
import type { GenerationMode } from '../../shared/catalog/vocabulary';
import { apiFetch } from './api';
import { creationListsKey, generationKey, removeGenerations, type GenerationFilters, type GenerationList, type GenerationView } from './generations';

export type CreationFilters = GenerationFilters;
export type { DeleteCreationsResult };

const PAGE_SIZE = 24;

/** Drop empty filters, so equal filters make equal query keys. */
export function cleanFilters(f: CreationFilters): CreationFilters {
  const out: CreationFilters = {};
  if (f.status) out.status = f.status;
  if (f.model) out.model = f.model;
  if (f.from) out.from = f.from;
  if (f.to) out.to = f.to;
  const q = f.q?.trim();
  if (q) out.q = q;
  return out;
}

/** GET /api/creations: the user's creations with these filters, newest first, a page at a time. */
export function creationsQuery(filters: CreationFilters) {
  const f = cleanFilters(filters);
  return infiniteQueryOptions({
    queryKey: [...creationListsKey, f] as const,
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (pageParam) params.set('cursor', pageParam);
      for (const [k, v] of Object.entries(f)) if (v) params.set(k, String(v));
      return apiFetch<GenerationList>(`/api/creations?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 10_000,
  });
}

/** One generation (GET /api/generations/:id); seeded from any list that has it already. */
export function creationQuery(id: string, queryClient: QueryClient) {
  return queryOptions({
    queryKey: generationKey(id),
    queryFn: ({ signal }) => apiFetch<GenerationView>(`/api/generations/${encodeURIComponent(id)}`, { signal }),
    initialData: () => findCached(queryClient, id),
    staleTime: 10_000,
  });
}

/** A generation from the lists in the cache, if one of them has it. */
function findCached(queryClient: QueryClient, id: string): GenerationView | undefined {
  for (const [, data] of queryClient.getQueriesData<{ pages?: GenerationList[] }>({ queryKey: ['generations'] })) {
    const found = data?.pages?.flatMap((p) => p.items).find((g) => g.id === id);
    if (found) return found;
  }
  return undefined;
}

/** DELETE /api/creations/:id (204), then out of every list. */
export async function deleteCreation(queryClient: QueryClient, id: string): Promise<void> {
  await apiFetch<unknown>(`/api/creations/${encodeURIComponent(id)}`, { method: 'DELETE' });
  removeGenerations(queryClient, [id]);
}

/** POST /api/creations/delete {ids}: several at once (at most 100 per request). */
export async function deleteCreations(queryClient: QueryClient, ids: string[]): Promise<DeleteCreationsResult> {
  const result: DeleteCreationsResult = { deleted: [], notFound: [] };
  for (let i = 0; i < ids.length; i += 100) {
    const part = await apiFetch<DeleteCreationsResult>('/api/creations/delete', { method: 'POST', body: { ids: ids.slice(i, i + 100) } });
    result.deleted.push(...part.deleted);
    result.notFound.push(...part.notFound);
  }
  // what the server no longer has is gone either way
  removeGenerations(queryClient, [...result.deleted, ...result.notFound]);
  return result;
}

/* ----------------------------------------------------------------------------------------------
 * Studio drafts: "Regenerate with these settings" and "Use as reference" open the studio with a
 * request filled in. They travel as search params of /studio (so the link can be shared or
 * reloaded); the composer reads them once and clears them.
 * -------------------------------------------------------------------------------------------- */

export interface DraftReference {
  kind: MediaKind;
  mediaId?: string;
  url?: string;
}

export interface StudioDraft {
  model?: string;
  mode?: GenerationMode;
  prompt?: string;
  duration?: number;
  resolution?: string;
  aspectRatio?: string;
  audio?: boolean;
  seed?: number;
  refs?: DraftReference[];
}

const modes: readonly GenerationMode[] = ['text-to-video', 'image-to-video', 'first-last-frame', 'reference'];
const kinds: readonly MediaKind[] = ['image', 'video', 'audio'];
const str = (v: unknown, max = 5000) => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : typeof v === 'number' ? String(v) : undefined);
const num = (v: unknown) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** The studio's search params, checked: anything malformed is left out. */
export function parseStudioDraft(s: Record<string, unknown>): StudioDraft {
  const mode = str(s.mode);
  const audio = s.audio === true || s.audio === 'true' ? true : s.audio === false || s.audio === 'false' ? false : undefined;
  const seed = num(s.seed);
  const refs = Array.isArray(s.refs)
    ? s.refs
        .filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
        .map((r) => ({ kind: r.kind as MediaKind, mediaId: str(r.mediaId, 100), url: str(r.url, 2048) }))
        .filter((r) => kinds.includes(r.kind) && (r.mediaId || r.url))
        .slice(0, 20)
        .map((r) => ({ kind: r.kind, ...(r.mediaId ? { mediaId: r.mediaId } : { url: r.url }) }))
    : undefined;
  return {
    model: str(s.model, 100),
    mode: mode && (modes as readonly string[]).includes(mode) ? (mode as GenerationMode) : undefined,
    prompt: str(s.prompt),
    duration: num(s.duration),
    resolution: str(s.resolution, 20),
    aspectRatio: str(s.aspectRatio, 20),
    audio,
    seed: seed !== undefined && Number.isInteger(seed) && seed >= 0 ? seed : undefined,
    refs: refs?.length ? refs : undefined,
  };
}

/** "Regenerate with these settings": the request a creation was made with. */
export function draftOf(g: GenerationView): StudioDraft {
  return {
    model: g.model,
    mode: g.mode,
    prompt: g.prompt,
    duration: g.durationSeconds,
    resolution: g.resolution,
    aspectRatio: g.aspectRatio,
    audio: g.audio,
    seed: g.seed ?? undefined,
    refs: g.references.filter((r) => r.mediaId || r.url).map((r) => ({ kind: r.kind, ...(r.mediaId ? { mediaId: r.mediaId } : { url: r.url }) })),
  };
}

export const isDraftEmpty = (d: StudioDraft) => Object.values(d).every((v) => v === undefined);
