import { z } from 'zod';

/**
 * The published legal documents (issue 17; privacy policy section 11): the privacy policy, the
 * terms and the acceptable-use policy, every version kept and readable, and the notices of a
 * material change that signed-in users see until they dismiss them.
 */

export const legalDocumentIds = ['privacy', 'terms', 'acceptable-use'] as const;
export type LegalDocumentName = (typeof legalDocumentIds)[number];
export const legalDocumentId = z.enum(legalDocumentIds);

/** A version label as operators write it in a document's front matter: `2026-12-07`, `3`, `2.1`. */
export const POLICY_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const policyVersionLabel = z.string().regex(POLICY_VERSION_PATTERN, { message: 'must be 1-64 letters, digits, dots, dashes or underscores' });

export const legalDocumentSearch = z.object({
  /** the reader's language; a version not written in it is served in English (or the language it exists in) */
  lang: z.string().max(35).optional(),
  /** an earlier version; absent: the current one */
  version: z.string().max(64).optional(),
});

export const legalVersionSummary = z.object({
  version: z.string(),
  title: z.string(),
  lastUpdated: z.string().describe('YYYY-MM-DD'),
  publishedAt: z.string(),
  material: z.boolean().describe('a material change: signed-in users were told and every active account was mailed'),
  summary: z.string().nullable(),
  current: z.boolean(),
});
export type LegalVersionSummary = z.infer<typeof legalVersionSummary>;

export const legalDocumentView = z.object({
  document: legalDocumentId,
  version: z.string(),
  /** the language this text is in (the requested one when the version exists in it) */
  language: z.string(),
  /** languages this version is published in */
  languages: z.array(z.string()),
  title: z.string(),
  lastUpdated: z.string().describe('YYYY-MM-DD'),
  publishedAt: z.string(),
  material: z.boolean(),
  summary: z.string().nullable(),
  /** whether this is the version in force */
  current: z.boolean(),
  currentVersion: z.string(),
  /** the text as Markdown, with this installation's settings filled in; render it without raw HTML */
  body: z.string(),
  /** every published version, newest first */
  versions: z.array(legalVersionSummary),
});
export type LegalDocumentView = z.infer<typeof legalDocumentView>;

export const policyNotice = z.object({
  document: legalDocumentId,
  version: z.string(),
  title: z.string(),
  summary: z.string().nullable(),
  lastUpdated: z.string(),
  publishedAt: z.string(),
  /** the page of that version, e.g. `/legal/privacy?version=2026-12-07` */
  url: z.string(),
});
export type PolicyNotice = z.infer<typeof policyNotice>;

export const policyNoticeList = z.object({ notices: z.array(policyNotice) });
export type PolicyNoticeList = z.infer<typeof policyNoticeList>;

export const dismissPolicyNotice = z.object({ document: legalDocumentId, version: policyVersionLabel });
export type DismissPolicyNotice = z.infer<typeof dismissPolicyNotice>;

/** The page of a document (and of one of its versions). */
export function legalPagePath(document: LegalDocumentName, version?: string): string {
  return `/legal/${document}${version ? `?version=${encodeURIComponent(version)}` : ''}`;
}
