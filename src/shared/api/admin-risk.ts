import { z } from 'zod';
import { userRole, userStatus } from './account';
import { ADMIN_REASON_MAX } from './admin-users';
import { safeText } from './text';

/**
 * Risk in the operator console (issue 19): an account's abuse signals, the accounts that share them,
 * the flags on it with their reasons, the clusters of accounts linked by strong signals, and the
 * grant of free credits a sign-up decision withheld. Signal values are never shown: only the masked
 * label the server kept (an address's /24, "card •• 4242").
 */

export const riskSignalKinds = ['ip', 'ip_prefix', 'device', 'fingerprint', 'canonical_email', 'card', 'wallet'] as const;
export type RiskSignalKind = (typeof riskSignalKinds)[number];
/** what ties two accounts to one person: a device, a browser fingerprint, a card, a wallet, an address */
export const strongSignalKinds = ['device', 'fingerprint', 'canonical_email', 'card', 'wallet'] as const satisfies readonly RiskSignalKind[];
export type StrongSignalKind = (typeof strongSignalKinds)[number];
/** a network is shared by strangers (homes, offices, mobile carriers): a weaker link, counted within a window */
export const weakSignalKinds = ['ip', 'ip_prefix'] as const satisfies readonly RiskSignalKind[];
export const isStrongKind = (k: RiskSignalKind): k is StrongSignalKind => (strongSignalKinds as readonly string[]).includes(k);

export const riskSignalSources = ['signup', 'verification', 'signin', 'payment'] as const;
export const freeCreditStates = ['pending', 'granted', 'withheld', 'none'] as const;
export type FreeCreditState = (typeof freeCreditStates)[number];

export const riskSignal = z.object({
  kind: z.enum(riskSignalKinds),
  /** the masked form kept for operators; null when none was kept */
  label: z.string().nullable(),
  source: z.enum(riskSignalSources),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  /** how many other accounts hold the same value (ip, ip_prefix: seen within the window of this account's use) */
  sharedWith: z.number().int(),
});
export type RiskSignal = z.infer<typeof riskSignal>;

export const linkedAccount = z.object({
  id: z.string(),
  email: z.string(),
  role: userRole,
  status: userStatus,
  statusReason: z.string().nullable(),
  createdAt: z.string(),
  /** the account's free-credit decision; null when it has none (an account from before issue 19) */
  freeCredits: z.enum(freeCreditStates).nullable(),
  /** strong: a device, fingerprint, card, wallet or canonical address is shared; weak: only a network */
  strength: z.enum(['strong', 'weak']),
  /** the kinds of signal the two accounts share */
  kinds: z.array(z.enum(riskSignalKinds)),
  /** the latest time the other account was seen with a shared value */
  lastSharedAt: z.string(),
});
export type LinkedAccount = z.infer<typeof linkedAccount>;

export const riskFreeCredits = z.object({
  state: z.enum(freeCreditStates),
  /** granted, or what would have been */
  credits: z.number().int(),
  /** why, as the decision recorded it */
  reason: z.string().nullable(),
  /** the account whose signals matched (null: none, or it was deleted) */
  matchedUser: z.object({ id: z.string(), email: z.string().nullable() }).nullable(),
  decidedAt: z.string().nullable(),
  createdAt: z.string(),
});

export const riskCase = z.object({
  id: z.string(),
  openedAt: z.string(),
  severity: z.number(),
  topCategory: z.string().nullable(),
  /** what opened it: the first event's note or reason */
  reason: z.string().nullable(),
});

export const riskOrder = z.object({
  id: z.string(),
  status: z.string(),
  provider: z.string(),
  amountMinor: z.number().int(),
  currency: z.string(),
  /** Stripe Radar's risk level: elevated or highest */
  riskLevel: z.string(),
  /** Stripe Radar's outcome type (authorized, manual_review, blocked, ...) */
  riskOutcome: z.string().nullable(),
  createdAt: z.string(),
});

export const adminUserRisk = z.object({
  userId: z.string(),
  /** how far apart two accounts' use of one network may be to count as a (weak) link, in days */
  ipWindowDays: z.number().int(),
  signals: z.array(riskSignal),
  /** strong links first, then the most recent; at most LINKED_MAX */
  linked: z.array(linkedAccount),
  /** more accounts are linked than the list holds */
  linkedTruncated: z.boolean(),
  flags: z.object({
    /** the account may not generate until an operator lifts it */
    generationHold: z.object({ reason: z.string(), since: z.string().nullable() }).nullable(),
    /** a refund or dispute took back more credits than were left */
    billingFlag: z.string().nullable(),
    freeCredits: riskFreeCredits.nullable(),
    /** open trust & safety cases about the account itself */
    openCases: z.array(riskCase),
    /** orders Stripe Radar rated elevated or highest */
    riskyOrders: z.array(riskOrder),
  }),
});
export type AdminUserRisk = z.infer<typeof adminUserRisk>;

export const LINKED_MAX = 100;

/** POST /api/admin/users/:id/free-credits */
export const adminFreeCreditsBody = z.object({ reason: safeText().trim().min(1, 'is required').max(ADMIN_REASON_MAX) });
export const adminFreeCreditsResult = z.object({
  state: z.literal('granted'),
  credits: z.number().int(),
  balance: z.number().int(),
  /** it had been granted already: nothing changed this time */
  replayed: z.boolean(),
});
export type AdminFreeCreditsResult = z.infer<typeof adminFreeCreditsResult>;

export const riskClusterSorts = ['size', 'newest'] as const;
const emptyAsAbsent = (v: unknown) => (v === '' ? undefined : v);

export const riskClustersQuery = z.object({
  /** only clusters of this kind of signal */
  kind: z.preprocess(emptyAsAbsent, z.enum(strongSignalKinds).optional()),
  /** size: the largest first; newest: the latest sign-up first */
  sort: z.preprocess(emptyAsAbsent, z.enum(riskClusterSorts).default('size')),
  /** the previous page's nextCursor */
  cursor: z.string().min(1).max(300).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type RiskClustersQuery = z.infer<typeof riskClustersQuery>;

export const riskClusterMember = z.object({
  id: z.string(),
  email: z.string(),
  status: userStatus,
  createdAt: z.string(),
  freeCredits: z.enum(freeCreditStates).nullable(),
  lastSeenAt: z.string(),
});

export const riskCluster = z.object({
  /** opaque: the kind and the keyed hash of the shared value */
  id: z.string(),
  kind: z.enum(strongSignalKinds),
  label: z.string().nullable(),
  size: z.number().int(),
  suspended: z.number().int(),
  terminated: z.number().int(),
  /** members whose sign-up got free credits */
  freeCredits: z.number().int(),
  newestSignupAt: z.string(),
  lastSeenAt: z.string(),
  /** the newest members, at most CLUSTER_MEMBERS_MAX */
  members: z.array(riskClusterMember),
});
export type RiskCluster = z.infer<typeof riskCluster>;

export const CLUSTER_MEMBERS_MAX = 20;

export const riskClustersResult = z.object({ clusters: z.array(riskCluster), nextCursor: z.string().nullable() });
export type RiskClustersResult = z.infer<typeof riskClustersResult>;
