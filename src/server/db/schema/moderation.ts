import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, index, integer, jsonb, pgTable, primaryKey, real, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './users';

/**
 * Trust & safety (issue 16, ADR 16). A *case* gathers everything about one piece of flagged
 * material: the events that flagged it (classifier scores, hash matches, provider refusals, people's
 * reports), the evidence (the text, and files moved to the quarantine area of the store), and every
 * decision a moderator took on it, which is the audit record. Cases outlive what they are about:
 * they name generations and media by id, without foreign keys, and a legal hold keeps rows and
 * files out of every deletion and purge.
 */

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/** what the case is about */
export const caseSubjects = ['prompt', 'reference', 'output', 'report', 'account'] as const;
export type CaseSubject = (typeof caseSubjects)[number];
export const caseStatuses = ['open', 'closed'] as const;
export type CaseStatus = (typeof caseStatuses)[number];
/** the last decision taken on a case */
export const caseOutcomes = ['allowed', 'removed', 'removed_strike', 'suspended', 'terminated', 'csam_reported', 'blocked'] as const;
export type CaseOutcome = (typeof caseOutcomes)[number];

export const moderationCases = pgTable(
  'moderation_cases',
  {
    id: text('id').primaryKey(),
    /** whose material it is (null: unknown, e.g. a public report naming a page we cannot resolve) */
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** the deleted account's pseudonym (account_deletions.subject_ref): the case stays, the link is cut */
    subjectRef: text('subject_ref'),
    subject: text('subject', { enum: caseSubjects }).notNull(),
    generationId: text('generation_id'),
    mediaId: text('media_id'),
    status: text('status', { enum: caseStatuses }).notNull().default('open'),
    /** the highest category score seen on the case, 0-1 (sexual/minors counts as 1): the queue sorts by it */
    severity: real('severity').notNull().default(0),
    /** the category of that score */
    topCategory: text('top_category'),
    /** the strongest automatic action any event asked for: allow, flag, block */
    action: text('action').notNull().default('flag'),
    outcome: text('outcome', { enum: caseOutcomes }),
    /** the user's one appeal: when it was made, what they wrote, and whether a moderator already answered it */
    appealedAt: timestamp('appealed_at', { withTimezone: true }),
    appealText: text('appeal_text'),
    appealAnswered: boolean('appeal_answered').notNull().default(false),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
  },
  (t) => [
    check('moderation_cases_subject_check', sql.raw(`subject in (${list(caseSubjects)})`)),
    check('moderation_cases_status_check', sql.raw(`status in (${list(caseStatuses)})`)),
    check('moderation_cases_outcome_check', sql.raw(`outcome is null or outcome in (${list(caseOutcomes)})`)),
    index('moderation_cases_queue_idx').on(t.status, t.severity, t.openedAt),
    index('moderation_cases_user_idx').on(t.userId, t.openedAt),
    index('moderation_cases_generation_idx').on(t.generationId),
    index('moderation_cases_media_idx').on(t.mediaId),
    /** the dashboard's moderation flags (migration 0011) */
    index('moderation_cases_opened_idx').on(t.openedAt),
  ],
);

export const moderationEventKinds = [
  /** a classifier's scores for one input */
  'classifier',
  /** a file matched an imported hash list */
  'hash_match',
  /** the model provider refused the task on policy grounds */
  'provider_refusal',
  /** a person reported the material (signed-in user or the public form) */
  'report',
  /** a moderator's decision, or an automatic one (auto-suspension at the strike threshold) */
  'decision',
  'appeal',
  /** the CyberTipline report's progress (filed, retracted, failed) */
  'ncmec',
  /** a legal hold placed or released */
  'hold',
] as const;
export type ModerationEventKind = (typeof moderationEventKinds)[number];

/** Append-only: what happened to a case, who did it, when and why. */
export const moderationEvents = pgTable(
  'moderation_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    caseId: text('case_id')
      .notNull()
      .references(() => moderationCases.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: moderationEventKinds }).notNull(),
    /** which input: prompt, negative_prompt, reference, output, creation */
    input: text('input'),
    /** classifier or list name, provider id */
    source: text('source'),
    /** allow, flag, block (classifier events); the decision name (decision events) */
    action: text('action'),
    scores: jsonb('scores').$type<Record<string, number>>(),
    reasons: jsonb('reasons').$type<{ category: string; detail: string }[]>(),
    /** the person who acted (moderator, reporter); null for the system */
    actorId: text('actor_id'),
    /** the moderator's reason, the reporter's text, the provider's message */
    note: text('note'),
    /** anything else: hashes, matched list entries, reporter's email and category, report ids */
    details: jsonb('details').$type<Record<string, unknown>>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [check('moderation_events_kind_check', sql.raw(`kind in (${list(moderationEventKinds)})`)), index('moderation_events_case_idx').on(t.caseId, t.id)],
);

/** What a case is about, kept: the text, or a file in the quarantine area of the store (`quarantine/<case>/...`). */
export const moderationEvidence = pgTable(
  'moderation_evidence',
  {
    id: text('id').primaryKey(),
    caseId: text('case_id')
      .notNull()
      .references(() => moderationCases.id, { onDelete: 'cascade' }),
    /** prompt, negative_prompt, reference, output, thumbnail, preview */
    input: text('input').notNull(),
    text: text('text'),
    storageKey: text('storage_key'),
    contentType: text('content_type'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    sha256: text('sha256'),
    pdq: text('pdq'),
    generationId: text('generation_id'),
    mediaId: text('media_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('moderation_evidence_case_idx').on(t.caseId), index('moderation_evidence_key_idx').on(t.storageKey)],
);

/** One strike per case at most; the count since the account's last reinstatement drives auto-suspension. */
export const moderationStrikes = pgTable(
  'moderation_strikes',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    caseId: text('case_id')
      .notNull()
      .references(() => moderationCases.id, { onDelete: 'cascade' }),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('moderation_strikes_case_key').on(t.caseId), index('moderation_strikes_user_idx').on(t.userId, t.createdAt)],
);

/** The operator's edits to the built-in term lists (added or removed terms, per list and language). */
export const moderationTermEdits = pgTable(
  'moderation_term_edits',
  {
    id: text('id').primaryKey(),
    /** `add` or `remove` */
    op: text('op').notNull(),
    /** the built-in list (e.g. `sexual`, `minor`) */
    list: text('list').notNull(),
    /** ISO 639-1, or `*` for every language (removals) */
    language: text('language').notNull(),
    term: text('term').notNull(),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [check('moderation_term_edits_op_check', sql`op in ('add', 'remove')`), uniqueIndex('moderation_term_edits_key').on(t.op, t.list, t.language, t.term)],
);

/** Imported known-bad hash lists (industry programmes' deliveries, the operator's own). */
export const moderationHashLists = pgTable(
  'moderation_hash_lists',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** the category a match means (a CSAM list: sexual/minors) */
    category: text('category').notNull(),
    /** PDQ Hamming distance that still matches (0-64) */
    pdqThreshold: integer('pdq_threshold').notNull().default(31),
    entryCount: integer('entry_count').notNull().default(0),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('moderation_hash_lists_name_key').on(t.name)],
);

export const moderationHashes = pgTable(
  'moderation_hashes',
  {
    listId: text('list_id')
      .notNull()
      .references(() => moderationHashLists.id, { onDelete: 'cascade' }),
    /** sha256, pdq */
    kind: text('kind').notNull(),
    hash: text('hash').notNull(),
    label: text('label'),
  },
  (t) => [primaryKey({ columns: [t.listId, t.kind, t.hash] })],
);

export const holdSubjects = ['user', 'generation', 'media', 'case'] as const;
export type HoldSubject = (typeof holdSubjects)[number];

/**
 * Legal holds: while one is active (not released, not expired) on a user, a generation, a media
 * item or a case, the rows and files it covers stay out of every deletion and purge.
 */
export const legalHolds = pgTable(
  'legal_holds',
  {
    id: text('id').primaryKey(),
    subjectKind: text('subject_kind', { enum: holdSubjects }).notNull(),
    subjectId: text('subject_id').notNull(),
    reason: text('reason').notNull(),
    caseId: text('case_id'),
    /** null: placed by the system (a CyberTipline report) */
    placedBy: text('placed_by'),
    placedAt: timestamp('placed_at', { withTimezone: true }).notNull(),
    /** null: until released */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    releasedAt: timestamp('released_at', { withTimezone: true }),
    releasedBy: text('released_by'),
    releaseReason: text('release_reason'),
  },
  (t) => [
    check('legal_holds_subject_check', sql.raw(`subject_kind in (${list(holdSubjects)})`)),
    index('legal_holds_subject_idx').on(t.subjectKind, t.subjectId),
    index('legal_holds_case_idx').on(t.caseId),
  ],
);

export const ncmecReportStatuses = ['queued', 'submitting', 'submitted', 'failed', 'retracted'] as const;
export type NcmecReportStatus = (typeof ncmecReportStatuses)[number];

/** One CyberTipline report per case; its progress is persisted so a retry resumes and never files twice. */
export const ncmecReports = pgTable(
  'ncmec_reports',
  {
    id: text('id').primaryKey(),
    caseId: text('case_id')
      .notNull()
      .references(() => moderationCases.id, { onDelete: 'restrict' }),
    status: text('status', { enum: ncmecReportStatuses }).notNull().default('queued'),
    /** `test` or `production` host */
    environment: text('environment').notNull(),
    /** NCMEC's report id, once /submit answered */
    reportId: text('report_id'),
    /** the reporter adapter's ReportProgress (which files are uploaded and described) */
    progress: jsonb('progress').$type<Record<string, unknown>>(),
    /** what was assembled at escalation: incident, reported person, IP addresses, files */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [check('ncmec_reports_status_check', sql.raw(`status in (${list(ncmecReportStatuses)})`)), uniqueIndex('ncmec_reports_case_key').on(t.caseId)],
);
