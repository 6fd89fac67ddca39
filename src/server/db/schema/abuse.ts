import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './users';

/**
 * Abuse and fraud defences (issue 19, ADR 19): the signals kept to tell one person's second account
 * from a new person (privacy policy 1.4 and 2), the record of each sign-up's free-credit decision,
 * the operator's own additions to the disposable-mail list, and the proof-of-work challenges already
 * spent. Signal values are never stored in clear: `value_hash` is an HMAC keyed by the server's
 * secret (so the table alone tells nothing), `label` is what an operator may read (a masked form).
 */

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * ip: the exact address; ip_prefix: its /24 (IPv4) or /64 (IPv6); device: the first-party device
 * cookie; fingerprint: the browser fingerprint hash; canonical_email: the address canonicalised for
 * abuse checks; card: the payment card's fingerprint (Stripe); wallet: the crypto payer (NOWPayments)
 */
export const signalKinds = ['ip', 'ip_prefix', 'device', 'fingerprint', 'canonical_email', 'card', 'wallet'] as const;
export type SignalKind = (typeof signalKinds)[number];
/** where the signal was seen */
export const signalSources = ['signup', 'verification', 'signin', 'payment'] as const;
export type SignalSource = (typeof signalSources)[number];

export const accountSignals = pgTable(
  'account_signals',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: signalKinds }).notNull(),
    valueHash: text('value_hash').notNull(),
    /** what the console shows (a masked address, a /24, "card •• 4242"); never the full value of a secret */
    label: text('label'),
    source: text('source', { enum: signalSources }).notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    check('account_signals_kind_check', sql.raw(`kind in (${list(signalKinds)})`)),
    check('account_signals_source_check', sql.raw(`source in (${list(signalSources)})`)),
    /** one row per account, kind and value: seeing it again moves last_seen_at */
    uniqueIndex('account_signals_user_value_key').on(t.userId, t.kind, t.valueHash),
    /** "which other accounts share this value, lately" */
    index('account_signals_match_idx').on(t.kind, t.valueHash, t.lastSeenAt),
  ],
);

export const signupGrantStates = ['pending', 'granted', 'withheld', 'none'] as const;
export type SignupGrantState = (typeof signupGrantStates)[number];

/**
 * The free-credit decision of each account: `pending` until the address is verified, then `granted`
 * or `withheld` with the reason a person can read (and the account that matched, if any); `none` when
 * free credits were off at sign-up.
 */
export const signupGrants = pgTable(
  'signup_grants',
  {
    userId: text('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    state: text('state', { enum: signupGrantStates }).notNull(),
    /** what was granted, or would have been */
    credits: integer('credits').notNull().default(0),
    reason: text('reason'),
    /** the account whose signals matched (the console links it) */
    matchedUserId: text('matched_user_id'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  () => [check('signup_grants_state_check', sql.raw(`state in (${list(signupGrantStates)})`))],
);

/**
 * One free-credit grant per canonical address, for ever: the row outlives the account (its link is
 * cut on deletion), so deleting and signing up again does not grant twice. The address is kept only
 * as an HMAC.
 */
export const freeCreditClaims = pgTable('free_credit_claims', {
  canonicalHash: text('canonical_hash').primaryKey(),
  userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
  claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull(),
});

/** The operator's additions to the maintained disposable-mail list (lower-case domains). */
export const blockedEmailDomains = pgTable('blocked_email_domains', {
  domain: text('domain').primaryKey(),
  note: text('note'),
  addedBy: text('added_by'),
  addedAt: timestamp('added_at', { withTimezone: true }).notNull(),
});

/** Proof-of-work challenges already redeemed, until they expire (a challenge counts once). */
export const botChallengeUses = pgTable(
  'bot_challenge_uses',
  {
    id: text('id').primaryKey(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('bot_challenge_uses_expires_idx').on(t.expiresAt)],
);
