import { buffer } from 'node:stream/consumers';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import {
  createCsamReporter,
  CSAM_INCIDENT,
  CYBERTIPLINE_PRODUCTION_URL,
  CYBERTIPLINE_TEST_URL,
  emptyProgress,
  ReporterError,
  type CsamReporter,
  type FileAnnotation,
  type Incident,
  type IncidentFile,
  type ReportProgress,
} from '../../adapters/reporting';
import type { ObjectStore } from '../../adapters/storage';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { moderationNcmecReport } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { deleteUserSessions } from '../auth/auth.repo';
import { storedKeysOf } from '../media/creations.service';
import { setStatusByEmail } from '../users/users.repo';
import { addEvent, caseEvidence } from './cases.repo';
import { placeHold } from './holds.service';
import type { AuditTrail } from '../admin/audit.service';
import {
  claimReport,
  endAttempt,
  generationFacts,
  getReport,
  getReportForCase,
  insertReport,
  listReports,
  lockCase,
  mediaFacts,
  noteUnsent,
  reportedUser,
  requeueReport,
  saveProgress,
  signInAddresses,
  type NcmecReportRow,
} from './ncmec.repo';

/**
 * CSAM escalation and the CyberTipline report (issue 16; docs/provider-apis.md §7).
 *
 * `escalate(tx, …)` runs inside the caller's transaction (a moderator's `escalate_csam` decision, or
 * an automatic escalation after a CSAM hash-list match): it assembles the report from the case
 * (incident time and type, the uploader's email and name, the addresses they signed in from with
 * when, the evidence files), stores it as the `ncmec_reports` row (one per case), terminates the
 * account (status and sessions, like the users service), places legal holds on the user, the case and
 * the generation/media for NCMEC_PRESERVE_DAYS, and enqueues `moderation.ncmec-report`. Everything
 * commits together or not at all. The facts are gathered before termination ends the sessions that
 * hold the IP addresses.
 *
 * `run(id)` (the job) files the report through the reporter adapter with the progress persisted
 * after every step, so a retry resumes where the last attempt stopped and never opens a second
 * report once a reportId is recorded; a `finish` whose answer was lost is recognised on retry by
 * the service's "already finished". One attempt at a time: an attempt claims the row (`attempts` is
 * its token, guarding each write), and a claim whose attempt died is taken over after LEASE_MS
 * without progress. Without NCMEC credentials the row stays `queued` with `lastError` saying so; an
 * admin retries it (`retry`, route POST /api/moderation/ncmec-reports/:id/retry) once configured.
 */

/** an attempt that wrote nothing for this long is dead (longer than one upload may take: 10 min) */
export const LEASE_MS = 15 * 60_000;

export const TERMINATED_REASON = 'This account was closed for a severe violation of the terms of service.';

export interface EscalateInput {
  caseId: string;
  /** the moderator; null for an automatic escalation (hash-list match) */
  actorId: string | null;
  reason: string;
}

export interface EscalateResult {
  /** the ncmec_reports row */
  reportId: string;
  /** false: the case had been escalated before (nothing was done again) */
  created: boolean;
  holdIds: string[];
}

/** What the escalation stored (ncmec_reports.payload): everything the job needs but the bytes. */
export interface ReportPayload {
  caseId: string;
  incident: { type: string; occurredAt: string; urls: string[]; additionalInfo: string };
  user: {
    id: string;
    email: string;
    emailVerified: boolean;
    name: string;
    createdAt: string;
    ipCaptures: { ip: string; at: string; event: 'Login' }[];
  } | null;
  files: {
    /** evidence id, or `generation:<id>` / `media:<id>` */
    key: string;
    storageKey: string;
    contentType: string | null;
    fileName: string;
    input: string;
    sha256: string | null;
    pdq: string | null;
    generativeAi: boolean;
  }[];
  /** a moderator looked at the material (false for an automatic hash-list match) */
  viewedByEsp: boolean;
}

export interface NcmecService {
  escalate(tx: DbHandle, input: EscalateInput): Promise<EscalateResult>;
  /** One attempt of the job: files the report, resuming from its persisted progress. */
  run(id: string, attempt?: { attempt: number; last: boolean }): Promise<NcmecReportRow | null>;
  /** An operator's retry of a queued or failed report: queued again and a job enqueued. */
  retry(actorId: string | null, id: string, audit?: AuditTrail): Promise<NcmecReportRow>;
  get(id: string): Promise<NcmecReportRow | null>;
  forCase(caseId: string): Promise<NcmecReportRow | null>;
  list(opts?: { status?: NcmecReportRow['status']; limit?: number }): Promise<NcmecReportRow[]>;
  /** why reports cannot be sent (missing settings), or null when the reporter is configured */
  unavailableReason(): string | null;
}

export interface NcmecDeps {
  database: Database;
  queue: JobQueue;
  store: ObjectStore;
  config: Config;
  logger: Logger;
  clock?: Pick<Clock, 'now'>;
}

const day = 86_400_000;

function baseUrlOf(config: Config): string {
  return config.NCMEC_BASE_URL ?? (config.NCMEC_ENVIRONMENT === 'production' ? CYBERTIPLINE_PRODUCTION_URL : CYBERTIPLINE_TEST_URL);
}

/** The reporter from settings, or why there is none. */
export function reporterFromConfig(config: Config): { reporter: CsamReporter } | { unavailable: string } {
  const { NCMEC_USERNAME: username, NCMEC_PASSWORD: password } = config;
  const { NCMEC_REPORTER_FIRST_NAME: firstName, NCMEC_REPORTER_LAST_NAME: lastName, NCMEC_REPORTER_EMAIL: email } = config;
  if (!username || !password || !firstName || !lastName || !email) {
    const missing = Object.entries({
      NCMEC_USERNAME: username,
      NCMEC_PASSWORD: password,
      NCMEC_REPORTER_FIRST_NAME: firstName,
      NCMEC_REPORTER_LAST_NAME: lastName,
      NCMEC_REPORTER_EMAIL: email,
    })
      .filter(([, v]) => !v)
      .map(([k]) => k);
    return { unavailable: `The CyberTipline report is not sent: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set.` };
  }
  try {
    return {
      reporter: createCsamReporter({
        baseUrl: baseUrlOf(config),
        username,
        password,
        reporter: { firstName, lastName, email, ...(config.NCMEC_REPORTER_PHONE ? { phone: config.NCMEC_REPORTER_PHONE } : {}) },
      }),
    };
  } catch (err) {
    return { unavailable: `The CyberTipline report is not sent: the NCMEC settings are not usable (${(err as Error).message}).` };
  }
}

const OUTPUT_INPUTS = new Set(['output', 'thumbnail', 'preview']);

/** The adapter's incident, rebuilt from the stored payload (files read from the store when uploaded). */
export function incidentOf(payload: ReportPayload, store: ObjectStore): Incident {
  const u = payload.user;
  const files: IncidentFile[] = payload.files.map((f) => {
    const annotations: FileAnnotation[] = f.generativeAi ? ['generativeAi'] : [];
    return {
      key: f.key,
      fileName: f.fileName,
      ...(f.contentType ? { contentType: f.contentType } : {}),
      viewedByEsp: payload.viewedByEsp,
      publiclyAvailable: false,
      relevance: 'Reported',
      ...(annotations.length ? { annotations } : {}),
      ...(f.pdq ? { details: [{ type: 'HASH' as const, pairs: [{ name: 'PDQ', value: f.pdq }] }] } : {}),
      additionalInfo: [`${f.input} of case ${payload.caseId}${f.sha256 ? `; SHA-256 when stored: ${f.sha256}` : ''}`],
      read: async () => buffer((await store.get(f.storageKey)).body),
    };
  });
  return {
    incidentType: CSAM_INCIDENT,
    occurredAt: new Date(payload.incident.occurredAt),
    ...(payload.incident.urls.length ? { webPage: { urls: payload.incident.urls, thirdPartyHostedContent: false } } : {}),
    ...(u
      ? {
          reportedUser: {
            espIdentifier: u.id,
            espService: 'Save Sora video generation',
            emails: [{ address: u.email, verified: u.emailVerified }],
            ...(u.name ? { displayNames: [u.name] } : {}),
            ipCaptures: u.ipCaptures.map((c) => ({ ip: c.ip, at: new Date(c.at), event: c.event })),
            additionalInfo: `Account created ${u.createdAt}; terminated when this report was made.`,
          },
        }
      : {}),
    additionalInfo: payload.incident.additionalInfo,
    files,
  };
}

const describeError = (err: unknown) =>
  err instanceof ReporterError ? `${err.message}${err.requestId ? ` (Request-ID ${err.requestId})` : ''}` : err instanceof Error ? err.message : String(err);

export function createNcmecService({ database, queue, store, config, logger, clock = systemClock }: NcmecDeps): NcmecService {
  let configured: ReturnType<typeof reporterFromConfig> | undefined;
  const reporter = () => (configured ??= reporterFromConfig(config));

  async function assemble(tx: DbHandle, c: NonNullable<Awaited<ReturnType<typeof lockCase>>>, input: EscalateInput): Promise<ReportPayload> {
    const gen = c.generationId ? await generationFacts(tx, c.generationId) : null;
    const med = c.mediaId ? await mediaFacts(tx, c.mediaId) : null;
    const userId = c.userId ?? gen?.userId ?? med?.userId ?? null;
    const user = userId ? await reportedUser(tx, userId) : null;
    const ips = user ? await signInAddresses(tx, user.id) : [];
    const files: ReportPayload['files'] = [];
    const seen = new Set<string>();
    const evidence = await caseEvidence(tx, c.id);
    const hasOriginal = evidence.some((ev) => ev.input === 'reference_original' && ev.storageKey);
    for (const ev of evidence) {
      if (!ev.storageKey || seen.has(ev.storageKey)) continue;
      // the video and the reference are the material; derived thumbnails and previews add nothing,
      // and a reference is reported as it arrived, not as we re-encoded it
      if (ev.input === 'thumbnail' || ev.input === 'preview' || (hasOriginal && ev.input === 'reference')) continue;
      seen.add(ev.storageKey);
      files.push({
        key: ev.id,
        storageKey: ev.storageKey,
        contentType: ev.contentType,
        fileName: `${ev.input}-${ev.id.slice(0, 8)}`,
        input: ev.input,
        sha256: ev.sha256,
        pdq: ev.pdq,
        generativeAi: OUTPUT_INPUTS.has(ev.input),
      });
    }
    // the material still where the user's library keeps it (a report on a visible creation)
    const video = gen ? storedKeysOf({ outputUrl: gen.outputUrl, outputThumbnailUrl: null, outputPreviewUrl: null })[0] : undefined;
    if (gen && video && !seen.has(video)) {
      seen.add(video);
      files.push({
        key: `generation:${gen.id}`,
        storageKey: video,
        contentType: 'video/mp4',
        fileName: `output-${gen.id.slice(0, 8)}.mp4`,
        input: 'output',
        sha256: null,
        pdq: null,
        generativeAi: true,
      });
    }
    if (med && !seen.has(med.storageKey)) {
      seen.add(med.storageKey);
      files.push({
        key: `media:${med.id}`,
        storageKey: med.storageKey,
        contentType: med.contentType,
        fileName: med.name ?? `reference-${med.id.slice(0, 8)}`,
        input: 'reference',
        sha256: med.sha256,
        pdq: null,
        generativeAi: false,
      });
    }
    const occurredAt = gen?.createdAt ?? med?.createdAt ?? c.openedAt;
    const who = input.actorId ? 'confirmed by a trust & safety moderator' : 'matched a known child sexual abuse material hash list';
    return {
      caseId: c.id,
      incident: {
        type: CSAM_INCIDENT,
        occurredAt: occurredAt.toISOString(),
        urls: gen ? [`${config.PUBLIC_URL}/creations/${gen.id}`] : [],
        additionalInfo: `Material ${who} (case ${c.id}, ${c.subject}${c.topCategory ? `, ${c.topCategory}` : ''}). ${input.reason}`.trim(),
      },
      user: user
        ? {
            id: user.id,
            email: user.email,
            emailVerified: user.emailVerified,
            name: user.name,
            createdAt: user.createdAt.toISOString(),
            ipCaptures: ips.map((s) => ({ ip: s.ip, at: s.at.toISOString(), event: 'Login' as const })),
          }
        : null,
      files,
      viewedByEsp: input.actorId !== null,
    };
  }

  async function event(db: DbHandle, caseId: string, action: string, note: string, details: Record<string, unknown>, actorId: string | null = null) {
    await addEvent(db, caseId, { kind: 'ncmec', source: 'cybertipline', action, actorId, note, details }, clock.now());
  }

  return {
    async escalate(tx, input) {
      const now = clock.now();
      const c = await lockCase(tx, input.caseId);
      if (!c) throw notFound('That case');
      const existing = await getReportForCase(tx, c.id);
      if (existing) return { reportId: existing.id, created: false, holdIds: [] };
      const payload = await assemble(tx, c, input);
      const row = await insertReport(tx, { caseId: c.id, environment: config.NCMEC_ENVIRONMENT, payload: { ...payload }, createdBy: input.actorId }, now);
      if (!row) throw new AppError('already_escalated', 'This case was escalated already.', 409);

      // terminated: signed out everywhere, sign-in refused (the users service's status change, in this transaction)
      if (payload.user && payload.user.id) {
        await setStatusByEmail(tx, payload.user.email, 'terminated', TERMINATED_REASON);
        await deleteUserSessions(tx, payload.user.id);
      }

      const expiresAt = new Date(now.getTime() + config.NCMEC_PRESERVE_DAYS * day);
      const reason = `CyberTipline report (18 U.S.C. 2258A): preserved for ${config.NCMEC_PRESERVE_DAYS} days`;
      const subjects: { kind: 'user' | 'case' | 'generation' | 'media'; id: string }[] = [{ kind: 'case', id: c.id }];
      if (payload.user) subjects.push({ kind: 'user', id: payload.user.id });
      if (c.generationId && (await generationFacts(tx, c.generationId))) subjects.push({ kind: 'generation', id: c.generationId });
      if (c.mediaId && (await mediaFacts(tx, c.mediaId))) subjects.push({ kind: 'media', id: c.mediaId });
      const holdIds: string[] = [];
      for (const s of subjects) {
        const hold = await placeHold(tx, input.actorId, { subjectKind: s.kind, subjectId: s.id, reason, expiresAt, caseId: c.id }, now);
        holdIds.push(hold.id);
      }

      await event(
        tx,
        c.id,
        'queued',
        input.reason,
        { reportRowId: row.id, files: payload.files.length, ipAddresses: payload.user?.ipCaptures.length ?? 0 },
        input.actorId,
      );
      await queue.enqueue(moderationNcmecReport, { id: row.id }, { tx, singletonKey: row.id });
      return { reportId: row.id, created: true, holdIds };
    },

    async run(id, attempt) {
      const row = await getReport(database, id);
      if (!row || row.status === 'submitted' || row.status === 'retracted') return row;
      const r = reporter();
      if ('unavailable' in r) {
        if (row.lastError !== r.unavailable) {
          await noteUnsent(database, id, r.unavailable, clock.now());
          await event(database, row.caseId, 'unsent', r.unavailable, { reportRowId: id });
        }
        logger.warn({ reportRowId: id }, r.unavailable);
        return getReport(database, id);
      }
      const now = clock.now();
      const claimed = await claimReport(database, id, now, new Date(now.getTime() - LEASE_MS));
      if (!claimed) {
        logger.info({ reportRowId: id }, 'ncmec: the report is being filed by another attempt, or is done');
        return getReport(database, id);
      }
      const token = claimed.attempts;
      const payload = claimed.payload as unknown as ReportPayload;
      const start = (claimed.progress as ReportProgress | null) ?? emptyProgress();
      let progress = start;
      try {
        const done = await r.reporter.fileReport(incidentOf(payload, store), start, async (next) => {
          progress = next;
          const ok = await saveProgress(database, id, token, { ...next }, next.reportId ?? null, clock.now());
          if (!ok) throw new Error('another attempt took this report over; this one stops');
        });
        const ended = await endAttempt(database, id, token, { status: 'submitted', lastError: null, reportId: done.reportId }, clock.now());
        await event(database, row.caseId, 'filed', `CyberTipline report ${done.reportId} filed`, {
          reportRowId: id,
          reportId: done.reportId,
          fileIds: done.fileIds,
          alreadyFinished: done.alreadyFinished,
        });
        logger.info({ reportRowId: id, reportId: done.reportId }, 'ncmec: CyberTipline report filed');
        return ended;
      } catch (err) {
        const message = describeError(err);
        // an unfinished report the service no longer has (expired) was never filed: start a new one
        const expired = err instanceof ReporterError && err.kind === 'not_found' && !progress.finished && progress.reportId !== undefined;
        const retryable = expired || !(err instanceof ReporterError) || err.retryable;
        const giveUp = !retryable || attempt?.last === true;
        await endAttempt(
          database,
          id,
          token,
          { status: giveUp ? 'failed' : 'queued', lastError: message, ...(expired ? { progress: null, reportId: null } : {}) },
          clock.now(),
        );
        if (expired) await event(database, row.caseId, 'expired', message, { reportRowId: id, reportId: progress.reportId });
        if (giveUp) {
          await event(database, row.caseId, 'failed', message, { reportRowId: id, attempts: token });
          logger.error({ reportRowId: id, err: message }, 'ncmec: filing the CyberTipline report failed; an admin must retry it');
          return getReport(database, id);
        }
        logger.warn({ reportRowId: id, err: message }, 'ncmec: filing the CyberTipline report failed; it will be retried');
        throw err;
      }
    },

    async retry(actorId, id, audit) {
      return database.transaction(async (tx) => {
        const row = await requeueReport(tx, id, clock.now());
        if (!row) {
          const existing = await getReport(tx, id);
          if (!existing) throw notFound('That report');
          throw new AppError('report_not_retryable', `This report is ${existing.status}; only a queued or failed report can be retried.`, 409);
        }
        await addEvent(
          tx,
          row.caseId,
          { kind: 'ncmec', source: 'cybertipline', action: 'retry', actorId, note: 'retry requested', details: { reportRowId: id } },
          clock.now(),
        );
        await queue.enqueue(moderationNcmecReport, { id: row.id }, { tx });
        if (audit)
          await audit({ action: 'ncmec_report.retry', targetType: 'case', targetId: row.caseId, after: { reportRowId: row.id, status: row.status } }, tx);
        return row;
      });
    },

    get: (id) => getReport(database, id),
    forCase: (caseId) => getReportForCase(database, caseId),
    list: (opts = {}) => listReports(database, { ...(opts.status ? { status: opts.status } : {}), limit: opts.limit ?? 100 }),
    unavailableReason() {
      const r = reporter();
      return 'unavailable' in r ? r.unavailable : null;
    },
  };
}
