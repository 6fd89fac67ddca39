import os from 'node:os';
import type { Clock } from '../../adapters/clock';
import type { Database, DbHandle } from '../../db/client';
import type { AuditVia } from '../../db/schema';
import type { AuditEntryView } from '../../../shared/api/admin';
import { insertAudit, listAudit, type AuditFilter, type AuditRow } from './audit.repo';

/**
 * The audit log (issue 18): every operator action, in the console or the CLI, appends who, when,
 * what, before and after, and from which address. Services record it in the transaction of the
 * change where they can (pass `tx`), so an action and its record commit together.
 */

/** Who acts: the signed-in operator (console), the person at the terminal (CLI), or the service itself. */
export interface AuditActor {
  id: string | null;
  label: string;
  role: string | null;
  via: AuditVia;
  ip: string | null;
}

export interface AuditRecord {
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
}

export interface AuditService {
  /** Appends one entry; inside `tx` when given (the entry then commits with the change). */
  record(actor: AuditActor, entry: AuditRecord, tx?: DbHandle): Promise<number>;
  list(filter: AuditFilter): Promise<AuditEntryView[]>;
  /** Every entry matching the filter (ignoring `limit`/`before`), as CSV, in pages of 1,000. */
  csv(filter: Omit<AuditFilter, 'limit' | 'before'>): AsyncGenerator<string>;
}

/** The CLI's actor: the OS user at the terminal (`SAVESORA_OPERATOR` names the operator when set). */
export function cliActor(env: NodeJS.ProcessEnv = process.env): AuditActor {
  let user = env.SAVESORA_OPERATOR;
  if (!user) {
    try {
      user = os.userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return { id: null, label: `cli:${user}`, role: null, via: 'cli', ip: 'local' };
}

export const systemActor: AuditActor = { id: null, label: 'system', role: null, via: 'system', ip: null };

/**
 * An operator action's audit entry with the actor already bound: what a route or a CLI command hands
 * to another domain's service, which writes the entry in the transaction of its change (`tx`).
 */
export type AuditTrail = (entry: AuditRecord, tx?: DbHandle) => Promise<unknown>;

export const auditTrail =
  (audit: Pick<AuditService, 'record'>, actor: AuditActor): AuditTrail =>
  (entry, tx) =>
    audit.record(actor, entry, tx);

export function toAuditView(r: AuditRow): AuditEntryView {
  return {
    id: r.id,
    at: r.at.toISOString(),
    actor: { id: r.actorId, label: r.actorLabel, role: r.actorRole, via: r.via, ip: r.ip },
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    reason: r.reason,
    before: r.before ?? null,
    after: r.after ?? null,
  };
}

const CSV_COLUMNS = ['id', 'at', 'actor_id', 'actor', 'role', 'via', 'ip', 'action', 'target_type', 'target_id', 'reason', 'before', 'after'] as const;

/** One CSV field (RFC 4180), with a leading quote on text a spreadsheet would run as a formula. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function createAuditService({ database, clock }: { database: Database; clock: Pick<Clock, 'now'> }): AuditService {
  return {
    async record(actor, entry, tx) {
      return insertAudit(tx ?? database, {
        at: clock.now(),
        actorId: actor.id,
        actorLabel: actor.label,
        actorRole: actor.role,
        via: actor.via,
        ip: actor.ip,
        action: entry.action,
        targetType: entry.targetType ?? null,
        targetId: entry.targetId ?? null,
        reason: entry.reason ?? null,
        before: entry.before ?? null,
        after: entry.after ?? null,
      });
    },
    async list(filter) {
      return (await listAudit(database, filter)).map(toAuditView);
    },
    async *csv(filter) {
      yield `${CSV_COLUMNS.join(',')}\r\n`;
      let before: number | undefined;
      for (;;) {
        const rows = await listAudit(database, { ...filter, before, limit: 1000 });
        if (!rows.length) return;
        yield rows
          .map((r) =>
            [r.id, r.at.toISOString(), r.actorId, r.actorLabel, r.actorRole, r.via, r.ip, r.action, r.targetType, r.targetId, r.reason, r.before, r.after]
              .map(csvField)
              .join(','),
          )
          .join('\r\n')
          .concat('\r\n');
        before = rows.at(-1)?.id;
      }
    },
  };
}
