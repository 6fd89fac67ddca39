import { sql } from 'drizzle-orm';
import { bigserial, boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { ApiKeyScope, WebhookDeliveryView, WebhookEndpointView } from '../../../shared/api/developer';
import { users } from './users';

/**
 * API keys: the secret is shown once and stored only as a SHA-256 hash (keys are 256-bit random,
 * so a fast hash is safe; lookups are by hash). `prefix` identifies a key in lists and logs.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    secretHash: text('secret_hash').notNull(),
    /** e.g. ["videos:read","videos:write"] */
    scopes: jsonb('scopes').$type<ApiKeyScope[]>().notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('api_keys_secret_hash_idx').on(t.secretHash), index('api_keys_user_idx').on(t.userId, t.createdAt)],
);

/**
 * One row per API request (privacy policy 1.4: endpoint, timestamp, response code, bytes
 * transferred), for rate limiting, billing and abuse prevention; removed after API_LOG_RETENTION_DAYS.
 */
export const apiRequestLog = pgTable(
  'api_request_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    keyId: text('key_id'),
    userId: text('user_id'),
    method: text('method').notNull(),
    /** the route pattern, e.g. /v1/videos/:id (never the query string) */
    endpoint: text('endpoint').notNull(),
    status: integer('status').notNull(),
    bytesIn: integer('bytes_in').notNull().default(0),
    bytesOut: integer('bytes_out').notNull().default(0),
    latencyMs: integer('latency_ms').notNull().default(0),
    requestId: text('request_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('api_request_log_key_idx').on(t.keyId, t.createdAt),
    index('api_request_log_user_idx').on(t.userId, t.createdAt),
    index('api_request_log_created_idx').on(t.createdAt),
  ],
);

/** The body of a customer webhook event, as stored with its delivery (domain/webhooks). */
export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: { id: string } & Record<string, unknown>;
}

/** Where a user wants video.completed / video.failed events (Standard Webhooks). */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    /** the signing secret (`whsec_…`), encrypted at rest (lib/secret-box.ts) */
    secretEncrypted: text('secret_encrypted').notNull(),
    events: jsonb('events').$type<WebhookEndpointView['events']>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_user_idx').on(t.userId)],
);

/** One event for one endpoint, and its delivery attempts (retried with back-off for a day). */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    /** the Standard Webhooks `webhook-id` (msg_…), the same on every attempt */
    id: text('id').primaryKey(),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<WebhookPayload>().notNull(),
    /** pending, delivered, failed (gave up) */
    status: text('status').$type<WebhookDeliveryView['status']>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    uniqueIndex('webhook_deliveries_event_idx').on(t.endpointId, t.eventType, sql`(payload->'data'->>'id')`),
  ],
);
