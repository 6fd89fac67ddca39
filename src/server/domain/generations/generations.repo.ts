import type { DbHandle } from '../../db/client';
import { BOSS_SCHEMA } from '../../db/migrate';
import { generationDispatch } from '../../jobs/names';
import { keysetPage, type KeysetPage } from '../../db/keyset';
import type { GenerationReference } from '../../../shared/catalog/request-schema';
import type { GenerationMode } from '../../../shared/catalog/vocabulary';
import type { FailureCode, GenerationStatus } from '../../../shared/api/generations';

/** SQL for generation tasks. Status changes go through `transition` (compare-and-set). */

export interface GenerationRow {
  id: string;
  userId: string;
  modelId: string;
  mode: GenerationMode;
  prompt: string;
  negativePrompt: string | null;
  durationSeconds: number;
  resolution: string;
  aspectRatio: string;
  audio: boolean;
  seed: number | null;
  references: GenerationReference[];
  status: GenerationStatus;
  progress: number;
  priceCredits: number;
  failureCode: FailureCode | null;
  failureMessage: string | null;
  failureDetail: string | null;
  refunded: boolean;
  provider: string | null;
  upstreamModel: string | null;
  upstreamId: string | null;
  callbackKey: string | null;
  outcomeUnknownSince: Date | null;
  dispatchAttempts: number;
  nextPollAt: Date | null;
  pollCount: number;
  outputUrl: string | null;
  outputThumbnailUrl: string | null;
  outputContentType: string | null;
  outputPreviewUrl: string | null;
  outputDurationSeconds: number | null;
  outputWidth: number | null;
  outputHeight: number | null;
  outputCodec: string | null;
  outputSizeBytes: number | null;
  outputSha256: string | null;
  deletedAt: Date | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  source: string;
  /** the API key that made it (API requests) */
  apiKeyId: string | null;
  /** OpenAI-compatible remix: the generation this one was made from */
  remixedFrom: string | null;
  deadlineAt: Date;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

type Raw = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export function mapGeneration(r: Raw): GenerationRow {
  return {
    id: r.id as string,
    userId: r.user_id as string,
    modelId: r.model_id as string,
    mode: r.mode as GenerationMode,
    prompt: r.prompt as string,
    negativePrompt: (r.negative_prompt as string | null) ?? null,
    durationSeconds: Number(r.duration_seconds),
    resolution: r.resolution as string,
    aspectRatio: r.aspect_ratio as string,
    audio: Boolean(r.audio),
    seed: r.seed === null || r.seed === undefined ? null : Number(r.seed),
    references: json<GenerationReference[]>(r.references) ?? [],
    status: r.status as GenerationStatus,
    progress: Number(r.progress),
    priceCredits: Number(r.price_credits),
    failureCode: (r.failure_code as FailureCode | null) ?? null,
    failureMessage: (r.failure_message as string | null) ?? null,
    failureDetail: (r.failure_detail as string | null) ?? null,
    refunded: Boolean(r.refunded),
    provider: (r.provider as string | null) ?? null,
    upstreamModel: (r.upstream_model as string | null) ?? null,
    upstreamId: (r.upstream_id as string | null) ?? null,
    callbackKey: (r.callback_key as string | null) ?? null,
    outcomeUnknownSince: date(r.outcome_unknown_since),
    dispatchAttempts: Number(r.dispatch_attempts),
    nextPollAt: date(r.next_poll_at),
    pollCount: Number(r.poll_count),
    outputUrl: (r.output_url as string | null) ?? null,
    outputThumbnailUrl: (r.output_thumbnail_url as string | null) ?? null,
    outputContentType: (r.output_content_type as string | null) ?? null,
    outputPreviewUrl: (r.output_preview_url as string | null) ?? null,
    outputDurationSeconds: num(r.output_duration_seconds),
    outputWidth: num(r.output_width),
    outputHeight: num(r.output_height),
    outputCodec: (r.output_codec as string | null) ?? null,
    outputSizeBytes: num(r.output_size_bytes),
    outputSha256: (r.output_sha256 as string | null) ?? null,
    deletedAt: date(r.deleted_at),
    idempotencyKey: (r.idempotency_key as string | null) ?? null,
    requestHash: (r.request_hash as string | null) ?? null,
    source: r.source as string,
    apiKeyId: (r.api_key_id as string | null) ?? null,
    remixedFrom: (r.remixed_from as string | null) ?? null,
    deadlineAt: new Date(r.deadline_at as string),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
  };
}

export interface NewGeneration {
  id: string;
  userId: string;
  modelId: string;
  mode: GenerationMode;
  prompt: string;
  negativePrompt?: string;
  durationSeconds: number;
  resolution: string;
  aspectRatio: string;
  audio: boolean;
  seed?: number;
  references: GenerationReference[];
  priceCredits: number;
  idempotencyKey?: string;
  requestHash?: string;
  source: string;
  apiKeyId?: string;
  remixedFrom?: string;
  deadlineSeconds: number;
}

export async function insertGeneration(tx: DbHandle, g: NewGeneration): Promise<GenerationRow> {
  const rows = await tx.sql.query(
    `insert into generations (id, user_id, model_id, mode, prompt, negative_prompt, duration_seconds, resolution,
                              aspect_ratio, audio, seed, "references", price_credits, idempotency_key, request_hash,
                              source, deadline_at, api_key_id, remixed_from)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15, $16, now() + make_interval(secs => $17), $18, $19)
     returning *`,
    [
      g.id,
      g.userId,
      g.modelId,
      g.mode,
      g.prompt,
      g.negativePrompt ?? null,
      g.durationSeconds,
      g.resolution,
      g.aspectRatio,
      g.audio,
      g.seed ?? null,
      JSON.stringify(g.references),
      g.priceCredits,
      g.idempotencyKey ?? null,
      g.requestHash ?? null,
      g.source,
      g.deadlineSeconds,
      g.apiKeyId ?? null,
      g.remixedFrom ?? null,
    ],
  );
  return mapGeneration(rows[0]!);
}

export async function getGeneration(db: DbHandle, id: string): Promise<GenerationRow | null> {
  const rows = await db.sql.query('select * from generations where id = $1', [id]);
  return rows[0] ? mapGeneration(rows[0]) : null;
}

export async function getUserGeneration(db: DbHandle, userId: string, id: string): Promise<GenerationRow | null> {
  const rows = await db.sql.query('select * from generations where id = $1 and user_id = $2 and deleted_at is null', [id, userId]);
  return rows[0] ? mapGeneration(rows[0]) : null;
}

/** Idempotency keys are honoured for 24 hours. */
export async function findByIdempotencyKey(db: DbHandle, userId: string, key: string): Promise<GenerationRow | null> {
  const rows = await db.sql.query(
    `select * from generations where user_id = $1 and idempotency_key = $2 and created_at > now() - interval '24 hours'`,
    [userId, key],
  );
  return rows[0] ? mapGeneration(rows[0]) : null;
}

/**
 * Serialises submits that carry the same (user, Idempotency-Key) until the calling transaction
 * ends: the second of two concurrent submits waits here, then finds the first one's row with
 * `findByIdempotencyKey` instead of holding credits again. Take it first in the transaction,
 * before any row lock, so that every submit takes its locks in the same order.
 */
export async function lockIdempotencyKey(tx: DbHandle, userId: string, key: string): Promise<void> {
  await tx.sql.query(`select pg_advisory_xact_lock(hashtextextended('generation-idempotency:' || $1 || ':' || $2, 0))`, [userId, key]);
}

export async function countInFlight(db: DbHandle, userId: string): Promise<number> {
  const rows = await db.sql.query<{ n: number }>(
    `select count(*)::int as n from generations where user_id = $1 and status in ('queued', 'submitting', 'running', 'finalizing')`,
    [userId],
  );
  return Number(rows[0]!.n);
}

/** unfinished generations made with one API key */
export async function countKeyInFlight(db: DbHandle, apiKeyId: string): Promise<number> {
  const rows = await db.sql.query<{ n: number }>(
    `select count(*)::int as n from generations where api_key_id = $1 and status in ('queued', 'submitting', 'running', 'finalizing')`,
    [apiKeyId],
  );
  return Number(rows[0]!.n);
}

export interface ListOptions {
  limit: number;
  cursor?: string;
  status?: GenerationStatus;
  model?: string;
  /** created at or after */
  from?: Date;
  /** created before */
  to?: Date;
  /** words that must all appear in the prompt (case-insensitive) */
  q?: string;
}

/** `%`, `_` and `\` are literal in a search */
const likePattern = (word: string) => `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The user's generations that are not deleted, newest first; keyset pagination on (created_at, id).
 * A malformed cursor yields null.
 */
export async function listUserGenerations(db: DbHandle, userId: string, opts: ListOptions): Promise<KeysetPage<GenerationRow> | null> {
  const params: unknown[] = [userId];
  const where = ['user_id = $1', 'deleted_at is null'];
  if (opts.status) {
    params.push(opts.status);
    where.push(`status = $${params.length}`);
  }
  if (opts.model) {
    params.push(opts.model);
    where.push(`model_id = $${params.length}`);
  }
  if (opts.from) {
    params.push(opts.from.toISOString());
    where.push(`created_at >= $${params.length}::timestamptz`);
  }
  if (opts.to) {
    params.push(opts.to.toISOString());
    where.push(`created_at < $${params.length}::timestamptz`);
  }
  for (const word of (opts.q ?? '').split(/\s+/).filter(Boolean).slice(0, 10)) {
    params.push(likePattern(word));
    where.push(`prompt ilike $${params.length}`);
  }
  return keysetPage(db, { table: 'generations', where, params, limit: opts.limit, cursor: opts.cursor, map: mapGeneration });
}

/**
 * The user's generations that are not deleted, ordered by (created_at, id) either way, starting
 * after the generation `after` (an id, as OpenAI-style lists page). Null when `after` is not one of
 * the user's generations.
 */
export async function listUserGenerationsAfter(
  db: DbHandle,
  userId: string,
  opts: { limit: number; after?: string; order: 'asc' | 'desc' },
): Promise<{ items: GenerationRow[]; hasMore: boolean } | null> {
  const params: unknown[] = [userId];
  const where = ['user_id = $1', 'deleted_at is null'];
  if (opts.after !== undefined) {
    // the anchor may itself be deleted since: its position still counts
    const [anchor] = await db.sql.query('select id from generations where id = $1 and user_id = $2', [opts.after, userId]);
    if (!anchor) return null;
    params.push(opts.after);
    where.push(`(created_at, id) ${opts.order === 'asc' ? '>' : '<'} (select created_at, id from generations where id = $${params.length})`);
  }
  params.push(opts.limit + 1);
  const dir = opts.order === 'asc' ? 'asc' : 'desc';
  const rows = await db.sql.query(`select * from generations where ${where.join(' and ')} order by created_at ${dir}, id ${dir} limit $${params.length}`, params);
  return { items: rows.slice(0, opts.limit).map(mapGeneration), hasMore: rows.length > opts.limit };
}

/** Columns a transition may set (snake_case), with their SQL casts. */
const settable = {
  progress: '',
  failure_code: '',
  failure_message: '',
  failure_detail: '',
  refunded: '',
  provider: '',
  upstream_model: '',
  upstream_id: '',
  callback_key: '',
  outcome_unknown_since: '::timestamptz',
  route_attempts: '::jsonb',
  dispatch_attempts: '',
  next_poll_at: '::timestamptz',
  poll_count: '',
  output_url: '',
  output_thumbnail_url: '',
  output_content_type: '',
  output_preview_url: '',
  output_duration_seconds: '',
  output_width: '',
  output_height: '',
  output_codec: '',
  output_size_bytes: '',
  output_sha256: '',
  started_at: '::timestamptz',
  finished_at: '::timestamptz',
} as const;
export type SettableColumn = keyof typeof settable;

/**
 * Compare-and-set: move the task to `to` (or keep its status when `to` is undefined) only if it
 * is currently in one of `from`. Returns the updated row, or null when another actor got there first.
 * Values may be SQL expressions via `{ sql: 'now()' }`.
 */
export async function transition(
  db: DbHandle,
  id: string,
  from: readonly GenerationStatus[],
  to: GenerationStatus | undefined,
  set: Partial<Record<SettableColumn, unknown>> = {},
): Promise<GenerationRow | null> {
  const params: unknown[] = [id, [...from]];
  const assignments = ['updated_at = now()'];
  if (to) {
    params.push(to);
    assignments.push(`status = $${params.length}`);
  }
  for (const [column, value] of Object.entries(set)) {
    if (!(column in settable)) throw new Error(`not a settable column: ${column}`);
    if (value && typeof value === 'object' && 'sql' in value) {
      assignments.push(`${column} = ${(value as { sql: string }).sql}`);
      continue;
    }
    params.push(column === 'route_attempts' && value !== null ? JSON.stringify(value) : value);
    assignments.push(`${column} = $${params.length}${settable[column as SettableColumn]}`);
  }
  const rows = await db.sql.query(`update generations set ${assignments.join(', ')} where id = $1 and status = any($2::text[]) returning *`, params);
  return rows[0] ? mapGeneration(rows[0]) : null;
}

/** Tell every process that a task changed (the SSE hub listens); delivered on commit. */
export async function notifyChange(db: DbHandle, row: Pick<GenerationRow, 'id' | 'userId'>): Promise<void> {
  await db.sql.query(`select pg_notify('generation_events', $1)`, [JSON.stringify({ id: row.id, userId: row.userId })]);
}

/**
 * Claim up to `limit` running tasks whose next check is due, leasing them for `leaseSeconds` so
 * that other workers skip them (SKIP LOCKED) while this one polls.
 */
export async function claimDuePolls(db: DbHandle, limit: number, leaseSeconds: number): Promise<GenerationRow[]> {
  const rows = await db.sql.query(
    `update generations set next_poll_at = now() + make_interval(secs => $2), poll_count = poll_count + 1
      where id in (select id from generations
                    where status = 'running' and upstream_id is not null and next_poll_at <= now()
                    order by next_poll_at limit $1 for update skip locked)
      returning *`,
    [limit, leaseSeconds],
  );
  return rows.map(mapGeneration);
}

/**
 * Tasks that need the sweeper's attention (see GenerationEngine.sweep). A queued task is stale
 * after `queuedSeconds`, or sooner (`queuedOrphanSeconds`) when no dispatch job waits for it: its
 * job was taken by a worker that then died before the task moved on (taking the task is the job's
 * first step, so a live worker never leaves it queued that long); the job itself would only come
 * back when it expires.
 */
export async function findStale(
  db: DbHandle,
  opts: { queuedSeconds: number; queuedOrphanSeconds: number; submittingSeconds: number; finalizingSeconds: number; limit: number },
): Promise<GenerationRow[]> {
  const rows = await db.sql.query(
    `select * from generations g
      where (status in ('queued', 'submitting', 'running', 'finalizing') and deadline_at <= now())
         or (status = 'queued' and updated_at < now() - make_interval(secs => $1))
         or (status = 'queued' and updated_at < now() - make_interval(secs => $5)
             and not exists (select 1 from ${BOSS_SCHEMA}.job j where j.name = $6 and j.state < 'active' and j.data->>'id' = g.id))
         or (status = 'submitting' and updated_at < now() - make_interval(secs => $2))
         or (status = 'finalizing' and updated_at < now() - make_interval(secs => $3))
      order by updated_at limit $4`,
    [opts.queuedSeconds, opts.submittingSeconds, opts.finalizingSeconds, opts.limit, opts.queuedOrphanSeconds, generationDispatch.name],
  );
  return rows.map(mapGeneration);
}

export async function findByCallbackKey(db: DbHandle, provider: string, key: string): Promise<GenerationRow | null> {
  const rows = await db.sql.query('select * from generations where provider = $1 and callback_key = $2', [provider, key]);
  return rows[0] ? mapGeneration(rows[0]) : null;
}

/** Forget idempotency keys after 24 hours (the cleanup job). */
export async function expireIdempotencyKeys(db: Pick<DbHandle, 'sql'>): Promise<number> {
  const rows = await db.sql.query(
    `update generations set idempotency_key = null where idempotency_key is not null and created_at < now() - interval '24 hours' returning id`,
  );
  return rows.length;
}
