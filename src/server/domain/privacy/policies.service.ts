import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import { AppError } from '../../errors';
import { legalDocumentIds, legalPagePath, type LegalDocumentName, type LegalDocumentView, type PolicyNotice } from '../../../shared/api/legal';
import { normalizeLanguage, supportedLanguages, type Language } from '../../../shared/languages';
import type { CatalogService } from '../catalog/catalog.service';
import type { MailingsService, PolicyChangeContent } from './mailings.service';
import { fillPlaceholders, legalPlaceholders } from './policies.facts';
import { readLegalDir, SHIPPED_LEGAL_DIR, type LegalFile } from './policies.files';
import {
  accountLanguage,
  allPolicyVersions,
  documentVersions,
  findPolicyVersionMeta,
  insertDismissal,
  insertPolicyVersion,
  isMaterialVersion,
  operatorDocuments,
  pendingNotices,
  policyBody,
  versionRows,
  type PolicyVersionMeta,
} from './policies.repo';

/**
 * The published legal documents (issue 17; privacy policy section 11).
 *
 * - Every version of each document, in each language, is kept (`policy_versions`); the one in
 *   force is the version published last (in any language), served in the reader's language when it
 *   exists in it, else in English. Earlier versions stay readable.
 * - Start-up publishes the shipped files (content/legal) and the operator's (LEGAL_DOCS_DIR, which
 *   replace the shipped ones per document and language) whose (document, version, language) is
 *   not yet published; the same text again is a no-op, different text under a published version
 *   label is refused (a new text needs a new version). Once an operator has published a version of
 *   a document (policy:publish or LEGAL_DOCS_DIR), shipped texts of it are no longer published: a
 *   software update never replaces the operator's own text.
 * - A material change, in the transaction that publishes it, creates the policy-change mailing to
 *   every active account (the mailings service; the dedupe key makes it once per version) and
 *   shows a notice to each signed-in user whose account is older than the version until they
 *   dismiss it.
 */

/** What publishing needs of the mailings service: the policy-change mailing, its recipients and its text (dry runs). */
export type PolicyChangeMailings = Pick<MailingsService, 'create' | 'countRecipients' | 'preview'>;

export type FileOutcome = 'published' | 'unchanged' | 'conflict';

export interface PlannedFile {
  source: string;
  document: LegalDocumentName;
  version: string;
  language: Language;
  material: boolean;
  outcome: FileOutcome;
  /** the version in force before this publication (null: the document has none yet) */
  currentVersion: string | null;
}

export interface PlannedMailing {
  document: LegalDocumentName;
  version: string;
  dedupeKey: string;
  /** accounts it goes to (when it is new) */
  recipients: number;
  /** created by an earlier publication of the same version: nobody is mailed again */
  alreadyCreated: boolean;
  /** the mail's subject line in English (dry runs) */
  subject?: string;
}

export interface PublishResult {
  files: PlannedFile[];
  mailings: Array<PlannedMailing & { id?: string }>;
}

export interface SeedReport extends PublishResult {
  /** files that could not be read or published (logged) */
  problems: Array<{ source: string; message: string }>;
}

export interface PoliciesService {
  /** Publish the shipped and the operator's files not yet published (start-up; idempotent). */
  seed(): Promise<SeedReport>;
  /** What publishing these files would do, without doing it (`policy:publish --dry-run`). */
  plan(files: LegalFile[]): Promise<PublishResult>;
  /** Publish in one transaction; refuses (409) a version label already published with another text. */
  publish(files: LegalFile[], opts: { publishedBy: string | null }): Promise<PublishResult>;
  /** The current (or a given) version of a document, with the versions list; 404 unknown. */
  view(document: string, opts?: { language?: string | undefined; version?: string | undefined }): Promise<LegalDocumentView>;
  /** Every published version (the CLI's list). */
  list(): Promise<Array<PolicyVersionMeta & { current: boolean }>>;
  /** The material changes this user has not dismissed (newest first, one per document), in `language` or the account's. */
  notices(userId: string, language?: string): Promise<PolicyNotice[]>;
  /** Hide a notice for good; 404 when (document, version) is no published material change. */
  dismiss(userId: string, document: LegalDocumentName, version: string): Promise<void>;
}

export interface PoliciesDeps {
  database: Database;
  config: Config;
  logger: Logger;
  catalog: Pick<CatalogService, 'list'>;
  clock?: Clock;
  /** the policy-change mailing (H5's mailings service) */
  mailings?: PolicyChangeMailings;
  /** default: content/legal in the source tree */
  shippedDir?: string;
}

interface VersionInfo {
  version: string;
  rows: PolicyVersionMeta[];
  firstPublishedAt: Date;
  lastUpdated: string;
  material: boolean;
}

/** Versions of a document, newest first: published last wins, then the later date, then the label. */
function groupVersions(rows: PolicyVersionMeta[]): VersionInfo[] {
  const by = new Map<string, PolicyVersionMeta[]>();
  for (const r of rows) by.set(r.version, [...(by.get(r.version) ?? []), r]);
  const infos = [...by].map(([version, rs]) => ({
    version,
    rows: rs,
    firstPublishedAt: new Date(Math.min(...rs.map((r) => r.publishedAt.getTime()))),
    lastUpdated:
      rs
        .map((r) => r.lastUpdated)
        .sort()
        .at(-1) ?? '',
    material: rs.some((r) => r.material === 'yes'),
  }));
  return infos.sort(
    (a, b) =>
      b.firstPublishedAt.getTime() - a.firstPublishedAt.getTime() ||
      b.lastUpdated.localeCompare(a.lastUpdated) ||
      b.version.localeCompare(a.version, 'en', { numeric: true }),
  );
}

/** The row of a version in `language`, else English, else the first. */
function rowIn<R extends { language: string }>(rows: R[], language: string): R {
  const row = rows.find((r) => r.language === language) ?? rows.find((r) => r.language === 'en') ?? rows[0];
  if (!row) throw new Error('rowIn: no rows');
  return row;
}

const keyOf = (f: { document: string; version: string; language: string }) => `${f.document}\u0000${f.version}\u0000${f.language}`;
export const policyChangeDedupeKey = (document: string, version: string) => `policy-change:${document}@${version}`;

export function createPoliciesService(deps: PoliciesDeps): PoliciesService {
  const { database, config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const shippedDir = deps.shippedDir ?? SHIPPED_LEGAL_DIR;

  /**
   * The placeholder values of one call, by language. Read before any transaction opens: the catalog
   * asks the database, and on the embedded database a query outside an open transaction waits for it.
   */
  async function prepareValues(): Promise<(language: string) => Record<string, string>> {
    const models = await deps.catalog.list();
    const cache = new Map<Language, Record<string, string>>();
    return (language) => {
      const lang = normalizeLanguage(language);
      let v = cache.get(lang);
      if (!v) {
        v = legalPlaceholders(config, models, lang);
        cache.set(lang, v);
      }
      return v;
    };
  }

  async function currentVersions(db: DbHandle, document: LegalDocumentName): Promise<string | null> {
    return groupVersions(await documentVersions(db, document))[0]?.version ?? null;
  }

  /** The mail's words: the version's title and summary in each language (from `pending` files too, in a dry run). */
  async function mailingContent(
    db: DbHandle,
    values: (language: string) => Record<string, string>,
    document: LegalDocumentName,
    version: string,
    pending: LegalFile[] = [],
  ): Promise<PolicyChangeContent> {
    const stored = await versionRows(db, document, version);
    const rows: Array<Pick<PolicyVersionMeta, 'language' | 'title' | 'summary'>> = [
      ...stored,
      ...pending.filter((f) => f.document === document && f.version === version && !stored.some((r) => r.language === f.language)),
    ];
    const title = {} as Record<Language, string>;
    const summary = {} as Record<Language, string>;
    for (const language of supportedLanguages) {
      const row = rowIn(rows, language);
      title[language] = fillPlaceholders(row.title, values(row.language));
      const withSummary = rows.filter((r) => r.summary);
      const summaryRow = withSummary.length ? rowIn(withSummary, language) : null;
      summary[language] = summaryRow?.summary ? fillPlaceholders(summaryRow.summary, values(summaryRow.language)) : '';
    }
    return { document, version, url: `${config.PUBLIC_URL}${legalPagePath(document, version)}`, title, summary };
  }

  /**
   * Check (and, unless `dryRun`, write) a set of files in `tx`: each file's outcome, and the
   * mailing of each material version newly published. `onConflict: 'throw'` refuses the whole set.
   */
  async function apply(
    tx: DbHandle,
    files: LegalFile[],
    opts: { publishedBy: string | null; dryRun: boolean; onConflict: 'throw' | 'skip'; values: (language: string) => Record<string, string> },
  ): Promise<PublishResult> {
    const seen = new Set<string>();
    for (const f of files) {
      if (seen.has(keyOf(f))) throw new AppError('invalid_legal_document', `${f.source}: ${f.document} ${f.version} (${f.language}) is given twice.`, 400);
      seen.add(keyOf(f));
    }
    const now = clock.now();
    const planned: PlannedFile[] = [];
    const current = new Map<LegalDocumentName, string | null>();
    for (const f of files) {
      if (!current.has(f.document)) current.set(f.document, await currentVersions(tx, f.document));
      const existing = await findPolicyVersionMeta(tx, f.document, f.version, f.language);
      let outcome: FileOutcome = existing ? (existing.bodySha256 === f.bodySha256 ? 'unchanged' : 'conflict') : 'published';
      if (outcome === 'conflict' && opts.onConflict === 'throw') {
        throw new AppError(
          'policy_version_conflict',
          `${f.source}: version ${f.version} of ${f.document} (${f.language}) is already published with a different text. Give the new text a new version.`,
          409,
        );
      }
      if (outcome === 'published' && !opts.dryRun) {
        const inserted = await insertPolicyVersion(
          tx,
          {
            document: f.document,
            version: f.version,
            language: f.language,
            title: f.title,
            lastUpdated: f.lastUpdated,
            bodyMarkdown: f.body,
            material: f.material,
            summary: f.summary,
            bodySha256: f.bodySha256,
            publishedBy: opts.publishedBy,
          },
          now,
        );
        if (!inserted) {
          // another process published it a moment ago
          const again = await findPolicyVersionMeta(tx, f.document, f.version, f.language);
          outcome = again?.bodySha256 === f.bodySha256 ? 'unchanged' : 'conflict';
        }
      }
      planned.push({
        source: f.source,
        document: f.document,
        version: f.version,
        language: f.language,
        material: f.material,
        outcome,
        currentVersion: current.get(f.document) ?? null,
      });
    }

    // one mailing per material version that this call publishes (in any of its languages)
    const mailings: PublishResult['mailings'] = [];
    const materialVersions = new Map<string, { document: LegalDocumentName; version: string }>();
    for (const p of planned) if (p.outcome === 'published' && p.material) materialVersions.set(`${p.document}@${p.version}`, p);
    for (const { document, version } of materialVersions.values()) {
      const dedupeKey = policyChangeDedupeKey(document, version);
      if (opts.dryRun) {
        // the version is material if any language says so; an earlier publication of it made the mailing already
        const alreadyCreated = await isMaterialVersion(tx, document, version);
        const preview = deps.mailings?.preview('policy-change', await mailingContent(tx, opts.values, document, version, files), 'en');
        mailings.push({
          document,
          version,
          dedupeKey,
          recipients: alreadyCreated || !deps.mailings ? 0 : await deps.mailings.countRecipients('policy-change'),
          alreadyCreated,
          ...(preview ? { subject: preview.subject } : {}),
        });
        continue;
      }
      if (!deps.mailings) throw new AppError('mailings_unavailable', 'Material changes need the mailings service, which is not configured.', 500);
      const made = await deps.mailings.create(
        { kind: 'policy-change', dedupeKey, content: await mailingContent(tx, opts.values, document, version), createdBy: opts.publishedBy },
        tx,
      );
      mailings.push({ document, version, dedupeKey, recipients: made.recipients, alreadyCreated: !made.created, id: made.id });
    }
    return { files: planned, mailings };
  }

  async function publishGroups(files: LegalFile[], publishedBy: string | null, report: SeedReport): Promise<void> {
    const values = await prepareValues();
    // one transaction per (document, version): a bad file of one document does not hold up the others
    const groups = new Map<string, { lastUpdated: string; version: string; files: LegalFile[] }>();
    for (const f of files) {
      const g = groups.get(`${f.document}@${f.version}`) ?? { lastUpdated: f.lastUpdated, version: f.version, files: [] };
      g.files.push(f);
      groups.set(`${f.document}@${f.version}`, g);
    }
    // older versions first, so that the newest is published last and is the current one
    const ordered = [...groups.values()].sort(
      (a, b) => a.lastUpdated.localeCompare(b.lastUpdated) || a.version.localeCompare(b.version, 'en', { numeric: true }),
    );
    for (const { files: group } of ordered) {
      try {
        const r = await database.transaction((tx) => apply(tx, group, { publishedBy, dryRun: false, onConflict: 'skip', values }));
        report.files.push(...r.files);
        report.mailings.push(...r.mailings);
        for (const f of r.files) {
          if (f.outcome === 'published')
            logger.info({ document: f.document, version: f.version, language: f.language, material: f.material, source: f.source }, 'legal document published');
          if (f.outcome === 'conflict') {
            const message = `version ${f.version} of ${f.document} (${f.language}) is already published with a different text; not published (give the new text a new version)`;
            report.problems.push({ source: f.source, message });
            logger.warn({ source: f.source }, `legal documents: ${message}`);
          }
        }
        for (const m of r.mailings)
          if (!m.alreadyCreated) logger.info({ document: m.document, version: m.version, recipients: m.recipients }, 'legal documents: material change mailed');
      } catch (err) {
        for (const f of group) report.problems.push({ source: f.source, message: (err as Error).message });
        logger.error({ err, files: group.map((f) => f.source) }, 'legal documents: publishing failed');
      }
    }
  }

  return {
    async seed() {
      const report: SeedReport = { files: [], mailings: [], problems: [] };
      const take = (dir: string) => {
        const out: LegalFile[] = [];
        for (const e of readLegalDir(dir)) {
          if (e.parsed) out.push(e.parsed);
          else {
            report.problems.push({ source: e.file, message: e.error ?? 'unreadable' });
            logger.error({ file: e.file, error: e.error }, 'legal documents: a file could not be read');
          }
        }
        return out;
      };
      const own = config.LEGAL_DOCS_DIR ? take(config.LEGAL_DOCS_DIR) : [];
      if (config.LEGAL_DOCS_DIR && !own.length && !report.problems.length)
        logger.warn({ dir: config.LEGAL_DOCS_DIR }, 'legal documents: LEGAL_DOCS_DIR holds no Markdown files; the shipped documents are used');
      // the operator's documents replace the shipped ones per document and language; and once an
      // operator published a version of a document (policy:publish or LEGAL_DOCS_DIR), a newer
      // shipped text of it (a software update) is not published over theirs
      const covered = new Set(own.map((f) => `${f.document}\u0000${f.language}`));
      const taken = await operatorDocuments(database);
      const shipped = take(shippedDir).filter((f) => !covered.has(`${f.document}\u0000${f.language}`) && !taken.has(f.document));
      await publishGroups(shipped, null, report);
      await publishGroups(own, 'LEGAL_DOCS_DIR', report);
      return report;
    },

    async plan(files) {
      return apply(database, files, { publishedBy: null, dryRun: true, onConflict: 'throw', values: await prepareValues() });
    },

    async publish(files, { publishedBy }) {
      if (!files.length) throw new AppError('invalid_request', 'Nothing to publish.', 400);
      const values = await prepareValues();
      return database.transaction((tx) => apply(tx, files, { publishedBy, dryRun: false, onConflict: 'throw', values }));
    },

    async view(document, opts = {}) {
      if (!(legalDocumentIds as readonly string[]).includes(document)) throw new AppError('not_found', `There is no legal document "${document}".`, 404);
      const doc = document as LegalDocumentName;
      const versions = groupVersions(await documentVersions(database, doc));
      const current = versions[0];
      if (!current) throw new AppError('not_found', `The ${doc} document has not been published yet.`, 404);
      const wanted = opts.version ?? current.version;
      const target = versions.find((v) => v.version === wanted);
      if (!target) throw new AppError('not_found', `There is no version "${wanted}" of the ${doc} document.`, 404);
      const language = normalizeLanguage(opts.language);
      const row = rowIn(target.rows, language);
      const body = await policyBody(database, row.id);
      if (body === null) throw new AppError('not_found', `There is no version "${wanted}" of the ${doc} document.`, 404);
      const values = await prepareValues();
      const fill = (text: string, lang: string) => fillPlaceholders(text, values(lang));
      return {
        document: doc,
        version: target.version,
        language: row.language,
        languages: target.rows.map((r) => r.language).sort(),
        title: fill(row.title, row.language),
        lastUpdated: row.lastUpdated,
        publishedAt: target.firstPublishedAt.toISOString(),
        material: target.material,
        summary: row.summary === null ? null : fill(row.summary, row.language),
        current: target.version === current.version,
        currentVersion: current.version,
        body: fill(body, row.language),
        versions: versions.map((v) => {
          const r = rowIn(v.rows, language);
          return {
            version: v.version,
            title: fill(r.title, r.language),
            lastUpdated: r.lastUpdated,
            publishedAt: v.firstPublishedAt.toISOString(),
            material: v.material,
            summary: r.summary === null ? null : fill(r.summary, r.language),
            current: v.version === current.version,
          };
        }),
      };
    },

    async list() {
      const rows = await allPolicyVersions(database);
      const currentOf = new Map<string, string>();
      for (const doc of legalDocumentIds) {
        const v = groupVersions(rows.filter((r) => r.document === doc))[0];
        if (v) currentOf.set(doc, v.version);
      }
      return rows.map((r) => ({ ...r, current: currentOf.get(r.document) === r.version }));
    },

    async notices(userId, language) {
      const lang = normalizeLanguage(language ?? (await accountLanguage(database, userId)));
      const keys = await pendingNotices(database, userId);
      if (!keys.length) return [];
      const values = await prepareValues();
      const out: PolicyNotice[] = [];
      for (const k of keys) {
        const rows = await versionRows(database, k.document, k.version);
        if (!rows.length) continue;
        const row = rowIn(rows, lang);
        const v = values(row.language);
        const withSummary = rows.filter((r) => r.summary);
        const summaryRow = withSummary.length ? rowIn(withSummary, lang) : null;
        out.push({
          document: k.document,
          version: k.version,
          title: fillPlaceholders(row.title, v),
          summary: summaryRow?.summary ? fillPlaceholders(summaryRow.summary, values(summaryRow.language)) : null,
          lastUpdated: row.lastUpdated,
          publishedAt: k.publishedAt.toISOString(),
          url: legalPagePath(k.document, k.version),
        });
      }
      return out;
    },

    async dismiss(userId, document, version) {
      if (!(await isMaterialVersion(database, document, version)))
        throw new AppError('not_found', `There is no notice for version "${version}" of the ${document} document.`, 404);
      await insertDismissal(database, userId, document, version, clock.now());
    },
  };
}
