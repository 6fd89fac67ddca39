import { randomUUID } from 'node:crypto';
import { and, asc, eq, isNotNull, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { policyNoticeDismissals, policyVersions, users, type LegalDocumentId } from '../../db/schema';

/** SQL for the published legal documents and their change notices (policies.service.ts). */

export type PolicyVersionRow = typeof policyVersions.$inferSelect;
export type PolicyVersionMeta = Omit<PolicyVersionRow, 'bodyMarkdown'>;

const meta = {
  id: policyVersions.id,
  document: policyVersions.document,
  version: policyVersions.version,
  language: policyVersions.language,
  title: policyVersions.title,
  lastUpdated: policyVersions.lastUpdated,
  material: policyVersions.material,
  summary: policyVersions.summary,
  bodySha256: policyVersions.bodySha256,
  publishedAt: policyVersions.publishedAt,
  publishedBy: policyVersions.publishedBy,
};

export interface NewPolicyVersion {
  document: LegalDocumentId;
  version: string;
  language: string;
  title: string;
  lastUpdated: string;
  bodyMarkdown: string;
  material: boolean;
  summary: string | null;
  bodySha256: string;
  publishedBy: string | null;
}

/**
 * Insert a version unless (document, version, language) exists: true when this call inserted it.
 * Two processes publishing the same file at once insert it once (the other waits for the first
 * transaction, then finds the row).
 */
export async function insertPolicyVersion(tx: DbHandle, v: NewPolicyVersion, now: Date): Promise<boolean> {
  const rows = await tx.db
    .insert(policyVersions)
    .values({ id: randomUUID(), ...v, material: v.material ? 'yes' : 'no', publishedAt: now })
    .onConflictDoNothing({ target: [policyVersions.document, policyVersions.version, policyVersions.language] })
    .returning({ id: policyVersions.id });
  return rows.length > 0;
}

/** The published row of (document, version, language), without its body. */
export async function findPolicyVersionMeta(db: DbHandle, document: LegalDocumentId, version: string, language: string): Promise<PolicyVersionMeta | null> {
  const [row] = await db.db
    .select(meta)
    .from(policyVersions)
    .where(and(eq(policyVersions.document, document), eq(policyVersions.version, version), eq(policyVersions.language, language)));
  return row ?? null;
}

/** Every published row of a document (all versions, all languages), without bodies, oldest first. */
export async function documentVersions(db: DbHandle, document: LegalDocumentId): Promise<PolicyVersionMeta[]> {
  return db.db.select(meta).from(policyVersions).where(eq(policyVersions.document, document)).orderBy(asc(policyVersions.publishedAt), asc(policyVersions.id));
}

/** Every published row, without bodies (the CLI's list). */
export async function allPolicyVersions(db: DbHandle): Promise<PolicyVersionMeta[]> {
  return db.db
    .select(meta)
    .from(policyVersions)
    .orderBy(asc(policyVersions.document), asc(policyVersions.publishedAt), asc(policyVersions.version), asc(policyVersions.language));
}

export async function policyBody(db: DbHandle, id: string): Promise<string | null> {
  const [row] = await db.db.select({ body: policyVersions.bodyMarkdown }).from(policyVersions).where(eq(policyVersions.id, id));
  return row?.body ?? null;
}

/** The rows of one version in every language it was published in. */
export async function versionRows(db: DbHandle, document: LegalDocumentId, version: string): Promise<PolicyVersionMeta[]> {
  return db.db
    .select(meta)
    .from(policyVersions)
    .where(and(eq(policyVersions.document, document), eq(policyVersions.version, version)))
    .orderBy(asc(policyVersions.language));
}

export interface NoticeKey {
  document: LegalDocumentId;
  version: string;
  /** when the version was first published (in any language) */
  publishedAt: Date;
}

/**
 * The material changes a user has not been told about: per document, the newest version marked
 * material in any language, first published after the account was created, unless the user
 * dismissed its notice. (A newer material change supersedes an older one not yet dismissed.)
 */
export async function pendingNotices(db: DbHandle, userId: string): Promise<NoticeKey[]> {
  const rows = await db.sql.query<{ document: LegalDocumentId; version: string; published_at: Date | string }>(
    `with material as (
       select document, version, min(published_at) as published_at
       from policy_versions
       group by document, version
       having bool_or(material = 'yes')
     ), latest as (
       select distinct on (m.document) m.document, m.version, m.published_at
       from material m
       join users u on u.id = $1
       where m.published_at > u.created_at
       order by m.document, m.published_at desc, m.version desc
     )
     select l.document, l.version, l.published_at
     from latest l
     where not exists (
       select 1 from policy_notice_dismissals d
       where d.user_id = $1 and d.document = l.document and d.version = l.version)
     order by l.published_at desc, l.document`,
    [userId],
  );
  return rows.map((r) => ({ document: r.document, version: r.version, publishedAt: new Date(r.published_at) }));
}

/** Whether (document, version) is a published material change. */
export async function isMaterialVersion(db: DbHandle, document: LegalDocumentId, version: string): Promise<boolean> {
  const [row] = await db.db
    .select({ n: sql<number>`count(*)::int` })
    .from(policyVersions)
    .where(and(eq(policyVersions.document, document), eq(policyVersions.version, version), eq(policyVersions.material, 'yes')));
  return (row?.n ?? 0) > 0;
}

/** Record a dismissal (a repeat is a no-op). */
export async function insertDismissal(db: DbHandle, userId: string, document: LegalDocumentId, version: string, now: Date): Promise<void> {
  await db.db.insert(policyNoticeDismissals).values({ userId, document, version, dismissedAt: now }).onConflictDoNothing();
}

/** Documents an operator has published a version of (from a file or LEGAL_DOCS_DIR): the shipped texts no longer apply to them. */
export async function operatorDocuments(db: DbHandle): Promise<Set<LegalDocumentId>> {
  const rows = await db.db.selectDistinct({ document: policyVersions.document }).from(policyVersions).where(isNotNull(policyVersions.publishedBy));
  return new Set(rows.map((r) => r.document));
}

/** The language the account chose (null: no such account). */
export async function accountLanguage(db: DbHandle, userId: string): Promise<string | null> {
  const [row] = await db.db.select({ language: users.language }).from(users).where(eq(users.id, userId));
  return row?.language ?? null;
}
