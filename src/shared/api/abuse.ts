import { z } from 'zod';
import { safeText } from './text';

/**
 * Email rules and free-credit eligibility (issue 19). The console's list of the operator's own
 * disposable-mail domains (GET/POST/DELETE /api/admin/abuse/domains, risk.manage; changes need a
 * recent re-authentication and are audited), and an account's free-credit decision.
 */

/** a domain as the operator types it: `tempmail.example`, `@tempmail.example` or `*.tempmail.example` */
export const ABUSE_DOMAIN_MAX = 253;
export const ABUSE_DOMAIN_NOTE_MAX = 500;

export const blockedDomainView = z.object({
  /** lower case; its subdomains are blocked too */
  domain: z.string(),
  note: z.string().nullable(),
  /** the operator who added it (their email, or `cli:<user>`) */
  addedBy: z.string().nullable(),
  addedAt: z.string(),
});
export type BlockedDomainView = z.infer<typeof blockedDomainView>;

export const blockedDomainList = z.object({
  /** the operator's additions, by domain */
  items: z.array(blockedDomainView),
  /** how many domains the maintained list (the `mailchecker` package) holds, besides these */
  maintainedCount: z.number().int(),
});
export type BlockedDomainList = z.infer<typeof blockedDomainList>;

export const addBlockedDomainBody = z.object({
  domain: safeText().trim().min(1).max(ABUSE_DOMAIN_MAX),
  note: safeText().trim().max(ABUSE_DOMAIN_NOTE_MAX).optional(),
});
export type AddBlockedDomainBody = z.infer<typeof addBlockedDomainBody>;

export const blockedDomainParams = z.object({ domain: safeText().trim().min(1).max(ABUSE_DOMAIN_MAX) });

export const signupGrantStates = ['pending', 'granted', 'withheld', 'none'] as const;

/**
 * An account's free-credit decision: `pending` until the address is verified, then `granted` or
 * `withheld` (with the reason a person can read, and the account whose signals matched); `none`
 * when free credits were off at sign-up.
 */
export const signupGrantView = z.object({
  state: z.enum(signupGrantStates),
  credits: z.number().int(),
  reason: z.string().nullable(),
  matchedUserId: z.string().nullable(),
  decidedAt: z.string().nullable(),
});
export type SignupGrantView = z.infer<typeof signupGrantView>;
