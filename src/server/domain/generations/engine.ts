import type { Logger } from 'pino';
import type { ProviderRegistry } from '../../adapters/providers';
import { ProviderError, type NormalizedStatus, type ProviderId, type ProviderReference } from '../../adapters/providers/provider';
import type { Database, DbHandle } from '../../db/client';
import { AppError } from '../../errors';
import { generationDispatch, generationFinalize, webhooksFanOut } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import type { GenerationRequest } from '../../../shared/catalog/request-schema';
import type { FailureCode, GenerationStatus } from '../../../shared/api/generations';
import type { CatalogService } from '../catalog/catalog.service';
import { AllRoutesFailed, DispatchOutcomeUnknown, type ProviderRouter } from '../catalog/router';
import { applyLedgerEntry } from '../credits/credits.repo';
import {
  claimDuePolls,
  findByCallbackKey,
  findStale,
  getGeneration,
  notifyChange,
  transition,
  type GenerationRow,
} from './generations.repo';
import { failureCodeFor, failureMessages } from './messages';
import type { OutputHandoff, StoredOutput } from './output';
import { ReferenceUnavailable, type ReferenceResolver } from '../media/references';

/**
 * The generation lifecycle after submit: dispatch to a provider, track progress (verified
 * callbacks and bounded concurrent polling with backoff), hand the output off, and settle the
 * credit hold exactly once. Every status change is a compare-and-set (`transition`); capture and
 * release happen in the same transaction as the move to a final status, with idempotency keys as a
 * second guard. Nothing here holds state a second worker would need: it all lives in the database.
 */

export interface EngineSettings {
  publicUrl: string;
  pollConcurrency: number;
  pollMaxIntervalSeconds: number;
  unknownOutcomeGraceSeconds: number;
  /** a submit running longer than this was interrupted (crash) */
  submitStaleSeconds: number;
  /** a claimed poll not finished by then (crashed poller) is claimed again */
  pollLeaseSeconds: number;
}

export interface EngineDeps {
  database: Database;
  queue: JobQueue;
  catalog: CatalogService;
  router: ProviderRouter;
  providers: ProviderRegistry;
  handoff: OutputHandoff;
  /** signed URLs of the task's references (URL references are fetched into our store first) */
  references: ReferenceResolver;
  settings: EngineSettings;
  logger: Logger;
}

const ACTIVE: readonly GenerationStatus[] = ['queued', 'submitting', 'running', 'finalizing'];
/** a finalizing task without a heartbeat for this long was interrupted (crash) and is resumed */
const FINALIZE_STALE_SECONDS = 30;
/** finalizing gets this long past the deadline to store a video the provider already made */
const FINALIZE_GRACE_MS = 10 * 60_000;

export type SettleOutcome =
  | ({ status: 'succeeded' } & StoredOutput)
  | { status: 'failed' | 'canceled' | 'blocked'; code: FailureCode; detail?: string };

export interface CallbackResult {
  status: 200 | 401 | 404;
  message: string;
}

export interface GenerationEngine {
  dispatch(taskId: string): Promise<void>;
  finalize(taskId: string): Promise<void>;
  applyStatus(task: GenerationRow, status: NormalizedStatus): Promise<void>;
  settle(task: Pick<GenerationRow, 'id'>, from: readonly GenerationStatus[], outcome: SettleOutcome): Promise<GenerationRow | null>;
  handleCallback(provider: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>, taskHint?: string): Promise<CallbackResult>;
  /** one round of polling due tasks; returns how many were polled */
  pollDue(): Promise<number>;
  /** one round of deadline, stuck-task and lost-job repair; returns how many tasks were looked at */
  sweep(): Promise<number>;
  /** start the polling and sweeping loops (worker role) */
  startTracker(): void;
  stop(): Promise<void>;
}

/** The request the provider gets, rebuilt from the stored task. */
export function requestOf(task: GenerationRow): GenerationRequest {
  return {
    model: task.modelId,
    mode: task.mode,
    prompt: task.prompt,
    ...(task.negativePrompt ? { negativePrompt: task.negativePrompt } : {}),
    durationSeconds: task.durationSeconds,
    resolution: task.resolution,
    aspectRatio: task.aspectRatio,
    audio: task.audio,
    ...(task.seed !== null ? { seed: task.seed } : {}),
    references: task.references,
  };
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

export function createGenerationEngine(deps: EngineDeps): GenerationEngine {
  const { database, queue, catalog, router, providers, handoff, settings, logger } = deps;
  const provider = (id: string) => providers.get(id as ProviderId);

  async function settle(task: Pick<GenerationRow, 'id'>, from: readonly GenerationStatus[], outcome: SettleOutcome): Promise<GenerationRow | null> {
    return database.transaction(async (tx) => {
      const success = outcome.status === 'succeeded';
      const row = await transition(
        tx,
        task.id,
        from,
        outcome.status,
        success
          ? {
              progress: 100,
              finished_at: { sql: 'now()' },
              output_url: outcome.videoUrl,
              output_thumbnail_url: outcome.thumbnailUrl,
              output_content_type: outcome.contentType,
              output_preview_url: outcome.previewUrl ?? null,
              ...(outcome.media
                ? {
                    output_duration_seconds: outcome.media.durationSeconds,
                    output_width: outcome.media.width,
                    output_height: outcome.media.height,
                    output_codec: outcome.media.codec,
                    output_size_bytes: outcome.media.sizeBytes,
                    output_sha256: outcome.media.sha256,
                  }
                : {}),
              next_poll_at: null,
            }
          : {
              failure_code: outcome.code,
              failure_message: failureMessages[outcome.code],
              failure_detail: outcome.detail?.slice(0, 1000) ?? null,
              refunded: true,
              finished_at: { sql: 'now()' },
              next_poll_at: null,
            },
      );
      if (!row) return null;
      await applyLedgerEntry(
        tx,
        success
          ? {
              userId: row.userId,
              kind: 'capture',
              amount: 0,
              heldDelta: -row.priceCredits,
              reason: `Video generated (${row.modelId})`,
              reference: `generation:${row.id}`,
              idempotencyKey: `capture:${row.id}`,
            }
          : {
              userId: row.userId,
              kind: 'release',
              amount: row.priceCredits,
              heldDelta: -row.priceCredits,
              reason: `Credits returned: ${failureMessages[(outcome as { code: FailureCode }).code]}`,
              reference: `generation:${row.id}`,
              idempotencyKey: `release:${row.id}`,
            },
      );
      await notifyChange(tx, row);
      await queue.enqueue(webhooksFanOut, { generationId: row.id }, { tx });
      return row;
    });
  }

  const fail = (task: Pick<GenerationRow, 'id'>, from: readonly GenerationStatus[], code: FailureCode, detail?: string) =>
    settle(task, from, { status: 'failed', code, ...(detail ? { detail } : {}) });

  async function inTx<T>(fn: (tx: DbHandle) => Promise<T>): Promise<T> {
    return database.transaction(fn);
  }

  const callbackUrl = (taskId: string) => (p: ProviderId) => `${settings.publicUrl}/webhooks/${p}?task=${encodeURIComponent(taskId)}`;

  async function markOutcomeUnknown(task: GenerationRow, providerId: string, upstreamModel: string | null, detail: string) {
    logger.warn({ task: task.id, provider: providerId, detail }, 'generation: provider may have accepted the task; waiting for its callback');
    await transition(database, task.id, ['submitting'], undefined, {
      outcome_unknown_since: { sql: 'now()' },
      provider: providerId,
      upstream_model: upstreamModel,
    });
  }

  async function requeue(task: GenerationRow, attempts: unknown, reason: string) {
    const delay = Math.min(10 * 2 ** Math.max(0, task.dispatchAttempts - 1), 300);
    if (Date.now() + delay * 1000 >= task.deadlineAt.getTime()) {
      await fail(task, ['submitting'], 'provider_unavailable', reason);
      return;
    }
    await inTx(async (tx) => {
      const row = await transition(tx, task.id, ['submitting'], 'queued', { route_attempts: attempts, provider: null, upstream_model: null });
      if (row) await queue.enqueue(generationDispatch, { id: task.id }, { tx, startAfterSeconds: delay, singletonKey: `dispatch:${task.id}:${row.dispatchAttempts}` });
    });
  }

  async function dispatch(taskId: string): Promise<void> {
    let task = await getGeneration(database, taskId);
    if (!task || !ACTIVE.includes(task.status)) return;
    if (task.status === 'submitting') {
      if (task.outcomeUnknownSince) return; // waiting for a callback or the grace period
      if (Date.now() - task.updatedAt.getTime() < settings.submitStaleSeconds * 1000) return; // being submitted right now
      // an interrupted submit (the process died while calling the provider)
      if (task.provider && !provider(task.provider).idempotentSubmit) {
        await markOutcomeUnknown(task, task.provider, task.upstreamModel, 'submit interrupted');
        return;
      }
      const touched = await transition(database, task.id, ['submitting'], undefined, { dispatch_attempts: { sql: 'dispatch_attempts + 1' } });
      if (!touched) return;
      task = touched;
    } else if (task.status === 'queued') {
      const claimed = await inTx(async (tx) => {
        const row = await transition(tx, taskId, ['queued'], 'submitting', { dispatch_attempts: { sql: 'dispatch_attempts + 1' } });
        if (row) await notifyChange(tx, row);
        return row;
      });
      if (!claimed) return;
      task = claimed;
    } else {
      return;
    }

    const model = await catalog.get(task.modelId);
    if (!model || !model.available) {
      await fail(task, ['submitting'], 'provider_unavailable', model ? `model ${model.unavailableReason}` : 'model not in the catalog');
      return;
    }
    let references: ProviderReference[];
    try {
      references = await deps.references.resolve(task);
    } catch (err) {
      if (!(err instanceof ReferenceUnavailable)) throw err; // a store or database hiccup: the job retries
      await fail(task, ['submitting'], 'invalid_input', err.message);
      return;
    }
    try {
      const d = await router.submit(model, requestOf(task), references, `generation:${task.id}`, {
        callbackUrl: callbackUrl(task.id),
        onAttempt: async (p, upstreamModel) => {
          await transition(database, task.id, ['submitting'], undefined, { provider: p, upstream_model: upstreamModel });
        },
      });
      const p = provider(d.provider);
      const started = await inTx(async (tx) => {
        const row = await transition(tx, task.id, ['submitting'], 'running', {
          provider: d.provider,
          upstream_model: d.upstreamModel,
          upstream_id: d.upstreamId,
          callback_key: p.callbackKey(d.upstreamId),
          route_attempts: d.attempts,
          started_at: { sql: 'now()' },
          next_poll_at: { sql: "now() + interval '2 seconds'" },
        });
        if (row) await notifyChange(tx, row);
        return row;
      });
      if (!started) {
        // a callback may have adopted it already; otherwise it was ended meanwhile: stop the upstream work
        const now = await getGeneration(database, task.id);
        if (now?.upstreamId !== d.upstreamId && p.supportsCancel) await p.cancel(d.upstreamId).catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof DispatchOutcomeUnknown) {
        await markOutcomeUnknown(task, err.provider, err.upstreamModel, err.message);
      } else if (err instanceof AllRoutesFailed) {
        if (err.last.kind === 'retryable' || err.last.kind === 'auth_config') await requeue(task, err.attempts, err.message);
        else await fail(task, ['submitting'], failureCodeFor(err.last.kind), err.message);
      } else if (err instanceof AppError) {
        await fail(task, ['submitting'], 'provider_unavailable', err.message);
      } else {
        throw err;
      }
    }
  }

  async function applyStatus(task: GenerationRow, status: NormalizedStatus): Promise<void> {
    switch (status.state) {
      case 'queued':
      case 'running': {
        const progress = status.state === 'running' && status.progress !== undefined ? Math.min(99, Math.max(task.progress, Math.round(status.progress))) : task.progress;
        if (progress !== task.progress) {
          await inTx(async (tx) => {
            const row = await transition(tx, task.id, ['running'], undefined, { progress: { sql: `greatest(progress, ${progress})` } });
            if (row) await notifyChange(tx, row);
          });
        }
        return;
      }
      case 'succeeded':
        await inTx(async (tx) => {
          const row = await transition(tx, task.id, ['running'], 'finalizing', {
            progress: 99,
            output_url: status.output.videoUrl,
            output_thumbnail_url: status.output.thumbnailUrl ?? null,
            output_content_type: status.output.contentType ?? null,
            next_poll_at: null,
          });
          if (!row) return;
          await queue.enqueue(generationFinalize, { id: task.id }, { tx, singletonKey: `finalize:${task.id}` });
          await notifyChange(tx, row);
        });
        return;
      case 'failed':
        await fail(task, ['running'], failureCodeFor(status.error.kind), `${status.error.kind}: ${status.error.message}`);
        return;
      case 'canceled':
        await settle(task, ['running'], { status: 'canceled', code: 'canceled', detail: 'canceled upstream' });
        return;
      case 'unknown':
        // never success: keep checking until the deadline
        return;
    }
  }

  async function finalize(taskId: string): Promise<void> {
    const task = await getGeneration(database, taskId);
    if (!task || task.status !== 'finalizing' || !task.outputUrl) return;
    // a heartbeat while the output is being taken in, so the sweep can tell a live hand-off from a
    // crashed one (FINALIZE_STALE_SECONDS without one)
    const heartbeat = setInterval(() => {
      transition(database, task.id, ['finalizing'], undefined).catch(() => undefined);
    }, (FINALIZE_STALE_SECONDS * 1000) / 3);
    try {
      const stored = await handoff.accept(task, {
        videoUrl: task.outputUrl,
        ...(task.outputThumbnailUrl ? { thumbnailUrl: task.outputThumbnailUrl } : {}),
        ...(task.outputContentType ? { contentType: task.outputContentType } : {}),
      });
      await settle(task, ['finalizing'], { status: 'succeeded', ...stored });
    } finally {
      clearInterval(heartbeat);
    }
  }

  async function handleCallback(providerId: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>, taskHint?: string): Promise<CallbackResult> {
    let p;
    try {
      p = provider(providerId);
    } catch {
      return { status: 404, message: `no provider ${providerId}` };
    }
    const verdict = await p.verifyCallback(rawBody, headers);
    if (!verdict.ok) return { status: 401, message: verdict.reason };
    const event = verdict.event;
    let task = await findByCallbackKey(database, providerId, event.upstreamId);
    if (!task && taskHint) {
      // the create call's answer was lost (or has not arrived yet): the callback tells us the upstream id
      const hinted = await getGeneration(database, taskHint);
      if (hinted && hinted.status === 'submitting' && hinted.provider === providerId && hinted.upstreamModel) {
        task = await inTx(async (tx) => {
          const row = await transition(tx, hinted.id, ['submitting'], 'running', {
            upstream_id: p.upstreamIdFor(event.upstreamId, hinted.upstreamModel!),
            callback_key: event.upstreamId,
            outcome_unknown_since: null,
            started_at: { sql: 'now()' },
            next_poll_at: { sql: 'now()' },
          });
          if (row) await notifyChange(tx, row);
          return row;
        });
        if (task) logger.info({ task: task.id, provider: providerId }, 'generation: adopted the upstream task named by a callback');
      }
    }
    if (!task) return { status: 200, message: 'no matching task; ignored' };
    await applyStatus(task, event.status);
    return { status: 200, message: 'ok' };
  }

  // back-off from 2 s, capped at three quarters of the max interval: the rest is slack for queueing
  // behind other polls, so every task is still checked within the max interval under load
  const nextPollSeconds = (pollCount: number) => Math.min(settings.pollMaxIntervalSeconds * 0.75, 2 * 1.5 ** Math.min(pollCount, 20));

  async function pollOne(task: GenerationRow): Promise<void> {
    const p = provider(task.provider!);
    try {
      const status = await p.poll(task.upstreamId!);
      await applyStatus(task, status);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') {
        // the provider no longer knows the task (expired or lost): it will never finish
        await fail(task, ['running'], 'generation_failed', `${err.kind}: ${err.message}`);
        return;
      }
      if (!(err instanceof ProviderError)) logger.error({ err, task: task.id }, 'generation: poll failed');
    }
    await database.sql.query(
      `update generations set next_poll_at = now() + make_interval(secs => $2) where id = $1 and status = 'running'`,
      [task.id, nextPollSeconds(task.pollCount)],
    );
  }

  async function pollDue(): Promise<number> {
    const due = await claimDuePolls(database, settings.pollConcurrency * 4, settings.pollLeaseSeconds);
    await mapLimit(due, settings.pollConcurrency, pollOne);
    return due.length;
  }

  async function reconcileDeadline(task: GenerationRow): Promise<void> {
    if (task.status === 'finalizing' && Date.now() < task.deadlineAt.getTime() + FINALIZE_GRACE_MS) {
      await queue.enqueue(generationFinalize, { id: task.id }, { singletonKey: `finalize:${task.id}` });
      return;
    }
    if (task.status === 'running' && task.provider && task.upstreamId) {
      const p = provider(task.provider);
      const last = await p.poll(task.upstreamId).catch(() => null);
      if (last && (last.state === 'succeeded' || last.state === 'failed' || last.state === 'canceled')) {
        await applyStatus(task, last);
        if (last.state === 'succeeded') return; // finalize stores it within the grace period
        return;
      }
      if (p.supportsCancel) await p.cancel(task.upstreamId).catch(() => undefined);
    }
    await fail(task, ACTIVE, 'deadline', `ended at the deadline in status ${task.status}`);
  }

  async function sweep(): Promise<number> {
    const stale = await findStale(database, {
      // longer than the longest dispatch back-off, so a scheduled retry is not doubled
      queuedSeconds: 360,
      // no dispatch job waiting: the one taken died with its worker (a crash); do not wait for its expiry
      queuedOrphanSeconds: 30,
      submittingSeconds: settings.submitStaleSeconds,
      finalizingSeconds: FINALIZE_STALE_SECONDS,
      limit: 200,
    });
    for (const task of stale) {
      try {
        if (task.deadlineAt.getTime() <= Date.now()) await reconcileDeadline(task);
        else if (task.status === 'queued') {
          // the dispatch job was lost or is late: enqueue another (harmless if both run: CAS)
          await inTx(async (tx) => {
            const row = await transition(tx, task.id, ['queued'], undefined);
            if (row) await queue.enqueue(generationDispatch, { id: task.id }, { tx });
          });
        } else if (task.status === 'submitting') {
          if (task.outcomeUnknownSince) {
            if (Date.now() - task.outcomeUnknownSince.getTime() > settings.unknownOutcomeGraceSeconds * 1000) {
              await fail(task, ['submitting'], 'lost', 'no callback named the task after its create call was lost');
            }
          } else {
            await dispatch(task.id);
          }
        } else if (task.status === 'finalizing') {
          await inTx(async (tx) => {
            const row = await transition(tx, task.id, ['finalizing'], undefined);
            if (row) await queue.enqueue(generationFinalize, { id: task.id }, { tx });
          });
        }
      } catch (err) {
        logger.error({ err, task: task.id }, 'generation: sweep failed for a task');
      }
    }
    return stale.length;
  }

  let running = false;
  let loops: Promise<void>[] = [];
  const wakers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });

  function loop(name: string, fn: () => Promise<number>, idleMs: number, busyBatch: number): Promise<void> {
    return (async () => {
      while (running) {
        let n = 0;
        try {
          n = await fn();
        } catch (err) {
          if (running) logger.error({ err }, `generation: ${name} failed`);
        }
        if (!running) break;
        if (n < busyBatch) await sleep(idleMs);
      }
    })();
  }

  return {
    dispatch,
    finalize,
    applyStatus,
    settle,
    handleCallback,
    pollDue,
    sweep,
    startTracker() {
      if (running) return;
      running = true;
      loops = [loop('polling', pollDue, 1000, settings.pollConcurrency * 4), loop('sweep', sweep, 5000, 200)];
    },
    async stop() {
      running = false;
      for (const wake of [...wakers]) wake();
      await Promise.all(loops);
      loops = [];
    },
  };
}
