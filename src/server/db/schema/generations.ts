import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgTable, real, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { FailureCode } from '../../../shared/api/generations';
import type { GenerationReference } from '../../../shared/catalog/request-schema';
import type { GenerationMode } from '../../../shared/catalog/vocabulary';
import { users } from './users';

export const generationStatuses = ['queued', 'submitting', 'running', 'finalizing', 'succeeded', 'failed', 'canceled', 'blocked', 'under_review'] as const;

/**
 * One generation task. Every status change is a compare-and-set UPDATE (`where status = <expected>`),
 * so duplicate callbacks, overlapping pollers, the deadline sweep and several workers can never move
 * a task twice; settling (capture or release of its credit hold) happens in the same transaction as
 * the move to a final status.
 */
export const generations = pgTable(
  'generations',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    modelId: text('model_id').notNull(),
    mode: text('mode').$type<GenerationMode>().notNull(),
    prompt: text('prompt').notNull(),
    negativePrompt: text('negative_prompt'),
    durationSeconds: integer('duration_seconds').notNull(),
    resolution: text('resolution').notNull(),
    aspectRatio: text('aspect_ratio').notNull(),
    audio: boolean('audio').notNull(),
    seed: integer('seed'),
    /** GenerationReference[] as validated */
    references: jsonb('references')
      .$type<GenerationReference[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    status: text('status', { enum: generationStatuses }).notNull().default('queued'),
    progress: integer('progress').notNull().default(0),
    /** credits held at submit and captured on success: the submit-time price */
    priceCredits: integer('price_credits').notNull(),
    failureCode: text('failure_code').$type<FailureCode>(),
    failureMessage: text('failure_message'),
    /** upstream's own words, for operators only */
    failureDetail: text('failure_detail'),
    refunded: boolean('refunded').notNull().default(false),
    provider: text('provider'),
    upstreamModel: text('upstream_model'),
    upstreamId: text('upstream_id'),
    /** the id the provider's callbacks carry (VideoProvider.callbackKey) */
    callbackKey: text('callback_key'),
    /** set when a create call's fate is unknown; reconciled by callback or ended after a grace period */
    outcomeUnknownSince: timestamp('outcome_unknown_since', { withTimezone: true }),
    routeAttempts: jsonb('route_attempts')
      .notNull()
      .default(sql`'[]'::jsonb`),
    dispatchAttempts: integer('dispatch_attempts').notNull().default(0),
    /**
     * the queue's id of the latest dispatch job sent for this task: the sweep asks the queue whether
     * that job still waits, to tell a task whose job died with its worker from one waiting its turn
     */
    dispatchJobId: text('dispatch_job_id'),
    nextPollAt: timestamp('next_poll_at', { withTimezone: true }),
    pollCount: integer('poll_count').notNull().default(0),
    outputUrl: text('output_url'),
    outputThumbnailUrl: text('output_thumbnail_url'),
    outputContentType: text('output_content_type'),
    /** a short, small, silent MP4 for hover previews */
    outputPreviewUrl: text('output_preview_url'),
    /** what ffprobe found in the stored output */
    outputDurationSeconds: real('output_duration_seconds'),
    outputWidth: integer('output_width'),
    outputHeight: integer('output_height'),
    outputCodec: text('output_codec'),
    outputSizeBytes: bigint('output_size_bytes', { mode: 'number' }),
    outputSha256: text('output_sha256'),
    /** deleted by its owner: gone from every listing and URL at once; files removed by a job, row purged later */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    source: text('source').notNull().default('web'),
    /** the API key that made it (API requests) */
    apiKeyId: text('api_key_id'),
    /** OpenAI-compatible remix: the video this one was made from */
    remixedFrom: text('remixed_from'),
    deadlineAt: timestamp('deadline_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    check('generations_status_check', sql.raw(`status in (${generationStatuses.map((s) => `'${s}'`).join(', ')})`)),
    check('generations_progress_check', sql`${t.progress} between 0 and 100`),
    check('generations_price_check', sql`${t.priceCredits} >= 0`),
    index('generations_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('generations_deleted_idx')
      .on(t.deletedAt)
      .where(sql`deleted_at is not null`),
    uniqueIndex('generations_user_idempotency_idx').on(t.userId, t.idempotencyKey),
    uniqueIndex('generations_callback_idx').on(t.provider, t.callbackKey),
    index('generations_poll_idx')
      .on(t.nextPollAt)
      .where(sql`status in ('submitting', 'running', 'finalizing')`),
    index('generations_finished_idx')
      .on(t.finishedAt)
      .where(sql`finished_at is not null`),
    index('generations_active_idx')
      .on(t.status, t.updatedAt)
      .where(sql`status in ('queued', 'submitting', 'running', 'finalizing')`),
    /** the dashboard's active users (migration 0011) */
    index('generations_created_idx').on(t.createdAt, t.userId),
  ],
);
