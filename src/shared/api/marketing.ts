import { z } from 'zod';

/**
 * Email preferences (privacy policy 2 and 5): product updates only for those who opt in, and a
 * one-click unsubscribe link in each of them (RFC 8058). Transactional mail (receipts, security
 * alerts, service notices) is not a preference: it is always sent.
 */

export const emailPreferences = z.object({
  /** product-update mail; off unless the user turned it on */
  productUpdates: z.boolean(),
  /** when the user opted in (ISO 8601), or null */
  optedInAt: z.string().nullable(),
  /** product updates go only to a verified address */
  emailVerified: z.boolean(),
});
export type EmailPreferences = z.infer<typeof emailPreferences>;

export const updateEmailPreferences = z.strictObject({ productUpdates: z.boolean() });
export type UpdateEmailPreferences = z.infer<typeof updateEmailPreferences>;

/** The token of an unsubscribe link (`<id>.<mac>`, base64url). */
export const unsubscribeToken = z.string().regex(/^[A-Za-z0-9_-]{1,300}\.[A-Za-z0-9_-]{1,100}$/, { error: 'is not an unsubscribe token' });

/** What the unsubscribe page shows before and after the one-click POST. */
export const unsubscribeStatus = z.object({
  /** true while the account still gets product updates */
  productUpdates: z.boolean(),
});
export type UnsubscribeStatus = z.infer<typeof unsubscribeStatus>;

export const unsubscribeResult = z.object({
  /** always false after the POST */
  productUpdates: z.literal(false),
  /** true when this request turned them off (false: they were already off) */
  changed: z.boolean(),
});
export type UnsubscribeResult = z.infer<typeof unsubscribeResult>;
