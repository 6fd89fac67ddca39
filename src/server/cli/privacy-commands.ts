import { holdSubjects, type HoldSubject } from '../db/schema';
import { auditTrail, cliActor } from '../domain/admin/audit.service';
import type { HoldRow } from '../domain/moderation/holds.repo';
import { holdActive } from '../domain/moderation/holds.service';
import type { RetentionReport } from '../domain/privacy/retention.service';
import { AppError } from '../errors';
import type { Command } from './commands';
import { json, table } from './format';

/**
 * Retention and legal holds for operators: `retention:report` (the schedule and what is due now),
 * `retention:run` (apply it now, as the daily job does), and `hold:add` / `hold:list` /
 * `hold:release` on the same holds service the moderators' pages use. The CLI acts as nobody in
 * particular: its holds are placed and released with no operator id, and the reason says why; the
 * audit log names the person at the terminal (cliActor).
 */

// (AppError rather than commands.ts's UsageError: a value import from commands.ts would be circular)
const usage = (message: string) => new AppError('invalid_request', message, 400);

const when = (d: Date | null | undefined) => (d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '-');

function reportText(r: RetentionReport): string {
  const rows = r.rows.map((row) => [
    row.kind,
    row.periodText,
    row.then,
    row.appliedBy,
    row.due === null ? '-' : String(row.due),
    row.held === null ? '-' : String(row.held),
  ]);
  const lines = [
    `Retention schedule at ${when(r.now)} (records not listed live as long as the account; legal holds keep anything past its period).`,
    '',
    table(['KIND', 'KEPT FOR', 'THEN', 'BY JOB', 'DUE NOW', 'HELD'], rows),
    '',
    'DUE NOW: past the period and not under a legal hold (removed at the next run of the job named); HELD: past the period, kept by a hold.',
  ];
  if (!r.lastRun) lines.push('The retention job has not run yet (daily at 02:23 UTC; or: npm run cli -- retention:run).');
  else {
    const removed = Object.entries(r.lastRun.results ?? {})
      .filter(([, v]) => v.removed > 0)
      .map(([k, v]) => `${k} ${v.removed}`);
    lines.push(
      `Last run: ${when(r.lastRun.startedAt)}${r.lastRun.finishedAt ? '' : ' (still running, or stopped)'}; removed ${removed.length ? removed.join(', ') : 'nothing'}` +
        (r.lastRun.error ? `; failed: ${r.lastRun.error}` : '') +
        '.',
    );
  }
  return lines.join('\n');
}

const holdState = (h: HoldRow, now: Date) => (h.releasedAt ? 'released' : holdActive(h, now) ? 'active' : 'expired');

function describeHold(h: HoldRow, now: Date): string {
  const until = h.releasedAt
    ? `released ${when(h.releasedAt)}: ${h.releaseReason ?? ''}`
    : h.expiresAt
      ? `${holdActive(h, now) ? 'until' : 'expired'} ${when(h.expiresAt)}`
      : 'until released';
  return `Hold ${h.id} on ${h.subjectKind} ${h.subjectId} (${holdState(h, now)}, ${until}): ${h.reason}`;
}

export const privacyCommands: Command[] = [
  {
    name: 'retention:report',
    summary: 'Print the retention schedule: each kind of record, how long it is kept, what happens then, and what is due now.',
    usage: 'retention:report [--json]',
    options: { json },
    async run({ services }, v) {
      const r = await services.retention.report();
      return v.json ? JSON.stringify(r) : reportText(r);
    },
  },
  {
    name: 'retention:run',
    summary: 'Apply the retention schedule now (what the daily privacy.retention job does); prints what it removed.',
    usage: 'retention:run [--json]',
    options: { json },
    async run({ services }, v) {
      const r = await services.retention.run();
      await services.audit.record(cliActor(), {
        action: 'retention.run',
        targetType: 'retention_run',
        targetId: r.id,
        after: Object.fromEntries(Object.entries(r.results).map(([kind, x]) => [kind, x.removed])),
      });
      if (v.json) return JSON.stringify(r);
      const rows = Object.entries(r.results).map(([kind, x]) => [kind, String(x.removed), String(x.keptByHold)]);
      return [`Retention run ${r.id} finished at ${when(r.finishedAt)}.`, table(['KIND', 'REMOVED', 'KEPT BY HOLD'], rows)].join('\n');
    },
  },
  {
    name: 'hold:add',
    summary: 'Place a legal hold on an account, a creation, a reference or a case: nothing it covers is deleted until it ends.',
    usage: 'hold:add (--email E | --kind user|generation|media|case --id ID) --reason TEXT [--expires YYYY-MM-DD[THH:MM:SSZ]] [--case CASE_ID] [--json]',
    options: {
      email: { type: 'string' },
      kind: { type: 'string' },
      id: { type: 'string' },
      reason: { type: 'string' },
      expires: { type: 'string' },
      case: { type: 'string' },
      json,
    },
    async run({ services }, v) {
      if (!v.reason || !String(v.reason).trim()) throw usage('--reason is required (it is kept with the hold).');
      let kind: HoldSubject;
      let id: string;
      if (v.email !== undefined) {
        if (v.kind !== undefined || v.id !== undefined) throw usage('Use --email, or --kind with --id, not both.');
        const user = await services.users.findByEmail(String(v.email));
        if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);
        kind = 'user';
        id = user.id;
      } else {
        if (!(holdSubjects as readonly string[]).includes(String(v.kind))) throw usage(`--kind must be one of ${holdSubjects.join(', ')} (or give --email).`);
        if (!v.id || !String(v.id).trim()) throw usage('--id is required with --kind.');
        kind = v.kind as HoldSubject;
        id = String(v.id).trim();
      }
      let expiresAt: Date | null = null;
      if (v.expires !== undefined) {
        const text = String(v.expires);
        expiresAt = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
        if (Number.isNaN(expiresAt.getTime())) throw usage('--expires must be a date (YYYY-MM-DD) or an ISO date-time.');
      }
      const hold = await services.holds.place(
        null,
        {
          subjectKind: kind,
          subjectId: id,
          reason: String(v.reason),
          expiresAt,
          ...(v.case !== undefined ? { caseId: String(v.case) } : {}),
        },
        undefined,
        auditTrail(services.audit, cliActor()),
      );
      return v.json ? JSON.stringify(hold) : `Placed: ${describeHold(hold, new Date())}.`;
    },
  },
  {
    name: 'hold:list',
    summary: 'List legal holds, newest first (active ones by default).',
    usage: 'hold:list [--all | --inactive] [--kind user|generation|media|case] [--id ID] [--email E] [--limit N] [--json]',
    options: {
      all: { type: 'boolean', default: false },
      inactive: { type: 'boolean', default: false },
      kind: { type: 'string' },
      id: { type: 'string' },
      email: { type: 'string' },
      limit: { type: 'string' },
      json,
    },
    async run({ services }, v) {
      if (v.all && v.inactive) throw usage('Use --all or --inactive, not both.');
      if (v.kind !== undefined && !(holdSubjects as readonly string[]).includes(String(v.kind)))
        throw usage(`--kind must be one of ${holdSubjects.join(', ')}.`);
      const limit = v.limit === undefined ? 100 : Number(v.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw usage('--limit must be a whole number from 1 to 1000.');
      let subject: { subjectKind?: HoldSubject; subjectId?: string } = {
        ...(v.kind !== undefined ? { subjectKind: v.kind as HoldSubject } : {}),
        ...(v.id !== undefined ? { subjectId: String(v.id) } : {}),
      };
      if (v.email !== undefined) {
        const user = await services.users.findByEmail(String(v.email));
        if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);
        subject = { subjectKind: 'user', subjectId: user.id };
      }
      const holds = await services.holds.list({ ...subject, limit, ...(v.all ? {} : { active: !v.inactive }) });
      if (v.json) return JSON.stringify(holds);
      const now = new Date();
      if (!holds.length) return v.all ? 'No legal holds.' : v.inactive ? 'No released or expired legal holds.' : 'No active legal holds.';
      return table(
        ['ID', 'STATE', 'KIND', 'SUBJECT', 'PLACED', 'UNTIL', 'REASON'],
        holds.map((h) => [
          h.id,
          holdState(h, now),
          h.subjectKind,
          h.subjectId,
          when(h.placedAt),
          h.releasedAt ? `released ${when(h.releasedAt)}` : h.expiresAt ? when(h.expiresAt) : 'released by hand',
          h.reason.length > 60 ? `${h.reason.slice(0, 59)}…` : h.reason,
        ]),
      );
    },
  },
  {
    name: 'hold:release',
    summary: 'Release a legal hold (what it kept is then deleted by the next purge or retention run, if nothing else keeps it).',
    usage: 'hold:release --id HOLD_ID --reason TEXT [--json]',
    options: { id: { type: 'string' }, reason: { type: 'string' }, json },
    async run({ services }, v) {
      if (!v.id) throw usage('--id is required (see hold:list).');
      if (!v.reason || !String(v.reason).trim()) throw usage('--reason is required (it is kept with the hold).');
      const hold = await services.holds.release(null, String(v.id), String(v.reason), auditTrail(services.audit, cliActor()));
      return v.json ? JSON.stringify(hold) : `Released: ${describeHold(hold, new Date())}.`;
    },
  },
];
