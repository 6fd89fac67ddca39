import { z } from 'zod';

/**
 * Trust & safety API shapes (issue 16): the moderators' queue and decisions, the user's view of a
 * case about their material and their one appeal, people's reports and legal holds.
 */

export const moderationCategories = ['sexual', 'sexual/minors', 'ncii', 'violence', 'terrorism', 'self-harm', 'hate'] as const;
export const moderationCategory = z.enum(moderationCategories);
export type ModerationCategoryName = z.infer<typeof moderationCategory>;

/** which input of a request a block names (422 content_blocked: error.fields[].field) */
export const moderatedInputs = ['prompt', 'negative_prompt', 'reference', 'output'] as const;

export const caseSubject = z.enum(['prompt', 'reference', 'output', 'report', 'account']);
export const caseStatus = z.enum(['open', 'closed']);
export const caseOutcome = z.enum(['allowed', 'removed', 'removed_strike', 'suspended', 'terminated', 'csam_reported', 'blocked']);

/** what a moderator can decide */
export const moderationDecisions = ['allow', 'remove', 'remove_strike', 'suspend', 'terminate', 'escalate_csam'] as const;
export const moderationDecision = z.enum(moderationDecisions);
export type ModerationDecision = z.infer<typeof moderationDecision>;

export const queueItem = z.object({
  id: z.string(),
  subject: caseSubject,
  status: caseStatus,
  severity: z.number(),
  topCategory: z.string().nullable(),
  action: z.enum(['allow', 'flag', 'block']),
  outcome: caseOutcome.nullable(),
  userId: z.string().nullable(),
  userEmail: z.string().nullable(),
  generationId: z.string().nullable(),
  mediaId: z.string().nullable(),
  /** the user appealed and no moderator has answered yet */
  appealPending: z.boolean(),
  /** evidence to preview (blurred by default): `/api/moderation/cases/{id}/evidence/{evidenceId}` */
  previews: z.array(z.object({ evidenceId: z.string(), input: z.string(), contentType: z.string().nullable() })),
  /** the text inputs, for text cases */
  texts: z.array(z.object({ input: z.string(), text: z.string() })),
  openedAt: z.string(),
  updatedAt: z.string(),
});
export type QueueItem = z.infer<typeof queueItem>;

export const queueResponse = z.object({ items: z.array(queueItem), nextCursor: z.string().nullable() });
export type QueueResponse = z.infer<typeof queueResponse>;

export const caseEvent = z.object({
  id: z.string(),
  kind: z.string(),
  input: z.string().nullable(),
  source: z.string().nullable(),
  action: z.string().nullable(),
  scores: z.record(z.string(), z.number()).nullable(),
  reasons: z.array(z.object({ category: z.string(), detail: z.string() })).nullable(),
  actorId: z.string().nullable(),
  actorEmail: z.string().nullable(),
  note: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
});
export type CaseEvent = z.infer<typeof caseEvent>;

export const caseDetail = queueItem.extend({
  events: z.array(caseEvent),
  strikes: z.number().describe("the user's strikes so far"),
  holds: z.array(z.object({ id: z.string(), reason: z.string(), placedAt: z.string(), expiresAt: z.string().nullable() })),
  report: z
    .object({ status: z.string(), reportId: z.string().nullable(), lastError: z.string().nullable() })
    .nullable()
    .describe('the CyberTipline report, when the case was escalated'),
  appealText: z.string().nullable(),
});
export type CaseDetail = z.infer<typeof caseDetail>;

export const decisionBody = z.object({
  decision: moderationDecision,
  /** why: kept in the audit log; shown to the user for removals and suspensions */
  reason: z.string().trim().min(1).max(2000),
});
export type DecisionBody = z.infer<typeof decisionBody>;

/** What a user sees about a case on their material (no scores, no other people's names). */
export const userCaseView = z.object({
  id: z.string(),
  subject: caseSubject,
  status: caseStatus,
  outcome: caseOutcome.nullable(),
  generationId: z.string().nullable(),
  /** the moderator's reason for a removal or suspension */
  reason: z.string().nullable(),
  canAppeal: z.boolean(),
  appealedAt: z.string().nullable(),
  openedAt: z.string(),
});
export type UserCaseView = z.infer<typeof userCaseView>;

export const appealBody = z.object({ text: z.string().trim().min(10).max(4000) });

export const reportReasons = ['sexual', 'minor_safety', 'ncii', 'violence', 'terrorism', 'self_harm', 'hate', 'copyright', 'other'] as const;
export const reportBody = z.object({
  reason: z.enum(reportReasons),
  details: z.string().trim().max(4000).default(''),
});
/** the public form (also DMCA notices): who is reporting, and what */
export const publicReportBody = reportBody.extend({
  /** a link to the page or file on this site */
  url: z.string().trim().min(1).max(2000),
  email: z.string().trim().pipe(z.email().max(320)),
  name: z.string().trim().max(200).default(''),
  /** DMCA: the reporter states good faith and accuracy under penalty of perjury */
  dmcaStatement: z.boolean().default(false),
});
export const reportAccepted = z.object({ received: z.literal(true), reference: z.string() });

export const holdSubject = z.enum(['user', 'generation', 'media', 'case']);
export const holdView = z.object({
  id: z.string(),
  subjectKind: holdSubject,
  subjectId: z.string(),
  reason: z.string(),
  caseId: z.string().nullable(),
  placedBy: z.string().nullable(),
  placedAt: z.string(),
  expiresAt: z.string().nullable(),
  releasedAt: z.string().nullable(),
  releasedBy: z.string().nullable(),
  releaseReason: z.string().nullable(),
});
export type HoldView = z.infer<typeof holdView>;
export const placeHoldBody = z.object({
  subjectKind: holdSubject,
  subjectId: z.string().min(1).max(100),
  reason: z.string().trim().min(1).max(2000),
  expiresAt: z.iso.datetime().optional(),
});
export const releaseHoldBody = z.object({ reason: z.string().trim().min(1).max(2000) });

/** GET /api/moderation/queue */
export const queueQuery = z.object({
  status: caseStatus.default('open'),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  /** the previous page's nextCursor */
  cursor: z.string().max(500).optional(),
});
export const userCaseList = z.object({ items: z.array(userCaseView) });
/** POST /api/appeals: a suspended user's appeal, with the token their refused sign-in carried (`error.appealToken`) */
/** `token`: from the refused sign-in's error; without it, the cookie a refused Google sign-in set is used */
export const suspensionAppealBody = appealBody.extend({ token: z.string().min(1).max(1000).optional() });
export const appealReceived = z.object({ received: z.literal(true) });

/** GET /api/moderation/holds (legal holds, H3) */
export const holdList = z.object({ items: z.array(holdView) });
/** a CyberTipline report as operators see it (GET /api/moderation/ncmec-reports, admin) */
export const ncmecReportView = z.object({
  id: z.string(),
  caseId: z.string(),
  status: z.enum(['queued', 'submitting', 'submitted', 'failed', 'retracted']),
  environment: z.string(),
  reportId: z.string().nullable(),
  attempts: z.number(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});
