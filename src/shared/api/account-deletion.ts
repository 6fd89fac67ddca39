import { z } from 'zod';

/**
 * Deleting an account (privacy policy 5 and 6): the user's own request with a grace period, and
 * operators' deletions on request or at once. Shared by the server routes and the web app.
 */

export const scheduledDeletion = z.object({
  id: z.string(),
  /** when it was asked for (ISO 8601) */
  requestedAt: z.string(),
  /** when it runs: the end of the grace period (ISO 8601) */
  dueAt: z.string(),
  /** `running`: it is under way and can no longer be canceled */
  status: z.enum(['scheduled', 'running']),
  /** whether the user may cancel it (not while it runs, not when an operator confirmed a child report) */
  cancelable: z.boolean(),
});
export type ScheduledDeletion = z.infer<typeof scheduledDeletion>;

export const accountDeletionStatus = z.object({
  scheduled: scheduledDeletion.nullable(),
  /** days between the request and the deletion (0: at once) */
  graceDays: z.number().int(),
  /** years the orders (and the ledger rows that back them) are kept, pseudonymised, after a deletion */
  orderRetentionYears: z.number().int(),
  /** how this account confirms who is asking: its password, or (without one) a fresh Google sign-in */
  reauth: z.object({ password: z.boolean(), google: z.boolean() }),
});
export type AccountDeletionStatusView = z.infer<typeof accountDeletionStatus>;

/** How recent a Google sign-in must be to confirm a deletion without a password. */
export const DELETION_REAUTH_MINUTES = 10;

export const requestAccountDeletion = z.object({
  /** the account's password (required when it has one) */
  password: z.string().min(1).max(1024).optional(),
});
export type RequestAccountDeletion = z.infer<typeof requestAccountDeletion>;

/** An operator deletes an account: at once, or after the grace period (the user is told and may cancel). */
export const adminDeleteUser = z.object({
  reason: z.string().trim().min(1).max(2000),
  when: z.enum(['now', 'grace']).default('now'),
});
export type AdminDeleteUser = z.infer<typeof adminDeleteUser>;

/** Counts per kind of record (generations and media always present). */
const deletionCounts = z.object({ generations: z.number().int(), media: z.number().int() }).catchall(z.number().int());

export const adminDeleteUserResult = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.enum(['deleted', 'closed']),
    userId: z.string(),
    deletionId: z.string(),
    /** the pseudonym on what is kept (orders, their ledger rows, safety cases) */
    subjectRef: z.string(),
    removed: deletionCounts,
    kept: deletionCounts,
  }),
  z.object({
    outcome: z.literal('scheduled'),
    userId: z.string(),
    deletionId: z.string(),
    dueAt: z.string(),
  }),
]);
export type AdminDeleteUserResult = z.infer<typeof adminDeleteUserResult>;
