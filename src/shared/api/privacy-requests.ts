import { z } from 'zod';
import { supportedLanguages } from '../languages';
import { safeText } from './text';

/**
 * Privacy requests (privacy policy 5, 6 and 12): anyone may ask for access, an export, a
 * correction, a deletion, object to a use, or report an account they believe belongs to a child;
 * each gets a reference and a due date, and operators (support and admins) answer them.
 */

/** Kept in step with the database's `privacy_requests.kind` check (db/schema/privacy.ts). */
export const privacyRequestKinds = ['access', 'export', 'correction', 'deletion', 'objection', 'child', 'other'] as const;
export type PrivacyRequestKind = (typeof privacyRequestKinds)[number];
export const privacyRequestStatuses = ['open', 'in_progress', 'done', 'rejected'] as const;
export type PrivacyRequestStatus = (typeof privacyRequestStatuses)[number];

export const PRIVACY_MESSAGE_MAX = 5000;
export const PRIVACY_RESOLUTION_MAX = 4000;

const email = z
  .string()
  .trim()
  .max(320)
  .pipe(z.email({ error: 'must be an email address' }));

/** POST /api/privacy-requests (no account needed). A child report names the account's address (`subjectEmail`). */
export const privacyRequestBody = z.object({
  kind: z.enum(privacyRequestKinds),
  email,
  name: safeText().trim().max(200).default(''),
  message: safeText().trim().min(1).max(PRIVACY_MESSAGE_MAX),
  /** a child report: the email address of the account the report is about */
  subjectEmail: z
    .string()
    .trim()
    .max(320)
    .transform((v) => v || undefined)
    .pipe(email.optional())
    .optional(),
  /** the language to answer in (default: the account's, else English) */
  language: z.enum(supportedLanguages).optional(),
});
export type PrivacyRequestBody = z.input<typeof privacyRequestBody>;

/** What the sender gets back: the reference to quote and the date we answer by. */
export const privacyRequestReceipt = z.object({
  reference: z.string(),
  kind: z.enum(privacyRequestKinds),
  createdAt: z.string(),
  dueAt: z.string(),
  supportEmail: z.string(),
});
export type PrivacyRequestReceipt = z.infer<typeof privacyRequestReceipt>;

/** One request as operators see it. */
export const privacyRequestView = z.object({
  id: z.string(),
  kind: z.enum(privacyRequestKinds),
  status: z.enum(privacyRequestStatuses),
  email: z.string(),
  name: z.string().nullable(),
  message: z.string(),
  subjectEmail: z.string().nullable(),
  language: z.string(),
  /** sent while signed in to this account */
  userId: z.string().nullable(),
  createdAt: z.string(),
  dueAt: z.string(),
  /** open or in progress past its due date */
  overdue: z.boolean(),
  closedAt: z.string().nullable(),
  closedBy: z.string().nullable(),
  resolution: z.string().nullable(),
});
export type PrivacyRequestView = z.infer<typeof privacyRequestView>;

/** The account a request is about, as far as the server can tell. */
export const privacyRequestAccount = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.string(),
  status: z.string(),
  /**
   * linked: the request was sent signed in to this account (or an operator acted on it); email:
   * only the address matches, so the sender's identity is not proven
   */
  match: z.enum(['linked', 'email']),
});
export type PrivacyRequestAccount = z.infer<typeof privacyRequestAccount>;

export const privacyRequestDetail = privacyRequestView.extend({
  account: privacyRequestAccount.nullable(),
});
export type PrivacyRequestDetail = z.infer<typeof privacyRequestDetail>;

/** GET /api/admin/privacy-requests */
export const privacyRequestListQuery = z.object({
  /** open: open and in progress (default); closed: done and rejected; or one status; all */
  status: z.enum(['open', 'closed', 'all', ...privacyRequestStatuses]).default('open'),
  overdue: z.enum(['true', 'false']).optional(),
  kind: z.enum(privacyRequestKinds).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional(),
});
export const privacyRequestList = z.object({
  items: z.array(privacyRequestView),
  nextCursor: z.string().nullable(),
  /** across every request: still to answer, and of those past their due date */
  counts: z.object({ open: z.number().int(), overdue: z.number().int() }),
});
export type PrivacyRequestList = z.infer<typeof privacyRequestList>;

/** PATCH /api/admin/privacy-requests/:id: move it on, or close it with what was done. */
export const privacyRequestPatch = z
  .object({
    status: z.enum(privacyRequestStatuses).optional(),
    resolution: safeText().trim().max(PRIVACY_RESOLUTION_MAX).optional(),
  })
  .refine((b) => b.status !== undefined || b.resolution !== undefined, { error: 'give a status or a resolution' });

/** POST /api/admin/privacy-requests/:id/confirm-child (admin): the report is confirmed; the account is deleted. */
export const confirmChildBody = z.object({ reason: safeText().trim().min(1).max(PRIVACY_RESOLUTION_MAX) });
export const confirmChildResult = z.object({
  request: privacyRequestDetail,
  deletion: z.object({
    userId: z.string(),
    /** deleted: nothing is left; closed: a legal hold keeps part of it until the hold ends */
    outcome: z.enum(['deleted', 'closed']),
  }),
});
export type ConfirmChildResult = z.infer<typeof confirmChildResult>;
