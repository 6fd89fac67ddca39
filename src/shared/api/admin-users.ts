import { z } from 'zod';
import { userRole, userStatus } from './account';
import { ledgerEntryView } from './credits';
import { safeText } from './text';

/**
 * The console's users section (issue 18): search, a user's page, and what support and admins do
 * to an account. Every action is recorded in the audit log with the state before and after.
 */

/** What an operator should notice about an account at a glance. */
export const adminUserFlags = ['billing_flag', 'email_unverified', 'deletion_scheduled'] as const;
export type AdminUserFlag = (typeof adminUserFlags)[number];

/** the largest grant or deduction one console action may make */
export const ADMIN_CREDITS_MAX = 1_000_000;
export const ADMIN_REASON_MAX = 2000;

/** `?role=` from a form may be empty: the same as absent */
const emptyAsAbsent = (v: unknown) => (v === '' ? undefined : v);

export const adminUserSearchQuery = z.object({
  /** an email (prefix or exact), part of a name, a user id, an IP address or a referral code; empty: everyone */
  q: z.string().trim().max(320).default(''),
  role: z.preprocess(emptyAsAbsent, userRole.optional()),
  status: z.preprocess(emptyAsAbsent, userStatus.optional()),
  /** the previous page's nextCursor */
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type AdminUserSearchQuery = z.infer<typeof adminUserSearchQuery>;

export const adminUserRow = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: userRole,
  status: userStatus,
  /** spendable credits */
  credits: z.number().int(),
  createdAt: z.string(),
  /** the latest sign-in or request of any session; null: never */
  lastSeenAt: z.string().nullable(),
  flags: z.array(z.enum(adminUserFlags)),
});
export type AdminUserRow = z.infer<typeof adminUserRow>;

/** Newest accounts first; `nextCursor` is null on the last page. */
export const adminUserSearchResult = z.object({ users: z.array(adminUserRow), nextCursor: z.string().nullable() });
export type AdminUserSearchResult = z.infer<typeof adminUserSearchResult>;

export const adminUserIdParams = z.object({ id: z.string().min(1).max(100) });

export const adminUserProfile = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: userRole,
  status: userStatus,
  /** why an operator or a moderator suspended or terminated the account */
  statusReason: z.string().nullable(),
  emailVerified: z.boolean(),
  language: z.string(),
  region: z.string().nullable(),
  referralCode: z.string(),
  /** who invited this user, when someone did */
  referredBy: z.object({ id: z.string(), email: z.string() }).nullable(),
  /** 'credential' (email + password), 'google' */
  signInMethods: z.array(z.string()),
  createdAt: z.string(),
  lastSignInAt: z.string().nullable(),
});

export const adminUserDevice = z.object({
  /** the device's fingerprint (a hash of its type, browser and OS) */
  id: z.string(),
  deviceType: z.string().nullable(),
  browser: z.string().nullable(),
  os: z.string().nullable(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
});

export const adminUserSession = z.object({
  id: z.string(),
  ip: z.string().nullable(),
  deviceType: z.string().nullable(),
  browser: z.string().nullable(),
  os: z.string().nullable(),
  region: z.string().nullable(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
});

export const adminUserOrder = z.object({
  id: z.string(),
  planName: z.string(),
  kind: z.string(),
  status: z.string(),
  credits: z.number().int(),
  amountMinor: z.number().int(),
  refundedMinor: z.number().int(),
  currency: z.string(),
  provider: z.string(),
  createdAt: z.string(),
  paidAt: z.string().nullable(),
});

export const adminUserGeneration = z.object({
  id: z.string(),
  modelId: z.string(),
  status: z.string(),
  priceCredits: z.number().int(),
  createdAt: z.string(),
  /** deleted by its owner (kept until the purge) */
  deleted: z.boolean(),
});

/** An API key as operators see it: never its secret or the secret's hash. */
export const adminUserApiKey = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.string()),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export const adminUserCase = z.object({
  id: z.string(),
  subject: z.string(),
  status: z.string(),
  outcome: z.string().nullable(),
  topCategory: z.string().nullable(),
  severity: z.number(),
  openedAt: z.string(),
  closedAt: z.string().nullable(),
});

export const adminUserExport = z.object({
  id: z.string(),
  status: z.string(),
  /** true when an operator started it */
  byOperator: z.boolean(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
});

export const adminUserDetail = z.object({
  profile: adminUserProfile,
  flags: z.array(z.enum(adminUserFlags)),
  devices: z.array(adminUserDevice),
  /** sessions that have not expired, most recently used first */
  sessions: z.array(adminUserSession),
  credits: z.object({
    available: z.number().int(),
    held: z.number().int(),
    /** the latest ledger entries; more with GET /api/admin/users/:id/ledger?cursor= */
    ledger: z.array(ledgerEntryView),
    nextLedgerCursor: z.string().nullable(),
  }),
  /** the latest 20 */
  orders: z.array(adminUserOrder),
  /** the latest 20 */
  generations: z.array(adminUserGeneration),
  apiKeys: z.array(adminUserApiKey),
  safety: z.object({
    /** set when a refund or dispute took back more credits than were left */
    billingFlag: z.string().nullable(),
    /** strikes since the account was last reinstated count towards suspension; this is all of them */
    strikes: z.number().int(),
    cases: z.array(adminUserCase),
  }),
  consent: z.object({
    /** when the user opted in to product-update mail; null: not opted in */
    marketingOptInAt: z.string().nullable(),
    /** notices of material policy changes the user dismissed */
    policyNoticeDismissals: z.array(z.object({ document: z.string(), version: z.string(), dismissedAt: z.string() })),
  }),
  privacy: z.object({
    /** a deletion in its grace period or running */
    pendingDeletion: z
      .object({ id: z.string(), status: z.string(), origin: z.string(), requestedAt: z.string(), dueAt: z.string(), reason: z.string().nullable() })
      .nullable(),
    /** the account was deleted while a legal hold kept part of it: it is closed until the hold ends */
    closedForDeletionAt: z.string().nullable(),
    /** the latest exports */
    exports: z.array(adminUserExport),
  }),
});
export type AdminUserDetail = z.infer<typeof adminUserDetail>;

export const adminUserLedgerQuery = z.object({
  /** the previous page's nextCursor (a ledger entry id) */
  cursor: z
    .string()
    .regex(/^\d{1,18}$/, 'must be a ledger cursor')
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const reason = safeText().trim().min(1, 'is required').max(ADMIN_REASON_MAX);

/** POST /api/admin/users/:id/credits: a positive amount grants, a negative one deducts (never below zero). */
export const adminUserCreditsBody = z.object({
  amount: z
    .number()
    .int()
    .min(-ADMIN_CREDITS_MAX)
    .max(ADMIN_CREDITS_MAX)
    .refine((n) => n !== 0, 'must not be 0'),
  reason,
});
export type AdminUserCreditsBody = z.infer<typeof adminUserCreditsBody>;

/** An optional `Idempotency-Key` header: the same key for the same user applies the change once. */
export const adminIdempotencyHeaders = z.object({ 'idempotency-key': z.string().min(1).max(200).optional() });

export const adminUserCreditsResult = z.object({
  balance: z.number().int(),
  held: z.number().int(),
  /** true when the Idempotency-Key had been applied already: nothing changed this time */
  replayed: z.boolean(),
});
export type AdminUserCreditsResult = z.infer<typeof adminUserCreditsResult>;

/** suspend, reactivate, terminate */
export const adminUserReasonBody = z.object({ reason });
export const adminUserRoleBody = z.object({ role: userRole, reason: safeText().trim().max(ADMIN_REASON_MAX).optional() });
export const adminUserSignOutResult = z.object({ ended: z.number().int() });
export type AdminUserSignOutResult = z.infer<typeof adminUserSignOutResult>;
