import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { ExportView } from '../../../shared/api/exports';
import { normalizeLanguage } from '../../../shared/languages';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Mailer } from '../../adapters/mail/mailer';
import { objectKey, type ObjectStore } from '../../adapters/storage';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { privacyExportBuild, privacyExportMail } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { deriveKey } from '../../lib/secret-box';
import { sendTemplateMail } from '../../mail/send';
import { writeExportArchive, type ArchiveOptions, type ArchiveResult } from './export.archive';
import {
  countExportsSince,
  expiredExports,
  findExportOwner,
  getExport,
  heldExpiredCount,
  insertExport,
  listUserExports,
  lockExport,
  lockExportOwner,
  markExpired,
  markFailed,
  markReady,
  oldestExportSince,
  releaseLease,
  renewLease,
  runningExportOf,
  startBuilding,
  type ExportRow,
} from './export.repo';
import type { AuditTrail } from '../admin/audit.service';

/**
 * Data exports (privacy policy 5: access and portability). A user (or an operator on their
 * behalf) asks; one transaction records the export and enqueues `privacy.export-build`; the job
 * streams the ZIP (export.archive.ts) into the object store and, once it is stored, marks it ready
 * and enqueues `privacy.export-mail` in the same transaction. The mail links to our own
 * `/api/exports/:id/download?token=…` (an HMAC of the export id and its user, keyed from
 * SESSION_SECRET; the row decides whether it still downloads), which answers with a short-lived signed URL of the stored file.
 *
 * Rules: one export at a time per user (409 `export_in_progress`), at most three a day asked for
 * by the user (429; operators acting on a request that arrived by mail are not limited), the link
 * works EXPORT_LINK_DAYS days after the archive is finished (then 410 `export_expired`, and
 * `expire` deletes the file). A build holds a lease on its row, renewed while it runs; a build
 * whose worker died is taken over by the job's retry and rebuilt from scratch (the previous
 * attempt's object is deleted first), and every attempt writes its own object, so a stale builder
 * can never overwrite a newer one.
 */

export const EXPORTS_PER_DAY = 3;
/** a build's lease; renewed every RENEW_MS while it runs */
export const EXPORT_LEASE_MS = 2 * 60_000;
const RENEW_MS = 20_000;
/** the signed store URL a download answers with works this long (the download starts within it) */
export const EXPORT_STORE_URL_SECONDS = 15 * 60;
const DAY_MS = 86_400_000;
const TOKEN_PURPOSE = 'data-export-download';

export interface ExportsService {
  /** Ask for an export of `userId`'s data; `requestedBy` is the operator acting for them (null: the user). */
  request(userId: string, by: { requestedBy: string | null; audit?: AuditTrail | undefined }): Promise<ExportView>;
  /** The user's exports, newest first (404 for an unknown user). */
  list(userId: string): Promise<ExportView[]>;
  /** A short-lived signed URL of the user's ready export (404 another user's, 409 not ready, 410 expired). */
  download(userId: string, id: string): Promise<string>;
  /** As `download`, for the link in the mail (no session): 404 when the token does not match. */
  downloadWithToken(id: string, token: string): Promise<string>;
  /** The token of the mailed link of the export `id` of `userId`. */
  linkToken(id: string, userId: string): string;
  /** The job: build (or rebuild) the archive and store it. */
  build(id: string, job?: { attempt: number; last: boolean }): Promise<void>;
  /** The job after a build: mail the link to the user. */
  mailReady(id: string): Promise<void>;
  /** Write the archive of `userId` to `out` (the job and the CLI). */
  writeArchive(userId: string, out: Writable, opts?: ArchiveOptions): Promise<ArchiveResult>;
  /** Delete the files of exports whose link has ended (the retention job); a legal hold on the user keeps them. */
  expire(now?: Date): Promise<{ expired: number; keptByHold: number }>;
}

export interface ExportsDeps {
  database: Database;
  queue: JobQueue;
  store: ObjectStore;
  mailer: Mailer;
  config: Pick<Config, 'EXPORT_LINK_DAYS' | 'SESSION_SECRET' | 'SESSION_SECRET_PREVIOUS' | 'PUBLIC_URL' | 'SUPPORT_EMAIL'>;
  logger: Logger;
  clock?: Clock;
}

/** `12.5 MB`, in the reader's language (`12,5 MB`). */
export function formatBytes(bytes: number, language: string): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const nf = new Intl.NumberFormat(normalizeLanguage(language) === 'es' ? 'es-ES' : 'en-US', { maximumFractionDigits: unit === 0 ? 0 : 1 });
  return `${nf.format(value)} ${units[unit] ?? 'TB'}`;
}

export function createExportsService(deps: ExportsDeps): ExportsService {
  const { database, queue, store, mailer, config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const signingKey = deriveKey(config.SESSION_SECRET, TOKEN_PURPOSE);
  // links made before a SESSION_SECRET rotation still open with SESSION_SECRET_PREVIOUS
  const tokenKeys = [signingKey, ...config.SESSION_SECRET_PREVIOUS.map((s) => deriveKey(s, TOKEN_PURPOSE))];

  /** the mailed link's token: an HMAC of the export and its owner (the row decides whether it is still downloadable) */
  const tokenWith = (key: Buffer, id: string, userId: string) => createHmac('sha256', key).update(`data-export.${id}.${userId}`).digest();

  function toView(row: ExportRow, now: Date): ExportView {
    const expired = row.status === 'expired' || (row.status === 'ready' && (!row.expiresAt || row.expiresAt <= now));
    const status = expired ? 'expired' : row.status;
    const c = row.contents;
    const progress =
      row.status === 'building' && c && typeof c.progressDone === 'number' && typeof c.progressTotal === 'number'
        ? { done: c.progressDone, total: Math.max(c.progressTotal, c.progressDone) }
        : row.status === 'queued' || row.status === 'building'
          ? { done: 0, total: 0 }
          : null;
    return {
      id: row.id,
      status,
      byOperator: row.requestedBy !== null,
      createdAt: row.createdAt.toISOString(),
      startedAt: row.startedAt?.toISOString() ?? null,
      finishedAt: row.finishedAt?.toISOString() ?? null,
      expiresAt: row.status === 'ready' || row.status === 'expired' ? (row.expiresAt?.toISOString() ?? null) : null,
      sizeBytes: row.status === 'ready' || row.status === 'expired' ? row.sizeBytes : null,
      contents: row.status === 'ready' || row.status === 'expired' ? c : null,
      progress,
      downloadable: status === 'ready' && row.storageKey !== null,
    };
  }

  /** The answer to a download of `row`: a signed URL of the stored ZIP, or why not. */
  async function signedUrlFor(row: ExportRow): Promise<string> {
    const now = clock.now();
    if (row.status === 'expired' || (row.status === 'ready' && (!row.expiresAt || row.expiresAt <= now || !row.storageKey))) {
      throw new AppError('export_expired', 'This export has expired and its file was deleted. You can ask for a new one on your account page.', 410);
    }
    if (row.status === 'failed') throw new AppError('export_failed', 'This export could not be made. You can ask for a new one on your account page.', 409);
    if (row.status !== 'ready' || !row.storageKey || !row.expiresAt) {
      throw new AppError('export_not_ready', 'This export is still being prepared. We will email you when it is ready.', 409);
    }
    const left = Math.floor((row.expiresAt.getTime() - now.getTime()) / 1000);
    const day = (row.finishedAt ?? row.createdAt).toISOString().slice(0, 10);
    return store.signedUrl(row.storageKey, {
      expiresInSeconds: Math.max(1, Math.min(EXPORT_STORE_URL_SECONDS, left)),
      downloadName: `savesora-export-${day}.zip`,
      contentType: 'application/zip',
    });
  }

  const writeArchive = (userId: string, out: Writable, opts?: ArchiveOptions) =>
    writeExportArchive({ database, store, clock, logger: logger.child({ component: 'exports', userId }) }, userId, out, opts);

  return {
    async request(userId, by) {
      const { row, abandonedKey } = await database.transaction(async (tx) => {
        let abandoned: string | null = null;
        const owner = await lockExportOwner(tx, userId);
        if (!owner) throw notFound('That user');
        const now = clock.now();
        const running = await runningExportOf(tx, userId);
        if (running) {
          // a build whose worker died and whose retries are used up: given up, so a new one can start
          const stale = running.status === 'building' && running.leaseUntil !== null && running.leaseUntil.getTime() + EXPORT_LEASE_MS < now.getTime();
          if (!stale) {
            throw new AppError('export_in_progress', 'An export of this account is already being prepared. We will email a link when it is ready.', 409);
          }
          await markFailed(tx, running.id, null, 'interrupted', now);
          abandoned = running.storageKey;
        }
        if (by.requestedBy === null) {
          const since = new Date(now.getTime() - DAY_MS);
          if ((await countExportsSince(tx, userId, since)) >= EXPORTS_PER_DAY) {
            const oldest = await oldestExportSince(tx, userId, since);
            const retryAfterSeconds = Math.max(60, Math.ceil(((oldest?.getTime() ?? now.getTime()) + DAY_MS - now.getTime()) / 1000));
            throw new AppError(
              'too_many_exports',
              `You can ask for ${EXPORTS_PER_DAY} exports a day. Try again in ${Math.ceil(retryAfterSeconds / 3600)} h.`,
              429,
              { extra: { retryAfterSeconds } },
            );
          }
        }
        const inserted = await insertExport(tx, { id: randomUUID(), userId, requestedBy: by.requestedBy, createdAt: now });
        await queue.enqueue(privacyExportBuild, { id: inserted.id }, { tx });
        // an operator's export on the user's behalf is an audited action (issue 18)
        if (by.audit) await by.audit({ action: 'user.export', targetType: 'user', targetId: userId, after: { exportId: inserted.id } }, tx);
        return { row: inserted, abandonedKey: abandoned };
      });
      // what the abandoned build had written (if anything) belongs to nobody now
      if (abandonedKey) await store.delete(abandonedKey).catch((err: unknown) => logger.warn({ err }, 'exports: could not delete an abandoned attempt'));
      logger.info({ exportId: row.id, userId, requestedBy: by.requestedBy }, 'exports: export requested');
      return toView(row, clock.now());
    },

    async list(userId) {
      if (!(await findExportOwner(database, userId))) throw notFound('That user');
      const now = clock.now();
      return (await listUserExports(database, userId, 20)).map((r) => toView(r, now));
    },

    async download(userId, id) {
      const row = await getExport(database, id);
      if (!row || row.userId !== userId) throw notFound('That export');
      return signedUrlFor(row);
    },

    async downloadWithToken(id, token) {
      const row = await getExport(database, id);
      const given = /^[A-Za-z0-9_-]{43}$/.test(token) ? Buffer.from(token, 'base64url') : null;
      const valid =
        row &&
        given &&
        tokenKeys.some((key) => {
          const want = tokenWith(key, row.id, row.userId);
          return want.length === given.length && timingSafeEqual(want, given);
        });
      if (!row || !valid) throw new AppError('not_found', 'This download link is not valid. Use the latest link we emailed you, or sign in to download.', 404);
      return signedUrlFor(row);
    },

    linkToken(id, userId) {
      return tokenWith(signingKey, id, userId).toString('base64url');
    },

    async build(id, job) {
      const now = clock.now();
      const claim = await database.transaction(async (tx) => {
        const row = await lockExport(tx, id);
        if (!row || (row.status !== 'queued' && row.status !== 'building')) return null; // gone (account deleted) or finished
        if (row.status === 'building' && row.leaseUntil && row.leaseUntil > now) return { busy: true as const, row };
        const attempt = {
          key: objectKey('exports', id.toLowerCase(), `${randomBytes(8).toString('hex')}.zip`),
          startedAt: now,
          leaseUntil: new Date(now.getTime() + EXPORT_LEASE_MS),
        };
        await startBuilding(tx, id, attempt);
        return { busy: false as const, row, attempt, previousKey: row.storageKey };
      });
      if (!claim) return;
      if (claim.busy) {
        // another worker builds it (this is a duplicate delivery of the job): look again later, in case that worker dies
        if (job?.last) return;
        throw new Error(`export ${id} is being built by another worker`);
      }
      const { row, attempt } = claim;
      const log = logger.child({ component: 'exports', exportId: id, userId: row.userId });
      // a crashed attempt's object (if it got that far): this attempt starts from scratch
      if (claim.previousKey) await store.delete(claim.previousKey).catch((err: unknown) => log.warn({ err }, 'exports: could not delete an earlier attempt'));

      const abort = new AbortController();
      let progress = { done: 0, total: 0 };
      let cancelRenew = () => {};
      const renew = () => {
        cancelRenew = clock.setTimer(RENEW_MS, () => {
          renewLease(database, id, attempt.startedAt, new Date(clock.nowMs() + EXPORT_LEASE_MS), progress).then(
            (mine) => {
              if (!mine) abort.abort(new Error('the export was taken over or deleted'));
              else if (!abort.signal.aborted) renew();
            },
            (err: unknown) => {
              log.warn({ err }, 'exports: could not renew the lease');
              if (!abort.signal.aborted) renew();
            },
          );
        });
      };
      renew();
      const body = new PassThrough();
      const started = clock.nowMs();
      try {
        const [archived, stored] = await Promise.allSettled([
          writeArchive(row.userId, body, { signal: abort.signal, onProgress: (done, total) => (progress = { done, total }) }),
          store.put(attempt.key, body, { contentType: 'application/zip' }),
        ]);
        if (archived.status === 'rejected') throw archived.reason;
        if (stored.status === 'rejected') throw stored.reason;
        cancelRenew();
        const finishedAt = clock.now();
        const ready = await database.transaction(async (tx) => {
          const r = await markReady(tx, id, attempt.startedAt, {
            sizeBytes: stored.value.size,
            contents: archived.value.contents,
            finishedAt,
            expiresAt: new Date(finishedAt.getTime() + config.EXPORT_LINK_DAYS * DAY_MS),
          });
          if (r) await queue.enqueue(privacyExportMail, { id }, { tx, singletonKey: `export-mail:${id}` });
          return r;
        });
        if (!ready) {
          // taken over by another attempt, or the account was deleted meanwhile: this object is nobody's
          await store.delete(attempt.key).catch(() => undefined);
          log.info('exports: the export changed hands during the build; this copy was discarded');
          return;
        }
        log.info({ bytes: stored.value.size, ms: clock.nowMs() - started, contents: archived.value.contents }, 'exports: export ready');
      } catch (err) {
        cancelRenew();
        abort.abort(err);
        await store.delete(attempt.key).catch(() => undefined);
        const message = err instanceof Error ? err.message : String(err);
        if (job?.last || !job) await markFailed(database, id, attempt.startedAt, message, clock.now());
        else await releaseLease(database, id, attempt.startedAt, clock.now());
        log.warn({ err, attempt: job?.attempt }, 'exports: build failed');
        throw err;
      } finally {
        cancelRenew();
      }
    },

    async mailReady(id) {
      const row = await getExport(database, id);
      if (!row || row.status !== 'ready' || !row.expiresAt || row.expiresAt <= clock.now()) return;
      const owner = await findExportOwner(database, row.userId);
      if (!owner) return;
      const url = `${config.PUBLIC_URL}/api/exports/${encodeURIComponent(id)}/download?token=${tokenWith(signingKey, id, row.userId).toString('base64url')}`;
      await sendTemplateMail(mailer, owner.email, 'export-ready', owner.language, {
        name: owner.name,
        url,
        expiresAt: row.expiresAt,
        size: formatBytes(row.sizeBytes ?? 0, owner.language),
        supportEmail: config.SUPPORT_EMAIL,
      });
    },

    writeArchive,

    async expire(now = clock.now()) {
      let expired = 0;
      for (;;) {
        const rows = await expiredExports(database, now, 200);
        if (!rows.length) break;
        await store.deleteMany(rows.flatMap((r) => (r.storageKey ? [r.storageKey] : [])));
        expired += await database.transaction((tx) =>
          markExpired(
            tx,
            rows.map((r) => r.id),
          ),
        );
        if (rows.length < 200) break;
      }
      const keptByHold = await heldExpiredCount(database, now);
      if (expired || keptByHold) logger.info({ expired, keptByHold }, 'exports: expired export files deleted');
      return { expired, keptByHold };
    },
  };
}
