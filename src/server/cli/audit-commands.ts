import type { AuditEntryView } from '../../shared/api/admin';
import { AppError } from '../errors';
import type { Command } from './commands';
import { json, table } from './format';

// (AppError rather than commands.ts's UsageError: a value import from commands.ts would be circular)
const usage = (message: string) => new AppError('invalid_request', message, 400);

const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** What changed, in one line: `key: before -> after` for each key that differs. */
export function changeSummary(before: unknown, after: unknown): string {
  const asRecord = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const b = asRecord(before);
  const a = asRecord(after);
  const show = (v: unknown) => (v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]));
  return keys.map((k) => `${k}: ${show(b[k])} -> ${show(a[k])}`).join('; ');
}

/**
 * `audit:list`: the audit log of operator actions (console and CLI), newest first, as the console's
 * audit page shows it; `--json` prints the entries with their full before/after.
 */
export const auditCommands: Command[] = [
  {
    name: 'audit:list',
    summary: 'Show the audit log of operator actions (console and CLI), newest first: who, when, what, on what, why, and what changed.',
    usage: 'audit:list [--actor EMAIL_OR_ID] [--action ACTION|PREFIX.] [--target-type TYPE] [--target-id ID] [--limit N] [--json]',
    options: {
      actor: { type: 'string' },
      action: { type: 'string' },
      'target-type': { type: 'string' },
      'target-id': { type: 'string' },
      limit: { type: 'string' },
      json,
    },
    async run({ services }, v) {
      const limit = v.limit === undefined ? 50 : Number(v.limit);
      if (!/^\d+$/.test(String(v.limit ?? '50')) || limit < 1 || limit > 1000) throw usage('--limit must be a whole number from 1 to 1000.');
      const text = (name: string) => {
        const value = v[name];
        if (value === undefined) return undefined;
        const s = String(value).trim();
        if (!s || s.length > 320) throw usage(`--${name} must be 1 to 320 characters.`);
        return s;
      };
      const entries: AuditEntryView[] = await services.audit.list({
        actor: text('actor'),
        action: text('action'),
        targetType: text('target-type'),
        targetId: text('target-id'),
        limit,
      });
      if (v.json) return JSON.stringify(entries);
      if (!entries.length) return 'No audit entries match.';
      return table(
        ['ID', 'WHEN (UTC)', 'WHO', 'VIA', 'FROM', 'ACTION', 'TARGET', 'REASON', 'CHANGE'],
        entries.map((e) => [
          String(e.id),
          when(e.at),
          e.actor.label + (e.actor.role ? ` (${e.actor.role})` : ''),
          e.actor.via,
          e.actor.ip ?? '-',
          e.action,
          e.targetType ? `${e.targetType}${e.targetId ? ` ${e.targetId}` : ''}` : '-',
          clip(e.reason ?? '', 40) || '-',
          clip(changeSummary(e.before, e.after), 80) || '-',
        ]),
      );
    },
  },
];
