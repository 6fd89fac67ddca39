import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import type { PaymentEvent } from '../../adapters/payments';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import { AppError } from '../../errors';
import { systemActor, type AuditService } from '../admin/audit.service';
import type { OrderRow } from '../billing/billing.repo';
import { providerLabel } from '../billing/views';
import { accountCases, addEvent, openOrExtendCase, type CaseRow } from '../moderation/cases.repo';
import {
  cardsOf,
  countFailures,
  generationHoldOf,
  insertFailure,
  lockGenerationHold,
  maxAccountsOnCards,
  maxFailuresOnCards,
  placeGenerationHold,
  ruleRecordedSince,
  setBillingFlag,
  setOrderRisk,
  upsertSignal,
} from './payment-risk.repo';
import { signalHash, signalKey } from './signal-hash';

/**
 * Payment fraud (issue 19, ADR 19; privacy policy 2 "detect and block … payment fraud"):
 *
 * - A dispute or chargeback holds the account's generation (users.generation_hold, with a reason
 *   naming the order), opens an `account` case for the trust & safety queue and writes an audit entry
 *   with the system actor, all in the transaction that applies the provider's event. Reactivating the
 *   account in the console or the CLI lifts the hold.
 * - Velocity rules: failed payments in the last hour per account, per card and per checkout address
 *   (PAYMENT_FAILURES_PER_HOUR), and accounts per card within 30 days (ACCOUNTS_PER_CARD). Over a
 *   limit, PAYMENT_VELOCITY_ACTION decides: `block` refuses the next checkout, `flag` lets it through;
 *   both flag the account (billing_flag) and record the rule's readable reason in the account's case
 *   (once an hour per rule) and the audit log.
 * - Risk facts of each charge: the card's fingerprint (as signalHash(key, 'card', fp)) on the order
 *   and as an account signal with a masked label, Stripe Radar's outcome and risk level on the order.
 *
 * Card fingerprints and addresses are only ever stored and compared as signal-hash.ts HMACs. The limits
 * are read from the shared config at each use (live settings).
 */

export type PaymentRiskConfig = Pick<Config, 'SESSION_SECRET' | 'PAYMENT_FAILURES_PER_HOUR' | 'ACCOUNTS_PER_CARD' | 'PAYMENT_VELOCITY_ACTION'>;

export interface PaymentRiskDeps {
  database: Database;
  config: PaymentRiskConfig;
  clock: Pick<Clock, 'now'>;
  /** the audit log (a function: services are wired after this one is made) */
  audit: () => Pick<AuditService, 'record'>;
  logger: Logger;
}

export type ChargeEvent = Extract<PaymentEvent, { type: 'payment.charge' }>;
export type DisputeEvent = Extract<PaymentEvent, { type: 'payment.disputed' }>;

/** A velocity rule that fired, with the reason a person reads. */
interface Finding {
  rule: 'failures_account' | 'failures_card' | 'failures_address' | 'accounts_per_card' | 'radar_review';
  reason: string;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** What the user reads when generation is refused while the hold is set. */
export const GENERATION_ON_HOLD_MESSAGE =
  'Video generation is paused on your account while a payment on it is reviewed. Contact support to have it restored; videos already in progress will finish.';

/** New videos (web, developer API, OpenAI-compatible API) are refused while the account's generation is held. */
export async function refuseIfGenerationHeld(db: DbHandle, userId: string): Promise<void> {
  if (await generationHoldOf(db, userId)) throw new AppError('generation_on_hold', GENERATION_ON_HOLD_MESSAGE, 403);
}

const money = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function createPaymentRisk({ database, config, clock, audit, logger }: PaymentRiskDeps) {
  const key = signalKey(config.SESSION_SECRET);
  const ipHash = (ip: string) => signalHash(key, 'ip', ip);
  const paymentFingerprint = (fingerprint: string) => signalHash(key, 'card', fingerprint);

  /** The account's open `account` case (the one a person reviews), or a new one. */
  async function accountCase(tx: DbHandle, userId: string, at: Date, severity: number): Promise<CaseRow> {
    const open = (await accountCases(tx, userId)).find((c) => c.status === 'open');
    return open ?? openOrExtendCase(tx, { userId, subject: 'account' }, { severity, topCategory: 'payment_fraud', action: 'flag' }, at);
  }

  /**
   * Records what the rules found (inside `tx`): the billing flag, one case event per rule and hour with
   * the readable reason, and an audit entry with the system actor.
   */
  async function record(tx: DbHandle, userId: string, findings: Finding[], decision: 'payment_flag' | 'checkout_blocked', at: Date, source: string) {
    const c = await accountCase(tx, userId, at, 0.6);
    const fresh: Finding[] = [];
    for (const f of findings) if (!(await ruleRecordedSince(tx, c.id, f.rule, new Date(at.getTime() - HOUR)))) fresh.push(f);
    if (!fresh.length) return;
    await setBillingFlag(tx, userId, 'payment_velocity', at);
    for (const f of fresh) {
      await addEvent(
        tx,
        c.id,
        {
          kind: 'decision',
          source,
          action: decision === 'checkout_blocked' ? 'block' : 'flag',
          note: f.reason,
          reasons: [{ category: 'payment_fraud', detail: f.reason }],
          details: { decision, rule: f.rule },
        },
        at,
      );
    }
    await audit().record(
      systemActor,
      {
        action: decision === 'checkout_blocked' ? 'payment.checkout_blocked' : 'payment.flagged',
        targetType: 'user',
        targetId: userId,
        reason: fresh.map((f) => f.reason).join(' '),
        after: { billingFlag: 'payment_velocity', rules: fresh.map((f) => f.rule), caseId: c.id },
      },
      tx,
    );
    logger.warn({ user: userId, rules: fresh.map((f) => f.rule), decision }, 'payment risk: velocity rule');
  }

  /** The velocity rules as they stand for this account (and the checkout's address), now. */
  async function velocity(db: DbHandle, userId: string, address: string | null, at: Date): Promise<Finding[]> {
    const limit = config.PAYMENT_FAILURES_PER_HOUR;
    const hourAgo = new Date(at.getTime() - HOUR);
    const found: Finding[] = [];
    const byAccount = await countFailures(db, { userId }, hourAgo);
    if (byAccount >= limit)
      found.push({
        rule: 'failures_account',
        reason: `${plural(byAccount, 'failed payment', 'failed payments')} from this account in the last hour (the limit is ${limit}).`,
      });
    const cards = await cardsOf(db, userId);
    const byCard = await maxFailuresOnCards(db, cards, hourAgo);
    if (byCard >= limit)
      found.push({
        rule: 'failures_card',
        reason: `${plural(byCard, 'failed payment', 'failed payments')} on a card this account used, in the last hour (the limit is ${limit}).`,
      });
    if (address) {
      const byAddress = await countFailures(db, { ipHash: address }, hourAgo);
      if (byAddress >= limit)
        found.push({
          rule: 'failures_address',
          reason: `${plural(byAddress, 'failed payment', 'failed payments')} from this account's checkout address in the last hour (the limit is ${limit}).`,
        });
    }
    const accounts = await maxAccountsOnCards(db, cards, new Date(at.getTime() - 30 * DAY));
    if (accounts > config.ACCOUNTS_PER_CARD)
      found.push({
        rule: 'accounts_per_card',
        reason: `A card this account used paid for ${accounts} accounts within 30 days (the limit is ${config.ACCOUNTS_PER_CARD}).`,
      });
    return found;
  }

  return {
    /** The stored form of a checkout address (orders.checkout_ip). */
    ipHash,

    /**
     * Before a checkout starts: the velocity rules for this account and address. `block` refuses it
     * (429 after failed payments, 403 for a card shared by too many accounts); `flag` lets it through.
     * Either way what fired is recorded. Answers the address's stored form for the order.
     */
    async screenCheckout(userId: string, ip: string | undefined): Promise<{ checkoutIp: string | null }> {
      const at = clock.now();
      const address = ip ? ipHash(ip) : null;
      const found = await velocity(database, userId, address, at);
      if (!found.length) return { checkoutIp: address };
      const block = config.PAYMENT_VELOCITY_ACTION === 'block';
      await database.transaction((tx) => record(tx, userId, found, block ? 'checkout_blocked' : 'payment_flag', at, 'checkout'));
      if (!block) return { checkoutIp: address };
      if (found.some((f) => f.rule !== 'accounts_per_card')) {
        throw new AppError(
          'payment_velocity',
          'Too many payments failed recently, so new payments are paused for an hour. Try again later, or contact support if you need help.',
          429,
        );
      }
      throw new AppError('payment_refused', 'Payments from this account are paused for review. Contact support if you think this is a mistake.', 403);
    },

    /**
     * A charge's facts (inside the event's transaction): the card as an account signal and on the
     * order, Radar's verdict on the order, a failed one counted; then the rules, which flag (a payment
     * that already happened is not refused here; the next checkout is).
     */
    async recordCharge(tx: DbHandle, provider: string, order: OrderRow, e: ChargeEvent, at: Date): Promise<void> {
      const card = e.card ? paymentFingerprint(e.card.fingerprint) : null;
      if (card && order.userId) {
        const label = e.card?.last4 ? `${e.card.brand ?? 'card'} •• ${e.card.last4}` : (e.card?.brand ?? 'card');
        await upsertSignal(tx, { userId: order.userId, kind: 'card', valueHash: card, label, source: 'payment' }, at);
      }
      // a failure after the order was paid (another attempt) does not overwrite the paid charge's facts
      if (e.succeeded || order.status === 'pending') {
        await setOrderRisk(
          tx,
          order.id,
          {
            ...(card ? { paymentFingerprint: card } : {}),
            ...(e.risk?.outcome ? { riskOutcome: e.risk.outcome } : {}),
            ...(e.risk?.level ? { riskLevel: e.risk.level } : {}),
          },
          at,
        );
      }
      if (!e.succeeded) {
        await insertFailure(tx, {
          userId: order.userId,
          orderId: order.id,
          provider,
          eventId: e.eventId,
          paymentFingerprint: card,
          ipHash: order.checkoutIp,
          outcome: e.risk?.outcome ?? null,
          failureCode: e.failureCode ?? null,
          failedAt: at,
        });
      }
      if (!order.userId) return;
      const found = await velocity(tx, order.userId, order.checkoutIp, at);
      if (e.succeeded && (e.risk?.outcome === 'manual_review' || e.risk?.level === 'highest')) {
        found.push({
          rule: 'radar_review',
          reason: `Stripe Radar rated the payment of order ${order.id} ${e.risk.level ?? 'risky'}${e.risk.score !== undefined ? ` (score ${e.risk.score})` : ''}${e.risk.outcome === 'manual_review' ? ' and placed it in review' : ''}.`,
        });
      }
      if (found.length) await record(tx, order.userId, found, 'payment_flag', at, provider);
    },

    /**
     * A dispute or chargeback (inside the event's transaction): the account's generation is held with
     * a reason naming the order, the account's case gets the decision, and the audit log the change.
     */
    async holdForDispute(tx: DbHandle, provider: string, order: OrderRow, e: DisputeEvent, at: Date): Promise<void> {
      if (!order.userId) return;
      const reason = `Payment disputed: order ${order.id} (${order.planName}, ${money(e.amountMinor || order.paidMinor || order.amountMinor, e.currency || order.currency)}) through ${providerLabel(provider)}. Generation is held until an operator reviews the account.`;
      const before = await lockGenerationHold(tx, order.userId);
      if (!before) return;
      const placed = await placeGenerationHold(tx, order.userId, reason, at);
      const c = await accountCase(tx, order.userId, at, 0.8);
      await addEvent(
        tx,
        c.id,
        {
          kind: 'decision',
          source: provider,
          action: 'hold',
          note: reason,
          reasons: [{ category: 'payment_fraud', detail: reason }],
          details: {
            decision: 'generation_hold',
            orderId: order.id,
            paymentRef: e.paymentRef,
            eventId: e.eventId,
            amountMinor: e.amountMinor,
            currency: e.currency,
          },
        },
        at,
      );
      await audit().record(
        systemActor,
        {
          action: 'user.generation_hold',
          targetType: 'user',
          targetId: order.userId,
          reason,
          before: { generationHold: before.hold },
          after: { generationHold: placed ? reason : before.hold, caseId: c.id, orderId: order.id },
        },
        tx,
      );
      logger.warn({ user: order.userId, order: order.id, provider }, 'payment risk: dispute; generation held');
    },
  };
}

export type PaymentRisk = ReturnType<typeof createPaymentRisk>;
