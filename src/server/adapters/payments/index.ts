import type { Config } from '../../config';
import { createCreemProvider } from './creem';
import { createNowPaymentsProvider } from './nowpayments';
import { paymentProviderIds, type PaymentProvider, type PaymentProviderId } from './payment';
import { createStripeProvider } from './stripe';

export * from './payment';

/** The payment providers this server is configured for (a provider without its keys is absent). */
export interface PaymentRegistry {
  /** configured providers, in display order */
  readonly ids: readonly PaymentProviderId[];
  has(id: string): id is PaymentProviderId;
  get(id: PaymentProviderId): PaymentProvider;
  close(): Promise<void>;
}

export function registryOfPayments(providers: readonly PaymentProvider[]): PaymentRegistry {
  const byId = new Map(providers.map((p) => [p.id, p]));
  const ids = paymentProviderIds.filter((id) => byId.has(id));
  return {
    ids,
    has: (id: string): id is PaymentProviderId => byId.has(id as PaymentProviderId),
    get(id) {
      const p = byId.get(id);
      if (!p) throw new Error(`payment provider ${id} is not configured`);
      return p;
    },
    async close() {
      await Promise.allSettled(providers.map((p) => p.close()));
    },
  };
}

export function createPaymentRegistry(config: Config): PaymentRegistry {
  const providers: PaymentProvider[] = [];
  const timeoutMs = config.PROVIDER_TIMEOUT_MS;
  if (config.STRIPE_SECRET_KEY && config.STRIPE_WEBHOOK_SECRET) {
    providers.push(
      createStripeProvider({
        secretKey: config.STRIPE_SECRET_KEY,
        webhookSecret: config.STRIPE_WEBHOOK_SECRET,
        ...(config.STRIPE_API_BASE ? { apiBase: config.STRIPE_API_BASE } : {}),
        timeoutMs,
      }),
    );
  }
  if (config.CREEM_API_KEY && config.CREEM_WEBHOOK_SECRET) {
    providers.push(
      createCreemProvider({
        apiKey: config.CREEM_API_KEY,
        webhookSecret: config.CREEM_WEBHOOK_SECRET,
        apiBase: config.CREEM_API_BASE,
        timeoutMs,
        checkoutsEnabled: config.CREEM_CHECKOUTS_ENABLED,
      }),
    );
  }
  if (config.NOWPAYMENTS_API_KEY && config.NOWPAYMENTS_IPN_SECRET) {
    providers.push(
      createNowPaymentsProvider({
        apiKey: config.NOWPAYMENTS_API_KEY,
        ipnSecret: config.NOWPAYMENTS_IPN_SECRET,
        apiBase: config.NOWPAYMENTS_API_BASE,
        timeoutMs,
      }),
    );
  }
  return registryOfPayments(providers);
}
