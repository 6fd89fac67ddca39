import type { AdminUserDetail, AdminUserFlag, AdminUserRow, AdminUserSearchQuery } from '../../../shared/api/admin-users';
import type { CreditsResponse } from '../../../shared/api/credits';
import type { ExportView } from '../../../shared/api/exports';
import type { Clock } from '../../adapters/clock';
import type { Database, DbHandle } from '../../db/client';
import type { UserRole, UserStatus } from '../../db/schema';
import { AppError } from '../../errors';
import { deleteUserSessions, listActiveSessions } from '../auth/auth.repo';
import { deviceFingerprint, type DeviceInfo } from '../auth/request-info';
import { createCredits, InsufficientCredits, ledgerReference, type Credits } from '../credits/credits';
import { sqlCreditsRepo, type LedgerRow } from '../credits/credits.repo';
import { sessionDeviceFacts } from '../privacy/export.repo';
import type { ExportsService } from '../privacy/export.service';
import type { AccountDeletionResult, AccountDeletionService } from '../users/account-deletion.service';
import { clearGenerationHold, lockGenerationHold } from '../abuse/payment-risk.repo';
import { auditTrail, type AuditActor, type AuditService } from './audit.service';
import {
  countStrikes,
  findConsoleUser,
  findLedgerByKey,
  findPendingDeletion,
  findTarget,
  findUserSearchRow,
  latestExports,
  latestGenerations,
  latestOrders,
  listApiKeys,
  listCases,
  listDevices,
  listPolicyDismissals,
  lockActiveAdmins,
  lockTarget,
  searchUsers,
  updateUserRole,
  updateUserStatus,
  type TargetRow,
  type UserSearchRow,
} from './users-console.repo';

/**
 * The console's users section (issue 18) and the CLI's user commands: search, a user's page, and
 * what operators do to an account — grant or deduct credits, suspend, reactivate, terminate, change
 * the role, sign out everywhere, start an export, delete. Each action appends an audit entry with
 * the state before and after, in the transaction of the change where the change has one.
 *
 * Rules every action shares: a console operator cannot act on an account whose role is above
 * their own (403 `higher_role`; the CLI is the operator at the machine and may), cannot take
 * their own account's role, status or credits into their hands (409 `own_account`), and no change
 * may leave the installation without an active admin (409 `last_admin`).
 */

const rank: Record<UserRole, number> = { user: 0, support: 1, moderator: 2, admin: 3 };
const LATEST = 20;

export interface CreditChange {
  /** positive: a grant; negative: a deduction, which may not take the balance below zero */
  amount: number;
  reason: string;
  /** the client's Idempotency-Key: the same key for the same user applies the change once */
  idempotencyKey?: string | undefined;
}

export interface CreditChangeResult {
  balance: number;
  held: number;
  /** the key had been applied already: nothing changed */
  replayed: boolean;
}

export type OperatorDeletion = { outcome: 'scheduled'; userId: string; deletionId: string; dueAt: Date } | AccountDeletionResult;

export interface UsersConsoleDeps {
  database: Database;
  clock: Pick<Clock, 'now'>;
  /** the audit log (a function: the services are wired after this one is made) */
  audit: () => Pick<AuditService, 'record'>;
  /** account deletion, for the delete action */
  accountDeletion?: () => Pick<AccountDeletionService, 'schedule' | 'deleteAccount'>;
  /** data exports, for the export action */
  exports?: () => Pick<ExportsService, 'request'>;
  /** default: the credits module on the database, dated by `clock` */
  credits?: Credits;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** A unique-constraint violation, as the driver raised it or wrapped by Drizzle. */
function isUniqueViolation(err: unknown): boolean {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

function flagsOf(r: { billingFlag: string | null; emailVerified: boolean; deletionPending: boolean }): AdminUserFlag[] {
  const flags: AdminUserFlag[] = [];
  if (r.billingFlag) flags.push('billing_flag');
  if (!r.emailVerified) flags.push('email_unverified');
  if (r.deletionPending) flags.push('deletion_scheduled');
  return flags;
}

export function toAdminUserRow(r: UserSearchRow): AdminUserRow {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    status: r.status,
    credits: r.credits,
    createdAt: r.createdAt.toISOString(),
    lastSeenAt: iso(r.lastSeenAt),
    flags: flagsOf(r),
  };
}

const ledgerView = (r: LedgerRow) => ({
  id: String(r.id),
  kind: r.kind,
  amount: r.amount,
  heldChange: r.heldDelta,
  balanceAfter: r.balanceAfter,
  reason: r.reason,
  reference: r.reference,
  createdAt: r.createdAt.toISOString(),
});

const notFound = () => new AppError('not_found', 'That user was not found.', 404);

export function createUsersConsoleService({
  database,
  clock,
  audit,
  accountDeletion,
  exports,
  credits = createCredits(sqlCreditsRepo, clock),
}: UsersConsoleDeps) {
  /** The checks every action makes on the account it acts on. */
  function assertMayActOn(actor: AuditActor, target: TargetRow, self: 'refuse' | 'allow', ownMessage?: string) {
    // the CLI and the system have no role: the person at the machine may do anything
    if (!actor.role) return;
    const role = actor.role as UserRole;
    if (rank[role] < rank[target.role]) {
      throw new AppError('higher_role', `This account is a ${target.role}: only an operator with that role or a higher one may do this.`, 403);
    }
    if (self === 'refuse' && actor.id === target.id) {
      throw new AppError('own_account', ownMessage ?? 'You cannot do this to your own account: ask another operator.', 409);
    }
  }

  async function target(db: DbHandle, userId: string): Promise<TargetRow> {
    const t = await findTarget(db, userId);
    if (!t) throw notFound();
    return t;
  }

  async function rowOf(userId: string): Promise<AdminUserRow> {
    const row = await findUserSearchRow(database, userId);
    if (!row) throw notFound();
    return toAdminUserRow(row);
  }

  /** The ledger page of a user, newest first (the cursor is the last entry's id). */
  async function ledgerPage(db: DbHandle, userId: string, page: { limit: number; cursor?: string | undefined }): Promise<CreditsResponse> {
    if (page.cursor !== undefined && !/^\d{1,18}$/.test(page.cursor)) throw new AppError('invalid_request', 'cursor is not valid.', 400);
    const [b, rows] = await Promise.all([credits.balanceOf(db, userId), credits.history(db, userId, { limit: page.limit + 1, beforeId: page.cursor })]);
    const items = rows.slice(0, page.limit).map(ledgerView);
    return { balance: b.balance, held: b.held, history: { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null } };
  }

  /** Refuses a change that would leave no active admin; `admins` are the active admins, locked. */
  function assertAdminRemains(admins: string[], t: TargetRow, stillAdmin: boolean) {
    if (stillAdmin || t.role !== 'admin' || t.status !== 'active') return;
    if (!admins.some((id) => id !== t.id)) {
      throw new AppError('last_admin', 'This is the last active admin: make another account admin first.', 409);
    }
  }

  return {
    async search(query: AdminUserSearchQuery): Promise<{ users: AdminUserRow[]; nextCursor: string | null }> {
      const page = await searchUsers(database, { q: query.q, role: query.role, status: query.status, cursor: query.cursor, limit: query.limit });
      if (!page) throw new AppError('invalid_request', 'cursor is not valid: start the search again.', 400);
      return { users: page.items.map(toAdminUserRow), nextCursor: page.nextCursor };
    },

    /** Everything the user's page shows; never a password hash, a key's secret or a session token. */
    async detail(userId: string): Promise<AdminUserDetail> {
      const u = await findConsoleUser(database, userId);
      if (!u) throw notFound();
      const [devices, facts, sessions, ledger, orders, generations, keys, cases, strikes, dismissals, deletion, exportRows] = await Promise.all([
        listDevices(database, userId),
        sessionDeviceFacts(database, userId),
        listActiveSessions(database, userId),
        ledgerPage(database, userId, { limit: LATEST }),
        latestOrders(database, userId, LATEST),
        latestGenerations(database, userId, LATEST),
        listApiKeys(database, userId),
        listCases(database, userId, 50),
        countStrikes(database, userId),
        listPolicyDismissals(database, userId),
        findPendingDeletion(database, userId),
        latestExports(database, userId, 10),
      ]);
      // a device is known by the fingerprint of its type, browser and OS: name it by the session facts it came from
      const known = new Map(
        facts.map((f) => [deviceFingerprint({ deviceType: (f.deviceType ?? 'other') as DeviceInfo['deviceType'], browser: f.browser, os: f.os }), f]),
      );
      return {
        profile: {
          id: u.id,
          email: u.email,
          name: u.name,
          role: u.role,
          status: u.status,
          statusReason: u.statusReason,
          emailVerified: u.emailVerified,
          language: u.language,
          region: u.region,
          referralCode: u.referralCode,
          referredBy: u.referredBy,
          signInMethods: u.signInMethods,
          createdAt: u.createdAt.toISOString(),
          lastSignInAt: iso(u.lastSignInAt),
        },
        flags: flagsOf({ billingFlag: u.billingFlag, emailVerified: u.emailVerified, deletionPending: !!deletion || !!u.deletionRequestedAt }),
        devices: devices.map((d) => {
          const f = known.get(d.fingerprint);
          return {
            id: d.fingerprint,
            deviceType: f?.deviceType ?? null,
            browser: f?.browser ?? null,
            os: f?.os ?? null,
            firstSeenAt: d.firstSeenAt.toISOString(),
            lastSeenAt: d.lastSeenAt.toISOString(),
          };
        }),
        sessions: sessions.map((s) => ({
          id: s.id,
          ip: s.ipAddress,
          deviceType: s.deviceType,
          browser: s.browser,
          os: s.os,
          region: s.region,
          createdAt: s.createdAt.toISOString(),
          lastSeenAt: s.lastSeenAt.toISOString(),
        })),
        credits: { available: ledger.balance, held: ledger.held, ledger: ledger.history.items, nextLedgerCursor: ledger.history.nextCursor },
        orders: orders.map((o) => ({ ...o, createdAt: o.createdAt.toISOString(), paidAt: iso(o.paidAt) })),
        generations: generations.map((g) => ({
          id: g.id,
          modelId: g.modelId,
          status: g.status,
          priceCredits: g.priceCredits,
          createdAt: g.createdAt.toISOString(),
          deleted: g.deletedAt !== null,
        })),
        apiKeys: keys.map((k) => ({
          id: k.id,
          name: k.name,
          prefix: k.prefix,
          scopes: k.scopes,
          createdAt: k.createdAt.toISOString(),
          lastUsedAt: iso(k.lastUsedAt),
          expiresAt: iso(k.expiresAt),
          revokedAt: iso(k.revokedAt),
        })),
        safety: {
          billingFlag: u.billingFlag,
          strikes,
          cases: cases.map((c) => ({ ...c, openedAt: c.openedAt.toISOString(), closedAt: iso(c.closedAt) })),
        },
        consent: {
          marketingOptInAt: iso(u.marketingOptInAt),
          policyNoticeDismissals: dismissals.map((d) => ({ ...d, dismissedAt: d.dismissedAt.toISOString() })),
        },
        privacy: {
          pendingDeletion: deletion ? { ...deletion, requestedAt: deletion.requestedAt.toISOString(), dueAt: deletion.dueAt.toISOString() } : null,
          closedForDeletionAt: iso(u.deletionRequestedAt),
          exports: exportRows.map((e) => ({
            id: e.id,
            status: e.status,
            byOperator: e.requestedBy !== null,
            createdAt: e.createdAt.toISOString(),
            finishedAt: iso(e.finishedAt),
            expiresAt: iso(e.expiresAt),
          })),
        },
      };
    },

    async ledger(userId: string, page: { limit: number; cursor?: string | undefined }): Promise<CreditsResponse> {
      await target(database, userId);
      return ledgerPage(database, userId, page);
    },

    /**
     * Grants (amount > 0) or deducts (amount < 0) credits: one ledger row and one audit entry in one
     * transaction. A deduction larger than the spendable balance changes nothing (409). With an
     * idempotency key, the balance row is locked before the key is looked up, so any number of
     * identical requests at once apply it exactly once; the same key with another amount or reason is 409.
     */
    async changeCredits(actor: AuditActor, userId: string, change: CreditChange): Promise<CreditChangeResult> {
      const { amount } = change;
      const reason = change.reason.trim();
      if (!Number.isSafeInteger(amount) || amount === 0) throw new AppError('invalid_request', 'amount must be a whole number of credits other than 0.', 400);
      if (!reason) throw new AppError('invalid_request', 'reason is required (it is kept in the ledger and the audit log).', 400);
      const t = await target(database, userId);
      assertMayActOn(actor, t, 'refuse', 'You cannot change your own credits: ask another operator.');
      const key = change.idempotencyKey ? `console-credits:${userId}:${change.idempotencyKey}` : null;

      const replay = async (db: DbHandle): Promise<CreditChangeResult | null> => {
        if (!key) return null;
        const prior = await findLedgerByKey(db, key);
        if (!prior) return null;
        if (prior.amount !== amount || prior.reason !== reason) {
          throw new AppError('idempotency_key_reused', 'This Idempotency-Key was used for another credit change of this user.', 409);
        }
        const b = await credits.balanceOf(db, userId);
        return { balance: b.balance, held: b.held, replayed: true };
      };

      try {
        return await database.transaction(async (tx) => {
          await credits.ensureAccount(tx, userId);
          // one writer per user: a concurrent request with the same key waits here, then finds it applied
          await credits.lockBalance(tx, userId);
          const replayed = await replay(tx);
          if (replayed) return replayed;
          const before = await credits.balanceOf(tx, userId);
          let balance: number | null;
          try {
            balance = await credits.apply(tx, {
              userId,
              kind: amount > 0 ? 'grant' : 'adjustment',
              amount,
              reason,
              reference: actor.via === 'cli' ? ledgerReference.operator : 'console',
              idempotencyKey: key,
            });
          } catch (err) {
            if (err instanceof InsufficientCredits) {
              throw new AppError(
                'insufficient_credits',
                `Cannot deduct ${-amount} credits: the account has ${before.balance} spendable credits, and a balance never goes below zero.`,
                409,
              );
            }
            throw err;
          }
          if (balance === null) throw new Error('an operator credit change was skipped as a replay');
          await audit().record(
            actor,
            {
              action: amount > 0 ? 'user.credits.grant' : 'user.credits.deduct',
              targetType: 'user',
              targetId: userId,
              reason,
              before: { balance: before.balance, held: before.held },
              after: { balance, held: before.held, amount },
            },
            tx,
          );
          return { balance, held: before.held, replayed: false };
        });
      } catch (err) {
        // (the lock makes this rare: a request whose balance row did not exist yet when it began)
        if (key && isUniqueViolation(err)) {
          const r = await replay(database);
          if (r) return r;
        }
        throw err;
      }
    },

    /**
     * Suspends, terminates or reactivates an account (what `user:suspend` / `user:reactivate` did):
     * anything but active ends every session at once, and sign-in and generation are refused with
     * the reason. Reactivating clears the reason, and lifts a generation hold (a dispute's, issue 19).
     */
    async setStatus(actor: AuditActor, userId: string, status: UserStatus, reason: string | null): Promise<AdminUserRow> {
      const why = status === 'active' ? null : reason?.trim() || null;
      await database.transaction(async (tx) => {
        const admins = await lockActiveAdmins(tx);
        const t = await lockTarget(tx, userId);
        if (!t) throw notFound();
        assertMayActOn(actor, t, 'refuse', 'You cannot suspend, terminate or reactivate your own account: ask another operator.');
        assertAdminRemains(admins, t, status === 'active');
        // a dispute's generation hold is lifted by reactivation (the review is done)
        const held = status === 'active' ? ((await lockGenerationHold(tx, userId))?.hold ?? null) : null;
        if (held) await clearGenerationHold(tx, userId, clock.now());
        await updateUserStatus(tx, userId, status, why, clock.now());
        const ended = status === 'active' ? 0 : await deleteUserSessions(tx, userId);
        await audit().record(
          actor,
          {
            action: status === 'active' ? 'user.reactivate' : status === 'suspended' ? 'user.suspend' : 'user.terminate',
            targetType: 'user',
            targetId: userId,
            reason: reason?.trim() || null,
            before: { status: t.status, statusReason: t.statusReason, ...(held ? { generationHold: held } : {}) },
            after: { status, statusReason: why, sessionsEnded: ended, ...(held ? { generationHold: null } : {}) },
          },
          tx,
        );
      });
      return rowOf(userId);
    },

    /** Gives an account another role. Nobody changes their own role in the console, and the last active admin stays one. */
    async setRole(actor: AuditActor, userId: string, role: UserRole, reason?: string | null): Promise<AdminUserRow> {
      await database.transaction(async (tx) => {
        const admins = await lockActiveAdmins(tx);
        const t = await lockTarget(tx, userId);
        if (!t) throw notFound();
        assertMayActOn(actor, t, 'refuse', 'You cannot change your own role: ask another admin.');
        assertAdminRemains(admins, t, role === 'admin');
        await updateUserRole(tx, userId, role, clock.now());
        await audit().record(
          actor,
          { action: 'user.role', targetType: 'user', targetId: userId, reason: reason?.trim() || null, before: { role: t.role }, after: { role } },
          tx,
        );
      });
      return rowOf(userId);
    },

    /** Ends every session of the account (the user signs in again; nothing else changes). */
    async signOutEverywhere(actor: AuditActor, userId: string, reason?: string | null): Promise<{ ended: number }> {
      return database.transaction(async (tx) => {
        const t = await target(tx, userId);
        assertMayActOn(actor, t, 'allow');
        const ended = await deleteUserSessions(tx, userId);
        await audit().record(
          actor,
          { action: 'user.sign-out-everywhere', targetType: 'user', targetId: userId, reason: reason?.trim() || null, after: { sessionsEnded: ended } },
          tx,
        );
        return { ended };
      });
    },

    /** Starts an export of the user's data on their behalf (the export service mails them the link). */
    async startExport(actor: AuditActor, userId: string): Promise<ExportView> {
      if (!exports) throw new Error('the users console was made without the exports service');
      const t = await target(database, userId);
      assertMayActOn(actor, t, 'allow');
      // the export service writes the entry in the transaction that records the export
      return exports().request(userId, { requestedBy: actor.id, audit: auditTrail(audit(), actor) });
    },

    /**
     * Deletes the account now, or after the grace period (`grace`). An operator deletes their own
     * account from their account page (password, grace period), never here.
     */
    async deleteAccount(actor: AuditActor, userId: string, opts: { when: 'now' | 'grace'; reason: string }): Promise<OperatorDeletion> {
      if (!accountDeletion) throw new Error('the users console was made without the account deletion service');
      const t = await target(database, userId);
      assertMayActOn(actor, t, 'refuse', 'Delete your own account from your account page (it asks for your password and has a grace period).');
      const by = { actorId: actor.id, reason: opts.reason.trim(), origin: 'operator' as const };
      const before = { role: t.role, status: t.status };
      // the deletion commits its own transactions (and calls the payment provider): the entry follows it
      if (opts.when === 'grace') {
        const s = await accountDeletion().schedule(userId, by);
        await audit().record(actor, {
          action: 'user.delete.schedule',
          targetType: 'user',
          targetId: userId,
          reason: by.reason,
          before,
          after: { outcome: 'scheduled', dueAt: s.dueAt.toISOString() },
        });
        return { outcome: 'scheduled', userId, deletionId: s.deletionId, dueAt: s.dueAt };
      }
      const r = await accountDeletion().deleteAccount(userId, by);
      await audit().record(actor, {
        action: 'user.delete',
        targetType: 'user',
        targetId: userId,
        reason: by.reason,
        before,
        // neither the pseudonym nor the deletion's id (which leads to it): the log would tie this account id to what is kept under it
        after: { outcome: r.outcome, removed: r.removed, kept: r.kept },
      });
      return r;
    },
  };
}

export type UsersConsoleService = ReturnType<typeof createUsersConsoleService>;
