import { sql } from 'drizzle-orm';
import { bigint, check, index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './users';

/**
 * Data rights and retention (issue 17; privacy policy sections 3, 5, 6, 11 and 4.5): exports,
 * account deletions, people's privacy requests, the published legal documents and their change
 * notices, mailings to every active account, and the log of the retention job.
 */
const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

export const dataExportStatuses = ['queued', 'building', 'ready', 'failed', 'expired'] as const;
export type DataExportStatus = (typeof dataExportStatuses)[number];

/** One export archive of a user's data (a ZIP built by a background job, delivered by a signed link). */
export const dataExports = pgTable(
  'data_exports',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: text('status', { enum: dataExportStatuses }).notNull().default('queued'),
    /** null: the user asked; otherwise the operator who started it on the user's behalf */
    requestedBy: text('requested_by'),
    /** the ZIP in the object store, once ready */
    storageKey: text('storage_key'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    /** counts of what the archive holds, per record kind (shown to the user and in the README) */
    contents: jsonb('contents').$type<Record<string, number>>(),
    error: text('error'),
    /** the job that builds it holds this lease (a crashed build is taken over after it) */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** the download link works until then; the retention job removes the file after it */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
  },
  (t) => [
    check('data_exports_status_check', sql.raw(`status in (${list(dataExportStatuses)})`)),
    index('data_exports_user_idx').on(t.userId, t.createdAt),
    // one export at a time per user
    uniqueIndex('data_exports_one_running_key')
      .on(t.userId)
      .where(sql`status in ('queued', 'building')`),
  ],
);

export const accountDeletionStatuses = ['scheduled', 'running', 'completed', 'closed', 'canceled'] as const;
export type AccountDeletionStatus = (typeof accountDeletionStatuses)[number];
export const accountDeletionOrigins = ['self', 'operator', 'child-report'] as const;
export type AccountDeletionOrigin = (typeof accountDeletionOrigins)[number];

/**
 * Account deletions, requested and done. While one is `scheduled` (the grace period) or `running`
 * it links to the user; once it has run the link is cut and only `subject_ref`, the pseudonym the
 * kept records (orders, their ledger rows, safety cases) carry, remains.
 */
export const accountDeletions = pgTable(
  'account_deletions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** the pseudonym written on what is kept ("subject_ref" columns); never the user's id or email */
    subjectRef: text('subject_ref').notNull(),
    status: text('status', { enum: accountDeletionStatuses }).notNull(),
    origin: text('origin', { enum: accountDeletionOrigins }).notNull(),
    /** the operator who asked (null for the user themself) */
    actorId: text('actor_id'),
    reason: text('reason'),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
    /** when it runs: the end of the grace period, or the request time for an immediate deletion */
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    canceledAt: timestamp('canceled_at', { withTimezone: true }),
    /** counts per record kind of what went and what stayed */
    removed: jsonb('removed').$type<Record<string, number>>(),
    kept: jsonb('kept').$type<Record<string, number>>(),
    lastError: text('last_error'),
  },
  (t) => [
    check('account_deletions_status_check', sql.raw(`status in (${list(accountDeletionStatuses)})`)),
    check('account_deletions_origin_check', sql.raw(`origin in (${list(accountDeletionOrigins)})`)),
    uniqueIndex('account_deletions_one_pending_key')
      .on(t.userId)
      .where(sql`status in ('scheduled', 'running')`),
    index('account_deletions_due_idx')
      .on(t.dueAt)
      .where(sql`status in ('scheduled', 'running')`),
    uniqueIndex('account_deletions_subject_ref_key').on(t.subjectRef),
  ],
);

export const privacyRequestKinds = ['access', 'export', 'correction', 'deletion', 'objection', 'child', 'other'] as const;
export type PrivacyRequestKind = (typeof privacyRequestKinds)[number];
export const privacyRequestStatuses = ['open', 'in_progress', 'done', 'rejected'] as const;
export type PrivacyRequestStatus = (typeof privacyRequestStatuses)[number];

/**
 * Data subject requests and child reports (policy 5, 6 and 12): a form anyone can send; operators
 * see each with its due date (30 days by default) and answer it.
 */
export const privacyRequests = pgTable(
  'privacy_requests',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: privacyRequestKinds }).notNull(),
    status: text('status', { enum: privacyRequestStatuses }).notNull().default('open'),
    /** who wrote (the address we answer) */
    email: text('email').notNull(),
    name: text('name'),
    /** the signed-in account that sent it, if any */
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** for a child report: the account the report is about, as the reporter named it */
    subjectEmail: text('subject_email'),
    /** the account the request is about, once an operator or the form matched it */
    subjectUserId: text('subject_user_id').references(() => users.id, { onDelete: 'set null' }),
    message: text('message').notNull(),
    /** language to answer in */
    language: text('language').notNull().default('en'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    closedBy: text('closed_by'),
    /** the operator's note on what was done */
    resolution: text('resolution'),
  },
  (t) => [
    check('privacy_requests_kind_check', sql.raw(`kind in (${list(privacyRequestKinds)})`)),
    check('privacy_requests_status_check', sql.raw(`status in (${list(privacyRequestStatuses)})`)),
    index('privacy_requests_open_idx')
      .on(t.dueAt)
      .where(sql`status in ('open', 'in_progress')`),
    index('privacy_requests_created_idx').on(t.createdAt),
  ],
);

export const legalDocuments = ['privacy', 'terms', 'acceptable-use'] as const;
export type LegalDocumentId = (typeof legalDocuments)[number];

/**
 * Every published version of each legal document, in each language (policy 11): the current one is
 * the latest `published_at` per document and language; earlier ones stay readable.
 */
export const policyVersions = pgTable(
  'policy_versions',
  {
    id: text('id').primaryKey(),
    document: text('document', { enum: legalDocuments }).notNull(),
    /** the operator's version label, e.g. `2026-12-07` or `3` */
    version: text('version').notNull(),
    language: text('language').notNull(),
    title: text('title').notNull(),
    /** the "Last Updated" date shown on the page (YYYY-MM-DD) */
    lastUpdated: text('last_updated').notNull(),
    bodyMarkdown: text('body_markdown').notNull(),
    /** a material change: notice to signed-in users and a mail to every active account */
    material: text('material').notNull().default('no'),
    /** what changed, in a sentence or two (the notice and the mail say it) */
    summary: text('summary'),
    /** sha256 of the body, so republishing the same text is a no-op */
    bodySha256: text('body_sha256').notNull(),
    publishedAt: timestamp('published_at', { withTimezone: true }).notNull(),
    /** null: seeded from the files shipped with the server */
    publishedBy: text('published_by'),
  },
  (t) => [
    check('policy_versions_document_check', sql.raw(`document in (${list(legalDocuments)})`)),
    check('policy_versions_material_check', sql`material in ('yes', 'no')`),
    uniqueIndex('policy_versions_doc_version_lang_key').on(t.document, t.version, t.language),
    index('policy_versions_current_idx').on(t.document, t.language, t.publishedAt),
  ],
);

/** A signed-in user dismissed the notice of a material change (one row per user and change). */
export const policyNoticeDismissals = pgTable(
  'policy_notice_dismissals',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** the document and version whose notice was dismissed */
    document: text('document').notNull(),
    version: text('version').notNull(),
    dismissedAt: timestamp('dismissed_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.document, t.version] })],
);

export const mailingKinds = ['policy-change', 'business-transfer', 'product-update'] as const;
export type MailingKind = (typeof mailingKinds)[number];
export const mailingStatuses = ['sending', 'sent', 'canceled'] as const;

/**
 * A notice mailed to every active account (policy 11 and 4.5), or a product update mailed to the
 * accounts that opted in (policy 2 and 5). Recipients are materialised when it is created, so each
 * account gets it exactly once however often the job runs.
 */
export const mailings = pgTable(
  'mailings',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: mailingKinds }).notNull(),
    /** what makes it unique, e.g. `privacy@2026-12-07`: creating it twice is a no-op */
    dedupeKey: text('dedupe_key').notNull(),
    /** the template's variables (subject line parts, summary, links) per language */
    content: jsonb('content').$type<Record<string, unknown>>().notNull(),
    status: text('status', { enum: mailingStatuses }).notNull().default('sending'),
    createdBy: text('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    check('mailings_kind_check', sql.raw(`kind in (${list(mailingKinds)})`)),
    check('mailings_status_check', sql.raw(`status in (${list(mailingStatuses)})`)),
    uniqueIndex('mailings_dedupe_key').on(t.dedupeKey),
  ],
);

export const mailingRecipientStatuses = ['pending', 'sent', 'failed', 'skipped'] as const;

export const mailingRecipients = pgTable(
  'mailing_recipients',
  {
    mailingId: text('mailing_id')
      .notNull()
      .references(() => mailings.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: text('status', { enum: mailingRecipientStatuses }).notNull().default('pending'),
    attempts: bigint('attempts', { mode: 'number' }).notNull().default(0),
    lastError: text('last_error'),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.mailingId, t.userId] }),
    check('mailing_recipients_status_check', sql.raw(`status in (${list(mailingRecipientStatuses)})`)),
    index('mailing_recipients_pending_idx')
      .on(t.mailingId)
      .where(sql`status = 'pending'`),
  ],
);

/** One run of the daily retention job: what it removed or pseudonymised per record kind, and what holds kept. */
export const retentionRuns = pgTable('retention_runs', {
  id: text('id').primaryKey(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
  /** per record kind: { removed, pseudonymised, keptByHold } */
  results: jsonb('results').$type<Record<string, { removed: number; pseudonymised?: number; keptByHold?: number }>>(),
  error: text('error'),
});
