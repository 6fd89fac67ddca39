import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import { PaymentProviderError, type PaymentProviderId, type PaymentRegistry } from '../../adapters/payments';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import { AppError } from '../../errors';
import { quotePrice } from '../../../shared/catalog/spec';
import type { CheckoutInput, CheckoutResponse, PlansResponse, PlanView } from '../../../shared/api/billing';
import type { CatalogService } from '../catalog/catalog.service';
import type { PaymentRisk } from '../abuse/payment-risk.service';
import type { BillingRepo, PlanRow } from './billing.repo';
import { pricingExamples } from './plans-data';
import { providerLabel } from './views';

/** What is on sale, and starting to buy it: a pending order and the provider's hosted payment page. */

export interface CheckoutDeps {
  database: Database;
  repo: Pick<BillingRepo, 'listPlans' | 'getPlan' | 'currentSubscription' | 'insertPendingOrder' | 'updateOrder' | 'failPendingOrder'>;
  payments: PaymentRegistry;
  catalog: CatalogService;
  config: Pick<Config, 'PUBLIC_URL' | 'BILLING_CURRENCIES' | 'CREEM_CHECKOUTS_ENABLED'>;
  logger: Logger;
  /** when a checkout starts (an order pending long after that expires) */
  clock: Pick<Clock, 'now'>;
  /** applies provider events that arrived before the checkout was recorded */
  applyWaiting: (tx: DbHandle, provider: string, keys: (string | null | undefined)[]) => Promise<void>;
  /** payment velocity rules (issue 19): may refuse the checkout; gives the address's stored form */
  risk?: Pick<PaymentRisk, 'screenCheckout'> | undefined;
}

export function createCheckout({ database, repo, payments, catalog, config, logger, clock, applyWaiting, risk }: CheckoutDeps) {
  const currencies = config.BILLING_CURRENCIES.split(',');
  /** the first currency listed is the default */
  const defaultCurrency = currencies[0] ?? 'usd';

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
    const [rows, models] = await Promise.all([repo.listPlans(database, { activeOnly: true }), catalog.list()]);
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

  /** The plan, provider and price a checkout asks for, or the 400/409 that says what is wrong. */
  async function validate(userId: string, input: CheckoutInput): Promise<{ plan: PlanRow; currency: string; amount: number }> {
    const plan = await repo.getPlan(database, input.plan);
    if (!plan || !plan.active)
      throw new AppError('invalid_request', `There is no plan ${input.plan}.`, 400, { fields: [{ field: 'plan', message: 'is not a plan on sale' }] });
    if (!payments.has(input.provider)) {
      throw new AppError('invalid_request', `Payments through ${providerLabel(input.provider)} are not available here.`, 400, {
        fields: [{ field: 'provider', message: 'is not available', allowed: [...payments.ids] }],
      });
    }
    if (!providersFor(plan).includes(input.provider)) {
      throw new AppError('invalid_request', `The ${plan.name} plan cannot be bought through ${input.provider}.`, 400, {
        fields: [{ field: 'provider', message: 'cannot sell this plan', allowed: providersFor(plan) }],
      });
    }
    const currency = input.currency ?? defaultCurrency;
    const amount = plan.prices[currency];
    if (!currencies.includes(currency) || amount === undefined) {
      throw new AppError('invalid_request', `The ${plan.name} plan has no price in ${currency.toUpperCase()}.`, 400, {
        fields: [{ field: 'currency', message: 'has no price', allowed: Object.keys(plan.prices).filter((c) => currencies.includes(c)) }],
      });
    }
    if (plan.kind === 'subscription') {
      const current = await repo.currentSubscription(database, userId);
      if (current && !current.cancelAtPeriodEnd)
        throw new AppError('already_subscribed', 'You already have a subscription. Cancel it before starting another.', 409);
    }
    return { plan, currency, amount };
  }

  async function checkout(user: { id: string; email: string }, input: CheckoutInput, meta: { ip?: string } = {}): Promise<CheckoutResponse> {
    const { plan, currency, amount } = await validate(user.id, input);
    // velocity rules: 429/403 when over a limit and the setting blocks (nothing is created)
    const screened = risk ? await risk.screenCheckout(user.id, meta.ip) : { checkoutIp: null };
    const orderId = randomUUID();
    await repo.insertPendingOrder(
      database,
      {
        id: orderId,
        userId: user.id,
        planId: plan.id,
        planName: plan.name,
        kind: plan.kind,
        credits: plan.credits,
        amountMinor: amount,
        currency,
        provider: input.provider,
        checkoutIp: screened.checkoutIp,
      },
      clock.now(),
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
      await repo.updateOrder(database, orderId, { checkoutRef: session.checkoutRef }, clock.now());
      // a webhook may have come before this answer: apply what waited for the checkout
      await database.transaction((tx) => applyWaiting(tx, input.provider, [session.checkoutRef, orderId]));
      return { orderId, url: session.url };
    } catch (err) {
      await repo.failPendingOrder(database, orderId, clock.now());
      if (err instanceof PaymentProviderError) {
        logger.warn({ err, provider: input.provider, orderId }, 'billing: checkout refused by the provider');
        throw new AppError('payment_provider_error', `${providerLabel(input.provider)} could not start the payment: ${err.message}`, err.retryable ? 503 : 502);
      }
      throw err;
    }
  }

  return { plans, checkout };
}
