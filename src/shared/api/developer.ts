import { z } from 'zod';
import { safeText, withoutControlCharacters } from './text';

/** API keys, usage, and customer webhooks: what the account pages show and the API answers. */

export const apiKeyScopes = ['videos:read', 'videos:write'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export const createApiKeyInput = z.strictObject({
  name: safeText().trim().min(1, { error: 'is required' }).max(80),
  scopes: z.array(z.enum(apiKeyScopes)).min(1).max(2).default(['videos:read', 'videos:write']),
  /** days until it stops working; absent: no expiry */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export type CreateApiKeyInput = z.input<typeof createApiKeyInput>;

export const apiKeyView = z.object({
  id: z.string(),
  name: z.string(),
  /** the first characters of the key, to recognize it (the secret itself is never shown again) */
  prefix: z.string(),
  scopes: z.array(z.enum(apiKeyScopes)),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof apiKeyView>;

/** the answer to a create: the only time the secret is shown */
export const createdApiKey = apiKeyView.extend({ secret: z.string() });
export type CreatedApiKey = z.infer<typeof createdApiKey>;

export const apiKeyList = z.object({ keys: z.array(apiKeyView) });

export const usageQuery = z.object({ days: z.coerce.number().int().min(1).max(180).default(30) });

export const requestLogEntry = z.object({
  id: z.string(),
  keyId: z.string().nullable(),
  keyName: z.string().nullable(),
  method: z.string(),
  endpoint: z.string(),
  status: z.number().int(),
  bytesIn: z.number().int(),
  bytesOut: z.number().int(),
  latencyMs: z.number().int(),
  requestId: z.string().nullable(),
  createdAt: z.string(),
});
export type RequestLogEntry = z.infer<typeof requestLogEntry>;

export const usageResponse = z.object({
  /** one entry per UTC day, oldest first, days without requests included */
  days: z.array(z.object({ date: z.string(), requests: z.number().int(), errors: z.number().int(), credits: z.number().int() })),
  /** the most recent API requests, newest first */
  recent: z.array(requestLogEntry),
  /** the limits in force for this account */
  limits: z.object({ requestsPerMinutePerKey: z.number().int(), requestsPerMinutePerUser: z.number().int(), concurrentTasks: z.number().int() }),
  /** how long request logs are kept */
  retentionDays: z.number().int(),
});
export type UsageResponse = z.infer<typeof usageResponse>;

export const webhookEventTypes = ['video.completed', 'video.failed'] as const;

export const webhookEndpointInput = z.strictObject({
  url: withoutControlCharacters(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048)),
  description: safeText().trim().max(200).optional(),
  events: z.array(z.enum(webhookEventTypes)).min(1).default(['video.completed', 'video.failed']),
});

export const webhookEndpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.enum(webhookEventTypes)),
  enabled: z.boolean(),
  createdAt: z.string(),
});
export type WebhookEndpointView = z.infer<typeof webhookEndpointView>;

/** the answer to a create (and to "reveal secret"): the signing secret, `whsec_…` */
export const webhookEndpointWithSecret = webhookEndpointView.extend({ secret: z.string() });

export const webhookDeliveryView = z.object({
  id: z.string(),
  endpointId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
});
export type WebhookDeliveryView = z.infer<typeof webhookDeliveryView>;
