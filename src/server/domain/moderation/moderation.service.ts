import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import type { CaseOutcome, UserRole, UserStatus } from '../../db/schema';
import { AppError } from '../../errors';
import type { RateLimiter } from '../../lib/rate-limit';
import type { AuditTrail } from '../admin/audit.service';
import type {
  CaseDetail,
  DecisionBody,
  ModerationDecision,
  QueueItem,
  QueueResponse,
  UserCaseView,
  publicReportBody,
  reportBody,
  reportReasons,
} from '../../../shared/api/moderation';
import { deleteUserSessions } from '../auth/auth.repo';
import { readAppealToken } from '../auth/auth';
import { getGeneration, getUserGeneration } from '../generations/generations.repo';
import { findUserStatus, lockUserContact, setStatusByEmail } from '../users/users.repo';
import {
  accountCases,
  activeHoldsFor,
  addEvent,
  caseEventsWithActors,
  closeCase,
  evidenceOfCases,
  generationState,
  getEvidence,
  getQueueRow,
  lastDecisionNotes,
  listQueue,
  listUserCases,
  lockCase,
  lockUserCase,
  ncmecReportOf,
  openOrExtendCase,
  reopenForAppeal,
  suspensionStartedAt,
  type CaseRow,
  type EvidenceRow,
  type QueueCursor,
  type QueueRow,
} from './cases.repo';
import { addStrike, countActiveStrikes, removeStrike } from './strikes.repo';

/**
 * Trust & safety core (issue 16): the review queue, moderators' decisions (each one an audit event:
 * who, when, what, why), strikes and the automatic suspension at MODERATION_STRIKES_TO_SUSPEND,
 * the user's one appeal (from their account, or with the token a suspended account's sign-in
 * refusal carries), and people's reports on creations.
 *
 * What other parts do is reached through two ports, wired by context.ts: the output quarantine
 * (release or remove the files of a held output) and the CyberTipline escalation (report row,
 * termination and legal holds in the decision's transaction).
 */

/** Moves a held output's files back (allow) or deletes them unless a legal hold covers them (remove). */
export interface QuarantinePort {
  release(caseId: string): Promise<void>;
  remove(caseId: string): Promise<void>;
}

export interface NcmecEscalation {
  caseId: string;
  /** null: automatic (a hash match on a CSAM list) */
  actorId: string | null;
  reason: string;
}

/** Files the CyberTipline report, terminates the account and places the legal holds, in `tx`. */
export interface NcmecPort {
  /** (what it resolves to is the port's own business: ncmec.service answers the report row) */
  escalate(tx: DbHandle, input: NcmecEscalation): Promise<unknown>;
}

export interface ModerationPorts {
  quarantine?: QuarantinePort | undefined;
  ncmec?: NcmecPort | undefined;
}

export interface ModerationServiceDeps extends ModerationPorts {
  database: Database;
  clock: Clock;
  logger: Logger;
  rateLimiter: RateLimiter;
  config: Pick<Config, 'MODERATION_STRIKES_TO_SUSPEND' | 'CONTENT_REPORTS_PER_HOUR' | 'SESSION_SECRET' | 'PUBLIC_URL'>;
}

export interface Moderator {
  id: string;
  role: UserRole;
}

type ReportReason = (typeof reportReasons)[number];
export type ReportInput = z.output<typeof reportBody>;
export type PublicReportInput = z.output<typeof publicReportBody>;
export interface ReportAccepted {
  received: true;
  reference: string;
}

const outcomeOf: Record<ModerationDecision, CaseOutcome> = {
  allow: 'allowed',
  remove: 'removed',
  remove_strike: 'removed_strike',
  suspend: 'suspended',
  terminate: 'terminated',
  escalate_csam: 'csam_reported',
};

/** outcomes the user may appeal, once */
const appealable: readonly CaseOutcome[] = ['removed', 'removed_strike', 'suspended'];

/** where a report puts the case in the queue: a child-safety report goes first */
const reportSignal: Record<ReportReason, { category: string | null; severity: number }> = {
  sexual: { category: 'sexual', severity: 0.5 },
  minor_safety: { category: 'sexual/minors', severity: 1 },
  ncii: { category: 'ncii', severity: 0.5 },
  violence: { category: 'violence', severity: 0.5 },
  terrorism: { category: 'terrorism', severity: 0.5 },
  self_harm: { category: 'self-harm', severity: 0.5 },
  hate: { category: 'hate', severity: 0.5 },
  copyright: { category: 'copyright', severity: 0.3 },
  other: { category: null, severity: 0.3 },
};

const queueCursor = z.union([
  z.object({ status: z.literal('open'), severity: z.number(), openedAt: z.iso.datetime(), id: z.string().max(64) }),
  z.object({ status: z.literal('closed'), closedAt: z.iso.datetime(), id: z.string().max(64) }),
]);

const encodeCursor = (c: QueueCursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decodeCursor(value: string): QueueCursor {
  try {
    const parsed = queueCursor.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString()));
    if (parsed.success) return parsed.data;
  } catch {
    /* answered below */
  }
  throw new AppError('invalid_request', 'The cursor is not valid: pass the nextCursor of the previous page.', 400, {
    fields: [{ field: 'cursor', message: 'is not a cursor this queue gave out' }],
  });
}

const caseNotFound = () => new AppError('not_found', 'That case was not found.', 404);
const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The generation a URL of this site names (`/creations/<id>`, `/api/generations/<id>...`), or null. */
export function generationIdInUrl(url: string, publicUrl: string): string | null {
  let u: URL;
  try {
    u = new URL(url, publicUrl);
  } catch {
    return null;
  }
  if (u.origin !== new URL(publicUrl).origin) return null;
  const m = /^\/(?:creations|api\/generations)\/([^/]+)/.exec(u.pathname);
  if (!m?.[1]) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

export function createModerationService(deps: ModerationServiceDeps) {
  const { database, clock, logger, rateLimiter, config } = deps;
  const ports: ModerationPorts = { quarantine: deps.quarantine, ncmec: deps.ncmec };

  // -------------------------------------------------------------------------------------------
  // views

  function queueItem(c: QueueRow, evidence: EvidenceRow[]): QueueItem {
    return {
      id: c.id,
      subject: c.subject,
      status: c.status,
      severity: c.severity,
      topCategory: c.topCategory,
      action: c.action as QueueItem['action'],
      outcome: c.outcome,
      userId: c.userId,
      userEmail: c.userEmail,
      generationId: c.generationId,
      mediaId: c.mediaId,
      appealPending: c.appealedAt !== null && !c.appealAnswered,
      previews: evidence.filter((e) => e.storageKey).map((e) => ({ evidenceId: e.id, input: e.input, contentType: e.contentType })),
      texts: evidence.flatMap((e) => (e.text === null ? [] : [{ input: e.input, text: e.text }])),
      openedAt: c.openedAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
    };
  }

  function userView(c: CaseRow, reason: string | null | undefined): UserCaseView {
    return {
      id: c.id,
      subject: c.subject,
      status: c.status,
      outcome: c.outcome,
      generationId: c.generationId,
      reason: c.outcome ? (reason ?? null) : null,
      canAppeal: c.status === 'closed' && c.appealedAt === null && c.outcome !== null && appealable.includes(c.outcome),
      appealedAt: iso(c.appealedAt),
      openedAt: c.openedAt.toISOString(),
    };
  }

  async function detail(caseId: string): Promise<CaseDetail> {
    const c = await getQueueRow(database, caseId);
    if (!c) throw caseNotFound();
    const [evidence, events, strikes, holds, report] = await Promise.all([
      evidenceOfCases(database, [c.id]),
      caseEventsWithActors(database, c.id),
      c.userId ? countActiveStrikes(database, c.userId) : Promise.resolve(0),
      activeHoldsFor(database, c, clock.now()),
      ncmecReportOf(database, c.id),
    ]);
    return {
      ...queueItem(c, evidence),
      events: events.map((e) => ({
        id: String(e.id),
        kind: e.kind,
        input: e.input,
        source: e.source,
        action: e.action,
        scores: e.scores,
        reasons: e.reasons,
        actorId: e.actorId,
        actorEmail: e.actorEmail,
        note: e.note,
        details: e.details,
        createdAt: e.createdAt.toISOString(),
      })),
      strikes,
      holds: holds.map((h) => ({ id: h.id, reason: h.reason, placedAt: h.placedAt.toISOString(), expiresAt: iso(h.expiresAt) })),
      report,
      appealText: c.appealText,
    };
  }

  // -------------------------------------------------------------------------------------------
  // account status (the users service's rule: anything but active ends every session)

  async function setAccountStatus(tx: DbHandle, userId: string, status: UserStatus, reason: string | null): Promise<void> {
    const contact = await lockUserContact(tx, userId);
    if (!contact) return;
    await setStatusByEmail(tx, contact.email, status, status === 'active' ? null : reason);
    if (status !== 'active') await deleteUserSessions(tx, userId);
  }

  // -------------------------------------------------------------------------------------------
  // decisions

  /**
   * One decision, in one transaction: the decision event (the audit record), the case closed with
   * its outcome, and its effects on the account (strike and automatic suspension, suspension,
   * termination, reinstatement when an appeal against a suspension is upheld, the CyberTipline
   * escalation). The held output's files are released or removed after the commit; a failure
   * there leaves the decision recorded, and repeating it retries the files.
   */
  async function applyDecision(
    actor: Moderator | null,
    caseId: string,
    body: DecisionBody,
    opts: { override?: boolean; audit?: AuditTrail | undefined } = {},
  ): Promise<void> {
    const decision = body.decision;
    const ncmec = ports.ncmec;
    if (decision === 'escalate_csam' && !ncmec) {
      throw new AppError('ncmec_unavailable', 'CSAM escalation is not available on this server: the CyberTipline reporter is not set up.', 503);
    }
    const outcome = outcomeOf[decision];
    const actorId = actor?.id ?? null;
    await database.transaction(async (tx) => {
      const c = await lockCase(tx, caseId);
      if (!c) throw caseNotFound();
      if (c.status === 'closed') {
        // the same decision again (a double click, a retry after a failure) changes nothing
        if (c.outcome === outcome) return;
        if (!opts.override) {
          throw new AppError('case_closed', `This case was already decided (${c.outcome ?? 'closed'}); only an appeal reopens it.`, 409);
        }
      }
      const now = clock.now();
      const answersAppeal = c.appealedAt !== null && !c.appealAnswered;
      const details: Record<string, unknown> = { previousOutcome: c.outcome, answersAppeal };
      const userStatus = c.userId ? ((await findUserStatus(tx, c.userId))?.status ?? null) : null;

      if (decision === 'allow' && c.userId) {
        // upholding an appeal takes back what the earlier decision did to the account
        if (c.outcome === 'removed_strike' && (await removeStrike(tx, c.id))) details.strikeRemoved = true;
        if ((c.outcome === 'suspended' || c.subject === 'account') && userStatus === 'suspended') {
          await setAccountStatus(tx, c.userId, 'active', null);
          details.reinstated = true;
        }
      } else if (decision === 'suspend' && c.userId && userStatus === 'active') {
        await setAccountStatus(tx, c.userId, 'suspended', body.reason);
      } else if (decision === 'terminate' && c.userId && userStatus !== 'terminated') {
        await setAccountStatus(tx, c.userId, 'terminated', body.reason);
      }
      await addEvent(tx, c.id, { kind: 'decision', action: decision, actorId, note: body.reason, details }, now);
      await closeCase(tx, c.id, outcome, c.appealAnswered || answersAppeal, now);

      let strike: { strikes: number; autoSuspended: boolean } | null = null;
      if (decision === 'remove_strike' && c.userId && (await addStrike(tx, { userId: c.userId, caseId: c.id, createdBy: actorId }, now))) {
        const strikes = await countActiveStrikes(tx, c.userId);
        const threshold = config.MODERATION_STRIKES_TO_SUSPEND;
        strike = { strikes, autoSuspended: false };
        if (strikes >= threshold && userStatus === 'active') {
          const reason = `Repeated violations of the content rules (${strikes} strikes).`;
          await setAccountStatus(tx, c.userId, 'suspended', reason);
          await addEvent(tx, c.id, { kind: 'decision', action: 'auto_suspend', actorId: null, note: reason, details: { strikes, threshold } }, now);
          strike.autoSuspended = true;
        }
      }
      if (decision === 'escalate_csam' && ncmec) await ncmec.escalate(tx, { caseId: c.id, actorId, reason: body.reason });
      // the operators' audit log (issue 18), with the decision: an appeal answered, a strike given or taken back
      const audit = opts.audit;
      if (audit) {
        await audit(
          {
            action: answersAppeal ? 'case.appeal.decide' : 'case.decide',
            targetType: 'case',
            targetId: c.id,
            reason: body.reason,
            before: { status: c.status, outcome: c.outcome, userStatus },
            after: { status: 'closed', outcome, decision, ...details },
          },
          tx,
        );
        if (c.userId && strike)
          await audit(
            {
              action: 'user.strike.add',
              targetType: 'user',
              targetId: c.userId,
              reason: body.reason,
              before: { strikes: strike.strikes - 1 },
              after: { strikes: strike.strikes, caseId: c.id, ...(strike.autoSuspended ? { status: 'suspended' } : {}) },
            },
            tx,
          );
        if (c.userId && details.strikeRemoved)
          await audit({ action: 'user.strike.remove', targetType: 'user', targetId: c.userId, reason: body.reason, before: { caseId: c.id }, after: null }, tx);
      }
    });
    await settleMaterial(caseId, decision);
  }

  /** A held output leaves the quarantine: back to the user on allow, removed on any other decision. */
  async function settleMaterial(caseId: string, decision: ModerationDecision): Promise<void> {
    const c = await getQueueRow(database, caseId);
    if (!c?.generationId) return;
    const generation = await generationState(database, c.generationId);
    if (generation?.status !== 'under_review') return;
    const quarantine = ports.quarantine;
    if (!quarantine) {
      logger.warn({ caseId, decision }, 'moderation: the output quarantine is not wired; the held output stays under review');
      return;
    }
    try {
      if (decision === 'allow') await quarantine.release(caseId);
      else await quarantine.remove(caseId);
    } catch (err) {
      logger.error({ err, caseId, decision }, 'moderation: the held output could not be released or removed');
      throw new AppError('quarantine_failed', 'The decision is recorded, but the held files could not be moved. Repeat the same decision to try again.', 503);
    }
  }

  async function throttleReports(keys: string[]): Promise<void> {
    for (const key of keys) {
      const r = await rateLimiter.hit(key, config.CONTENT_REPORTS_PER_HOUR, 3600);
      if (!r.allowed) {
        throw new AppError(
          'rate_limited',
          `You have sent ${r.limit} reports in the last hour, the most allowed. Try again in ${Math.ceil(r.retryAfterSeconds / 60)} min.`,
          429,
          { extra: { retryAfterSeconds: r.retryAfterSeconds } },
        );
      }
    }
  }

  async function fileReport(
    generation: { id: string; userId: string } | null,
    reason: ReportReason,
    event: { actorId: string | null; source: 'user' | 'public_form'; note: string; details: Record<string, unknown> },
  ): Promise<ReportAccepted> {
    // a reference of its own, so two reports never show whether they landed on the same case
    const reference = randomUUID();
    const signal = reportSignal[reason];
    await database.transaction(async (tx) => {
      const c = await openOrExtendCase(
        tx,
        { userId: generation?.userId ?? null, subject: 'report', generationId: generation?.id ?? null },
        { severity: signal.severity, topCategory: signal.category, action: 'flag' },
        clock.now(),
      );
      await addEvent(
        tx,
        c.id,
        {
          kind: 'report',
          input: 'creation',
          source: event.source,
          action: 'flag',
          actorId: event.actorId,
          note: event.note || null,
          details: { reason, reference, ...event.details },
        },
        clock.now(),
      );
    });
    return { received: true, reference };
  }

  return {
    /** Late wiring of the quarantine and CyberTipline ports (context.ts). */
    connect(more: ModerationPorts): void {
      if (more.quarantine) ports.quarantine = more.quarantine;
      if (more.ncmec) ports.ncmec = more.ncmec;
    },

    async queue(query: { status: 'open' | 'closed'; limit: number; cursor?: string | undefined }): Promise<QueueResponse> {
      const after = query.cursor ? decodeCursor(query.cursor) : undefined;
      const rows = await listQueue(database, { status: query.status, limit: query.limit + 1, after });
      const page = rows.slice(0, query.limit);
      const evidence = await evidenceOfCases(
        database,
        page.map((c) => c.id),
      );
      const byCase = new Map<string, EvidenceRow[]>();
      for (const e of evidence) byCase.set(e.caseId, [...(byCase.get(e.caseId) ?? []), e]);
      const last = page.at(-1);
      let nextCursor: string | null = null;
      if (rows.length > query.limit && last) {
        nextCursor = encodeCursor(
          query.status === 'open'
            ? { status: 'open', severity: last.severity, openedAt: last.openedAt.toISOString(), id: last.id }
            : { status: 'closed', closedAt: (last.closedAt ?? last.updatedAt).toISOString(), id: last.id },
        );
      }
      return { items: page.map((c) => queueItem(c, byCase.get(c.id) ?? [])), nextCursor };
    },

    detail,

    /** A stored evidence file of a case (moderators only: the route checks the role). */
    async evidenceFile(caseId: string, evidenceId: string): Promise<{ key: string; contentType: string | null }> {
      const e = await getEvidence(database, caseId, evidenceId);
      if (!e?.storageKey) throw new AppError('not_found', 'That evidence file was not found.', 404);
      return { key: e.storageKey, contentType: e.contentType };
    },

    /** A moderator's (or an admin's) decision on a case; support cannot decide. */
    async decide(actor: Moderator, caseId: string, body: DecisionBody, audit?: AuditTrail): Promise<CaseDetail> {
      if (actor.role !== 'moderator' && actor.role !== 'admin') throw new AppError('forbidden', 'Only moderators and admins decide cases.', 403);
      await applyDecision(actor, caseId, body, { audit });
      return detail(caseId);
    },

    /**
     * A known CSAM file (a hash match on a sexual/minors list): escalated at once, without waiting
     * for a person (actor null), even when the case was already decided otherwise.
     */
    async escalateAutomatically(caseId: string, note: string): Promise<void> {
      await applyDecision(null, caseId, { decision: 'escalate_csam', reason: note }, { override: true });
    },

    /** The user's cases that affect them: output under review, removals, suspensions, their appeals. */
    async myCases(userId: string): Promise<{ items: UserCaseView[] }> {
      const rows = await listUserCases(database, userId, 100);
      const notes = await lastDecisionNotes(
        database,
        rows.map((c) => c.id),
      );
      return { items: rows.map((c) => userView(c, notes.get(c.id))) };
    },

    /** The user's one appeal against a removal or suspension: the case returns to the queue. */
    async appeal(userId: string, caseId: string, text: string): Promise<UserCaseView> {
      await database.transaction(async (tx) => {
        const c = await lockUserCase(tx, userId, caseId);
        if (!c) throw caseNotFound();
        if (c.appealedAt) throw new AppError('appeal_used', 'You already appealed this decision; each decision can be appealed once.', 409);
        if (c.status !== 'closed' || !c.outcome || !appealable.includes(c.outcome)) {
          throw new AppError('not_appealable', 'There is no decision on this case to appeal yet.', 409);
        }
        const now = clock.now();
        await reopenForAppeal(tx, c.id, text, now);
        await addEvent(tx, c.id, { kind: 'appeal', actorId: userId, note: text, details: { against: c.outcome } }, now);
      });
      const [row] = (await listUserCases(database, userId, 100)).filter((c) => c.id === caseId);
      if (!row) throw caseNotFound();
      return userView(row, (await lastDecisionNotes(database, [row.id])).get(row.id));
    },

    /**
     * A suspended user's appeal, with the token their refused sign-in carried: an `account` case
     * goes to the queue with the appeal. Once per suspension.
     */
    async appealSuspension(token: string, text: string): Promise<{ received: true }> {
      const userId = readAppealToken(config.SESSION_SECRET, token, clock.nowMs());
      if (!userId) {
        throw new AppError('invalid_token', 'This appeal link is not valid or has expired. Try to sign in again to get a new one.', 400, {
          fields: [{ field: 'token', message: 'is not valid or has expired' }],
        });
      }
      await database.transaction(async (tx) => {
        // serializes two appeals of one user
        if (!(await lockUserContact(tx, userId))) throw new AppError('invalid_token', 'This appeal link is not valid.', 400);
        const status = (await findUserStatus(tx, userId))?.status;
        if (status !== 'suspended') throw new AppError('not_suspended', 'This account is not suspended, so there is nothing to appeal.', 409);
        const since = await suspensionStartedAt(tx, userId);
        const cases = await accountCases(tx, userId);
        if (cases.some((c) => c.appealedAt && (!since || c.appealedAt >= since))) {
          throw new AppError('appeal_used', 'You already appealed this suspension; we will answer by email.', 409);
        }
        const now = clock.now();
        const c =
          cases.find((x) => x.status === 'open' && !x.appealedAt) ??
          (await openOrExtendCase(tx, { userId, subject: 'account' }, { severity: 0, topCategory: null, action: 'flag' }, now));
        await reopenForAppeal(tx, c.id, text, now);
        await addEvent(tx, c.id, { kind: 'appeal', actorId: userId, note: text, details: { against: 'suspended', via: 'sign_in' } }, now);
      });
      return { received: true };
    },

    /** A signed-in user reports a creation they can see (today: their own; share pages come later). */
    async reportGeneration(reporter: { userId: string; ip: string }, generationId: string, body: ReportInput): Promise<ReportAccepted> {
      await throttleReports([`content-reports:user:${reporter.userId}`, `content-reports:ip:${reporter.ip}`]);
      const g = await getUserGeneration(database, reporter.userId, generationId);
      if (!g) throw new AppError('not_found', 'That creation was not found.', 404);
      return fileReport({ id: g.id, userId: g.userId }, body.reason, { actorId: reporter.userId, source: 'user', note: body.details, details: {} });
    },

    /**
     * The public report form (also DMCA notices). Answers the same whether or not the URL names a
     * creation of this site.
     */
    async reportPublic(ip: string, body: PublicReportInput): Promise<ReportAccepted> {
      if (body.reason === 'copyright' && !body.dmcaStatement) {
        throw new AppError('invalid_request', 'A copyright notice needs the good-faith and accuracy statement.', 400, {
          fields: [{ field: 'dmcaStatement', message: 'Confirm the statement to send a copyright notice.' }],
        });
      }
      await throttleReports([`content-reports:ip:${ip}`]);
      const id = generationIdInUrl(body.url, config.PUBLIC_URL);
      const g = id ? await getGeneration(database, id) : null;
      return fileReport(g ? { id: g.id, userId: g.userId } : null, body.reason, {
        actorId: null,
        source: 'public_form',
        note: body.details,
        details: { url: body.url, email: body.email, name: body.name, dmcaStatement: body.dmcaStatement },
      });
    },
  };
}

export type ModerationService = ReturnType<typeof createModerationService>;
