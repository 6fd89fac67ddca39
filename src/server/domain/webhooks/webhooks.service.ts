import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { webhooksDeliver } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { createRateLimiter, type RateLimiter } from '../../lib/rate-limit';
import { assertFetchableUrl, parseAllowHosts, SafeFetchError } from '../../lib/safe-fetch';
import { safePost, type SafePostResult } from '../../lib/safe-post';
import { createSecretBox, SecretBoxError } from '../../lib/secret-box';
import type { webhookEndpointInput, WebhookDeliveryView, WebhookEndpointView } from '../../../shared/api/developer';
import type { GenerationStatus } from '../../../shared/api/generations';
import { invalidRequest } from '../catalog/catalog.service';
import { getGeneration, type GenerationRow } from '../generations/generations.repo';
import { failureMessages } from '../generations/messages';
import {
  claimAttempt,
  countEnabledEndpoints,
  deleteEndpoint,
  findLostDeliveries,
  getDeliveryForSend,
  getUserDelivery,
  getUserEndpoint,
  insertDelivery,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  listEndpointSecrets,
  lockUserEndpoints,
  markAttemptFailed,
  markDelivered,
  markFailedWithoutAttempt,
  replaceEndpointSecret,
  requeueDelivery,
  subscribedEndpoints,
  updateEndpoint,
  type DeliveryRow,
  type EndpointPatch,
  type EndpointRow,
  type WebhookEventType,
  type WebhookPayload,
} from './webhooks.repo';

/**
 * Customer webhooks (Standard Webhooks, https://www.standardwebhooks.com): users register endpoints
 * and receive `video.completed` / `video.failed` for their generations.
 *
 * - Signing: `webhook-id` (the delivery id, the same on every attempt), `webhook-timestamp` (unix
 *   seconds of the attempt) and `webhook-signature: v1,<base64 HMAC-SHA256("<id>.<timestamp>.<body>")>`
 *   keyed with the base64-decoded part of the endpoint's `whsec_…` secret. The secret is stored
 *   encrypted (lib/secret-box.ts, privacy policy 8).
 * - Fan-out (job `webhooks.fan-out`, enqueued by the engine in the transaction that settles a
 *   generation): one delivery row per enabled, subscribed endpoint; the unique index on (endpoint,
 *   event type, payload.data.id) makes a repeated fan-out a no-op.
 * - Delivery (job `webhooks.deliver`): POST through the SSRF guard (lib/safe-post.ts: public
 *   addresses only unless WEBHOOK_ALLOW_HOSTS names the host, address pinned, no redirects, 10 s).
 *   A 2xx is delivered; anything else is retried after WEBHOOK_RETRY_BASE_SECONDS, doubling, at
 *   most an hour apart, while within 24 h of the event; then the delivery is `failed`.
 * - Time: the delivery's own `next_attempt_at`, on the injected clock, decides when an attempt is
 *   due (a job that runs early does nothing). The job queue's delayed job is only the alarm that
 *   runs it then; the sweep catches an alarm that was lost.
 * - The payload never carries the prompt (or anything else the user typed).
 */

export type WebhookEndpointInput = z.output<typeof webhookEndpointInput>;
export type WebhookEndpointWithSecret = WebhookEndpointView & { secret: string };

/** a pending delivery whose attempt was due this long ago without an outcome was lost (crash) */
const SWEEP_GRACE_SECONDS = 120;

export interface WebhooksService {
  list(userId: string): Promise<WebhookEndpointView[]>;
  create(userId: string, input: WebhookEndpointInput): Promise<WebhookEndpointWithSecret>;
  update(userId: string, id: string, patch: EndpointPatch): Promise<WebhookEndpointView>;
  remove(userId: string, id: string): Promise<void>;
  revealSecret(userId: string, id: string): Promise<WebhookEndpointWithSecret>;
  deliveries(
    userId: string,
    endpointId: string,
    opts: { cursor?: string | undefined; limit: number },
  ): Promise<{ deliveries: WebhookDeliveryView[]; nextCursor: string | null }>;
  /** send a delivery again now (a finished one, or a pending one waiting out its back-off) */
  retry(userId: string, deliveryId: string): Promise<WebhookDeliveryView>;
  /** a signed `webhook.test` event to one endpoint */
  sendTest(userId: string, endpointId: string): Promise<WebhookDeliveryView>;
  /** job webhooks.fan-out: the deliveries of a settled generation; returns how many were created */
  fanOut(generationId: string): Promise<number>;
  /** job webhooks.deliver: one attempt of one delivery */
  deliver(deliveryId: string): Promise<void>;
  /**
   * job webhooks.sweep: deliveries still pending well after their attempt was due (a worker died
   * mid-attempt, or the queue gave up on the job) get a new attempt; returns how many
   */
  sweep(): Promise<number>;
  /**
   * CLI secrets:reseal, after a SESSION_SECRET rotation: every endpoint secret sealed with an older
   * secret is sealed again with the current one. `unreadable` counts secrets no configured secret
   * opens (their endpoints need a new secret).
   */
  resealSecrets(): Promise<{ checked: number; resealed: number; unreadable: number }>;
}

export interface WebhooksDeps {
  database: Database;
  queue: JobQueue;
  config: Pick<Config, 'SESSION_SECRET' | 'WEBHOOK_ALLOW_HOSTS' | 'WEBHOOK_RETRY_BASE_SECONDS'> & { SESSION_SECRET_PREVIOUS?: readonly string[] };
  logger: Logger;
  rateLimiter?: RateLimiter;
  /** per attempt (default 10 s) */
  timeoutMs?: number;
  /** decides when attempts are due and when the retry window ends (default: the system clock) */
  clock?: Clock;
}

export const MAX_ENABLED_ENDPOINTS = 5;
export const TEST_EVENTS_PER_MINUTE = 10;
/** deliveries are retried for this long after the event */
export const RETRY_WINDOW_SECONDS = 24 * 3600;
/** the longest wait between two attempts */
export const MAX_RETRY_DELAY_SECONDS = 3600;
/** an attempt in flight holds the delivery this long (longer than the request timeout) */
const ATTEMPT_LEASE_SECONDS = 60;

const FAILED_STATUSES: readonly GenerationStatus[] = ['failed', 'canceled', 'blocked'];

const randomId = (prefix: string, bytes = 16) => `${prefix}${randomBytes(bytes).toString('base64url')}`;

/** `whsec_` + base64 of 24 random bytes (the Standard Webhooks secret format) */
export const newWebhookSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/** The Standard Webhooks signature header value for one attempt. */
export function signWebhook(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** Wait before the attempt after `attempts` failed ones: base, doubling, capped. */
export function retryDelaySeconds(attempts: number, baseSeconds: number): number {
  const exp = Math.min(Math.max(attempts - 1, 0), 30);
  return Math.min(baseSeconds * 2 ** exp, MAX_RETRY_DELAY_SECONDS);
}

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

/** The event of a settled generation (null while it is not final). Never the prompt. */
export function generationEvent(g: GenerationRow): WebhookPayload | null {
  const succeeded = g.status === 'succeeded';
  if (!succeeded && !FAILED_STATUSES.includes(g.status)) return null;
  const finished = g.finishedAt ?? g.updatedAt;
  return {
    type: succeeded ? 'video.completed' : 'video.failed',
    timestamp: finished.toISOString(),
    data: {
      id: g.id,
      object: 'video',
      model: g.modelId,
      status: succeeded ? 'completed' : 'failed',
      created_at: unix(g.createdAt),
      completed_at: g.finishedAt ? unix(g.finishedAt) : null,
      error: succeeded
        ? null
        : {
            code: g.failureCode ?? 'generation_failed',
            message: g.failureCode ? failureMessages[g.failureCode] : (g.failureMessage ?? 'The video could not be generated.'),
          },
    },
  };
}

const DATA_KEYS = ['id', 'object', 'model', 'status', 'created_at', 'completed_at', 'error'];

/** The body as sent: keys in a readable order (jsonb storage reorders them), identical on every attempt. */
export function serializePayload(p: WebhookPayload): string {
  const data: Record<string, unknown> = {};
  for (const k of DATA_KEYS) if (k in p.data) data[k] = p.data[k];
  for (const k of Object.keys(p.data)) if (!(k in data)) data[k] = p.data[k];
  return JSON.stringify({ type: p.type, timestamp: p.timestamp, data });
}

function endpointView(e: EndpointRow): WebhookEndpointView {
  return { id: e.id, url: e.url, description: e.description, events: e.events, enabled: e.enabled, createdAt: e.createdAt.toISOString() };
}

export function deliveryView(d: DeliveryRow): WebhookDeliveryView {
  return {
    id: d.id,
    endpointId: d.endpointId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    // while pending: when the next attempt is due (or the running attempt's lease ends)
    nextAttemptAt: d.status === 'pending' ? (d.nextAttemptAt?.toISOString() ?? null) : null,
  };
}

function describeFailure(r: SafePostResult): string {
  if (r.status >= 300 && r.status < 400) return `answered ${r.status} (redirects are not followed)${r.location ? `: ${r.location.slice(0, 200)}` : ''}`;
  const snippet = r.body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return `answered ${r.status}${snippet ? `: ${snippet}` : ''}`;
}

export function createWebhooksService(deps: WebhooksDeps): WebhooksService {
  const { database, queue, config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const allowHosts = parseAllowHosts(config.WEBHOOK_ALLOW_HOSTS);
  // sealed with SESSION_SECRET; opened with it or with one of SESSION_SECRET_PREVIOUS (rotation)
  const box = createSecretBox([config.SESSION_SECRET, ...(config.SESSION_SECRET_PREVIOUS ?? [])], 'webhook-endpoint-secret');
  const rateLimiter = deps.rateLimiter ?? createRateLimiter(database, clock);
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const baseDelay = config.WEBHOOK_RETRY_BASE_SECONDS;

  async function checkUrl(url: string): Promise<void> {
    try {
      await assertFetchableUrl(url, allowHosts);
    } catch (err) {
      if (err instanceof SafeFetchError) throw invalidRequest([{ field: 'url', message: `The URL ${err.message}.` }]);
      throw err;
    }
  }

  function openSecret(e: Pick<EndpointRow, 'id' | 'secretEncrypted'>): string {
    try {
      return box.open(e.secretEncrypted, e.id);
    } catch (err) {
      if (err instanceof SecretBoxError) {
        throw new AppError(
          'secret_unavailable',
          "This endpoint's signing secret can no longer be read (the server's secret key changed). Delete the endpoint and add it again.",
          409,
        );
      }
      throw err;
    }
  }

  async function own(userId: string, id: string): Promise<EndpointRow> {
    const e = await getUserEndpoint(database, userId, id);
    if (!e) throw notFound('Webhook endpoint');
    return e;
  }

  const tooMany = () =>
    new AppError('too_many_endpoints', `You can have at most ${MAX_ENABLED_ENDPOINTS} enabled webhook endpoints. Disable or delete one first.`, 409);

  async function enqueueNow(deliveryId: string, tx: DbHandle) {
    await queue.enqueue(webhooksDeliver, { deliveryId }, { tx });
  }

  return {
    async list(userId) {
      return (await listEndpoints(database, userId)).map(endpointView);
    },

    async create(userId, input) {
      await checkUrl(input.url);
      const id = randomId('ep_', 12);
      const secret = newWebhookSecret();
      const row = await database.transaction(async (tx) => {
        await lockUserEndpoints(tx, userId);
        if ((await countEnabledEndpoints(tx, userId)) >= MAX_ENABLED_ENDPOINTS) throw tooMany();
        return insertEndpoint(tx, {
          id,
          userId,
          url: input.url,
          description: input.description || null,
          secretEncrypted: box.seal(secret, id),
          events: [...new Set(input.events)],
        });
      });
      return { ...endpointView(row), secret };
    },

    async update(userId, id, patch) {
      await own(userId, id);
      if (patch.url !== undefined) await checkUrl(patch.url);
      const clean: EndpointPatch = { ...patch };
      if (patch.description !== undefined) clean.description = patch.description?.trim() || null;
      if (patch.events !== undefined) clean.events = [...new Set(patch.events)];
      const row = await database.transaction(async (tx) => {
        await lockUserEndpoints(tx, userId);
        if (patch.enabled === true && (await countEnabledEndpoints(tx, userId, id)) >= MAX_ENABLED_ENDPOINTS) throw tooMany();
        return updateEndpoint(tx, userId, id, clean, clock.now());
      });
      if (!row) throw notFound('Webhook endpoint');
      return endpointView(row);
    },

    async remove(userId, id) {
      // its deliveries go with it (cascade); their queued jobs find nothing and do nothing
      if (!(await deleteEndpoint(database, userId, id))) throw notFound('Webhook endpoint');
    },

    async revealSecret(userId, id) {
      const e = await own(userId, id);
      return { ...endpointView(e), secret: openSecret(e) };
    },

    async deliveries(userId, endpointId, opts) {
      await own(userId, endpointId);
      const page = await listDeliveries(database, userId, endpointId, opts);
      if (!page) throw invalidRequest([{ field: 'cursor', message: 'The cursor is not valid.' }]);
      return { deliveries: page.items.map(deliveryView), nextCursor: page.nextCursor };
    },

    async retry(userId, deliveryId) {
      const d = await getUserDelivery(database, userId, deliveryId);
      if (!d) throw notFound('Webhook delivery');
      const endpoint = await own(userId, d.endpointId);
      if (!endpoint.enabled) throw new AppError('endpoint_disabled', 'This webhook endpoint is disabled. Enable it first.', 409);
      const row = await database.transaction(async (tx) => {
        const r = await requeueDelivery(tx, userId, deliveryId, ATTEMPT_LEASE_SECONDS, clock.now());
        if (r) await enqueueNow(r.id, tx);
        return r;
      });
      // null: an attempt is running or due within the lease anyway
      return deliveryView(row ?? (await getUserDelivery(database, userId, deliveryId)) ?? d);
    },

    async sendTest(userId, endpointId) {
      const endpoint = await own(userId, endpointId);
      if (!endpoint.enabled) throw new AppError('endpoint_disabled', 'This webhook endpoint is disabled. Enable it first.', 409);
      const r = await rateLimiter.hit(`webhooks:test:user:${userId}`, TEST_EVENTS_PER_MINUTE, 60);
      if (!r.allowed) {
        throw new AppError('rate_limited', `You can send ${r.limit} test events a minute. Try again in ${r.retryAfterSeconds} s.`, 429, {
          extra: { retryAfterSeconds: r.retryAfterSeconds },
        });
      }
      const row = await database.transaction(async (tx) => {
        const now = clock.now();
        const payload = { type: 'webhook.test', timestamp: now.toISOString(), data: { id: randomId('test_', 12) } };
        const d = await insertDelivery(tx, { id: randomId('msg_'), endpointId, userId, eventType: 'webhook.test', payload }, now);
        if (d) await enqueueNow(d.id, tx);
        return d;
      });
      if (!row) throw new Error('webhook test delivery was not created');
      return deliveryView(row);
    },

    async fanOut(generationId) {
      const g = await getGeneration(database, generationId);
      if (!g) return 0;
      const event = generationEvent(g);
      if (!event) {
        logger.warn({ generation: g.id, status: g.status }, 'webhooks: fan-out for a generation that is not final; skipped');
        return 0;
      }
      return database.transaction(async (tx) => {
        let created = 0;
        for (const e of await subscribedEndpoints(tx, g.userId, event.type as WebhookEventType)) {
          const d = await insertDelivery(tx, { id: randomId('msg_'), endpointId: e.id, userId: g.userId, eventType: event.type, payload: event }, clock.now());
          if (!d) continue; // already fanned out to this endpoint
          await enqueueNow(d.id, tx);
          created++;
        }
        return created;
      });
    },

    async deliver(deliveryId) {
      const current = await getDeliveryForSend(database, deliveryId);
      if (!current || current.status !== 'pending') return; // deleted, or already settled
      if (!current.endpoint.enabled) {
        await markFailedWithoutAttempt(database, deliveryId, 'The endpoint is disabled.');
        return;
      }
      let secret: string;
      try {
        secret = box.open(current.endpoint.secretEncrypted, current.endpoint.id);
      } catch {
        await markFailedWithoutAttempt(database, deliveryId, 'The signing secret could not be read (the server key changed).');
        logger.error({ delivery: deliveryId, endpoint: current.endpoint.id }, 'webhooks: endpoint secret cannot be decrypted');
        return;
      }
      const d = await claimAttempt(database, deliveryId, ATTEMPT_LEASE_SECONDS, clock.now());
      if (!d) return; // not due yet, or another worker has it
      const body = serializePayload(d.payload);
      const timestamp = Math.floor(clock.nowMs() / 1000);
      let httpStatus: number | null = null;
      let error: string;
      try {
        const res = await safePost(current.endpoint.url, {
          body,
          timeoutMs,
          allowHosts,
          headers: {
            'webhook-id': d.id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook(secret, d.id, timestamp, body),
          },
        });
        if (res.status >= 200 && res.status < 300) {
          await markDelivered(database, d.id, res.status, clock.now());
          return;
        }
        httpStatus = res.status;
        error = `The endpoint ${describeFailure(res)}.`;
      } catch (err) {
        if (!(err instanceof SafeFetchError)) throw err;
        error = `The URL ${err.message}.`;
      }
      const delay = retryDelaySeconds(d.attempts, baseDelay);
      await database.transaction(async (tx) => {
        const status = await markAttemptFailed(tx, d.id, { httpStatus, error, retryInSeconds: delay, windowSeconds: RETRY_WINDOW_SECONDS, now: clock.now() });
        if (status === 'pending') await queue.enqueue(webhooksDeliver, { deliveryId: d.id }, { tx, startAfterSeconds: delay });
      });
      logger.info({ delivery: d.id, endpoint: d.endpointId, attempt: d.attempts, httpStatus, error }, 'webhooks: delivery attempt failed');
    },

    async resealSecrets() {
      const rows = await listEndpointSecrets(database);
      let resealed = 0;
      let unreadable = 0;
      for (const r of rows) {
        let next: string | null;
        try {
          next = box.reseal(r.secretEncrypted, r.id);
        } catch (err) {
          if (!(err instanceof SecretBoxError)) throw err;
          unreadable++;
          logger.warn({ endpoint: r.id }, 'webhooks: an endpoint secret opens with no configured secret; the endpoint must be re-created');
          continue;
        }
        if (next === null) continue;
        // only if it is still the value read (a concurrent reseal wins, nothing is sealed twice)
        if (await replaceEndpointSecret(database, r.id, r.secretEncrypted, next)) resealed++;
      }
      return { checked: rows.length, resealed, unreadable };
    },

    async sweep() {
      const stuck = await findLostDeliveries(database, clock.now(), SWEEP_GRACE_SECONDS, 500);
      for (const deliveryId of stuck) await queue.enqueue(webhooksDeliver, { deliveryId });
      if (stuck.length) logger.warn({ deliveries: stuck.length }, 'webhooks: re-enqueued deliveries whose attempt was lost');
      return stuck.length;
    },
  };
}
