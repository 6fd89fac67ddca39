import { queryOptions, useQuery } from '@tanstack/react-query';
import type { ModelView } from '../../shared/api/models';
import { quotePrice } from '../../shared/catalog/spec';
import { apiFetch } from './api';

export type { ModelView };

/** The video models of this installation (GET /api/models), available ones first, in the server's order. */
export const modelsQuery = queryOptions({
  queryKey: ['models'] as const,
  queryFn: ({ signal }) => apiFetch<{ models: ModelView[] }>('/api/models', { signal }),
  select: (data) => [...data.models].sort((a, b) => Number(b.available) - Number(a.available)),
  staleTime: 60_000,
});

export function useModels() {
  return useQuery(modelsQuery);
}

/** What a generation would send, for the price preview. */
export interface PriceChoice {
  durationSeconds: number;
  resolution: string;
  audio: boolean;
  referenceCount?: number;
}

/**
 * The credits a generation would cost, computed with the server's own rule (`quotePrice`), or
 * null when the choice has no price (a resolution the rule does not list).
 */
export function priceOf(model: ModelView, choice: PriceChoice): number | null {
  try {
    return quotePrice(model.price, model, { ...choice, referenceCount: choice.referenceCount ?? 0 }).credits;
  } catch {
    return null;
  }
}

/** The lowest per-second rate of a model, for "from N credits per second". */
export function lowestRate(model: ModelView): number | null {
  const rates = Object.values(model.price.perSecond);
  return rates.length ? Math.min(...rates) : null;
}

/** Whether the model lets the user choose, always makes sound, or never does. */
export function effectiveAudio(model: ModelView, wanted: boolean): boolean {
  return model.audio === 'always' ? true : model.audio === 'never' ? false : wanted;
}
