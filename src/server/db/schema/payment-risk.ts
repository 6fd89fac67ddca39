import { sql } from 'drizzle-orm';
import { bigserial, index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './users';

/**
 * Payment fraud (issue 19, ADR 19; migration 0015): each failed card payment a provider reported,
 * counted by the velocity rules per account, per card and per address over the last hour. The card
 * and the address are the keyed HMACs of domain/abuse/signal-hash.ts, never the values.
 */
export const paymentFailures = pgTable(
  'payment_failures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: text('user_id').references(() => users.id, { onDelete: 'cascade' }),
    orderId: text('order_id'),
    provider: text('provider').notNull(),
    /** the provider event that reported it (one row per event) */
    eventId: text('event_id').notNull(),
    /** signalHash(key, 'card', fingerprint) */
    paymentFingerprint: text('payment_fingerprint'),
    /** the order's checkout address: signalHash(key, 'ip', address) */
    ipHash: text('ip_hash'),
    /** Stripe Radar's outcome.type (issuer_declined, blocked, …) */
    outcome: text('outcome'),
    /** the provider's failure code (card_declined, …) */
    failureCode: text('failure_code'),
    failedAt: timestamp('failed_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex('payment_failures_event_key').on(t.provider, t.eventId),
    index('payment_failures_user_idx').on(t.userId, t.failedAt),
    index('payment_failures_card_idx')
      .on(t.paymentFingerprint, t.failedAt)
      .where(sql`payment_fingerprint is not null`),
    index('payment_failures_ip_idx')
      .on(t.ipHash, t.failedAt)
      .where(sql`ip_hash is not null`),
  ],
);
