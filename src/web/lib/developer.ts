import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import type { z } from 'zod';
import type {
  ApiKeyScope,
  ApiKeyView,
  CreateApiKeyInput,
  CreatedApiKey,
  RequestLogEntry,
  UsageResponse,
  WebhookDeliveryView,
  WebhookEndpointView,
  webhookEndpointInput,
  webhookEndpointWithSecret,
} from '../../shared/api/developer';
import { apiKeyScopes, webhookEventTypes } from '../../shared/api/developer';
import { apiFetch } from './api';

export { apiKeyScopes, webhookEventTypes };
export type { ApiKeyScope, ApiKeyView, CreatedApiKey, RequestLogEntry, UsageResponse, WebhookDeliveryView, WebhookEndpointView };
export type WebhookEventType = (typeof webhookEventTypes)[number];
export type WebhookEndpointInput = z.input<typeof webhookEndpointInput>;
export type WebhookEndpointWithSecret = z.infer<typeof webhookEndpointWithSecret>;
export type WebhookEndpointPatch = Partial<Pick<WebhookEndpointView, 'enabled' | 'url' | 'events'>> & { description?: string };

/** Everything of the developer pages lives under this key (dropped on sign-out with the other user queries). */
export const developerKey = ['developer'] as const;
const keysKey = [...developerKey, 'keys'] as const;
const endpointsKey = [...developerKey, 'webhook-endpoints'] as const;

/** The usage periods the Usage page offers, in days. */
export const usagePeriods = [7, 30, 90] as const;
export type UsagePeriod = (typeof usagePeriods)[number];

/** The expiry choices of a new key, in days; 0 means "never". */
export const keyExpiries = [0, 30, 90, 365] as const;

const DELIVERIES_PAGE = 20;

// ---------------------------------------------------------------------------------------------
// API keys

/** GET /api/keys: the user's keys, revoked ones included. */
export const apiKeysQuery = queryOptions({
  queryKey: keysKey,
  queryFn: ({ signal }) => apiFetch<{ keys: ApiKeyView[] }>('/api/keys', { signal }),
  select: (data) => data.keys,
  staleTime: 10_000,
});

/** POST /api/keys: a new key; the answer carries the secret, the only time it is ever shown. */
export async function createApiKey(queryClient: QueryClient, input: CreateApiKeyInput): Promise<CreatedApiKey> {
  const created = await apiFetch<CreatedApiKey>('/api/keys', { method: 'POST', body: { ...input } });
  // the list never holds the secret
  const { secret: _secret, ...view } = created;
  queryClient.setQueryData<{ keys: ApiKeyView[] }>(keysKey, (data) => (data ? { keys: [view, ...data.keys.filter((k) => k.id !== view.id)] } : data));
  void queryClient.invalidateQueries({ queryKey: keysKey });
  return created;
}

/** DELETE /api/keys/:id: the key stops working at once. */
export async function revokeApiKey(queryClient: QueryClient, id: string): Promise<void> {
  await apiFetch<unknown>(`/api/keys/${encodeURIComponent(id)}`, { method: 'DELETE' });
  const now = new Date().toISOString();
  queryClient.setQueryData<{ keys: ApiKeyView[] }>(keysKey, (data) =>
    data ? { keys: data.keys.map((k) => (k.id === id ? { ...k, revokedAt: k.revokedAt ?? now } : k)) } : data,
  );
  void queryClient.invalidateQueries({ queryKey: keysKey });
}

/** Whether a key still works: not revoked and not past its expiry. */
export function keyState(key: ApiKeyView, now = Date.now()): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && new Date(key.expiresAt).getTime() <= now) return 'expired';
  return 'active';
}

// ---------------------------------------------------------------------------------------------
// Usage

/** GET /api/usage?days=N: requests, errors and credits per day, the recent request log, the limits. */
export function usageQuery(days: number) {
  return queryOptions({
    queryKey: [...developerKey, 'usage', days] as const,
    queryFn: ({ signal }) => apiFetch<UsageResponse>(`/api/usage?days=${days}`, { signal }),
    staleTime: 10_000,
  });
}

export function parseUsagePeriod(value: unknown): UsagePeriod | undefined {
  const n = Number(value);
  return (usagePeriods as readonly number[]).includes(n) ? (n as UsagePeriod) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Webhooks

/** GET /api/webhooks/endpoints: the user's webhook endpoints (without their secrets). */
export const webhookEndpointsQuery = queryOptions({
  queryKey: endpointsKey,
  queryFn: ({ signal }) => apiFetch<{ endpoints: WebhookEndpointView[] }>('/api/webhooks/endpoints', { signal }),
  select: (data) => data.endpoints,
  staleTime: 10_000,
});

type EndpointList = { endpoints: WebhookEndpointView[] };

/** POST /api/webhooks/endpoints: a new endpoint and its signing secret. */
export async function createWebhookEndpoint(queryClient: QueryClient, input: WebhookEndpointInput): Promise<WebhookEndpointWithSecret> {
  const created = await apiFetch<WebhookEndpointWithSecret>('/api/webhooks/endpoints', { method: 'POST', body: { ...input } });
  const { secret: _secret, ...view } = created;
  queryClient.setQueryData<EndpointList>(endpointsKey, (data) => (data ? { endpoints: [...data.endpoints.filter((e) => e.id !== view.id), view] } : data));
  void queryClient.invalidateQueries({ queryKey: endpointsKey });
  return created;
}

/** PATCH /api/webhooks/endpoints/:id (turn it on or off, change the URL or the events). */
export async function updateWebhookEndpoint(queryClient: QueryClient, id: string, patch: WebhookEndpointPatch): Promise<WebhookEndpointView> {
  const updated = await apiFetch<WebhookEndpointView>(`/api/webhooks/endpoints/${encodeURIComponent(id)}`, { method: 'PATCH', body: { ...patch } });
  queryClient.setQueryData<EndpointList>(endpointsKey, (data) =>
    data ? { endpoints: data.endpoints.map((e) => (e.id === id ? { ...e, ...updated } : e)) } : data,
  );
  return updated;
}

/** DELETE /api/webhooks/endpoints/:id */
export async function deleteWebhookEndpoint(queryClient: QueryClient, id: string): Promise<void> {
  await apiFetch<unknown>(`/api/webhooks/endpoints/${encodeURIComponent(id)}`, { method: 'DELETE' });
  queryClient.setQueryData<EndpointList>(endpointsKey, (data) => (data ? { endpoints: data.endpoints.filter((e) => e.id !== id) } : data));
  queryClient.removeQueries({ queryKey: deliveriesKey(id) });
}

/** GET /api/webhooks/endpoints/:id/secret: the signing secret, on request. */
export function revealWebhookSecret(id: string): Promise<WebhookEndpointWithSecret> {
  return apiFetch<WebhookEndpointWithSecret>(`/api/webhooks/endpoints/${encodeURIComponent(id)}/secret`);
}

/** POST /api/webhooks/endpoints/:id/test: queues a test event; the delivery shows up in the log. */
export async function sendTestEvent(queryClient: QueryClient, id: string): Promise<WebhookDeliveryView> {
  const delivery = await apiFetch<WebhookDeliveryView>(`/api/webhooks/endpoints/${encodeURIComponent(id)}/test`, { method: 'POST', body: {} });
  void queryClient.invalidateQueries({ queryKey: deliveriesKey(id) });
  return delivery;
}

/** POST /api/webhooks/deliveries/:id/retry: tries a delivery again now. */
export async function retryDelivery(queryClient: QueryClient, delivery: WebhookDeliveryView): Promise<void> {
  await apiFetch<unknown>(`/api/webhooks/deliveries/${encodeURIComponent(delivery.id)}/retry`, { method: 'POST', body: {} });
  void queryClient.invalidateQueries({ queryKey: deliveriesKey(delivery.endpointId) });
}

function deliveriesKey(endpointId: string) {
  return [...endpointsKey, endpointId, 'deliveries'] as const;
}

/** GET /api/webhooks/endpoints/:id/deliveries: the delivery log, newest first, a page at a time. */
export function deliveriesQuery(endpointId: string) {
  return infiniteQueryOptions({
    queryKey: deliveriesKey(endpointId),
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(DELIVERIES_PAGE) });
      if (pageParam) params.set('cursor', pageParam);
      return apiFetch<{ deliveries: WebhookDeliveryView[]; nextCursor: string | null }>(
        `/api/webhooks/endpoints/${encodeURIComponent(endpointId)}/deliveries?${params}`,
        { signal },
      );
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 5_000,
  });
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** A byte count as "512 B", "1.2 kB", "3.4 MB" in the UI language. */
export function formatBytes(bytes: number, language: string): string {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;
  const symbols = ['B', 'kB', 'MB', 'GB'] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  // Intl says "0 byte" for bytes in English: write "B" like the larger units' symbols
  if (unit === 0) return `${new Intl.NumberFormat(language).format(value)} B`;
  try {
    return new Intl.NumberFormat(language, { style: 'unit', unit: units[unit], unitDisplay: 'short', maximumFractionDigits: 1 }).format(value);
  } catch {
    return `${value.toFixed(unit === 0 ? 0 : 1)} ${symbols[unit] ?? ''}`;
  }
}

/** The origin the API is reachable at, as the browser sees it (used in every code sample). */
export function apiOrigin(): string {
  return typeof window === 'undefined' ? 'https://savesora.example' : window.location.origin;
}

/** Copy text to the clipboard; false when the browser refuses (permissions, insecure context). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
