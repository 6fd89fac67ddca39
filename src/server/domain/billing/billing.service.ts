import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { PaymentProviderError, type PaymentEvent, type PaymentProviderId, type PaymentRegistry } from '../../adapters/payments';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { billingSendConfirmation } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { quotePrice } from '../../../shared/catalog/spec';
import type { BillingResponse, CheckoutInput, CheckoutResponse, OrderView, PlansResponse, PlanView, SubscriptionView } from '../../../shared/api/billing';
import type { CatalogService } from '../catalog/catalog.service';
import { applyLedgerEntry } from '../credits/credits.repo';
import { keysetPage } from '../../db/keyset';
import {
  currentSubscription,
  findOrderForEvent,
  getOrder,
  getPlan,
  getSubscriptionByRef,
  listPlans,
  mapOrder,
  mapSubscription,
  updateOrder,
  type OrderRow,
  type PlanRow,
  type SubscriptionRow,
} from './billing.repo';
import { pricingExamples } from './plans-data';

/**
 * Billing: plans, checkout, and the books. Every provider event is recorded by its id in the same
 * transaction as its effect (grant, refund clawback, subscription change), so a replayed,
 * duplicated or concurrent delivery changes nothing the second time, and answers 200. An event that
 * depends on one not seen yet (a refund before its payment, a renewal before its subscription) is
 * kept `deferred` and applied in the transaction that records what it waited for, or by the retry
 * job. Refund amounts are cumulative, so refunds applied in any order end in the same state.
 */

export type ApplyOutcome = 'applied' | 'duplicate' | 'deferred' | 'ignored';

export interface BillingService {
  plans(): Promise<PlansResponse>;
  checkout(user: { id: string; email: string }, input: CheckoutInput): Promise<CheckoutResponse>;
  overview(userId: string, query: { limit: number; cursor?: string | undefined }): Promise<BillingResponse>;
  order(userId: string, id: string): Promise<OrderView>;
  /** the user's paid order, for its receipt */
  paidOrder(userId: string, id: string): Promise<OrderRow>;
  cancelSubscription(userId: string): Promise<SubscriptionView>;
  /** a webhook delivery: verify, then apply each event exactly once */
  handleWebhook(provider: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>): Promise<{ status: 200 | 400 | 404; message: string }>;
  applyEvent(provider: PaymentProviderId, event: PaymentEvent): Promise<ApplyOutcome>;
  /** operators: refund an order fully (no amount) or partly, through the provider */
  refund(orderId: string, amountMinor?: number): Promise<OrderRow>;
  /** fetch recent provider events (Stripe's events API) and apply what we missed */
  reconcile(opts?: { sinceHours?: number }): Promise<{ fetched: number; applied: number }>;
  /** apply deferred events whose dependency has arrived meanwhile; returns how many were applied */
  retryDeferred(): Promise<number>;
  /** pending orders whose checkout was abandoned long ago become expired */
  expireAbandoned(hours?: number): Promise<number>;
  toOrderView(order: OrderRow): OrderView;
}

export interface BillingDeps {
  database: Database;
  queue: JobQueue;
  payments: PaymentRegistry;
  catalog: CatalogService;
  config: Pick<Config, 'PUBLIC_URL' | 'BILLING_CURRENCIES' | 'NOWPAYMENTS_PARTIAL_PAYMENTS' | 'CREEM_CHECKOUTS_ENABLED'>;
  logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where a provider's event must wait, when what it refers to is not known yet. */
class Deferred extends Error {
  constructor(readonly waitingFor: string) {
    super(`waiting for ${waitingFor}`);
  }
}

/** Why a refund moved an order to this status. */
const refundStatus = (order: OrderRow, refunded: number): OrderRow['status'] =>
  refunded >= (order.paidMinor || order.amountMinor) ? 'refunded' : refunded > 0 ? 'partially_refunded' : order.status;

export function createBillingService(deps: BillingDeps): BillingService {
  const { database, queue, payments, catalog, config, logger } = deps;
  const currencies = config.BILLING_CURRENCIES.split(',');

  function providersFor(plan: PlanRow): PaymentProviderId[] {
    return payments.ids.filter((id) => {
      const p = payments.get(id);
      if (plan.kind === 'subscription' && !p.supportsSubscriptions) return false;
      // Creem: legacy subscribers keep working through webhooks even when new checkouts are off
      if (id === 'creem' && (!config.CREEM_CHECKOUTS_ENABLED || !plan.providerRefs.creemProductId)) return false;
      return true;
    });
  }

  async function plans(): Promise<PlansResponse> {
    const [rows, models] = await Promise.all([listPlans(database, { activeOnly: true }), catalog.list()]);
    const examples = pricingExamples.flatMap((ex) => {
      const m = models.find((x) => x.id === ex.model && x.enabled);
      if (!m || !m.resolutions.includes(ex.resolution)) return [];
      const price = quotePrice(m.price, m, { durationSeconds: ex.seconds, resolution: ex.resolution, audio: false, referenceCount: 0 }).credits;
      return price > 0 ? [{ model: m.id, modelName: m.name, seconds: ex.seconds, price }] : [];
    });
    const views: PlanView[] = rows.map((p) => ({
      id: p.id,
      name: p.name,
      kind: p.kind,
      credits: p.credits,
      interval: p.interval,
      rollover: p.rollover,
      prices: Object.fromEntries(Object.entries(p.prices).filter(([c]) => currencies.includes(c))),
      examples: examples.map((e) => ({ model: e.model, modelName: e.modelName, seconds: e.seconds, count: Math.floor(p.credits / e.price) })),
      providers: providersFor(p),
      highlighted: p.highlighted,
    }));
    return { plans: views, currencies, providers: [...payments.ids] };
  }

  async function checkout(user: { id: string; email: string }, input: CheckoutInput): Promise<CheckoutResponse> {
    const plan = await getPlan(database, input.plan);
    if (!plan || !plan.active) throw new AppError('invalid_request', `There is no plan ${input.plan}.`, 400, { fields: [{ field: 'plan', message: 'is not a plan on sale' }] });
    if (!payments.has(input.provider)) {
      throw new AppError('invalid_request', `Payments through ${input.provider} are not available here.`, 400, { fields: [{ field: 'provider', message: 'is not available', allowed: [...payments.ids] }] });
    }
    if (!providersFor(plan).includes(input.provider)) {
      throw new AppError('invalid_request', `The ${plan.name} plan cannot be bought through ${input.provider}.`, 400, { fields: [{ field: 'provider', message: 'cannot sell this plan', allowed: providersFor(plan) }] });
    }
    const currency = input.currency ?? currencies[0]!;
    const amount = plan.prices[currency];
    if (!currencies.includes(currency) || amount === undefined) {
      throw new AppError('invalid_request', `The ${plan.name} plan has no price in ${currency.toUpperCase()}.`, 400, {
        fields: [{ field: 'currency', message: 'has no price', allowed: Object.keys(plan.prices).filter((c) => currencies.includes(c)) }],
      });
    }
    if (plan.kind === 'subscription') {
      const current = await currentSubscription(database, user.id);
      if (current && !current.cancelAtPeriodEnd) throw new AppError('already_subscribed', 'You already have a subscription. Cancel it before starting another.', 409);
    }
    const orderId = randomUUID();
    await database.sql.query(
      `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [orderId, user.id, plan.id, plan.name, plan.kind, plan.credits, amount, currency, input.provider],
    );
    const provider = payments.get(input.provider);
    try {
      const session = await provider.createCheckout({
        orderId,
        item: {
          planId: plan.id,
          name: `${plan.name} — ${plan.credits.toLocaleString('en-US')} credits${plan.kind === 'subscription' ? ` per ${plan.interval ?? 'month'}` : ''}`,
          kind: plan.kind,
          ...(plan.interval ? { interval: plan.interval } : {}),
          amountMinor: amount,
          currency,
          ...(input.provider === 'stripe' && plan.providerRefs.stripePriceId ? { providerPriceRef: plan.providerRefs.stripePriceId } : {}),
          ...(input.provider === 'creem' && plan.providerRefs.creemProductId ? { providerPriceRef: plan.providerRefs.creemProductId } : {}),
        },
        customerEmail: user.email,
        successUrl: `${config.PUBLIC_URL}/billing?order=${orderId}`,
        cancelUrl: `${config.PUBLIC_URL}/billing?canceled=1&order=${orderId}`,
        webhookUrl: `${config.PUBLIC_URL}/webhooks/${input.provider}`,
        idempotencyKey: `checkout:${orderId}`,
      });
      await database.sql.query('update orders set checkout_ref = $2, updated_at = now() where id = $1', [orderId, session.checkoutRef]);
      // a webhook may have come before this answer: apply what waited for the checkout
      await database.transaction((tx) => applyWaiting(tx, input.provider, [session.checkoutRef, orderId]));
      return { orderId, url: session.url };
    } catch (err) {
      await database.sql.query(`update orders set status = 'failed', updated_at = now() where id = $1 and status = 'pending'`, [orderId]);
      if (err instanceof PaymentProviderError) {
        logger.warn({ err, provider: input.provider, orderId }, 'billing: checkout refused by the provider');
        throw new AppError('payment_provider_error', `${label(input.provider)} could not start the payment: ${err.message}`, err.retryable ? 503 : 502);
      }
      throw err;
    }
  }

  const label = (p: string) => ({ stripe: 'Stripe', creem: 'Creem', nowpayments: 'NOWPayments' })[p] ?? p;

  // ---------------------------------------------------------------------------------------------
  // events

  /** Record the event and apply it, all in one transaction; a second delivery is a no-op. */
  async function applyEvent(provider: PaymentProviderId, event: PaymentEvent): Promise<ApplyOutcome> {
    return database.transaction(async (tx) => {
      const inserted = await tx.sql.query(
        `insert into payment_events (provider, event_id, type, state, event) values ($1, $2, $3, 'applied', $4::jsonb)
         on conflict (provider, event_id) do nothing returning event_id`,
        [provider, event.eventId, event.type, JSON.stringify(event)],
      );
      if (!inserted.length) return 'duplicate';
      return run(tx, provider, event);
    });
  }

  /** Apply an event already recorded (fresh, or deferred before); sets its state. */
  async function run(tx: DbHandle, provider: PaymentProviderId, event: PaymentEvent): Promise<ApplyOutcome> {
    try {
      const orderId = await effect(tx, provider, event);
      const state = orderId === null ? 'ignored' : 'applied';
      await tx.sql.query(
        `update payment_events set state = $3, order_id = coalesce($4, order_id), waiting_for = null, applied_at = now(), attempts = attempts + 1
          where provider = $1 and event_id = $2`,
        [provider, event.eventId, state, orderId === null || orderId === true ? null : orderId],
      );
      return state;
    } catch (err) {
      if (!(err instanceof Deferred)) throw err;
      await tx.sql.query(`update payment_events set state = 'deferred', waiting_for = $3, attempts = attempts + 1 where provider = $1 and event_id = $2`, [
        provider,
        event.eventId,
        err.waitingFor,
      ]);
      logger.info({ provider, event: event.eventId, type: event.type, waitingFor: err.waitingFor }, 'billing: event deferred until what it refers to arrives');
      return 'deferred';
    }
  }

  /** Deferred events waiting for any of `keys`, applied now (inside the caller's transaction). */
  async function applyWaiting(tx: DbHandle, provider: string, keys: (string | null | undefined)[]): Promise<void> {
    const wanted = keys.filter((k): k is string => !!k);
    if (!wanted.length) return;
    const waiting = await tx.sql.query<{ event: PaymentEvent | string }>(
      `select event from payment_events where provider = $1 and state = 'deferred' and waiting_for = any($2::text[])
        order by received_at for update skip locked`,
      [provider, wanted],
    );
    for (const w of waiting) {
      const event = typeof w.event === 'string' ? (JSON.parse(w.event) as PaymentEvent) : w.event;
      await run(tx, provider as PaymentProviderId, event);
    }
  }

  /**
   * The effect of one event. Returns the order id it concerned, `true` when it changed something
   * without an order (a subscription), or null when there was nothing to do. Throws Deferred when
   * what it refers to is not known yet.
   */
  async function effect(tx: DbHandle, provider: PaymentProviderId, e: PaymentEvent): Promise<string | true | null> {
    switch (e.type) {
      case 'ignored':
        return null;
      case 'checkout.paid':
      case 'checkout.partially_paid': {
        const order = await findOrderForEvent(tx, provider, { orderId: e.orderId, checkoutRef: e.checkoutRef, paymentRef: e.paymentRef });
        if (!order) throw new Deferred(e.checkoutRef);
        return (await markPaid(tx, order, e)).id;
      }
      case 'checkout.failed':
      case 'checkout.expired': {
        const order = await findOrderForEvent(tx, provider, { orderId: e.orderId, checkoutRef: e.checkoutRef });
        if (!order) throw new Deferred(e.checkoutRef);
        if (order.status !== 'pending') return null; // a late failure never undoes a payment
        await updateOrder(tx, order.id, { status: e.type === 'checkout.failed' ? 'failed' : 'expired' });
        return order.id;
      }
      case 'subscription.renewed':
        return renew(tx, provider, e);
      case 'subscription.canceled': {
        const sub = await getSubscriptionByRef(tx, provider, e.subscriptionRef);
        if (!sub) throw new Deferred(e.subscriptionRef);
        await tx.sql.query(
          `update subscriptions set cancel_at_period_end = $2, status = case when $2 then status else 'canceled' end,
             current_period_end = coalesce($3::timestamptz, current_period_end), updated_at = now() where id = $1`,
          [sub.id, e.atPeriodEnd, e.periodEnd?.toISOString() ?? null],
        );
        if (!e.atPeriodEnd) await expirePeriodCredits(tx, sub, 'the subscription was canceled');
        return true;
      }
      case 'subscription.ended': {
        const sub = await getSubscriptionByRef(tx, provider, e.subscriptionRef);
        if (!sub) throw new Deferred(e.subscriptionRef);
        if (sub.status === 'expired' || sub.status === 'canceled') return null;
        await tx.sql.query(`update subscriptions set status = 'expired', current_period_end = least(coalesce(current_period_end, $2::timestamptz), $2::timestamptz), updated_at = now() where id = $1`, [
          sub.id,
          new Date(e.endedAt).toISOString(),
        ]);
        await expirePeriodCredits(tx, sub, 'the subscription ended');
        return true;
      }
      case 'payment.refunded':
      case 'payment.disputed': {
        const order = await findOrderForEvent(tx, provider, { paymentRef: e.paymentRef });
        if (!order || order.status === 'pending') throw new Deferred(e.paymentRef);
        return (await takeBack(tx, order, e.type === 'payment.refunded' ? { refundedMinor: e.refundedMinor } : { disputed: true })).id;
      }
    }
  }

  async function markPaid(tx: DbHandle, order: OrderRow, e: Extract<PaymentEvent, { type: 'checkout.paid' | 'checkout.partially_paid' }>): Promise<OrderRow> {
    const partial = e.type === 'checkout.partially_paid';
    const paidMinor = partial ? e.paidMinor : e.amountMinor;
    // pro rata (a setting) for crypto payments that stopped short; nothing at all otherwise
    const due = partial
      ? config.NOWPAYMENTS_PARTIAL_PAYMENTS === 'pro_rata'
        ? Math.floor((order.credits * Math.min(paidMinor, order.amountMinor)) / Math.max(1, order.amountMinor))
        : 0
      : order.credits;
    const grant = Math.max(0, due - order.creditsGranted);
    if (['refunded', 'partially_refunded', 'disputed'].includes(order.status) || (order.status === 'paid' && grant === 0)) return order;
    if (partial && due === 0) {
      // recorded; the order stays pending until a full payment arrives
      return updateOrder(tx, order.id, { payment_ref: e.paymentRef, paid_minor: paidMinor });
    }
    const firstPayment = order.status !== 'paid';
    let subscriptionId = order.subscriptionId;
    // when the provider did not say which period a subscription checkout paid: from now, for the plan's interval
    let periodStart = e.type === 'checkout.paid' ? e.periodStart : undefined;
    let periodEnd = e.type === 'checkout.paid' ? e.periodEnd : undefined;
    if (e.type === 'checkout.paid' && e.subscriptionRef && !subscriptionId) {
      periodStart ??= new Date();
      const plan = await getPlan(tx, order.planId);
      periodEnd ??= new Date(new Date(periodStart).getTime() + (plan?.interval === 'year' ? 365 : 30) * 24 * 3600_000);
      const [sub] = await tx.sql.query(
        `insert into subscriptions (id, user_id, plan_id, provider, provider_ref, current_period_start, current_period_end)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (provider, provider_ref) do update set updated_at = now() returning *`,
        [randomUUID(), order.userId, order.planId, order.provider, e.subscriptionRef, new Date(periodStart).toISOString(), new Date(periodEnd).toISOString()],
      );
      subscriptionId = mapSubscription(sub!).id;
    }
    const updated = await updateOrder(tx, order.id, {
      status: 'paid',
      payment_ref: e.paymentRef,
      paid_minor: Math.max(paidMinor, order.paidMinor),
      credits_granted: order.creditsGranted + grant,
      ...(e.type === 'checkout.paid' && e.customerEmail ? { checkout_email: e.customerEmail } : {}),
      ...(firstPayment ? { paid_at: { sql: 'now()' }, receipt_number: { sql: `'SS-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('receipt_number_seq')::text, 6, '0')` } } : {}),
      ...(subscriptionId ? { subscription_id: subscriptionId } : {}),
      ...(periodStart ? { period_start: new Date(periodStart) } : {}),
      ...(periodEnd ? { period_end: new Date(periodEnd) } : {}),
    });
    if (grant > 0 && order.userId) {
      await applyLedgerEntry(tx, {
        userId: order.userId,
        kind: 'purchase',
        amount: grant,
        reason: `${order.planName}: ${grant.toLocaleString('en-US')} credits bought`,
        reference: `order:${order.id}`,
        idempotencyKey: `order:${order.id}:grant:${order.creditsGranted + grant}`,
      });
    }
    if (firstPayment) await queue.enqueue(billingSendConfirmation, { orderId: order.id }, { tx, singletonKey: `confirmation:${order.id}` });
    await applyWaiting(tx, order.provider, [e.paymentRef, e.type === 'checkout.paid' ? e.subscriptionRef : undefined]);
    return updated;
  }

  async function renew(tx: DbHandle, provider: PaymentProviderId, e: Extract<PaymentEvent, { type: 'subscription.renewed' }>): Promise<string | null> {
    const sub = await getSubscriptionByRef(tx, provider, e.subscriptionRef);
    if (!sub) throw new Deferred(e.subscriptionRef);
    const periodEnd = new Date(e.periodEnd);
    // a period already granted (the first one comes with the checkout; a provider may announce a
    // period twice, under another invoice). Renewals can arrive out of order (concurrent deliveries,
    // retries), so this asks which periods have an order, not whether this one is the latest.
    const [covered] = await tx.sql.query(
      `select 1 from orders where subscription_id = $1 and period_end is not null
          and period_end between $2::timestamptz - interval '1 minute' and $2::timestamptz + interval '1 minute' limit 1`,
      [sub.id, periodEnd.toISOString()],
    );
    if (covered) return null;
    const latest = !sub.currentPeriodEnd || periodEnd.getTime() > sub.currentPeriodEnd.getTime() + 60_000;
    const plan = await getPlan(tx, sub.planId);
    if (!plan) throw new Error(`subscription ${sub.id} has an unknown plan ${sub.planId}`);
    const [row] = await tx.sql.query(
      `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider, payment_ref, invoice_ref, subscription_id,
                           status, paid_minor, period_start, period_end, paid_at, receipt_number)
       values ($1, $2, $3, $4, 'renewal', $5, $6, $7, $8, $9, $10, $11, 'paid', $6, $12, $13, now(),
               'SS-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('receipt_number_seq')::text, 6, '0'))
       on conflict (provider, invoice_ref) do nothing returning *`,
      [randomUUID(), sub.userId, plan.id, plan.name, plan.credits, e.amountMinor, e.currency, provider, e.paymentRef, e.invoiceRef, sub.id, new Date(e.periodStart).toISOString(), periodEnd.toISOString()],
    );
    if (!row) return null; // this invoice was recorded already
    const order = mapOrder(row);
    if (latest) {
      // unused credits of the period that ended expire, unless the plan rolls them over
      await expirePeriodCredits(tx, sub, 'the subscription period ended');
      await tx.sql.query(`update subscriptions set current_period_start = $2, current_period_end = $3, status = 'active', updated_at = now() where id = $1`, [
        sub.id,
        new Date(e.periodStart).toISOString(),
        periodEnd.toISOString(),
      ]);
    }
    // else: an earlier period paid late (its invoice arrived after a later one); it is granted,
    // and the subscription keeps its current period
    if (order.userId) {
      await applyLedgerEntry(tx, {
        userId: order.userId,
        kind: 'purchase',
        amount: order.credits,
        reason: `${order.planName}: ${order.credits.toLocaleString('en-US')} credits for the new period`,
        reference: `order:${order.id}`,
        idempotencyKey: `order:${order.id}:grant:${order.credits}`,
      });
      await updateOrder(tx, order.id, { credits_granted: order.credits });
    }
    await queue.enqueue(billingSendConfirmation, { orderId: order.id }, { tx, singletonKey: `confirmation:${order.id}` });
    await applyWaiting(tx, provider, [e.paymentRef]);
    return order.id;
  }

  /**
   * At the end of a period of a plan without rollover, the credits it granted that were not spent
   * expire: what it granted, less what was spent on videos since it started (spending counts
   * against subscription credits first), never more than the balance.
   */
  async function expirePeriodCredits(tx: DbHandle, sub: SubscriptionRow, why: string): Promise<void> {
    if (!sub.userId) return;
    const plan = await getPlan(tx, sub.planId);
    if (!plan || plan.rollover || !sub.currentPeriodStart) return;
    const [granted] = await tx.sql.query<{ credits: string | number }>(
      `select coalesce(sum(credits_granted - credits_clawed_back), 0) as credits from orders
        where subscription_id = $1 and status = 'paid' and coalesce(period_start, paid_at) >= $2::timestamptz - interval '1 minute'`,
      [sub.id, sub.currentPeriodStart.toISOString()],
    );
    const [spent] = await tx.sql.query<{ credits: string | number }>(
      `select coalesce(-sum(held_delta), 0) as credits from credit_ledger
        where user_id = $1 and kind = 'capture' and created_at >= $2::timestamptz and ($3::timestamptz is null or created_at < $3::timestamptz)`,
      [sub.userId, sub.currentPeriodStart.toISOString(), sub.currentPeriodEnd?.toISOString() ?? null],
    );
    const [balance] = await tx.sql.query<{ balance: string | number }>('select balance from credit_balances where user_id = $1 for update', [sub.userId]);
    const expiring = Math.min(Number(balance?.balance ?? 0), Math.max(0, Number(granted?.credits ?? 0) - Number(spent?.credits ?? 0)));
    if (expiring <= 0) return;
    await applyLedgerEntry(tx, {
      userId: sub.userId,
      kind: 'expire',
      amount: -expiring,
      reason: `${plan.name}: ${expiring.toLocaleString('en-US')} unused credits expired (${why})`,
      reference: `subscription:${sub.id}`,
      idempotencyKey: `subscription:${sub.id}:expire:${sub.currentPeriodStart.toISOString()}`,
    });
  }

  /**
   * A refund (cumulative amount) or a dispute: the credits bought are taken back in proportion,
   * never below zero; what could not be taken (already spent) is recorded and the account flagged.
   */
  async function takeBack(tx: DbHandle, order: OrderRow, what: { refundedMinor: number } | { disputed: true }): Promise<OrderRow> {
    const base = order.paidMinor || order.amountMinor;
    const refunded = 'disputed' in what ? order.refundedMinor : Math.min(base, Math.max(order.refundedMinor, what.refundedMinor));
    const status = 'disputed' in what ? 'disputed' : refundStatus(order, refunded);
    if (status === order.status && refunded === order.refundedMinor) return order;
    const target = 'disputed' in what || refunded >= base ? order.creditsGranted : Math.floor((order.creditsGranted * refunded) / Math.max(1, base));
    const due = Math.max(0, target - order.creditsClawedBack - order.clawbackShortfall);
    let taken = 0;
    if (due > 0 && order.userId) {
      const [b] = await tx.sql.query<{ balance: string | number }>('select balance from credit_balances where user_id = $1 for update', [order.userId]);
      taken = Math.min(due, Number(b?.balance ?? 0));
      if (taken > 0) {
        await applyLedgerEntry(tx, {
          userId: order.userId,
          kind: 'clawback',
          amount: -taken,
          reason: 'disputed' in what ? `${order.planName}: credits taken back (payment disputed)` : `${order.planName}: credits taken back (payment refunded)`,
          reference: `order:${order.id}`,
          idempotencyKey: `order:${order.id}:clawback:${order.creditsClawedBack + taken}`,
        });
      }
      if (due > taken) {
        await tx.sql.query(`update users set billing_flag = $2, updated_at = now() where id = $1`, [
          order.userId,
          'disputed' in what ? 'dispute_shortfall' : 'refund_shortfall',
        ]);
        logger.warn({ order: order.id, user: order.userId, shortfall: due - taken }, 'billing: refunded credits were already spent; account flagged');
      }
    }
    return updateOrder(tx, order.id, {
      status,
      refunded_minor: refunded,
      credits_clawed_back: order.creditsClawedBack + taken,
      clawback_shortfall: order.clawbackShortfall + (due - taken),
    });
  }

  async function handleWebhook(provider: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>) {
    if (!payments.has(provider)) return { status: 404 as const, message: `payments through ${provider} are not configured` };
    const p = payments.get(provider);
    const verdict = p.verifyWebhook(rawBody, headers);
    if (!verdict.ok) return { status: 400 as const, message: verdict.reason };
    for (const raw of verdict.events) {
      const event = p.enrich ? await p.enrich(raw) : raw;
      const outcome = await applyEvent(provider, event);
      logger.info({ provider, event: event.eventId, type: event.type, outcome }, 'billing: webhook event');
    }
    return { status: 200 as const, message: 'ok' };
  }

  // ---------------------------------------------------------------------------------------------
  // reading

  function toOrderView(o: OrderRow): OrderView {
    const paid = o.paidAt !== null && o.receiptNumber !== null;
    return {
      id: o.id,
      planId: o.planId,
      planName: o.planName,
      kind: o.kind,
      credits: o.credits,
      amountMinor: o.amountMinor,
      currency: o.currency,
      provider: o.provider as OrderView['provider'],
      status: o.status,
      refundedMinor: o.refundedMinor,
      checkoutEmail: o.checkoutEmail,
      receiptUrl: paid ? `/api/billing/orders/${o.id}/receipt` : null,
      receiptNumber: o.receiptNumber,
      createdAt: o.createdAt.toISOString(),
      paidAt: o.paidAt?.toISOString() ?? null,
    };
  }

  function toSubscriptionView(s: SubscriptionRow, plan: PlanRow | null): SubscriptionView {
    return {
      id: s.id,
      planId: s.planId,
      planName: plan?.name ?? s.planId,
      provider: s.provider as SubscriptionView['provider'],
      status: s.status,
      currentPeriodEnd: s.currentPeriodEnd?.toISOString() ?? null,
      cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    };
  }

  async function ownOrder(userId: string, id: string): Promise<OrderRow> {
    const order = UUID.test(id) ? await getOrder(database, id) : null;
    if (!order || order.userId !== userId) throw notFound('That order');
    return order;
  }

  return {
    plans,
    checkout,
    async overview(userId, query) {
      const page = await keysetPage(database, { table: 'orders', where: ['user_id = $1'], params: [userId], limit: query.limit, cursor: query.cursor, map: mapOrder });
      if (!page) throw new AppError('invalid_request', 'cursor is not valid.', 400);
      const sub = await currentSubscription(database, userId);
      return {
        orders: page.items.map(toOrderView),
        nextCursor: page.nextCursor,
        subscription: sub ? toSubscriptionView(sub, await getPlan(database, sub.planId)) : null,
      };
    },
    order: async (userId, id) => toOrderView(await ownOrder(userId, id)),
    async paidOrder(userId, id) {
      const order = await ownOrder(userId, id);
      if (!order.paidAt || !order.receiptNumber) throw notFound('A receipt for that order');
      return order;
    },
    async cancelSubscription(userId) {
      const sub = await currentSubscription(database, userId);
      if (!sub) throw notFound('An active subscription');
      if (!sub.cancelAtPeriodEnd) {
        const p = payments.has(sub.provider) ? payments.get(sub.provider) : null;
        if (!p?.cancelSubscription) throw new AppError('payment_provider_error', `Subscriptions through ${label(sub.provider)} cannot be canceled here; contact support.`, 502);
        try {
          await p.cancelSubscription(sub.providerRef, { atPeriodEnd: true, idempotencyKey: `cancel:${sub.id}` });
        } catch (err) {
          if (err instanceof PaymentProviderError) throw new AppError('payment_provider_error', `${label(sub.provider)} could not cancel the subscription: ${err.message}`, 502);
          throw err;
        }
        await database.sql.query('update subscriptions set cancel_at_period_end = true, updated_at = now() where id = $1', [sub.id]);
      }
      const now = await getSubscriptionByRef(database, sub.provider, sub.providerRef);
      return toSubscriptionView(now!, await getPlan(database, sub.planId));
    },
    handleWebhook,
    applyEvent,
    async refund(orderId, amountMinor) {
      const order = UUID.test(orderId) ? await getOrder(database, orderId) : null;
      if (!order) throw notFound('That order');
      if (!order.paymentRef || !order.paidAt) throw new AppError('invalid_request', 'Only paid orders can be refunded.', 400);
      if (order.userId) {
        const [u] = await database.sql.query<{ status: string }>('select status from users where id = $1', [order.userId]);
        if (u?.status === 'terminated') throw new AppError('account_terminated', 'This account was terminated for breaking the terms; its orders are not refunded (privacy policy 9).', 409);
      }
      const base = order.paidMinor || order.amountMinor;
      const remaining = base - order.refundedMinor;
      const amount = amountMinor ?? remaining;
      if (!Number.isInteger(amount) || amount <= 0 || amount > remaining) {
        throw new AppError('invalid_request', `The refund must be between 1 and ${remaining} (${order.currency.toUpperCase()} minor units).`, 400);
      }
      const provider = payments.get(order.provider as PaymentProviderId);
      const total = order.refundedMinor + amount;
      const result = await provider.refund({ paymentRef: order.paymentRef, amountMinor: amount, currency: order.currency, reason: 'requested_by_customer', idempotencyKey: `refund:${order.id}:${total}` });
      if (result.status === 'failed') throw new AppError('payment_provider_error', `${label(order.provider)} refused the refund.`, 502);
      // the books follow at once; the provider's own refund event is then a no-op (cumulative amount)
      await applyEvent(order.provider as PaymentProviderId, { type: 'payment.refunded', eventId: `admin-refund:${result.refundRef}`, paymentRef: order.paymentRef, refundedMinor: total, currency: order.currency });
      return (await getOrder(database, order.id))!;
    },
    async reconcile(opts = {}) {
      const since = new Date(Date.now() - (opts.sinceHours ?? 72) * 3600_000);
      let fetched = 0;
      let applied = 0;
      for (const id of payments.ids) {
        const p = payments.get(id);
        if (!p.listEventsSince) continue;
        const events = await p.listEventsSince(since);
        fetched += events.length;
        for (const e of events) if ((await applyEvent(id, p.enrich ? await p.enrich(e) : e)) === 'applied') applied++;
      }
      if (applied) logger.warn({ fetched, applied }, 'billing: reconciliation applied events the webhooks had missed');
      return { fetched, applied };
    },
    async retryDeferred() {
      const rows = await database.sql.query<{ provider: string; event: PaymentEvent | string }>(
        `select provider, event from payment_events where state = 'deferred' and received_at < now() - interval '30 seconds' order by received_at limit 200`,
      );
      let n = 0;
      for (const r of rows) {
        const event = typeof r.event === 'string' ? (JSON.parse(r.event) as PaymentEvent) : r.event;
        const outcome = await database.transaction(async (tx) => {
          const [locked] = await tx.sql.query(`select 1 from payment_events where provider = $1 and event_id = $2 and state = 'deferred' for update skip locked`, [r.provider, event.eventId]);
          return locked ? run(tx, r.provider as PaymentProviderId, event) : 'duplicate';
        });
        if (outcome === 'applied') n++;
      }
      return n;
    },
    async expireAbandoned(hours = 48) {
      const rows = await database.sql.query(`update orders set status = 'expired', updated_at = now() where status = 'pending' and created_at < now() - make_interval(hours => $1) returning id`, [hours]);
      return rows.length;
    },
    toOrderView,
  };
}
