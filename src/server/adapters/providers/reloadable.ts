import { Lease, Retiring } from '../reloadable';
import type { ProviderRegistry } from './index';
import { providerIds, type ProviderId, type VideoProvider } from './provider';

/**
 * A provider registry whose adapters can be rebuilt while the process runs (a key or host changed
 * in the console). Services keep the registry and the providers `get` returns: each of those is a
 * stable facade that sends every call to the provider's current adapter, so a call after `reload`
 * uses the new settings; the old adapter closes once the calls it had started are done.
 */
export interface ReloadableProviderRegistry extends ProviderRegistry {
  /** Builds these providers again from the current settings. Throws (and keeps the old adapter) when one cannot be built. */
  reload(ids: readonly ProviderId[]): void;
}

export function createReloadableProviderRegistry(
  build: (id: ProviderId) => VideoProvider,
  opts: { onCloseError?: (err: unknown) => void } = {},
): ReloadableProviderRegistry {
  const leases = new Map<ProviderId, Lease<VideoProvider>>();
  // listeners of onTaskEnded per provider: they stay subscribed across rebuilds
  const listeners = new Map<ProviderId, Set<(upstreamId: string) => void>>(providerIds.map((id) => [id, new Set()]));
  const retiring = new Retiring();
  const onCloseError = opts.onCloseError ?? (() => undefined);

  const lease = (id: ProviderId, provider: VideoProvider) => {
    provider.onTaskEnded?.((upstreamId) => {
      for (const l of listeners.get(id) ?? []) l(upstreamId);
    });
    return new Lease(provider, (p) => p.close());
  };
  for (const id of providerIds) leases.set(id, lease(id, build(id)));

  const current = (id: ProviderId): Lease<VideoProvider> => {
    const l = leases.get(id);
    if (!l) throw new Error(`no provider registered as ${id}`);
    return l;
  };

  const facade = (id: ProviderId): VideoProvider => ({
    id,
    get available() {
      return current(id).value.available;
    },
    get unavailableReason() {
      return current(id).value.unavailableReason;
    },
    get supportsCallbacks() {
      return current(id).value.supportsCallbacks;
    },
    get supportsCancel() {
      return current(id).value.supportsCancel;
    },
    get idempotentSubmit() {
      return current(id).value.idempotentSubmit;
    },
    submit: (request, key) => current(id).run((p) => p.submit(request, key)),
    poll: (upstreamId) => current(id).run((p) => p.poll(upstreamId)),
    cancel: (upstreamId) => current(id).run((p) => p.cancel(upstreamId)),
    verifyCallback: (raw, headers) => current(id).run((p) => p.verifyCallback(raw, headers)),
    callbackKey: (upstreamId) => current(id).value.callbackKey(upstreamId),
    upstreamIdFor: (key, model) => current(id).value.upstreamIdFor(key, model),
    onTaskEnded(listener) {
      const set = listeners.get(id) ?? new Set();
      listeners.set(id, set);
      set.add(listener);
      return () => set.delete(listener);
    },
    // the registry owns the adapters
    close: async () => undefined,
  });
  const facades = new Map(providerIds.map((id) => [id, facade(id)]));

  return {
    get(id) {
      const f = facades.get(id);
      if (!f) throw new Error(`no provider registered as ${id}`);
      return f;
    },
    status(id) {
      const l = leases.get(id);
      if (!l) return { available: false, reason: `${id} is not registered` };
      return l.value.available ? { available: true } : { available: false, reason: l.value.unavailableReason };
    },
    list: () => providerIds.flatMap((id) => facades.get(id) ?? []),
    reload(ids) {
      // build all first: a failure leaves every provider as it was
      const built = ids.map((id) => [id, build(id)] as const);
      for (const [id, provider] of built) {
        const old = leases.get(id);
        leases.set(id, lease(id, provider));
        if (old) retiring.add(old, onCloseError);
      }
    },
    async close() {
      await retiring.settled();
      await Promise.all([...leases.values()].map((l) => l.retire(0)));
    },
  };
}
