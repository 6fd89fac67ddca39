import { Lease, Retiring } from '../reloadable';
import type { PaymentRegistry } from './index';
import type { PaymentProvider, PaymentProviderId } from './payment';

/**
 * A payment registry rebuilt while the process runs (keys, webhook secrets or API bases changed in
 * the console). Services keep this object; `ids`, `has` and `get` answer from the current registry,
 * and a provider from `get` counts its calls on the registry it came from, which closes once they
 * are done after a reload.
 */
export interface ReloadablePaymentRegistry extends PaymentRegistry {
  /** Builds the registry again from the current settings. Throws (and keeps the old one) when it cannot be built. */
  reload(): void;
}

export function createReloadablePaymentRegistry(build: () => PaymentRegistry, opts: { onCloseError?: (err: unknown) => void } = {}): ReloadablePaymentRegistry {
  let lease = new Lease(build(), (r) => r.close());
  const retiring = new Retiring();
  const wrapped = new WeakMap<PaymentProvider, PaymentProvider>();

  const wrap = (p: PaymentProvider, on: Lease<PaymentRegistry>): PaymentProvider => {
    return {
      id: p.id,
      supportsSubscriptions: p.supportsSubscriptions,
      createCheckout: (req) => on.run(() => p.createCheckout(req)),
      verifyWebhook: (raw, headers) => p.verifyWebhook(raw, headers),
      refund: (req) => on.run(() => p.refund(req)),
      // the optional capabilities only where the provider has them (callers test for them)
      ...(p.enrich ? { enrich: (event) => on.run(async () => (p.enrich ? p.enrich(event) : event)) } : {}),
      ...(p.cancelSubscription ? { cancelSubscription: (ref, o) => on.run(async () => p.cancelSubscription?.(ref, o)) } : {}),
      ...(p.listEventsSince ? { listEventsSince: (since) => on.run(async () => (p.listEventsSince ? p.listEventsSince(since) : [])) } : {}),
      close: async () => undefined,
    };
  };

  return {
    get ids(): readonly PaymentProviderId[] {
      return lease.value.ids;
    },
    has: (id: string): id is PaymentProviderId => lease.value.has(id),
    get(id) {
      const on = lease;
      const p = on.value.get(id);
      let w = wrapped.get(p);
      if (!w) wrapped.set(p, (w = wrap(p, on)));
      return w;
    },
    reload() {
      const next = new Lease(build(), (r) => r.close());
      const old = lease;
      lease = next;
      retiring.add(old, opts.onCloseError ?? (() => undefined));
    },
    async close() {
      await retiring.settled();
      await lease.retire(0);
    },
  };
}
