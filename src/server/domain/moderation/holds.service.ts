import { systemClock, type Clock } from '../../adapters/clock';
import type { Database, DbHandle } from '../../db/client';
import type { HoldSubject } from '../../db/schema';
import { AppError, notFound } from '../../errors';
import type { HoldView } from '../../../shared/api/moderation';
import type { AuditTrail } from '../admin/audit.service';
import { addEvent } from './cases.repo';
import { getHold, holdSubjectExists, insertHold, listHolds, releaseHold, subjectHeld, type HoldFilter, type HoldRow } from './holds.repo';

/**
 * Legal holds (issue 16): the one primitive every deletion path asks first. Placing and releasing
 * are audited twice: on the hold row itself (placedBy / releasedBy / reasons, never deleted) and,
 * when the hold belongs to a case, as a `hold` event in the case's log.
 *
 * Routes enforce who may do what (moderators and admins place and list, admins release); this
 * service enforces what a hold is: it names an existing row, has a reason, and an expiry (if any)
 * in the future by the clock.
 */

export interface PlaceHoldInput {
  subjectKind: HoldSubject;
  subjectId: string;
  reason: string;
  /** ISO date-time or Date; none: until released */
  expiresAt?: string | Date | null;
  /** the case this hold belongs to (a case hold belongs to its case) */
  caseId?: string | null;
}

export interface HoldsService {
  /**
   * Places a hold; `tx` joins the caller's transaction (an escalation places its holds with the
   * report). `audit` (an operator's action) writes the audit log entry with it.
   */
  place(actorId: string | null, input: PlaceHoldInput, tx?: DbHandle, audit?: AuditTrail): Promise<HoldRow>;
  /** Releases an active hold; 404 unknown, 409 released already. `audit` as for `place`. */
  release(actorId: string | null, id: string, reason: string, audit?: AuditTrail): Promise<HoldRow>;
  list(filter: Omit<HoldFilter, 'limit'> & { limit?: number }): Promise<HoldRow[]>;
  /** Whether anything held covers the subject now (see holds.repo `subjectHeld`). */
  isHeld(subject: { kind: HoldSubject; id: string }, db?: DbHandle): Promise<boolean>;
}

export interface HoldsDeps {
  database: Database;
  clock?: Pick<Clock, 'now'>;
}

export function toHoldView(row: HoldRow): HoldView {
  return {
    id: row.id,
    subjectKind: row.subjectKind,
    subjectId: row.subjectId,
    reason: row.reason,
    caseId: row.caseId,
    placedBy: row.placedBy,
    placedAt: row.placedAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    releasedAt: row.releasedAt?.toISOString() ?? null,
    releasedBy: row.releasedBy,
    releaseReason: row.releaseReason,
  };
}

/** A hold as the audit log shows it. */
const holdAudit = (h: HoldRow) => ({
  subjectKind: h.subjectKind,
  subjectId: h.subjectId,
  caseId: h.caseId,
  expiresAt: h.expiresAt?.toISOString() ?? null,
  releasedAt: h.releasedAt?.toISOString() ?? null,
});

/** Whether a hold is in force at `now`. */
export const holdActive = (row: Pick<HoldRow, 'releasedAt' | 'expiresAt'>, now: Date) => !row.releasedAt && (!row.expiresAt || row.expiresAt > now);

/** A hold placed inside `tx`, with its audit event: the service's `place` and the NCMEC escalation share it. */
export async function placeHold(tx: DbHandle, actorId: string | null, input: PlaceHoldInput, now: Date): Promise<HoldRow> {
  const reason = input.reason.trim();
  if (!reason) throw new AppError('invalid_request', 'A hold needs a reason.', 400, { fields: [{ field: 'reason', message: 'is required' }] });
  const expiresAt = input.expiresAt == null ? null : new Date(input.expiresAt);
  if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt <= now))
    throw new AppError('invalid_request', 'A hold must expire in the future (or not at all).', 400, {
      fields: [{ field: 'expiresAt', message: 'must be in the future' }],
    });
  if (!(await holdSubjectExists(tx, input.subjectKind, input.subjectId)))
    throw new AppError('not_found', `No ${input.subjectKind} with the id ${input.subjectId}.`, 404, {
      fields: [{ field: 'subjectId', message: 'does not exist' }],
    });
  const caseId = input.caseId ?? (input.subjectKind === 'case' ? input.subjectId : null);
  const row = await insertHold(tx, { subjectKind: input.subjectKind, subjectId: input.subjectId, reason, caseId, placedBy: actorId, expiresAt }, now);
  if (caseId)
    await addEvent(
      tx,
      caseId,
      {
        kind: 'hold',
        action: 'place',
        actorId,
        note: reason,
        details: { holdId: row.id, subjectKind: row.subjectKind, subjectId: row.subjectId, expiresAt: row.expiresAt?.toISOString() ?? null },
      },
      now,
    );
  return row;
}

export function createHoldsService({ database, clock = systemClock }: HoldsDeps): HoldsService {
  return {
    async place(actorId, input, tx, audit) {
      const run = async (t: DbHandle) => {
        const row = await placeHold(t, actorId, input, clock.now());
        if (audit) await audit({ action: 'hold.place', targetType: 'hold', targetId: row.id, reason: row.reason, before: null, after: holdAudit(row) }, t);
        return row;
      };
      return tx ? run(tx) : database.transaction(run);
    },

    async release(actorId, id, reason, audit) {
      const text = reason.trim();
      if (!text) throw new AppError('invalid_request', 'Releasing a hold needs a reason.', 400, { fields: [{ field: 'reason', message: 'is required' }] });
      return database.transaction(async (tx) => {
        const now = clock.now();
        const existing = await getHold(tx, id);
        if (!existing) throw notFound('That hold');
        const row = await releaseHold(tx, id, actorId, text, now);
        if (!row) throw new AppError('hold_released', 'This hold was released already.', 409);
        if (audit)
          await audit({ action: 'hold.release', targetType: 'hold', targetId: row.id, reason: text, before: holdAudit(existing), after: holdAudit(row) }, tx);
        if (row.caseId)
          await addEvent(
            tx,
            row.caseId,
            { kind: 'hold', action: 'release', actorId, note: text, details: { holdId: row.id, subjectKind: row.subjectKind, subjectId: row.subjectId } },
            now,
          );
        return row;
      });
    },

    list(filter) {
      return listHolds(database, { ...filter, limit: filter.limit ?? 100 }, clock.now());
    },

    isHeld(subject, db) {
      return subjectHeld(db ?? database, subject, clock.now());
    },
  };
}
