import { createHash, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../adapters/clock';
import type { ProviderRegistry } from '../../adapters/providers';
import type { ProviderId } from '../../adapters/providers/provider';
import type { Database, DbHandle } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { generationDispatch } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { assertFetchableUrl } from '../../lib/safe-fetch';
import type { CreditsResponse } from '../../../shared/api/credits';
import type { GenerationList, GenerationStatus, GenerationView } from '../../../shared/api/generations';
import type { CatalogService } from '../catalog/catalog.service';
import { invalidRequest } from '../catalog/catalog.service';
import { credits as ledger, InsufficientCredits } from '../credits/credits';
import type { GenerationEngine } from './engine';
import {
  countInFlight,
  countKeyInFlight,
  findByIdempotencyKey,
  forgetExpiredIdempotencyKey,
  getUserGeneration,
  insertGeneration,
  listUserGenerations,
  listUserGenerationsAfter,
  lockIdempotencyKey,
  notifyChange,
  type GenerationRow,
} from './generations.repo';
import { failureMessage } from './messages';
import { getUserMediaMany } from '../media/media.repo';
import { checkAgainstLimit } from '../media/media.service';
import { describeKind } from '../media/references';
import type { ModerationGate } from '../moderation/gate';
import { refuseIfDeletionPending } from '../users/account-deletion.guard';
import { refuseIfGenerationHeld } from '../abuse/payment-risk.service';

/**
 * What users do with generations: submit (validate, price, hold, insert, enqueue — one
 * transaction), read, list, cancel; and their credit balance and history. The lifecycle after
 * submit lives in engine.ts.
 */

export interface SubmitResult {
  view: GenerationView;
  /** true when an Idempotency-Key matched an earlier submit: nothing new was created */
  replayed: boolean;
}

export interface SubmitOptions {
  idempotencyKey?: string;
  source?: string;
  /** the API key making the request: its own cap of unfinished generations applies too */
  apiKeyId?: string;
  /** OpenAI-compatible remix: the user's generation this one is made from */
  remixedFrom?: string;
  /**
   * what the Idempotency-Key's request hash covers, when not `body` itself: the API uploads a
   * request's file anew on each retry (a new media id), so it hashes the file's content instead
   */
  hashBody?: unknown;
}

export interface GenerationsService {
  submit(userId: string, body: unknown, opts?: SubmitOptions): Promise<SubmitResult>;
  get(userId: string, id: string): Promise<GenerationView>;
  /** the stored row of one of the user's generations (404 otherwise), for API mappings that need more than the view */
  row(userId: string, id: string): Promise<GenerationRow>;
  /** the user's generations in either order, after the generation `after` (OpenAI-style `after` pagination) */
  page(userId: string, query: { limit: number; after?: string; order: 'asc' | 'desc' }): Promise<{ items: GenerationRow[]; hasMore: boolean }>;
  /** the stored output location of a user's succeeded generation (for the download route) */
  output(userId: string, id: string): Promise<{ videoUrl: string; thumbnailUrl: string | null; previewUrl: string | null; contentType: string | null }>;
  list(userId: string, query: { limit: number; cursor?: string; status?: GenerationStatus; model?: string }): Promise<GenerationList>;
  cancel(userId: string, id: string): Promise<GenerationView>;
  credits(userId: string, query: { limit: number; cursor?: string }): Promise<CreditsResponse>;
  toView(row: GenerationRow): GenerationView;
}

export interface GenerationsDeps {
  database: Database;
  queue: JobQueue;
  catalog: CatalogService;
  providers: ProviderRegistry;
  engine: GenerationEngine;
  maxInFlight: number;
  /** the most unfinished generations one API key may have (API_KEY_MAX_IN_FLIGHT); default 5 */
  apiKeyMaxInFlight?: number;
  /** hosts URL references may reach although private (REFERENCE_FETCH_ALLOW_HOSTS) */
  referenceAllowHosts?: readonly string[];
  /** when a generation is made, its deadline, and the 24 hours its Idempotency-Key is honoured (default: the system clock) */
  clock?: Pick<Clock, 'now'>;
  /** the prompt gate (issue 16): a blocked prompt is refused before any credit is held */
  moderation?: Pick<ModerationGate, 'checkPrompt' | 'recordFlaggedPrompt'>;
}

/** Stable JSON (sorted keys) for request hashing. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  // undefined (and functions) have no JSON: typed `string`, JSON.stringify returns undefined for them
  const json = JSON.stringify(value) as string | undefined;
  return json ?? 'null';
}

/** a database error for a unique index, named by the driver's `constraint` or in its message */
function isUniqueViolation(err: unknown, constraint: string): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  const where = typeof e.constraint === 'string' ? e.constraint : typeof e.message === 'string' ? e.message : '';
  return e.code === '23505' && where.includes(constraint);
}

export function toView(row: GenerationRow): GenerationView {
  const succeeded = row.status === 'succeeded' && row.outputUrl;
  return {
    id: row.id,
    model: row.modelId,
    mode: row.mode,
    prompt: row.prompt,
    negativePrompt: row.negativePrompt,
    durationSeconds: row.durationSeconds,
    resolution: row.resolution,
    aspectRatio: row.aspectRatio,
    audio: row.audio,
    seed: row.seed,
    references: row.references.map((r) => ({ kind: r.kind, role: r.role, ...(r.url ? { url: r.url } : {}), ...(r.mediaId ? { mediaId: r.mediaId } : {}) })),
    status: row.status,
    progress: row.status === 'succeeded' ? 100 : row.progress,
    price: row.priceCredits,
    failure: row.failureCode
      ? { code: row.failureCode, message: failureMessage(row.failureCode, row.refunded ? row.priceCredits : null), refunded: row.refunded }
      : null,
    output: succeeded
      ? {
          videoUrl: `/api/generations/${row.id}/video`,
          thumbnailUrl: row.outputThumbnailUrl ? `/api/generations/${row.id}/thumbnail` : null,
          previewUrl: row.outputPreviewUrl ? `/api/generations/${row.id}/preview` : null,
          durationSeconds: row.outputDurationSeconds,
          width: row.outputWidth,
          height: row.outputHeight,
          codec: row.outputCodec,
          sizeBytes: row.outputSizeBytes,
          sha256: row.outputSha256,
        }
      : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
    deadlineAt: row.deadlineAt.toISOString(),
  };
}

export function createGenerationsService(deps: GenerationsDeps): GenerationsService {
  const { database, queue, catalog, providers, maxInFlight } = deps;
  const clock = deps.clock ?? systemClock;

  /** the earlier submit with this key, or null; 409 when it was made with another request */
  async function replay(db: DbHandle, userId: string, key: string, hash: string): Promise<SubmitResult | null> {
    const existing = await findByIdempotencyKey(db, userId, key, clock.now());
    if (!existing) return null;
    if (existing.requestHash !== hash) {
      throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request. Use a new key for a new request.', 409);
    }
    return { view: toView(existing), replayed: true };
  }

  async function submit(userId: string, body: unknown, opts: SubmitOptions = {}): Promise<SubmitResult> {
    const key = opts.idempotencyKey;
    if (key !== undefined && !/^[\x21-\x7e]{1,255}$/.test(key)) {
      throw new AppError('invalid_request', 'Idempotency-Key must be 1-255 visible ASCII characters.', 400);
    }
    const hash = createHash('sha256')
      .update(canonical(opts.hashBody ?? body))
      .digest('hex');
    if (key) {
      // the common retry, answered without a transaction; a concurrent first submit is caught below
      const earlier = await replay(database, userId, key, hash);
      if (earlier) return earlier;
    }
    // an account scheduled for deletion makes no new videos (checked again under the balance lock below)
    await refuseIfDeletionPending(database, userId);
    // a dispute or chargeback holds the account's generation until an operator reviews it (403)
    await refuseIfGenerationHeld(database, userId);
    const { model, request, quote } = await catalog.parseRequest(body, { requireAvailable: true });
    // uploaded references must be the user's own, of the declared kind, and within this model's limits;
    // URL references must point at public addresses (they are fetched, SSRF-safely, at dispatch)
    const owned = new Map(
      (
        await getUserMediaMany(
          database,
          userId,
          request.references.flatMap((r) => (r.mediaId ? [r.mediaId] : [])),
        )
      ).map((m) => [m.id, m]),
    );
    const issues: { field: string; message: string }[] = [];
    for (const [i, ref] of request.references.entries()) {
      if (ref.mediaId) {
        const media = owned.get(ref.mediaId);
        if (!media) {
          issues.push({ field: `references.${i}.mediaId`, message: `Reference ${i + 1} is not one of your uploaded files (it may have been deleted).` });
          continue;
        }
        if (media.kind !== ref.kind) {
          issues.push({ field: `references.${i}.kind`, message: `Reference ${i + 1} is ${describeKind(media.kind)}, not ${describeKind(ref.kind)}.` });
          continue;
        }
        const limit = model.references[ref.kind];
        if (!limit) {
          issues.push({ field: `references.${i}.kind`, message: `${model.name} does not take ${describeKind(ref.kind)} as a reference.` });
          continue;
        }
        const problem = checkAgainstLimit(media, limit);
        if (problem) issues.push({ field: `references.${i}.mediaId`, message: `Reference ${i + 1}: ${problem}` });
        else
          Object.assign(ref, {
            mimeType: media.contentType,
            sizeBytes: media.sizeBytes,
            ...(media.durationSeconds !== null ? { durationSeconds: media.durationSeconds } : {}),
          });
      } else if (ref.url) {
        try {
          await assertFetchableUrl(ref.url, deps.referenceAllowHosts ?? []);
        } catch (err) {
          issues.push({ field: `references.${i}.url`, message: `The reference URL ${(err as Error).message}.` });
        }
      }
    }
    if (issues.length) throw invalidRequest(issues);
    // 422 content_blocked when blocked (nothing held, no generation); flagged inputs get a case below
    const screen = deps.moderation ? await deps.moderation.checkPrompt(userId, { prompt: request.prompt, negativePrompt: request.negativePrompt }) : null;
    const id = randomUUID();
    const dispatchJobId = randomUUID();
    const price = quote.credits;
    const { model: _model, ...fields } = request;
    try {
      const result = await database.transaction(async (tx): Promise<SubmitResult> => {
        if (key) {
          // concurrent submits with this key queue here (before the balance row lock below); the
          // ones that waited find the first one's generation and answer with it
          await lockIdempotencyKey(tx, userId, key);
          const earlier = await replay(tx, userId, key, hash);
          if (earlier) return earlier;
          // the key may still sit on a generation older than 24 hours (until the cleanup job runs): free it
          await forgetExpiredIdempotencyKey(tx, userId, key, clock.now());
        }
        // one row lock per user serializes their submits: the in-flight count and the balance agree
        await ledger.ensureAccount(tx, userId);
        const balance = await ledger.lockBalance(tx, userId);
        await refuseIfDeletionPending(tx, userId);
        await refuseIfGenerationHeld(tx, userId);
        const inFlight = await countInFlight(tx, userId);
        if (inFlight >= maxInFlight) {
          throw new AppError('rate_limited', `You have ${inFlight} videos in progress, the most at one time. Wait for one to finish, then try again.`, 429);
        }
        if (opts.apiKeyId) {
          const keyInFlight = await countKeyInFlight(tx, opts.apiKeyId);
          const keyMax = deps.apiKeyMaxInFlight ?? 5;
          if (keyInFlight >= keyMax) {
            throw new AppError(
              'rate_limited',
              `This API key has ${keyInFlight} videos in progress, the most one key may have at a time. Wait for one to finish, then try again.`,
              429,
            );
          }
        }
        if (balance < price) throw insufficient(balance, price);
        await ledger.hold(tx, { userId, generationId: id, credits: price, reason: `Held for a video (${model.name})` });
        const inserted = await insertGeneration(
          tx,
          {
            id,
            userId,
            ...fields,
            modelId: model.id,
            priceCredits: price,
            ...(key ? { idempotencyKey: key, requestHash: hash } : {}),
            source: opts.source ?? 'web',
            ...(opts.apiKeyId ? { apiKeyId: opts.apiKeyId } : {}),
            ...(opts.remixedFrom ? { remixedFrom: opts.remixedFrom } : {}),
            dispatchJobId,
            deadlineSeconds: model.deadlineSeconds,
          },
          clock.now(),
        );
        if (screen) await deps.moderation?.recordFlaggedPrompt(tx, userId, id, screen);
        await queue.enqueue(generationDispatch, { id }, { tx, jobId: dispatchJobId });
        await notifyChange(tx, inserted);
        return { view: toView(inserted), replayed: false };
      });
      return result;
    } catch (err) {
      if (err instanceof InsufficientCredits) {
        throw insufficient((await ledger.balanceOf(database, userId)).balance, price);
      }
      if (key && isUniqueViolation(err, 'generations_user_idempotency_idx')) {
        const earlier = await replay(database, userId, key, hash);
        if (earlier) return earlier;
      }
      throw err;
    }
  }

  function insufficient(balance: number, price: number) {
    return new AppError('insufficient_credits', `This video costs ${price} credits and your balance is ${balance}.`, 402, { extra: { balance, price } });
  }

  async function own(userId: string, id: string): Promise<GenerationRow> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await getUserGeneration(database, userId, id) : null;
    if (!row) throw notFound('That generation');
    return row;
  }

  async function cancel(userId: string, id: string): Promise<GenerationView> {
    const row = await own(userId, id);
    if (row.status === 'queued') {
      const settled = await deps.engine.settle(row, ['queued'], { status: 'canceled', code: 'canceled', detail: 'canceled by the user' });
      if (settled) return toView(settled);
    } else if (row.status === 'running' && row.provider && row.upstreamId) {
      const p = providers.get(row.provider as ProviderId);
      if (p.supportsCancel) {
        try {
          await p.cancel(row.upstreamId);
          const settled = await deps.engine.settle(row, ['running'], { status: 'canceled', code: 'canceled', detail: 'canceled by the user' });
          if (settled) return toView(settled);
        } catch {
          /* started already: fall through to 409 */
        }
      }
    }
    const now = await own(userId, id);
    if (now.status === 'canceled') return toView(now);
    throw new AppError(
      'cannot_cancel',
      now.status === 'succeeded' || now.status === 'failed'
        ? 'This generation has already finished.'
        : 'This generation has already started and can no longer be canceled.',
      409,
    );
  }

  async function credits(userId: string, query: { limit: number; cursor?: string }): Promise<CreditsResponse> {
    if (query.cursor !== undefined && !/^\d{1,18}$/.test(query.cursor)) throw new AppError('invalid_request', 'cursor is not valid.', 400);
    const b = await ledger.balanceOf(database, userId);
    const rows = await ledger.history(database, userId, { limit: query.limit + 1, beforeId: query.cursor });
    const items = rows.slice(0, query.limit).map((r) => ({
      id: String(r.id),
      kind: r.kind,
      amount: r.amount,
      heldChange: r.heldDelta,
      balanceAfter: r.balanceAfter,
      reason: r.reason,
      reference: r.reference,
      createdAt: r.createdAt.toISOString(),
    }));
    return { balance: b.balance, held: b.held, history: { items, nextCursor: rows.length > query.limit ? (items.at(-1)?.id ?? null) : null } };
  }

  return {
    submit,
    get: async (userId, id) => toView(await own(userId, id)),
    row: own,
    async page(userId, query) {
      const page = /^[0-9a-f-]{1,36}$/i.test(query.after ?? '0') ? await listUserGenerationsAfter(database, userId, query) : null;
      if (!page)
        throw new AppError('invalid_request', 'after is not one of your generations.', 400, {
          fields: [{ field: 'after', message: 'is not one of your generations' }],
        });
      return page;
    },
    async output(userId, id) {
      const row = await own(userId, id);
      if (row.status !== 'succeeded' || !row.outputUrl) throw notFound('That video');
      return { videoUrl: row.outputUrl, thumbnailUrl: row.outputThumbnailUrl, previewUrl: row.outputPreviewUrl, contentType: row.outputContentType };
    },
    async list(userId, query) {
      const page = await listUserGenerations(database, userId, query);
      if (!page) throw new AppError('invalid_request', 'cursor is not valid.', 400);
      return { items: page.items.map(toView), nextCursor: page.nextCursor };
    },
    cancel,
    credits,
    toView,
  };
}
