import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import type { ObjectStore } from '../../adapters/storage';
import type { Database } from '../../db/client';
import {
  countDeletedAccountOrders,
  countExpiredExportFiles,
  countOldExportRecords,
  countOtherJobsDue,
  countTableRule,
  deleteDeletedAccountOrdersBatch,
  deleteExportRows,
  deleteTableRuleBatch,
  finishRetentionRun,
  heldEmailsAmong,
  insertRetentionRun,
  latestRetentionRun,
  oldExportRecords,
  tableRules,
  type DueCount,
  type RetentionResults,
  type TableRuleKind,
} from './retention.repo';
import {
  cutoffOf,
  describePeriod,
  ownRetentionKinds,
  retentionSchedule,
  type RetentionKind,
  type RetentionKindId,
  type RetentionPeriod,
  type RetentionSettings,
} from './retention';

/**
 * The daily retention job (`privacy.retention`) and its report. Each kind of the schedule that this
 * job owns is applied on its own: in bounded batches, each batch one transaction, so a huge backlog
 * never holds one long transaction and a kind that fails does not stop the others (the run records
 * the error and fails, and the queue retries it; every kind is idempotent). What each kind removed,
 * and how many past-period records a legal hold kept, goes to `retention_runs` and the log.
 */

/** What one kind did in a run. */
export interface KindResult {
  removed: number;
  keptByHold: number;
}

export interface RetentionRunResult {
  id: string;
  startedAt: Date;
  finishedAt: Date;
  results: Record<string, KindResult>;
  /** kinds that failed, with why */
  errors: Record<string, string>;
}

export interface RetentionReportRow {
  kind: RetentionKindId;
  record: string;
  period: RetentionPeriod;
  /** "90 days (API_LOG_RETENTION_DAYS)" */
  periodText: string;
  from: string;
  action: RetentionKind['action'];
  then: string;
  appliedBy: RetentionKind['appliedBy'];
  holds: string;
  /** past the period now and not held (null: not counted here) */
  due: number | null;
  /** past the period but held */
  held: number | null;
}

export interface RetentionReport {
  now: Date;
  rows: RetentionReportRow[];
  lastRun: { id: string; startedAt: Date; finishedAt: Date | null; results: RetentionResults | null; error: string | null } | null;
}

export interface RetentionService {
  /** Applies every kind the retention job owns at the clock's now. */
  run(): Promise<RetentionRunResult>;
  /** The schedule with what is due now (and held), and the last run. */
  report(): Promise<RetentionReport>;
}

export interface RetentionDeps {
  database: Database;
  store: ObjectStore;
  logger: Logger;
  config: RetentionSettings & { dataDir: string };
  clock?: Pick<Clock, 'now'>;
  /** the exports service's `expire`: deletes the files of exports whose link has ended and marks them expired (holds kept) */
  expireExports: (now: Date) => Promise<{ expired: number; keptByHold: number }>;
  /** rows per batch (one transaction each) */
  batchSize?: number;
}

const DEFAULT_BATCH = 1000;
/** a file batch: objects deleted from the store before their rows change */
const FILE_BATCH = 100;

export function createRetentionService(deps: RetentionDeps): RetentionService {
  const { database, store, logger, config } = deps;
  const clock = deps.clock ?? systemClock;
  const batch = deps.batchSize ?? DEFAULT_BATCH;
  const outbox = path.join(config.dataDir, 'outbox');

  const cutoff = (id: RetentionKindId, now: Date) => cutoffOf(kindOf(id).period(config), now);

  /** Repeats a batch (one transaction) until one removes fewer than a full batch. */
  async function loop(step: () => Promise<number>, full: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await step();
      total += n;
      if (n < full) return total;
    }
  }

  async function applyTable(kind: TableRuleKind, now: Date): Promise<KindResult> {
    const before = cutoff(kind, now);
    const removed = await loop(() => database.transaction((tx) => deleteTableRuleBatch(tx, kind, before, now, batch)), batch);
    const { held } = await countTableRule(database, kind, before, now);
    return { removed, keptByHold: held };
  }

  async function expireExportFiles(now: Date): Promise<KindResult> {
    const { expired, keptByHold } = await deps.expireExports(now);
    return { removed: expired, keptByHold };
  }

  async function deleteExportRecords(now: Date): Promise<KindResult> {
    const before = cutoff('export-records', now);
    const removed = await loop(
      () =>
        database.transaction(async (tx) => {
          const rows = await oldExportRecords(tx, before, now, FILE_BATCH);
          const keys = rows.flatMap((r) => (r.storageKey ? [r.storageKey] : []));
          if (keys.length) await store.deleteMany(keys);
          return deleteExportRows(
            tx,
            rows.map((r) => r.id),
          );
        }),
      FILE_BATCH,
    );
    return { removed, keptByHold: (await countOldExportRecords(database, before, now)).held };
  }

  async function deleteOrders(now: Date): Promise<KindResult & { ledger: number }> {
    const before = cutoff('deleted-account-orders', now);
    let ledger = 0;
    const removed = await loop(
      () =>
        database.transaction(async (tx) => {
          const r = await deleteDeletedAccountOrdersBatch(tx, before, batch);
          ledger += r.ledger;
          return r.orders;
        }),
      batch,
    );
    return { removed, keptByHold: 0, ledger };
  }

  /** The outbox folder: a message is `<ISO time>-<random>.eml` plus its `.json` sidecar (adapters/mail/outbox.ts). */
  async function outboxFiles(now: Date): Promise<{ due: string[]; held: string[] }> {
    let names: string[];
    try {
      names = await fs.readdir(outbox);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { due: [], held: [] };
      throw err;
    }
    const before = cutoff('mail-outbox', now).getTime();
    const old: { stem: string; to: string | null }[] = [];
    const stray: string[] = [];
    const present = new Set(names);
    for (const name of names) {
      const stem = messageStem(name);
      if (stem === null) {
        // an interrupted write (`.<name>.<random>.tmp`): gone once it is as old as a message would be
        if (/^\..+\.tmp$/.test(name) && (await mtimeMs(path.join(outbox, name))) < before) stray.push(name);
        continue;
      }
      if (!name.endsWith('.json') && present.has(`${stem}.json`)) continue; // counted once, by its sidecar
      const written = stemTime(stem) ?? (await mtimeMs(path.join(outbox, name)));
      if (written < before) old.push({ stem, to: name.endsWith('.json') ? await recipientOf(path.join(outbox, name)) : null });
    }
    const held = await heldEmailsAmong(
      database,
      old.flatMap((o) => (o.to ? [o.to] : [])),
      now,
    );
    const isHeld = (o: { to: string | null }) => o.to !== null && held.has(o.to.toLowerCase());
    return { due: [...old.filter((o) => !isHeld(o)).map((o) => o.stem), ...stray], held: old.filter(isHeld).map((o) => o.stem) };
  }

  async function deleteOutbox(now: Date): Promise<KindResult> {
    const { due, held } = await outboxFiles(now);
    let removed = 0;
    for (const entry of due) {
      if (entry.startsWith('.')) {
        await fs.rm(path.join(outbox, entry), { force: true });
        continue;
      }
      // the sidecar last: a message is listed (dev mailbox) only while its sidecar exists
      await fs.rm(path.join(outbox, `${entry}.eml`), { force: true });
      await fs.rm(path.join(outbox, `${entry}.json`), { force: true });
      removed += 1;
    }
    return { removed, keptByHold: held.length };
  }

  async function apply(kind: RetentionKindId, now: Date): Promise<Record<string, KindResult>> {
    switch (kind) {
      case 'export-files':
        return { [kind]: await expireExportFiles(now) };
      case 'export-records':
        return { [kind]: await deleteExportRecords(now) };
      case 'mail-outbox':
        return { [kind]: await deleteOutbox(now) };
      case 'deleted-account-orders': {
        const { ledger, ...orders } = await deleteOrders(now);
        // their ledger rows went with them: counted under the ledger kind of this run
        return { [kind]: orders, 'deleted-account-ledger': { removed: ledger, keptByHold: 0 } };
      }
      default:
        if (kind in tableRules) return { [kind]: await applyTable(kind as TableRuleKind, now) };
        throw new Error(`retention: no way to apply ${kind}`);
    }
  }

  async function count(kind: RetentionKindId, now: Date): Promise<DueCount | null> {
    switch (kind) {
      case 'export-files':
        return countExpiredExportFiles(database, now);
      case 'export-records':
        return countOldExportRecords(database, cutoff(kind, now), now);
      case 'mail-outbox': {
        const { due, held } = await outboxFiles(now);
        return { due: due.filter((d) => !d.startsWith('.')).length, held: held.length };
      }
      case 'deleted-account-orders':
        return countDeletedAccountOrders(database, cutoff(kind, now));
      default:
        return kind in tableRules ? countTableRule(database, kind as TableRuleKind, cutoff(kind, now), now) : null;
    }
  }

  return {
    async run() {
      const startedAt = clock.now();
      const id = await insertRetentionRun(database, startedAt);
      const results: Record<string, KindResult> = {};
      const errors: Record<string, string> = {};
      for (const kind of ownRetentionKinds) {
        try {
          for (const [k, r] of Object.entries(await apply(kind.id, startedAt))) {
            const before = results[k];
            results[k] = before ? { removed: before.removed + r.removed, keptByHold: Math.max(before.keptByHold, r.keptByHold) } : r;
          }
        } catch (err) {
          errors[kind.id] = (err as Error).message;
          logger.error({ err, kind: kind.id }, 'retention: a kind failed (the others ran; the job is retried)');
        }
      }
      const finishedAt = clock.now();
      const error = Object.keys(errors).length
        ? Object.entries(errors)
            .map(([k, m]) => `${k}: ${m}`)
            .join('; ')
        : null;
      await finishRetentionRun(database, id, finishedAt, results, error);
      const removed = Object.values(results).reduce((n, r) => n + r.removed, 0);
      const keptByHold = Object.values(results).reduce((n, r) => n + r.keptByHold, 0);
      logger.info({ runId: id, removed, keptByHold, results, ...(error ? { error } : {}) }, 'retention: run finished');
      if (error) throw new Error(`retention run ${id}: ${error}`);
      return { id, startedAt, finishedAt, results, errors };
    },

    async report() {
      const now = clock.now();
      const others = await countOtherJobsDue(database, now, {
        deletedCreations: cutoff('deleted-creations', now),
        idempotencyKeys: cutoff('idempotency-keys', now),
        probeRuns: cutoff('job-probe-runs', now),
      });
      const rows: RetentionReportRow[] = [];
      for (const kind of retentionSchedule) {
        const period = kind.period(config);
        const counted: DueCount | null = (others as Partial<Record<RetentionKindId, DueCount>>)[kind.id] ?? (await count(kind.id, now));
        rows.push({
          kind: kind.id,
          record: kind.record,
          period,
          periodText: kind.periodNote?.(config) ?? describePeriod(period),
          from: kind.from,
          action: kind.action,
          then: kind.then,
          appliedBy: kind.appliedBy,
          holds: kind.holds,
          due: counted?.due ?? null,
          held: counted?.held ?? null,
        });
      }
      const last = await latestRetentionRun(database);
      return {
        now,
        rows,
        lastRun: last ? { id: last.id, startedAt: last.startedAt, finishedAt: last.finishedAt, results: last.results, error: last.error } : null,
      };
    },
  };
}

function kindOf(id: RetentionKindId): RetentionKind {
  const kind = retentionSchedule.find((k) => k.id === id);
  if (!kind) throw new Error(`retention: unknown kind ${id}`);
  return kind;
}

/** The stem of an outbox message file (`2026-12-07T10-30-00.000Z-1a2b3c.eml` -> `2026-12-07T10-30-00.000Z-1a2b3c`), or null. */
function messageStem(name: string): string | null {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\.(eml|json)$/.exec(name);
  return m?.[1] ?? null;
}

/** The time a stem starts with (the outbox writes the ISO time with `-` for `:`), or null. */
function stemTime(stem: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})-(\d{2}(?:\.\d+)?Z)-/.exec(stem);
  const [, hour, minute, second] = m ?? [];
  if (!hour || !minute || !second) return null;
  const ms = Date.parse(`${hour}:${minute}:${second}`);
  return Number.isNaN(ms) ? null : ms;
}

async function mtimeMs(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY; // gone meanwhile: nothing to remove
  }
}

async function recipientOf(sidecar: string): Promise<string | null> {
  try {
    const entry = JSON.parse(await fs.readFile(sidecar, 'utf8')) as { to?: unknown };
    return typeof entry.to === 'string' ? entry.to.trim() : null;
  } catch {
    return null;
  }
}
