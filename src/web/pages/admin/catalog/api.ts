import { queryOptions, type QueryClient } from '@tanstack/react-query';
import type { AdminCatalog, AdminModelPatch, AdminModelView, AdminPlanPatch, AdminPlanView } from '../../../../shared/api/admin-catalog';
import { apiFetch } from '../../../lib/api';
import { plansQuery } from '../../../lib/billing';
import { modelsQuery } from '../../../lib/models';

/*
 * The console's models and plans in the browser (/admin/catalog): the shapes are the server's
 * (src/shared/api/admin-catalog.ts). The public model list and the pricing page follow each change.
 */

export type { AdminCatalog, AdminModelPatch, AdminModelView, AdminPlanPatch, AdminPlanView };
export { lifecycleStates } from '../../../../shared/catalog/vocabulary';

const key = ['admin-catalog'] as const;

export const catalogQuery = queryOptions({
  queryKey: [...key] as const,
  queryFn: ({ signal }) => apiFetch<AdminCatalog>('/api/admin/catalog', { signal }),
  staleTime: 10_000,
});

/** After a change: this page, the public model list (the Studio) and the plans on sale are fetched again. */
async function refresh(queryClient: QueryClient): Promise<void> {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: key }),
    queryClient.invalidateQueries({ queryKey: modelsQuery.queryKey }),
    queryClient.invalidateQueries({ queryKey: plansQuery.queryKey }),
  ]);
}

export async function patchModel(queryClient: QueryClient, id: string, body: AdminModelPatch): Promise<AdminModelView> {
  const model = await apiFetch<AdminModelView>(`/api/admin/catalog/models/${encodeURIComponent(id)}`, {
    method: 'PATCH',
    body: body as Record<string, unknown>,
  });
  await refresh(queryClient);
  return model;
}

export async function resetModel(queryClient: QueryClient, id: string, reason: string): Promise<AdminModelView> {
  const model = await apiFetch<AdminModelView>(`/api/admin/catalog/models/${encodeURIComponent(id)}/reset`, {
    method: 'POST',
    body: reason ? { reason } : {},
  });
  await refresh(queryClient);
  return model;
}

export async function reorderModels(queryClient: QueryClient, ids: string[]): Promise<AdminModelView[]> {
  const { models } = await apiFetch<{ models: AdminModelView[] }>('/api/admin/catalog/models/order', { method: 'POST', body: { ids } });
  queryClient.setQueryData(catalogQuery.queryKey, (old) => (old ? { ...old, models } : old));
  await refresh(queryClient);
  return models;
}

export async function patchPlan(queryClient: QueryClient, id: string, body: AdminPlanPatch): Promise<AdminPlanView> {
  const plan = await apiFetch<AdminPlanView>(`/api/admin/catalog/plans/${encodeURIComponent(id)}`, { method: 'PATCH', body: body as Record<string, unknown> });
  await refresh(queryClient);
  return plan;
}

/** A whole, non-negative number typed into a field, or null when it is not one. */
export function wholeNumber(text: string): number | null {
  const t = text.trim();
  return /^\d{1,9}$/.test(t) ? Number(t) : null;
}

/** A non-negative number (credits per second may have decimals), or null. */
export function rate(text: string): number | null {
  const t = text.trim().replace(',', '.');
  return /^\d{1,7}(\.\d{1,4})?$/.test(t) ? Number(t) : null;
}
