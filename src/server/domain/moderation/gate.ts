import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import type { TextInput } from '../../adapters/moderation/moderation';
import type { ObjectStore } from '../../adapters/storage';
import type { Database, DbHandle } from '../../db/client';
import { users, type CaseSubject } from '../../db/schema';
import { AppError } from '../../errors';
import type { GenerationRow } from '../generations/generations.repo';
import type { StoredOutput } from '../generations/output';
import { addEvent, addEvidence, openOrExtendCase, type CaseRow } from './cases.repo';
import { blockedMessage, fieldMessage, type BlockedInput } from './messages';
import { reasonsOf, type Verdict } from './policy';
import { copyObject, outputFiles, quarantineKey } from './quarantine';
import { fileSha256, type MediaVerdict, type Screener } from './screen';

/**
 * Where screening runs (issue 16), and what a flag or a block does:
 *
 * - `checkPrompt`, before any credit is held: a blocked prompt or negative prompt is refused with
 *   422 `content_blocked` naming the input and the category in the user's language, nothing
 *   charged, no generation; a case (subject prompt) keeps the text and the classifier event. A
 *   flagged one is accepted: `recordFlaggedPrompt` opens its case in the submit's transaction.
 * - `checkReference`, at upload and URL import: flagged or blocked files are refused (422
 *   naming `reference`), not kept as the user's media, but copied into the quarantine area as the
 *   case's evidence (a reviewer must see it, a CSAM match must be reportable).
 * - `screenOutput`, at ingest before the output becomes visible: flagged or blocked outputs go to
 *   `under_review`; the engine settles them (credits captured) and `record` moves the files into
 *   quarantine in that transaction.
 * - `recordProviderRefusal`: a provider's policy refusal becomes a `provider_refusal` event.
 * A hash match on a sexual/minors list is escalated at once (`escalate`, actor null).
 */

export interface PromptScreen {
  /** the inputs that were flagged (not blocked): the generation goes ahead and a case is opened */
  flagged: { input: TextInput; verdict: Verdict }[];
}

export interface OutputReview {
  verdict: MediaVerdict;
  /** in the engine's settle transaction: the case, its events and the files copied into quarantine */
  record(tx: DbHandle, row: GenerationRow): Promise<void>;
  /** after commit: the originals leave `generations/...`; a CSAM match is escalated */
  afterCommit(): Promise<void>;
}

export interface ReferenceFile {
  /** the processed file on this machine (what would be stored) */
  path: string;
  kind: 'image' | 'video' | 'audio';
  contentType: string;
  sizeBytes: number;
  /** the file as it arrived (before re-encoding): its SHA-256 is matched against the lists too */
  originalPath?: string;
}

export interface ModerationGate {
  readonly screener: Screener;
  checkPrompt(userId: string, input: { prompt: string; negativePrompt?: string | null | undefined }): Promise<PromptScreen>;
  recordFlaggedPrompt(tx: DbHandle, userId: string, generationId: string, screen: PromptScreen): Promise<void>;
  checkReference(userId: string, file: ReferenceFile): Promise<void>;
  screenOutput(task: GenerationRow, stored: StoredOutput): Promise<OutputReview | null>;
  recordProviderRefusal(tx: DbHandle, row: GenerationRow, detail: string | undefined): Promise<void>;
}

export interface ModerationGateDeps {
  database: Database;
  store: ObjectStore;
  screener: Screener;
  logger: Logger;
  /** scratch space for outputs being screened (DATA_DIR/tmp) */
  workDir: string;
  clock?: Pick<Clock, 'now'>;
  /** the core's automatic CSAM escalation (report, termination, hold); wired by the context */
  escalate?: (caseId: string, note: string) => Promise<void>;
}

const signalOf = (v: Verdict) => ({ severity: v.severity, topCategory: v.topCategory, action: v.action });

export function createModerationGate(deps: ModerationGateDeps): ModerationGate {
  const { database, store, screener, logger } = deps;
  const clock = deps.clock ?? systemClock;

  /** the classifier event of one input, and one event per hash match */
  async function recordVerdict(tx: DbHandle, caseId: string, input: string, verdict: Verdict) {
    const now = clock.now();
    if (verdict.results.length) {
      await addEvent(
        tx,
        caseId,
        {
          kind: 'classifier',
          input,
          source: verdict.results.map((r) => r.classifier).join(','),
          action: verdict.action,
          scores: verdict.scores,
          reasons: reasonsOf(verdict).filter((r) => !r.detail.startsWith('hash list')),
          details: { triggered: verdict.triggered, classifiers: verdict.results.map((r) => ({ name: r.classifier, scores: r.scores })) },
        },
        now,
      );
    }
    for (const m of verdict.matches) {
      await addEvent(
        tx,
        caseId,
        {
          kind: 'hash_match',
          input,
          source: m.list,
          action: verdict.action,
          scores: { [m.category]: 1 },
          reasons: [{ category: m.category, detail: `${m.kind} ${m.hash}${m.distance ? ` at distance ${m.distance}` : ''}` }],
          details: { kind: m.kind, hash: m.hash, distance: m.distance, ...(m.label ? { label: m.label } : {}) },
        },
        now,
      );
    }
  }

  async function openCase(tx: DbHandle, key: { userId: string; subject: CaseSubject; generationId?: string }, verdicts: Verdict[]): Promise<CaseRow> {
    const strongest = verdicts.reduce((a, b) => (b.severity > a.severity || (b.action === 'block' && a.action !== 'block') ? b : a));
    const action = verdicts.some((v) => v.action === 'block') ? 'block' : 'flag';
    return openOrExtendCase(tx, key, { ...signalOf(strongest), action }, clock.now());
  }

  async function escalateIfCsam(caseId: string, verdict: Verdict) {
    const csam = verdict.matches.filter((m) => m.category === 'sexual/minors');
    if (!csam.length) return;
    const note = `hash match on ${csam.map((m) => `"${m.list}"`).join(', ')}`;
    if (!deps.escalate) {
      logger.error({ caseId }, 'moderation: a CSAM hash list matched but no escalation is wired; the case waits in the queue');
      return;
    }
    await deps
      .escalate(caseId, note)
      .catch((err: unknown) => logger.error({ err, caseId }, 'moderation: automatic CSAM escalation failed; the case waits in the queue'));
  }

  async function languageOf(userId: string): Promise<string> {
    const [row] = await database.db.select({ language: users.language }).from(users).where(eq(users.id, userId));
    return row?.language ?? 'en';
  }

  function blocked(items: { input: BlockedInput; verdict: Verdict }[], language: string): AppError {
    return new AppError(
      'content_blocked',
      blockedMessage(
        items.map((i) => ({ input: i.input, category: i.verdict.topCategory })),
        language,
      ),
      422,
      { fields: items.map((i) => ({ field: i.input, message: fieldMessage(i.input, i.verdict.topCategory, language) })) },
    );
  }

  return {
    screener,

    async checkPrompt(userId, input) {
      const language = await languageOf(userId);
      const inputs: TextInput[] = [{ field: 'prompt', text: input.prompt, language }];
      if (input.negativePrompt?.trim()) inputs.push({ field: 'negative_prompt', text: input.negativePrompt, language });
      const screened = await Promise.all(inputs.map(async (i) => ({ input: i, verdict: await screener.text(i) })));
      const refused = screened.filter((s) => s.verdict.action === 'block');
      const flagged = screened.filter((s) => s.verdict.action === 'flag');
      if (!refused.length) return { flagged };
      await database.transaction(async (tx) => {
        const c = await openCase(
          tx,
          { userId, subject: 'prompt' },
          [...refused, ...flagged].map((s) => s.verdict),
        );
        for (const s of [...refused, ...flagged]) await recordVerdict(tx, c.id, s.input.field, s.verdict);
        for (const s of screened) await addEvidence(tx, c.id, { input: s.input.field, text: s.input.text }, clock.now());
      });
      throw blocked(
        refused.map((s) => ({ input: s.input.field, verdict: s.verdict })),
        language,
      );
    },

    async recordFlaggedPrompt(tx, userId, generationId, screen) {
      if (!screen.flagged.length) return;
      const c = await openCase(
        tx,
        { userId, subject: 'prompt', generationId },
        screen.flagged.map((s) => s.verdict),
      );
      for (const s of screen.flagged) {
        await recordVerdict(tx, c.id, s.input.field, s.verdict);
        await addEvidence(tx, c.id, { input: s.input.field, text: s.input.text, generationId }, clock.now());
      }
    },

    async checkReference(userId, file) {
      let verdict: MediaVerdict;
      if (file.kind === 'image') {
        verdict = await screener.image(
          { bytes: await fs.readFile(file.path), mime: file.contentType },
          file.originalPath && file.originalPath !== file.path ? { alsoSha256: [await fileSha256(file.originalPath)] } : {},
        );
      } else if (file.kind === 'video') {
        verdict = await screener.video(file.path);
      } else {
        return; // no classifier hears audio
      }
      if (verdict.action === 'allow') return;
      const c = await database.transaction(async (tx) => {
        const opened = await openCase(tx, { userId, subject: 'reference' }, [verdict]);
        await recordVerdict(tx, opened.id, 'reference', verdict);
        const key = quarantineKey(opened.id, file.path);
        await addEvidence(
          tx,
          opened.id,
          {
            input: 'reference',
            storageKey: key,
            contentType: file.contentType,
            sizeBytes: file.sizeBytes,
            sha256: verdict.hashes.sha256 ?? null,
            pdq: verdict.hashes.pdq ?? null,
          },
          clock.now(),
        );
        // stored before the case commits: evidence a row names always exists
        await store.put(key, createReadStream(file.path), { contentType: file.contentType, contentLength: file.sizeBytes });
        if (file.originalPath && file.originalPath !== file.path) {
          // the file exactly as it arrived: what hash lists name and what a CyberTipline report must carry
          // (the re-encoded copy above is what a reviewer's browser can show)
          const originalKey = quarantineKey(opened.id, file.originalPath);
          const size = (await fs.stat(file.originalPath)).size;
          await addEvidence(
            tx,
            opened.id,
            {
              input: 'reference_original',
              storageKey: originalKey,
              contentType: 'application/octet-stream',
              sizeBytes: size,
              sha256: await fileSha256(file.originalPath),
            },
            clock.now(),
          );
          await store.put(originalKey, createReadStream(file.originalPath), { contentType: 'application/octet-stream', contentLength: size });
        }
        return opened;
      });
      await escalateIfCsam(c.id, verdict);
      throw blocked([{ input: 'reference', verdict }], await languageOf(userId));
    },

    async screenOutput(task, stored) {
      const videoKey = stored.videoUrl.startsWith('store:') ? stored.videoUrl.slice('store:'.length) : null;
      if (!videoKey) {
        logger.warn({ task: task.id }, 'moderation: an output outside our store was not screened');
        return null;
      }
      await fs.mkdir(deps.workDir, { recursive: true });
      const dir = await fs.mkdtemp(path.join(deps.workDir, `screen-${task.id}-`));
      let verdict: MediaVerdict;
      try {
        const file = path.join(dir, 'video.mp4');
        const { body } = await store.get(videoKey);
        await pipeline(body, createWriteStream(file));
        verdict = await screener.video(file);
      } finally {
        await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
      if (verdict.action === 'allow') return null;
      const originals: string[] = [];
      let caseId: string | null = null;
      return {
        verdict,
        async record(tx, row) {
          const c = await openCase(tx, { userId: row.userId, subject: 'output', generationId: row.id }, [verdict]);
          caseId = c.id;
          await recordVerdict(tx, c.id, 'output', verdict);
          for (const { input, column } of outputFiles) {
            const location = row[column];
            if (!location?.startsWith('store:')) continue;
            const from = location.slice('store:'.length);
            const to = quarantineKey(c.id, from);
            // copied before the transaction commits: when the row says under_review, the evidence exists
            if (!(await copyObject(store, from, to))) continue;
            const head = await store.head(to);
            await addEvidence(
              tx,
              c.id,
              {
                input,
                storageKey: to,
                contentType: head.contentType,
                sizeBytes: head.size,
                sha256: input === 'output' ? (row.outputSha256 ?? verdict.hashes.sha256 ?? null) : null,
                pdq: input === 'output' ? (verdict.hashes.pdq ?? null) : null,
                generationId: row.id,
              },
              clock.now(),
            );
            originals.push(from);
          }
        },
        async afterCommit() {
          if (originals.length) {
            await store
              .deleteMany(originals)
              .catch((err: unknown) => logger.warn({ err, task: task.id }, 'moderation: quarantined originals not removed; the media purge will'));
          }
          if (caseId) await escalateIfCsam(caseId, verdict);
        },
      };
    },

    async recordProviderRefusal(tx, row, detail) {
      const c = await openOrExtendCase(
        tx,
        { userId: row.userId, subject: 'output', generationId: row.id },
        { severity: 0, topCategory: null, action: 'flag' },
        clock.now(),
      );
      await addEvent(
        tx,
        c.id,
        {
          kind: 'provider_refusal',
          input: 'output',
          source: row.provider,
          action: 'block',
          note: detail?.slice(0, 2000) ?? null,
          details: { upstreamModel: row.upstreamModel, upstreamId: row.upstreamId },
        },
        clock.now(),
      );
      await addEvidence(tx, c.id, { input: 'prompt', text: row.prompt, generationId: row.id }, clock.now());
    },
  };
}
