import {
  CLUSTER_MEMBERS_MAX,
  LINKED_MAX,
  strongSignalKinds,
  type AdminFreeCreditsResult,
  type AdminUserRisk,
  type RiskClustersQuery,
  type RiskClustersResult,
} from '../../../shared/api/admin-risk';
import type { Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { AppError } from '../../errors';
import { signalHash, signalKey } from '../abuse/signal-hash';
import { createCredits, ledgerKey, ledgerReference, type Credits } from '../credits/credits';
import { sqlCreditsRepo } from '../credits/credits.repo';
import type { AuditActor, AuditService } from './audit.service';
import {
  claimFreeCredits,
  decodeClusterCursor,
  encodeClusterCursor,
  findGrantTarget,
  findRiskFlags,
  listClusterMembers,
  listClusters,
  listLinkedAccounts,
  listOpenAccountCases,
  listRiskyOrders,
  listSignals,
  lockSignupGrant,
  markGrantGranted,
} from './risk-console.repo';

/**
 * Risk in the operator console (issue 19, ADR 19): what the abuse defences recorded about an
 * account, shown so a person can judge it — its signals (masked), the accounts that share them
 * (strong: a device, fingerprint, card, wallet or canonical address; weak: a network, only when the
 * two used it within RISK_IP_LINK_DAYS of each other), its flags with their reasons; the clusters
 * of accounts holding one strong signal; and the one action, granting the free credits a sign-up
 * decision withheld (once, through the credits ledger, audited in the same transaction).
 */

export interface RiskConsoleDeps {
  database: Database;
  clock: Pick<Clock, 'now'>;
  /** read at call time: a console change of RISK_IP_LINK_DAYS or SIGNUP_FREE_CREDITS applies at once */
  config: Pick<Config, 'RISK_IP_LINK_DAYS' | 'SIGNUP_FREE_CREDITS' | 'SESSION_SECRET'>;
  audit: () => Pick<AuditService, 'record'>;
  /** default: the credits module on the database, dated by `clock` */
  credits?: Credits;
}

const LIST_MAX = 50;
const iso = (d: Date | null) => (d ? d.toISOString() : null);
const notFound = () => new AppError('not_found', 'That user was not found.', 404);

export function createRiskConsoleService({ database, clock, config, audit, credits = createCredits(sqlCreditsRepo, clock) }: RiskConsoleDeps) {
  return {
    /** An account's signals, linked accounts and flags. */
    async userRisk(userId: string): Promise<AdminUserRisk> {
      const flags = await findRiskFlags(database, userId);
      if (!flags) throw notFound();
      const windowDays = config.RISK_IP_LINK_DAYS;
      const [signals, linked, cases, orders] = await Promise.all([
        listSignals(database, userId, windowDays),
        listLinkedAccounts(database, userId, windowDays, LINKED_MAX + 1),
        listOpenAccountCases(database, userId, LIST_MAX),
        listRiskyOrders(database, userId, LIST_MAX),
      ]);
      const g = flags.grant;
      return {
        userId,
        ipWindowDays: windowDays,
        signals: signals.map((s) => ({
          kind: s.kind,
          label: s.label,
          source: s.source,
          firstSeenAt: s.firstSeenAt.toISOString(),
          lastSeenAt: s.lastSeenAt.toISOString(),
          sharedWith: s.sharedWith,
        })),
        linked: linked.slice(0, LINKED_MAX).map((l) => ({
          id: l.id,
          email: l.email,
          role: l.role,
          status: l.status,
          statusReason: l.statusReason,
          createdAt: l.createdAt.toISOString(),
          freeCredits: l.freeCredits,
          strength: l.strong ? 'strong' : 'weak',
          kinds: l.kinds,
          lastSharedAt: l.lastSharedAt.toISOString(),
        })),
        linkedTruncated: linked.length > LINKED_MAX,
        flags: {
          generationHold: flags.generationHold ? { reason: flags.generationHold, since: iso(flags.generationHoldAt) } : null,
          billingFlag: flags.billingFlag,
          freeCredits: g
            ? {
                state: g.state,
                credits: g.credits,
                reason: g.reason,
                matchedUser: g.matchedUserId ? { id: g.matchedUserId, email: g.matchedEmail } : null,
                decidedAt: iso(g.decidedAt),
                createdAt: g.createdAt.toISOString(),
              }
            : null,
          openCases: cases.map((c) => ({ ...c, openedAt: c.openedAt.toISOString() })),
          riskyOrders: orders.map((o) => ({ ...o, createdAt: o.createdAt.toISOString() })),
        },
      };
    },

    /** A page of clusters, largest (or newest sign-up) first, with each one's newest members. */
    async clusters(query: RiskClustersQuery): Promise<RiskClustersResult> {
      const after = query.cursor === undefined ? null : decodeClusterCursor(query.cursor);
      if (query.cursor !== undefined && !after) throw new AppError('invalid_request', 'cursor is not valid: start the list again.', 400);
      const rows = await listClusters(database, {
        kinds: query.kind ? [query.kind] : [...strongSignalKinds],
        sort: query.sort,
        after,
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const members = await listClusterMembers(database, page, CLUSTER_MEMBERS_MAX);
      const last = page.at(-1);
      return {
        clusters: page.map((c) => ({
          id: `${c.kind}:${c.valueHash}`,
          kind: c.kind as (typeof strongSignalKinds)[number],
          label: c.label,
          size: c.size,
          suspended: c.suspended,
          terminated: c.terminated,
          freeCredits: c.freeCredits,
          newestSignupAt: c.newestSignupAt.toISOString(),
          lastSeenAt: c.lastSeenAt.toISOString(),
          members: members
            .filter((m) => m.kind === c.kind && m.valueHash === c.valueHash)
            .map((m) => ({
              id: m.id,
              email: m.email,
              status: m.status,
              createdAt: m.createdAt.toISOString(),
              freeCredits: m.freeCredits,
              lastSeenAt: m.lastSeenAt.toISOString(),
            })),
        })),
        nextCursor:
          rows.length > query.limit && last
            ? encodeClusterCursor({ key: query.sort === 'size' ? String(last.size) : last.newestMicros, kind: last.kind, hash: last.valueHash })
            : null,
      };
    },

    /**
     * Grants the free credits a sign-up decision withheld: once per account (the ledger's sign-up
     * key, the same one the automatic grant uses, so the two can never both apply), the decision
     * marked granted with who decided, the canonical address's one claim recorded, and the audit
     * entry, all in one transaction. Granted already: nothing changes (`replayed`).
     */
    async grantFreeCredits(actor: AuditActor, userId: string, reasonText: string): Promise<AdminFreeCreditsResult> {
      const reason = reasonText.trim();
      if (!reason) throw new AppError('invalid_request', 'reason is required (it is kept in the audit log).', 400);
      const target = await findGrantTarget(database, userId);
      if (!target) throw notFound();
      if (actor.role && actor.id === userId) throw new AppError('own_account', 'You cannot grant free credits to your own account: ask another operator.', 409);

      return database.transaction(async (tx) => {
        const grant = await lockSignupGrant(tx, userId);
        if (grant?.state === 'granted') {
          const b = await credits.balanceOf(tx, userId);
          return { state: 'granted' as const, credits: grant.credits, balance: b.balance, replayed: true };
        }
        if (!grant || grant.state !== 'withheld') {
          const why =
            grant?.state === 'pending'
              ? 'The address is not verified yet: the free-credit decision is made at verification.'
              : 'This account has no withheld free-credit decision (free credits were off at its sign-up, or it predates the decisions).';
          throw new AppError('not_withheld', why, 409);
        }
        const amount = grant.credits > 0 ? grant.credits : config.SIGNUP_FREE_CREDITS;
        if (amount <= 0) throw new AppError('not_withheld', 'Free credits are off (SIGNUP_FREE_CREDITS is 0): there is nothing to grant.', 409);
        const now = clock.now();
        await credits.ensureAccount(tx, userId);
        const before = await credits.balanceOf(tx, userId);
        const applied = await credits.apply(tx, {
          userId,
          kind: 'grant',
          amount,
          reason: 'Free credits on sign-up (granted by an operator after review)',
          reference: ledgerReference.signup,
          idempotencyKey: ledgerKey.signupGrant(userId),
        });
        const decided = `Granted by operator ${actor.id ?? actor.label} after review: ${reason}`;
        if (!(await markGrantGranted(tx, userId, amount, decided, now))) throw new Error('a withheld free-credit decision changed under its lock');
        if (target.canonicalEmail) {
          await claimFreeCredits(tx, signalHash(signalKey(config.SESSION_SECRET), 'canonical_email', target.canonicalEmail), userId, now);
        }
        const balance = applied ?? (await credits.balanceOf(tx, userId)).balance;
        await audit().record(
          actor,
          {
            action: 'user.free-credits.grant',
            targetType: 'user',
            targetId: userId,
            reason,
            before: { state: grant.state, credits: grant.credits, reason: grant.reason, matchedUserId: grant.matchedUserId, balance: before.balance },
            // applied null: the sign-up key was in the ledger already (credits granted before the decision said so)
            after: { state: 'granted', credits: amount, balance, ledger: applied === null ? 'already-granted' : 'granted' },
          },
          tx,
        );
        return { state: 'granted' as const, credits: amount, balance, replayed: false };
      });
    },
  };
}

export type RiskConsoleService = ReturnType<typeof createRiskConsoleService>;
