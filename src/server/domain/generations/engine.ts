import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
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
import { credits } from '../credits/credits';
import {
  claimDuePolls,
  findByCallbackKey,
  findIdleQueued,
  findStale,
  getGeneration,
  nextDispatchAttempt,
  notifyChange,
  pollSoon,
  progressAtLeast,
  recordCallback,
  schedulePoll,
  transition,
  type GenerationRow,
  type TransitionSet,
} from './generations.repo';
import { failureCodeFor, failureMessages } from './messages';
import type { OutputHandoff, StoredOutput } from './output';
import { ReferenceUnavailable, type ReferenceResolver } from '../media/references';
import type { ModerationGate } from '../moderation/gate';

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
  /**
   * the time of every transition, poll, deadline and sweep, and of the tracker's loops and the
   * finalize heartbeat (default: the system clock)
   */
  clock?: Clock;
  /** output screening at ingest (quarantine) and provider refusals as moderation events (issue 16) */
  moderation?: Pick<ModerationGate, 'screenOutput' | 'recordProviderRefusal'>;
}

const ACTIVE: readonly GenerationStatus[] = ['queued', 'submitting', 'running', 'finalizing'];
/** a queued task is dispatched again after this long: longer than the longest dispatch back-off, so a scheduled retry is not doubled */
const QUEUED_STALE_SECONDS = 360;
/** ... or after this long when its dispatch job no longer waits (it died with its worker): no waiting for the job's expiry */
const QUEUED_ORPHAN_SECONDS = 30;
/** a finalizing task without a heartbeat for this long was interrupted (crash) and is resumed */
const FINALIZE_STALE_SECONDS = 30;
/** finalizing gets this long past the deadline to store a video the provider already made */
const FINALIZE_GRACE_MS = 10 * 60_000;

export type SettleOutcome =
  ({ status: 'succeeded' | 'under_review' } & StoredOutput) | { status: 'failed' | 'canceled' | 'blocked'; code: FailureCode; detail?: string };

export interface CallbackResult {
  status: 200 | 401 | 404;
  message: string;
}

export interface GenerationEngine {
  dispatch(taskId: string): Promise<void>;
  finalize(taskId: string): Promise<void>;
  /** applies an upstream status to a task; true when it changed the task */
  applyStatus(task: GenerationRow, status: NormalizedStatus): Promise<boolean>;
  settle(
    task: Pick<GenerationRow, 'id'>,
    from: readonly GenerationStatus[],
    outcome: SettleOutcome,
    onSettled?: (tx: DbHandle, row: GenerationRow) => Promise<void>,
  ): Promise<GenerationRow | null>;
  handleProviderCallback(provider: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>, taskHint?: string): Promise<CallbackResult>;
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

/**
 * What the console shows of a provider callback's body: at most 2,000 characters, URLs without
 * their query strings (signed download tokens), fields named like secrets hidden.
 */
export function callbackExcerpt(rawBody: Buffer): string {
  const text = rawBody
    .subarray(0, 8192)
    .toString('utf8')
    .replace(/(https?:\/\/[^\s"'?#]+)[?#][^\s"']*/g, '$1?…')
    .replace(/("[^"]*(?:key|token|secret|signature|password|authorization)[^"]*"\s*:\s*)"[^"]*"/gi, '$1"[redacted]"');
  return text.length > 2000 ? `${text.slice(0, 1999)}…` : text;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  // the workers share one iterator: each takes the next item when it is free
  const next = items.values();
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (const item of next) await fn(item);
  });
  await Promise.all(workers);
}

export function createGenerationEngine(deps: EngineDeps): GenerationEngine {
  const { database, queue, catalog, router, providers, handoff, settings, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const provider = (id: string) => providers.get(id as ProviderId);
  /** `transition` at the clock's current time */
  const move = (db: DbHandle, id: string, from: readonly GenerationStatus[], to: GenerationStatus | undefined, set: TransitionSet = {}) =>
    transition(db, id, from, to, set, clock.now());

  async function settle(
    task: Pick<GenerationRow, 'id'>,
    from: readonly GenerationStatus[],
    outcome: SettleOutcome,
    onSettled?: (tx: DbHandle, row: GenerationRow) => Promise<void>,
  ): Promise<GenerationRow | null> {
    return database.transaction(async (tx) => {
      // under review (moderation): the output is stored and charged for, but not shown yet
      const success = 'videoUrl' in outcome;
      const now = clock.now();
      const row = await transition(
        tx,
        task.id,
        from,
        outcome.status,
        success
          ? {
              progress: 100,
              finishedAt: now,
              outputUrl: outcome.videoUrl,
              outputThumbnailUrl: outcome.thumbnailUrl,
              outputContentType: outcome.contentType,
              outputPreviewUrl: outcome.previewUrl ?? null,
              ...(outcome.media
                ? {
                    outputDurationSeconds: outcome.media.durationSeconds,
                    outputWidth: outcome.media.width,
                    outputHeight: outcome.media.height,
                    outputCodec: outcome.media.codec,
                    outputSizeBytes: outcome.media.sizeBytes,
                    outputSha256: outcome.media.sha256,
                  }
                : {}),
              nextPollAt: null,
            }
          : {
              failureCode: outcome.code,
              failureMessage: failureMessages[outcome.code],
              failureDetail: outcome.detail?.slice(0, 1000) ?? null,
              refunded: true,
              finishedAt: now,
              nextPollAt: null,
            },
        now,
      );
      if (!row) return null;
      if (!success && outcome.code === 'policy') await deps.moderation?.recordProviderRefusal(tx, row, outcome.detail);
      await onSettled?.(tx, row);
      const charge = { userId: row.userId, generationId: row.id, credits: row.priceCredits };
      if (success) await credits.capture(tx, { ...charge, reason: `Video generated (${row.modelId})` });
      else await credits.release(tx, { ...charge, reason: `Credits returned: ${failureMessages[(outcome as { code: FailureCode }).code]}` });
      await notifyChange(tx, row);
      // under review is not final: its webhook is sent when a moderator releases or removes it
      if (row.status !== 'under_review') await queue.enqueue(webhooksFanOut, { generationId: row.id }, { tx });
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
    await move(database, task.id, ['submitting'], undefined, {
      outcomeUnknownSince: clock.now(),
      provider: providerId,
      upstreamModel,
    });
  }

  async function requeue(task: GenerationRow, attempts: unknown, reason: string) {
    const delay = Math.min(10 * 2 ** Math.max(0, task.dispatchAttempts - 1), 300);
    if (clock.nowMs() + delay * 1000 >= task.deadlineAt.getTime()) {
      await fail(task, ['submitting'], 'provider_unavailable', reason);
      return;
    }
    await inTx(async (tx) => {
      const jobId = randomUUID();
      const row = await move(tx, task.id, ['submitting'], 'queued', {
        routeAttempts: attempts,
        provider: null,
        upstreamModel: null,
        dispatchJobId: jobId,
      });
      if (row)
        await queue.enqueue(
          generationDispatch,
          { id: task.id },
          { tx, jobId, startAfterSeconds: delay, singletonKey: `dispatch:${task.id}:${row.dispatchAttempts}` },
        );
    });
  }

  async function dispatch(taskId: string): Promise<void> {
    let task = await getGeneration(database, taskId);
    if (!task || !ACTIVE.includes(task.status)) return;
    if (task.status === 'submitting') {
      if (task.outcomeUnknownSince) return; // waiting for a callback or the grace period
      if (clock.nowMs() - task.updatedAt.getTime() < settings.submitStaleSeconds * 1000) return; // being submitted right now
      // an interrupted submit (the process died while calling the provider)
      if (task.provider && !provider(task.provider).idempotentSubmit) {
        await markOutcomeUnknown(task, task.provider, task.upstreamModel, 'submit interrupted');
        return;
      }
      const touched = await move(database, task.id, ['submitting'], undefined, { dispatchAttempts: nextDispatchAttempt() });
      if (!touched) return;
      task = touched;
    } else if (task.status === 'queued') {
      const claimed = await inTx(async (tx) => {
        const row = await move(tx, taskId, ['queued'], 'submitting', { dispatchAttempts: nextDispatchAttempt() });
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
      await fail(task, ['submitting'], 'provider_unavailable', model ? `model ${model.unavailableReason ?? 'unavailable'}` : 'model not in the catalog');
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
          await move(database, task.id, ['submitting'], undefined, { provider: p, upstreamModel });
        },
      });
      const p = provider(d.provider);
      const started = await inTx(async (tx) => {
        const now = clock.now();
        const row = await transition(
          tx,
          task.id,
          ['submitting'],
          'running',
          {
            provider: d.provider,
            upstreamModel: d.upstreamModel,
            upstreamId: d.upstreamId,
            callbackKey: p.callbackKey(d.upstreamId),
            routeAttempts: d.attempts,
            startedAt: now,
            nextPollAt: new Date(now.getTime() + 2000),
          },
          now,
        );
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

  async function applyStatus(task: GenerationRow, status: NormalizedStatus): Promise<boolean> {
    switch (status.state) {
      case 'queued':
      case 'running': {
        const progress =
          status.state === 'running' && status.progress !== undefined ? Math.min(99, Math.max(task.progress, Math.round(status.progress))) : task.progress;
        if (progress === task.progress) return false;
        return inTx(async (tx) => {
          const row = await move(tx, task.id, ['running'], undefined, { progress: progressAtLeast(progress) });
          if (row) await notifyChange(tx, row);
          return row !== null;
        });
      }
      case 'succeeded':
        return inTx(async (tx) => {
          const row = await move(tx, task.id, ['running'], 'finalizing', {
            progress: 99,
            outputUrl: status.output.videoUrl,
            outputThumbnailUrl: status.output.thumbnailUrl ?? null,
            outputContentType: status.output.contentType ?? null,
            nextPollAt: null,
          });
          if (!row) return false;
          await queue.enqueue(generationFinalize, { id: task.id }, { tx, singletonKey: `finalize:${task.id}` });
          await notifyChange(tx, row);
          return true;
        });
      case 'failed':
        return (await fail(task, ['running'], failureCodeFor(status.error.kind), `${status.error.kind}: ${status.error.message}`)) !== null;
      case 'canceled':
        return (await settle(task, ['running'], { status: 'canceled', code: 'canceled', detail: 'canceled upstream' })) !== null;
      case 'unknown':
        // never success: keep checking until the deadline
        return false;
    }
  }

  async function finalize(taskId: string): Promise<void> {
    const task = await getGeneration(database, taskId);
    if (!task || task.status !== 'finalizing' || !task.outputUrl) return;
    // a heartbeat while the output is being taken in, so the sweep can tell a live hand-off from a
    // crashed one (FINALIZE_STALE_SECONDS without one)
    const heartbeat = repeatOnClock((FINALIZE_STALE_SECONDS * 1000) / 3, () => {
      move(database, task.id, ['finalizing'], undefined).catch(() => undefined);
    });
    try {
      const stored = await handoff.accept(task, {
        videoUrl: task.outputUrl,
        ...(task.outputThumbnailUrl ? { thumbnailUrl: task.outputThumbnailUrl } : {}),
        ...(task.outputContentType ? { contentType: task.outputContentType } : {}),
      });
      const review = deps.moderation ? await deps.moderation.screenOutput(task, stored) : null;
      const settled = await settle(
        task,
        ['finalizing'],
        { status: review ? 'under_review' : 'succeeded', ...stored },
        review ? (tx, row) => review.record(tx, row) : undefined,
      );
      if (settled && review) await review.afterCommit();
    } finally {
      heartbeat();
    }
  }

  async function handleProviderCallback(
    providerId: string,
    rawBody: Buffer,
    headers: Record<string, string | string[] | undefined>,
    taskHint?: string,
  ): Promise<CallbackResult> {
    let p;
    try {
      p = provider(providerId);
    } catch {
      return { status: 404, message: `no provider ${providerId}` };
    }
    const verdict = await p.verifyCallback(rawBody, headers);
    if (!verdict.ok) return { status: 401, message: verdict.reason };
    const event = verdict.event;
    const receivedAt = clock.now();
    let adopted = false;
    let task = await findByCallbackKey(database, providerId, event.upstreamId);
    if (!task && taskHint) {
      // the create call's answer was lost (or has not arrived yet): the callback tells us the upstream id
      const hinted = await getGeneration(database, taskHint);
      const upstreamModel = hinted?.upstreamModel;
      if (hinted && hinted.status === 'submitting' && hinted.provider === providerId && upstreamModel) {
        task = await inTx(async (tx) => {
          const now = clock.now();
          const row = await transition(
            tx,
            hinted.id,
            ['submitting'],
            'running',
            {
              upstreamId: p.upstreamIdFor(event.upstreamId, upstreamModel),
              callbackKey: event.upstreamId,
              outcomeUnknownSince: null,
              startedAt: now,
              nextPollAt: now,
            },
            now,
          );
          if (row) await notifyChange(tx, row);
          return row;
        });
        if (task) {
          adopted = true;
          logger.info({ task: task.id, provider: providerId }, 'generation: adopted the upstream task named by a callback');
        }
      }
    }
    if (!task) return { status: 200, message: 'no matching task; ignored' };
    const generationId = task.id;
    let outcome = 'error';
    try {
      const changed = await applyStatus(task, event.status);
      outcome = adopted ? 'adopted' : changed ? 'applied' : 'ignored';
    } finally {
      // the console's record of the callback (one insert); failing to write it never fails the callback
      await recordCallback(database, {
        generationId,
        provider: providerId,
        receivedAt,
        state: event.status.state,
        outcome,
        detail: callbackExcerpt(rawBody),
      }).catch((err: unknown) => logger.warn({ err, task: generationId }, 'generation: could not record a provider callback'));
    }
    return { status: 200, message: 'ok' };
  }

  // back-off from 2 s, capped at three quarters of the max interval: the rest is slack for queueing
  // behind other polls, so every task is still checked within the max interval under load
  const nextPollSeconds = (pollCount: number) => Math.min(settings.pollMaxIntervalSeconds * 0.75, 2 * 1.5 ** Math.min(pollCount, 20));

  async function pollOne(task: GenerationRow): Promise<void> {
    const { provider: providerId, upstreamId } = task;
    if (!providerId || !upstreamId) {
      // claimDuePolls takes running tasks with an upstream id, which always have their provider
      logger.error({ task: task.id }, 'generation: a claimed poll names no upstream task');
      return;
    }
    const p = provider(providerId);
    try {
      const status = await p.poll(upstreamId);
      await applyStatus(task, status);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'not_found') {
        // the provider no longer knows the task (expired or lost): it will never finish
        await fail(task, ['running'], 'generation_failed', `${err.kind}: ${err.message}`);
        return;
      }
      if (!(err instanceof ProviderError)) logger.error({ err, task: task.id }, 'generation: poll failed');
    }
    await schedulePoll(database, task.id, nextPollSeconds(task.pollCount), clock.now());
  }

  async function pollDue(): Promise<number> {
    const due = await claimDuePolls(database, settings.pollConcurrency * 4, settings.pollLeaseSeconds, clock.now());
    await mapLimit(due, settings.pollConcurrency, pollOne);
    return due.length;
  }

  async function reconcileDeadline(task: GenerationRow): Promise<void> {
    if (task.status === 'finalizing' && clock.nowMs() < task.deadlineAt.getTime() + FINALIZE_GRACE_MS) {
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

  /**
   * Queued tasks idle for QUEUED_ORPHAN_SECONDS whose dispatch job no longer waits: it was taken by
   * a worker that died before taking the task (taking the task is the job's first step, so a live
   * worker never leaves it queued that long), and would only come back when it expires.
   */
  async function findOrphans(): Promise<GenerationRow[]> {
    const idle = await findIdleQueued(database, { now: clock.now(), idleSeconds: QUEUED_ORPHAN_SECONDS, staleSeconds: QUEUED_STALE_SECONDS, limit: 200 });
    const orphans: GenerationRow[] = [];
    for (const task of idle) {
      if (!task.dispatchJobId || !(await queue.isWaiting(generationDispatch, task.dispatchJobId))) orphans.push(task);
    }
    return orphans;
  }

  /** Sends the dispatch job of a queued task again (harmless if both run: compare-and-set). */
  async function redispatch(task: GenerationRow): Promise<void> {
    await inTx(async (tx) => {
      const jobId = randomUUID();
      const row = await move(tx, task.id, ['queued'], undefined, { dispatchJobId: jobId });
      if (row) await queue.enqueue(generationDispatch, { id: task.id }, { tx, jobId });
    });
  }

  async function sweep(): Promise<number> {
    const stale = await findStale(database, {
      now: clock.now(),
      queuedSeconds: QUEUED_STALE_SECONDS,
      submittingSeconds: settings.submitStaleSeconds,
      finalizingSeconds: FINALIZE_STALE_SECONDS,
      limit: 200,
    });
    stale.push(...(await findOrphans()));
    for (const task of stale) {
      try {
        if (task.deadlineAt.getTime() <= clock.nowMs()) await reconcileDeadline(task);
        else if (task.status === 'queued') {
          // the dispatch job was lost or is late: send another
          await redispatch(task);
        } else if (task.status === 'submitting') {
          if (task.outcomeUnknownSince) {
            if (clock.nowMs() - task.outcomeUnknownSince.getTime() > settings.unknownOutcomeGraceSeconds * 1000) {
              await fail(task, ['submitting'], 'lost', 'no callback named the task after its create call was lost');
            }
          } else {
            await dispatch(task.id);
          }
        } else if (task.status === 'finalizing') {
          await inTx(async (tx) => {
            const row = await move(tx, task.id, ['finalizing'], undefined);
            if (row) await queue.enqueue(generationFinalize, { id: task.id }, { tx });
          });
        }
      } catch (err) {
        logger.error({ err, task: task.id }, 'generation: sweep failed for a task');
      }
    }
    return stale.length;
  }

  /** a task its provider says has ended is polled now, not at its next scheduled check */
  async function pollEnded(providerId: ProviderId, upstreamId: string): Promise<void> {
    await pollSoon(database, providerId, upstreamId, clock.now());
    await pollDue();
  }

  /** Calls `fn` every `ms` on the clock until the returned function is called. */
  function repeatOnClock(ms: number, fn: () => void): () => void {
    let cancel = () => {};
    let stopped = false;
    const arm = () => {
      cancel = clock.setTimer(ms, () => {
        if (stopped) return;
        fn();
        arm();
      });
    };
    arm();
    return () => {
      stopped = true;
      cancel();
    };
  }

  let running = false;
  /** read through a function: `running` changes while a loop awaits */
  const isRunning = () => running;
  let loops: Promise<void>[] = [];
  let unsubscribe: (() => void)[] = [];
  // aborted by stop(): wakes the loops' sleeps at once
  let stopping = new AbortController();

  function loop(name: string, fn: () => Promise<number>, idleMs: number, busyBatch: number): Promise<void> {
    return (async () => {
      while (isRunning()) {
        let n = 0;
        try {
          n = await fn();
        } catch (err) {
          if (isRunning()) logger.error({ err }, `generation: ${name} failed`);
        }
        if (!isRunning()) break;
        if (n < busyBatch) await clock.sleep(idleMs, stopping.signal);
      }
    })();
  }

  return {
    dispatch,
    finalize,
    applyStatus,
    settle,
    handleProviderCallback,
    pollDue,
    sweep,
    startTracker() {
      if (running) return;
      running = true;
      stopping = new AbortController();
      loops = [loop('polling', pollDue, 1000, settings.pollConcurrency * 4), loop('sweep', sweep, 5000, 200)];
      unsubscribe = providers
        .list()
        .flatMap(
          (p) =>
            p.onTaskEnded?.(
              (upstreamId) =>
                void pollEnded(p.id, upstreamId).catch((err: unknown) => logger.warn({ err, upstreamId }, 'generation: poll after a provider event failed')),
            ) ?? [],
        );
    },
    async stop() {
      for (const off of unsubscribe) off();
      unsubscribe = [];
      running = false;
      stopping.abort();
      await Promise.all(loops);
      loops = [];
    },
  };
}
