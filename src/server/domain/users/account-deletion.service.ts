import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DELETION_REAUTH_MINUTES, type AccountDeletionStatusView } from '../../../shared/api/account-deletion';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Mailer } from '../../adapters/mail/mailer';
import { PaymentProviderError, type PaymentRegistry } from '../../adapters/payments';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import type { AccountDeletionOrigin } from '../../db/schema';
import { AppError, notFound } from '../../errors';
import { accountDelete, mediaDeleteObjects } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import type { RateLimiter } from '../../lib/rate-limit';
import { sendTemplateMail } from '../../mail/send';
import { deleteUserSessions } from '../auth/auth.repo';
import { storedKeysOf } from '../media/creations.service';
import { heldGenerationsAmong, heldMediaAmong, heldUsersAmong } from '../moderation/holds.repo';
import { providerLabel } from '../billing/views';
import { verifyPassword } from './password';
import { findPasswordHash } from './users.repo';
import {
  accountsPendingDeletion,
  cancelScheduledDeletion,
  chargeableSubscriptionsOf,
  closedDeletionOf,
  closeHeldAccount,
  deleteGenerationRows,
  deleteMediaRows,
  deleteUserRow,
  dueDeletionIds,
  exportKeysOf,
  findUserForDeletion,
  generationsOf,
  getDeletion,
  insertDeletion,
  lockDeletion,
  lockUserForDeletion,
  markSubscriptionCanceled,
  mediaOf,
  pendingDeletionOf,
  pseudonymiseKeptRows,
  removePersonalRows,
  signInMethodsOf,
  updateDeletion,
  type DeletionRow,
} from './account-deletion.repo';

/**
 * Deleting an account (privacy policy 5 and 6; issue 17).
 *
 * A deletion is a row in `account_deletions`. The user asks for one from the account page after
 * confirming who they are (their password, or without one a Google sign-in of the last minutes):
 * it is `scheduled` for the end of the grace period (ACCOUNT_DELETION_GRACE_DAYS; 0 runs it at
 * once), every session is signed out, and a mail says when, what goes, what stays and how to
 * cancel. Until then signing in works and cancels on confirmation; new videos are refused.
 * Operators delete at once (`deleteAccount`, also used for a confirmed child report) or start the
 * grace period for the user (`schedule`).
 *
 * Running one (`run`: the `account.delete` job, or an operator's immediate deletion) is idempotent
 * and resumable:
 * 1. the row becomes `running` (sessions signed out again);
 * 2. the account's subscriptions are canceled with the payment provider, each with an idempotency
 *    key, and marked canceled here; a provider error stops the run before anything is deleted
 *    (the job retries, and the `privacy.deletions-due` sweep takes up a running row again);
 * 3. one transaction removes the account's generations, references, exports (their files through
 *    `media.delete-objects` jobs sent in that transaction), keys, webhooks, sessions, sign-in
 *    methods (Google's tokens), devices, photo, notices, mailings, referrals, strikes, credit
 *    balance and the ledger rows that back nothing kept; it writes the pseudonym (`subject_ref`)
 *    on what the law keeps — orders (without the checkout email), their ledger rows,
 *    subscriptions, moderation cases — unlinks privacy requests, deletes the account row and marks
 *    the deletion `completed`, cut from the person. A crash anywhere leaves all of it or none.
 * What a legal hold covers stays: a hold on the account keeps everything, a hold on some creations
 * keeps those; the account is then `closed` (terminated, signed out, `deletion_requested_at` set)
 * and `finishPending` completes the deletion once the holds have ended.
 */

/** Counts per kind of record; generations and media are always there. */
export type DeletionCounts = { generations: number; media: number } & Record<string, number>;

export interface AccountDeletionResult {
  userId: string;
  deletionId: string;
  /** the pseudonym the kept records carry */
  subjectRef: string;
  /** `deleted`: nothing is left but the pseudonymised records; `closed`: a legal hold keeps what is counted in `kept` */
  outcome: 'deleted' | 'closed';
  removed: DeletionCounts;
  kept: DeletionCounts;
}

export interface DeletionActor {
  /** the operator (null: the system, or the CLI) */
  actorId: string | null;
  reason: string;
  /** default `operator` */
  origin?: AccountDeletionOrigin;
}

export interface AccountDeletionService {
  /** GET /api/me/deletion */
  status(userId: string): Promise<AccountDeletionStatusView>;
  /**
   * The user asks for their account's deletion. `sessionCreatedAt` is when the session making the
   * request began (a Google sign-in of the last minutes confirms an account without a password).
   */
  request(userId: string, input: { password?: string | undefined; sessionCreatedAt: Date }): Promise<AccountDeletionStatusView>;
  /** The user cancels their scheduled deletion (a mail confirms it). */
  cancel(userId: string): Promise<AccountDeletionStatusView>;
  /** An operator starts the grace period for the user (mailed; the user may cancel). */
  schedule(userId: string, by: DeletionActor): Promise<{ deletionId: string; dueAt: Date }>;
  /** Deletes the account now (an operator, the CLI, a confirmed child report). */
  deleteAccount(userId: string, by: DeletionActor): Promise<AccountDeletionResult>;
  /** Runs one deletion if it is due (the `account.delete` job); null when there is nothing to do. */
  run(deletionId: string): Promise<AccountDeletionResult | null>;
  /** Sends an `account.delete` job for every deletion due (the `privacy.deletions-due` cron job); returns how many. */
  enqueueDue(): Promise<number>;
  /** the closed accounts whose holds have ended since: deleted now (run by the daily media purge) */
  finishPending(): Promise<number>;
}

export interface AccountDeletionDeps {
  database: Database;
  queue: JobQueue;
  logger: Logger;
  mailer: Mailer;
  payments: PaymentRegistry;
  rateLimiter: RateLimiter;
  config: Pick<Config, 'PUBLIC_URL' | 'SUPPORT_EMAIL' | 'ACCOUNT_DELETION_GRACE_DAYS' | 'ORDER_RETENTION_YEARS' | 'GOOGLE_CLIENT_ID' | 'GOOGLE_CLIENT_SECRET'>;
  clock?: Pick<Clock, 'now'>;
}

const DAY_MS = 86_400_000;
/** password attempts to confirm a deletion, per account and window */
const PASSWORD_ATTEMPTS = 5;
const PASSWORD_WINDOW_SECONDS = 15 * 60;
/** the sweep runs every 15 minutes: one job per deletion and sweep */
const SWEEP_SLOT_MS = 15 * 60_000;

const CLOSED_REASON = 'This account was deleted. Some of its data is kept under a legal hold until the hold ends.';

/** A random pseudonym: nothing in it derives from the person. */
const newSubjectRef = () => `subj_${randomBytes(12).toString('hex')}`;

/** A job id the same for one deletion within one sweep slot (a second send in the slot is a no-op). */
function sweepJobId(deletionId: string, slot: number): string {
  const h = createHash('sha256').update(`account.delete:${deletionId}:${slot}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const counts = (c: Record<string, number> | null | undefined): DeletionCounts => ({ generations: 0, media: 0, ...(c ?? {}) });

export function createAccountDeletionService(deps: AccountDeletionDeps): AccountDeletionService {
  const { database, queue, logger, config, payments, rateLimiter } = deps;
  const clock = deps.clock ?? systemClock;
  const googleConfigured = Boolean(config.GOOGLE_CLIENT_ID && config.GOOGLE_CLIENT_SECRET);
  const graceMs = config.ACCOUNT_DELETION_GRACE_DAYS * DAY_MS;

  function scheduledView(d: DeletionRow | null): AccountDeletionStatusView['scheduled'] {
    if (!d || (d.status !== 'scheduled' && d.status !== 'running')) return null;
    return {
      id: d.id,
      requestedAt: d.requestedAt.toISOString(),
      dueAt: d.dueAt.toISOString(),
      status: d.status,
      cancelable: d.status === 'scheduled' && d.origin !== 'child-report',
    };
  }

  async function status(userId: string): Promise<AccountDeletionStatusView> {
    const [pending, methods] = await Promise.all([pendingDeletionOf(database, userId), signInMethodsOf(database, userId)]);
    const password = methods.includes('credential');
    return {
      scheduled: scheduledView(pending),
      graceDays: config.ACCOUNT_DELETION_GRACE_DAYS,
      orderRetentionYears: config.ORDER_RETENTION_YEARS,
      reauth: { password, google: !password && googleConfigured && methods.includes('google') },
    };
  }

  /** The password when the account has one; otherwise a Google sign-in within the last minutes. */
  async function confirmIdentity(userId: string, password: string | undefined, sessionCreatedAt: Date): Promise<void> {
    const hash = await findPasswordHash(database, userId);
    if (hash) {
      if (!password) throw new AppError('reauth_required', 'Enter your password to confirm that it is you.', 403);
      const limit = await rateLimiter.hit(`account-deletion-password:user:${userId}`, PASSWORD_ATTEMPTS, PASSWORD_WINDOW_SECONDS);
      if (!limit.allowed) {
        const minutes = Math.ceil(limit.retryAfterSeconds / 60);
        throw new AppError('rate_limited', `Too many attempts. Please wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`, 429);
      }
      if (!(await verifyPassword(password, hash))) throw new AppError('invalid_password', 'The password is not correct.', 400);
      return;
    }
    const methods = await signInMethodsOf(database, userId);
    if (!googleConfigured || !methods.includes('google')) {
      throw new AppError('reauth_required', 'This account has no password. Set one with "Forgot password" on the sign-in page, then try again.', 403);
    }
    if (clock.now().getTime() - sessionCreatedAt.getTime() > DELETION_REAUTH_MINUTES * 60_000) {
      throw new AppError(
        'reauth_required',
        `Sign in with Google again to confirm that it is you (within ${DELETION_REAUTH_MINUTES} minutes), then delete the account.`,
        403,
      );
    }
  }

  async function mailScheduled(user: { email: string; name: string; language: string }, dueAt: Date, immediate: boolean): Promise<void> {
    try {
      await sendTemplateMail(deps.mailer, user.email, 'account-deletion-scheduled', user.language, {
        name: user.name || user.email,
        when: dueAt,
        immediate,
        accountUrl: `${config.PUBLIC_URL}/account`,
        orderYears: config.ORDER_RETENTION_YEARS,
        supportEmail: config.SUPPORT_EMAIL,
      });
    } catch (err) {
      logger.error({ err }, 'accounts: could not send the deletion notice');
    }
  }

  /**
   * The deletion row for `userId`, scheduled for `dueAt`: a new one, or the one waiting already
   * (its due date moved earlier, never later), or the one a hold stopped (taken up again). One
   * transaction, the user row locked first: concurrent requests queue and find the same row.
   */
  async function ensureDeletion(
    userId: string,
    by: { origin: AccountDeletionOrigin; actorId: string | null; reason: string | null; dueAt: Date; takeOver: boolean },
    extra?: (tx: DbHandle, d: DeletionRow) => Promise<void>,
  ): Promise<{ deletion: DeletionRow; created: boolean; user: { email: string; name: string; language: string } }> {
    return database.transaction(async (tx) => {
      const user = await lockUserForDeletion(tx, userId);
      if (!user) throw notFound('That user');
      const now = clock.now();
      let deletion = await pendingDeletionOf(tx, userId);
      let created = false;
      if (deletion) {
        const dueAt = deletion.dueAt.getTime() > by.dueAt.getTime() ? by.dueAt : deletion.dueAt;
        deletion =
          (await updateDeletion(tx, deletion.id, {
            dueAt,
            ...(by.takeOver ? { origin: by.origin, actorId: by.actorId, reason: by.reason } : {}),
          })) ?? deletion;
      } else {
        const closed = await closedDeletionOf(tx, userId);
        if (closed) {
          deletion = (await updateDeletion(tx, closed.id, { status: 'scheduled', dueAt: by.dueAt })) ?? closed;
        } else {
          deletion = await insertDeletion(tx, {
            id: randomUUID(),
            userId,
            subjectRef: newSubjectRef(),
            origin: by.origin,
            actorId: by.actorId,
            reason: by.reason,
            requestedAt: now,
            dueAt: by.dueAt,
          });
          created = true;
        }
      }
      await extra?.(tx, deletion);
      return { deletion, created, user };
    });
  }

  async function request(userId: string, input: { password?: string | undefined; sessionCreatedAt: Date }): Promise<AccountDeletionStatusView> {
    await confirmIdentity(userId, input.password, input.sessionCreatedAt);
    const now = clock.now();
    const dueAt = new Date(now.getTime() + graceMs);
    const immediate = graceMs === 0;
    const { deletion, created, user } = await ensureDeletion(userId, { origin: 'self', actorId: null, reason: null, dueAt, takeOver: false }, async (tx, d) => {
      // signed out everywhere; signing in again is how the user cancels
      await deleteUserSessions(tx, userId);
      if (immediate) await queue.enqueue(accountDelete, { deletionId: d.id }, { tx });
    });
    if (created) {
      logger.info({ deletionId: deletion.id, userId, dueAt: deletion.dueAt }, 'accounts: the user asked for the account to be deleted');
      await mailScheduled(user, deletion.dueAt, immediate);
    }
    return status(userId);
  }

  async function cancel(userId: string): Promise<AccountDeletionStatusView> {
    const pending = await pendingDeletionOf(database, userId);
    if (!pending) throw new AppError('not_found', 'Your account is not scheduled for deletion.', 404);
    if (pending.origin === 'child-report')
      throw new AppError('deletion_not_cancelable', 'This deletion was decided by our team and cannot be canceled here. Contact support.', 409);
    const now = clock.now();
    const canceled = await database.transaction((tx) => cancelScheduledDeletion(tx, pending.id, now));
    if (!canceled) throw new AppError('deletion_in_progress', 'The deletion of your account is already under way and can no longer be canceled.', 409);
    logger.info({ deletionId: pending.id, userId }, 'accounts: the deletion was canceled');
    const user = await findUserForDeletion(database, userId);
    if (user) {
      await sendTemplateMail(deps.mailer, user.email, 'account-deletion-canceled', user.language, {
        name: user.name || user.email,
        when: now,
        supportEmail: config.SUPPORT_EMAIL,
      }).catch((err: unknown) => logger.error({ err }, 'accounts: could not send the deletion-canceled notice'));
    }
    return status(userId);
  }

  async function schedule(userId: string, by: DeletionActor): Promise<{ deletionId: string; dueAt: Date }> {
    const dueAt = new Date(clock.now().getTime() + graceMs);
    const immediate = graceMs === 0;
    const { deletion, created, user } = await ensureDeletion(
      userId,
      { origin: by.origin ?? 'operator', actorId: by.actorId, reason: by.reason, dueAt, takeOver: true },
      async (tx, d) => {
        await deleteUserSessions(tx, userId);
        if (immediate) await queue.enqueue(accountDelete, { deletionId: d.id }, { tx });
      },
    );
    logger.info(
      { deletionId: deletion.id, userId, dueAt: deletion.dueAt, actorId: by.actorId, reason: by.reason },
      'accounts: an operator scheduled the account deletion',
    );
    if (created) await mailScheduled(user, deletion.dueAt, immediate);
    return { deletionId: deletion.id, dueAt: deletion.dueAt };
  }

  /** Step 2: every subscription the provider could still charge is canceled there first, then here. */
  async function cancelSubscriptions(d: DeletionRow, userId: string): Promise<number> {
    let canceled = 0;
    for (const sub of await chargeableSubscriptionsOf(database, userId)) {
      const provider = payments.has(sub.provider) ? payments.get(sub.provider) : null;
      try {
        if (!provider?.cancelSubscription) {
          throw new Error(`${providerLabel(sub.provider)} is not configured on this server, so its subscription ${sub.providerRef} cannot be canceled`);
        }
        try {
          await provider.cancelSubscription(sub.providerRef, { atPeriodEnd: false, idempotencyKey: `account-deletion:${sub.id}` });
        } catch (err) {
          // already canceled there (a webhook we have not applied yet): nothing is left to cancel
          if (!(err instanceof PaymentProviderError && alreadyGone(err))) throw err;
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await updateDeletion(database, d.id, { lastError: `subscription ${sub.id}: ${message}`.slice(0, 2000) });
        logger.warn({ err, deletionId: d.id, subscriptionId: sub.id }, 'accounts: a subscription could not be canceled; the deletion waits and is retried');
        throw new AppError(
          'payment_provider_error',
          `${providerLabel(sub.provider)} could not cancel the account's subscription, so nothing was deleted yet; the deletion is retried automatically. (${message})`,
          502,
        );
      }
      await markSubscriptionCanceled(database, sub.id, clock.now());
      canceled += 1;
    }
    return canceled;
  }

  /** Step 3: one transaction, all of it or nothing. */
  async function erase(d: DeletionRow, userId: string, subscriptionsCanceled: number): Promise<AccountDeletionResult | null> {
    return database.transaction(async (tx): Promise<AccountDeletionResult | null> => {
      const user = await lockUserForDeletion(tx, userId);
      const row = await lockDeletion(tx, d.id);
      if (!row || row.status !== 'running') return row?.status === 'completed' ? finished(row, userId) : null;
      const now = clock.now();
      if (!user) {
        // the account row went another way: nothing of it is left to delete
        const done = await updateDeletion(tx, d.id, {
          status: 'completed',
          completedAt: now,
          removed: counts(row.removed),
          kept: counts(row.kept),
          lastError: null,
          unlink: true,
        });
        return finished(done ?? row, userId);
      }
      const gens = await generationsOf(tx, userId);
      const refs = await mediaOf(tx, userId);
      const userHeld = (await heldUsersAmong(tx, [userId], now)).has(userId);
      const heldGens = userHeld
        ? new Set(gens.map((g) => g.id))
        : await heldGenerationsAmong(
            tx,
            gens.map((g) => g.id),
            now,
          );
      const heldRefs = userHeld
        ? new Set(refs.map((m) => m.id))
        : await heldMediaAmong(
            tx,
            refs.map((m) => m.id),
            now,
          );
      const goneGens = gens.filter((g) => !heldGens.has(g.id));
      const goneRefs = refs.filter((m) => !heldRefs.has(m.id));
      const held = userHeld || heldGens.size > 0 || heldRefs.size > 0;
      await deleteGenerationRows(
        tx,
        userId,
        goneGens.map((g) => g.id),
      );
      await deleteMediaRows(
        tx,
        userId,
        goneRefs.map((m) => m.id),
      );
      const keys = [...goneGens.flatMap(storedKeysOf), ...goneRefs.flatMap((m) => [m.storageKey, ...(m.previewKey ? [m.previewKey] : [])])];
      let removed: DeletionCounts = { generations: goneGens.length, media: goneRefs.length, subscriptionsCanceled };
      let kept: DeletionCounts = { generations: heldGens.size, media: heldRefs.size };
      if (held) {
        await enqueueDeletes(tx, keys);
        await closeHeldAccount(tx, userId, CLOSED_REASON, now);
        await updateDeletion(tx, d.id, { status: 'closed', removed, kept, lastError: null });
        return { userId, deletionId: d.id, subjectRef: d.subjectRef, outcome: 'closed', removed, kept };
      }
      keys.push(...(await exportKeysOf(tx, userId)));
      removed = { ...removed, ...(await removePersonalRows(tx, user)) };
      kept = { ...kept, ...(await pseudonymiseKeptRows(tx, user, d.subjectRef)) };
      await enqueueDeletes(tx, keys);
      await deleteUserRow(tx, userId);
      removed.profile = 1;
      await updateDeletion(tx, d.id, { status: 'completed', completedAt: now, removed, kept, lastError: null, unlink: true });
      return { userId, deletionId: d.id, subjectRef: d.subjectRef, outcome: 'deleted', removed, kept };
    });
  }

  async function enqueueDeletes(tx: DbHandle, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) await queue.enqueue(mediaDeleteObjects, { keys: keys.slice(i, i + 1000) }, { tx });
  }

  const finished = (row: DeletionRow, userId: string): AccountDeletionResult => ({
    userId,
    deletionId: row.id,
    subjectRef: row.subjectRef,
    outcome: row.status === 'closed' ? 'closed' : 'deleted',
    removed: counts(row.removed),
    kept: counts(row.kept),
  });

  async function run(deletionId: string, userHint?: string): Promise<AccountDeletionResult | null> {
    // 1. claim: `running` from here on (a canceled or not yet due deletion is left alone)
    const claimed = await database.transaction(async (tx) => {
      const d = await lockDeletion(tx, deletionId);
      if (!d) return null;
      if (d.status === 'completed') return { kind: 'done' as const, result: finished(d, userHint ?? d.userId ?? '') };
      if (d.status === 'canceled') return null;
      if (d.status === 'scheduled' && d.dueAt.getTime() > clock.now().getTime()) return null;
      if (!d.userId) {
        const done = await updateDeletion(tx, d.id, { status: 'completed', completedAt: clock.now() });
        return { kind: 'done' as const, result: finished(done ?? d, userHint ?? '') };
      }
      if (d.status !== 'running') {
        const running = await updateDeletion(tx, d.id, { status: 'running', startedAt: d.startedAt ?? clock.now() });
        await deleteUserSessions(tx, d.userId);
        return { kind: 'run' as const, row: running ?? d, userId: d.userId };
      }
      return { kind: 'run' as const, row: d, userId: d.userId };
    });
    if (!claimed) return null;
    if (claimed.kind === 'done') return claimed.result;
    const { row: d, userId } = claimed;
    // 2. the payment providers first: nothing is deleted while a subscription could still charge
    const subscriptionsCanceled = await cancelSubscriptions(d, userId);
    // 3. the rest, in one transaction
    logger.info({ deletionId, userId }, 'accounts: deleting the account data');
    const result = await erase(d, userId, subscriptionsCanceled);
    if (result) {
      logger.info(
        {
          deletionId,
          outcome: result.outcome,
          subjectRef: result.subjectRef,
          removed: result.removed,
          kept: result.kept,
          origin: d.origin,
          actorId: d.actorId,
        },
        result.outcome === 'deleted' ? 'accounts: account deleted' : 'accounts: account closed; a legal hold keeps part of it',
      );
    }
    return result;
  }

  async function deleteAccount(userId: string, by: DeletionActor): Promise<AccountDeletionResult> {
    const { deletion } = await ensureDeletion(userId, {
      origin: by.origin ?? 'operator',
      actorId: by.actorId,
      reason: by.reason,
      dueAt: clock.now(),
      // the daily pass that finishes held accounts keeps the deletion as it was asked for
      takeOver: by.actorId !== null || by.origin !== undefined,
    });
    const result = await run(deletion.id, userId);
    if (result) return result;
    // canceled or finished in between: say what the row says now
    const row = await getDeletion(database, deletion.id);
    if (row?.status === 'completed' || row?.status === 'closed') return finished(row, userId);
    throw new AppError('deletion_in_progress', 'The deletion could not start (it was canceled or is running elsewhere). Try again.', 409);
  }

  return {
    status,
    request,
    cancel,
    schedule,
    deleteAccount,
    run: (id) => run(id),
    async enqueueDue() {
      const now = clock.now();
      const slot = Math.floor(now.getTime() / SWEEP_SLOT_MS);
      let sent = 0;
      for (const id of await dueDeletionIds(database, now, 500)) {
        if (await queue.enqueue(accountDelete, { deletionId: id }, { jobId: sweepJobId(id, slot) })) sent += 1;
      }
      return sent;
    },
    async finishPending() {
      let finishedCount = 0;
      for (const id of await accountsPendingDeletion(database, 500)) {
        try {
          const r = await deleteAccount(id, { actorId: null, reason: 'legal hold ended' });
          if (r.outcome === 'deleted') finishedCount += 1;
        } catch (err) {
          logger.error({ err, userId: id }, 'accounts: a closed account could not be finished');
        }
      }
      return finishedCount;
    },
  };
}

/** The provider no longer has it running: unknown there, or canceled already. */
function alreadyGone(err: PaymentProviderError): boolean {
  if (err.retryable) return false;
  return /already canceled|already cancelled|resource_missing/i.test(err.message) || (err.status === 404 && /no such|not found/i.test(err.message));
}

export type { AccountDeletionStatusView };
