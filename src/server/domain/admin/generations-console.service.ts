import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import type { ProviderRegistry } from '../../adapters/providers';
import type { ProviderId } from '../../adapters/providers/provider';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import {
  activeGenerationStatuses,
  type AdminGenerationDetail,
  type AdminGenerationFull,
  type AdminGenerationList,
  type AdminGenerationRow,
  type AdminGenerationsQuery,
  type AdminGenerationStatus,
} from '../../../shared/api/admin-generations';
import type { GenerationEngine } from '../generations/engine';
import { getGeneration, type GenerationRow } from '../generations/generations.repo';
import type { AuditActor, AuditService } from './audit.service';
import { callbacksOf, findUserByIdOrEmail, generationLedger, listGenerations, ownerOf } from './generations-console.repo';
import { emailsOf } from './orders-console.repo';
import { dateBound } from './orders-console.service';

/**
 * The console's generations section (issue 18): look tasks up, show one with everything an operator
 * needs, cancel it, or release the credits of a task stuck past its deadline. Both actions go
 * through the engine's settle (compare-and-set on the status, with the capture or release in the
 * same transaction), so however many operators click at once a task is settled once; the audit entry
 * is written in that transaction.
 */

export interface GenerationActionResult {
  generation: AdminGenerationFull;
  /** whether the provider was told to stop (null: nothing was running upstream) */
  upstreamCanceled: boolean | null;
}

export interface GenerationsConsole {
  list(query: AdminGenerationsQuery): Promise<AdminGenerationList>;
  detail(id: string): Promise<AdminGenerationDetail>;
  /** the stored video of a succeeded task, for the console's link (audited: an operator looked at a user's video) */
  output(actor: AuditActor, id: string): Promise<{ videoUrl: string; thumbnailUrl: string | null; previewUrl: string | null; contentType: string | null }>;
  cancel(actor: AuditActor, id: string, reason: string): Promise<GenerationActionResult>;
  release(actor: AuditActor, id: string, reason: string): Promise<GenerationActionResult>;
}

export interface GenerationsConsoleDeps {
  database: Database;
  clock: Pick<Clock, 'now'>;
  engine: Pick<GenerationEngine, 'settle'>;
  providers: Pick<ProviderRegistry, 'get'>;
  /** read when used: the services are built together (context.ts) */
  audit: () => Pick<AuditService, 'record'>;
  logger: Logger;
}

const ACTIVE: readonly AdminGenerationStatus[] = activeGenerationStatuses;
/** what an operator may cancel: not yet storing a finished video */
const CANCELABLE: readonly AdminGenerationStatus[] = ['queued', 'submitting', 'running'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const iso = (d: Date | null) => d?.toISOString() ?? null;
const isStuck = (g: GenerationRow, now: Date) => ACTIVE.includes(g.status) && g.deadlineAt.getTime() <= now.getTime();

function toRow(g: GenerationRow, email: string, now: Date): AdminGenerationRow {
  return {
    id: g.id,
    createdAt: g.createdAt.toISOString(),
    finishedAt: iso(g.finishedAt),
    deadlineAt: g.deadlineAt.toISOString(),
    status: g.status,
    model: g.modelId,
    provider: g.provider,
    priceCredits: g.priceCredits,
    failureCode: g.failureCode,
    stuck: isStuck(g, now),
    promptStart: g.prompt.length > 120 ? `${g.prompt.slice(0, 119)}…` : g.prompt,
    user: { id: g.userId, email },
  };
}

/** text from stored JSON (numbers as digits, anything else empty) */
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** route_attempts as stored (RouteAttempt[]), read defensively. */
function routeAttempts(value: unknown): AdminGenerationFull['routeAttempts'] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((a: unknown) => {
    if (!a || typeof a !== 'object') return [];
    const r = a as { provider?: unknown; upstreamModel?: unknown; failure?: unknown };
    const f = r.failure && typeof r.failure === 'object' ? (r.failure as { kind?: unknown; message?: unknown; upstreamCode?: unknown }) : null;
    return [
      {
        provider: str(r.provider),
        upstreamModel: str(r.upstreamModel),
        failure: f ? { kind: str(f.kind), message: str(f.message), upstreamCode: str(f.upstreamCode) || null } : null,
      },
    ];
  });
}

function toFull(g: GenerationRow, email: string, now: Date): AdminGenerationFull {
  const stored = g.status === 'succeeded' && g.outputUrl !== null && g.deletedAt === null;
  return {
    ...toRow(g, email, now),
    mode: g.mode,
    prompt: g.prompt,
    negativePrompt: g.negativePrompt,
    durationSeconds: g.durationSeconds,
    resolution: g.resolution,
    aspectRatio: g.aspectRatio,
    audio: g.audio,
    seed: g.seed,
    references: g.references.map((r) => ({ kind: r.kind, role: r.role, url: r.url ?? null, mediaId: r.mediaId ?? null })),
    progress: g.progress,
    source: g.source,
    apiKeyId: g.apiKeyId,
    remixedFrom: g.remixedFrom,
    upstreamModel: g.upstreamModel,
    upstreamId: g.upstreamId,
    callbackKey: g.callbackKey,
    outcomeUnknownSince: iso(g.outcomeUnknownSince),
    routeAttempts: routeAttempts(g.routeAttempts),
    dispatchAttempts: g.dispatchAttempts,
    pollCount: g.pollCount,
    nextPollAt: iso(g.nextPollAt),
    failureMessage: g.failureMessage,
    failureDetail: g.failureDetail,
    refunded: g.refunded,
    output:
      g.outputUrl === null
        ? null
        : {
            videoUrl: stored ? `/api/admin/generations/${g.id}/video` : null,
            contentType: g.outputContentType,
            durationSeconds: g.outputDurationSeconds,
            width: g.outputWidth,
            height: g.outputHeight,
            codec: g.outputCodec,
            sizeBytes: g.outputSizeBytes,
            sha256: g.outputSha256,
          },
    deletedAt: iso(g.deletedAt),
    updatedAt: g.updatedAt.toISOString(),
    startedAt: iso(g.startedAt),
  };
}

/** What the audit log keeps of a task before and after an action. */
const snapshot = (g: GenerationRow) => ({
  status: g.status,
  refunded: g.refunded,
  priceCredits: g.priceCredits,
  failureCode: g.failureCode,
  provider: g.provider,
  upstreamId: g.upstreamId,
  deadlineAt: g.deadlineAt.toISOString(),
});

export function createGenerationsConsole(deps: GenerationsConsoleDeps): GenerationsConsole {
  const { database, clock, engine, providers, logger } = deps;

  async function load(id: string): Promise<GenerationRow> {
    const row = UUID.test(id) ? await getGeneration(database, id.toLowerCase()) : null;
    if (!row) throw notFound('That generation');
    return row;
  }

  const emailOf = async (g: GenerationRow) => (await ownerOf(database, g.userId))?.email ?? '';

  /** Tell the provider to stop a running task, where it can; never fails the action. */
  async function stopUpstream(g: GenerationRow): Promise<boolean | null> {
    if (g.status !== 'running' || !g.provider || !g.upstreamId) return null;
    try {
      const p = providers.get(g.provider as ProviderId);
      if (!p.supportsCancel) return false;
      await p.cancel(g.upstreamId);
      return true;
    } catch (err) {
      logger.warn({ err, task: g.id }, 'console: the provider could not cancel the task');
      return false;
    }
  }

  /** settle() found the task moved on: say what it is now. */
  async function moved(id: string, action: 'cancel' | 'release'): Promise<never> {
    const now = await load(id);
    throw new AppError(
      action === 'cancel' ? 'cannot_cancel' : 'already_final',
      `This generation changed meanwhile: it is ${now.status.replace('_', ' ')} now. Reload it and check again.`,
      409,
    );
  }

  async function settleAudited(
    actor: AuditActor,
    row: GenerationRow,
    from: readonly AdminGenerationStatus[],
    action: 'generation.cancel' | 'generation.release',
    reason: string,
    upstreamCanceled: boolean | null,
  ): Promise<GenerationRow | null> {
    const outcome =
      action === 'generation.cancel'
        ? ({ status: 'canceled', code: 'canceled', detail: 'canceled by an operator' } as const)
        : ({ status: 'failed', code: 'deadline', detail: 'ended by an operator after its deadline; the held credits were released' } as const);
    return engine.settle(row, from, outcome, async (tx, settled) => {
      await deps
        .audit()
        .record(
          actor,
          { action, targetType: 'generation', targetId: row.id, reason, before: snapshot(row), after: { ...snapshot(settled), upstreamCanceled } },
          tx,
        );
    });
  }

  return {
    async list(q) {
      let userId: string | undefined;
      if (q.user) {
        const user = await findUserByIdOrEmail(database, q.user);
        if (!user) return { generations: [], nextCursor: null };
        userId = user.id;
      }
      const now = clock.now();
      const page = await listGenerations(database, {
        id: q.id?.toLowerCase(),
        userId,
        model: q.model,
        provider: q.provider,
        status: q.status,
        from: dateBound(q.from, false),
        to: dateBound(q.to, true),
        stuckAt: q.stuck === '1' || q.stuck === 'true' ? now : undefined,
        cursor: q.cursor,
        limit: q.limit,
      });
      if (!page) throw new AppError('invalid_request', 'cursor is not valid.', 400);
      const emails = await emailsOf(
        database,
        page.items.map((g) => g.userId),
      );
      return { generations: page.items.map((g) => toRow(g, emails.get(g.userId) ?? '', now)), nextCursor: page.nextCursor };
    },

    async detail(id) {
      const g = await load(id);
      const [owner, ledger, callbacks] = await Promise.all([ownerOf(database, g.userId), generationLedger(database, g), callbacksOf(database, g.id)]);
      const now = clock.now();
      return {
        generation: toFull(g, owner?.email ?? '', now),
        user: owner ?? { id: g.userId, email: '', name: '', status: 'unknown' },
        ledger: ledger.map((r) => ({
          id: String(r.id),
          kind: r.kind,
          amount: r.amount,
          heldChange: r.heldDelta,
          balanceAfter: r.balanceAfter,
          reason: r.reason,
          reference: r.reference,
          createdAt: r.createdAt.toISOString(),
        })),
        callbacks: callbacks.map((c) => ({
          id: c.id,
          provider: c.provider,
          receivedAt: c.receivedAt.toISOString(),
          state: c.state,
          outcome: c.outcome,
          detail: c.detail,
        })),
        actions: { cancel: CANCELABLE.includes(g.status), release: isStuck(g, now) },
      };
    },

    async output(actor, id) {
      const g = await load(id);
      if (g.status !== 'succeeded' || !g.outputUrl || g.deletedAt) throw notFound('A stored video of that generation');
      await deps.audit().record(actor, { action: 'generation.output.view', targetType: 'generation', targetId: g.id });
      return { videoUrl: g.outputUrl, thumbnailUrl: g.outputThumbnailUrl, previewUrl: g.outputPreviewUrl, contentType: g.outputContentType };
    },

    async cancel(actor, id, reason) {
      const row = await load(id);
      if (!CANCELABLE.includes(row.status)) {
        throw new AppError(
          'cannot_cancel',
          row.status === 'finalizing'
            ? 'This generation has finished upstream and its video is being stored; it can no longer be canceled.'
            : `This generation has already ended (${row.status.replace('_', ' ')}); there is nothing to cancel.`,
          409,
        );
      }
      const upstreamCanceled = await stopUpstream(row);
      // only from the status it was seen in: a task that moved on meanwhile is looked at again
      const settled = await settleAudited(actor, row, [row.status], 'generation.cancel', reason, upstreamCanceled);
      if (!settled) return moved(row.id, 'cancel');
      return { generation: toFull(settled, await emailOf(settled), clock.now()), upstreamCanceled };
    },

    async release(actor, id, reason) {
      const row = await load(id);
      if (!ACTIVE.includes(row.status)) {
        throw new AppError('already_final', `This generation has already ended (${row.status.replace('_', ' ')}); its credits were settled then.`, 409);
      }
      const now = clock.now();
      if (row.deadlineAt.getTime() > now.getTime()) {
        throw new AppError(
          'not_stuck',
          `This generation is not past its deadline (${row.deadlineAt.toISOString()}): it is still being worked on. Cancel it instead if it must stop.`,
          409,
        );
      }
      const upstreamCanceled = await stopUpstream(row);
      const settled = await settleAudited(actor, row, ACTIVE, 'generation.release', reason, upstreamCanceled);
      if (!settled) return moved(row.id, 'release');
      logger.warn({ task: row.id, operator: actor.label }, 'console: an operator released the credits of a task stuck past its deadline');
      return { generation: toFull(settled, await emailOf(settled), clock.now()), upstreamCanceled };
    },
  };
}
