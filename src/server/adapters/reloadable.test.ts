import { describe, expect, it } from 'vitest';
import { createReloadableMailer } from './mail/reloadable';
import type { Mailer } from './mail/mailer';
import { registryOfPayments, type PaymentProvider, type PaymentProviderId } from './payments';
import { createReloadablePaymentRegistry } from './payments/reloadable';
import type { ProviderId, VideoProvider } from './providers/provider';
import { createReloadableProviderRegistry } from './providers/reloadable';

/** A promise the test settles when it wants. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every promise callback queued so far run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('reloadable adapters (settings changed in the console)', () => {
  it('mailer: new mail goes through the new instance; the old one closes after the mail it was sending', async () => {
    const log: string[] = [];
    const pending = deferred<{ id: string }>();
    let n = 0;
    const make = (kind: Mailer['kind']): Mailer => {
      const name = `${kind}${++n}`;
      return {
        kind,
        send: (m) => {
          log.push(`${name} sends to ${m.to}`);
          return name === 'outbox1' ? pending.promise : Promise.resolve({ id: `<${name}>` });
        },
        close: async () => void log.push(`${name} closed`),
      };
    };
    let kind: Mailer['kind'] = 'outbox';
    const mailer = createReloadableMailer(() => make(kind));
    const mail = { subject: 's', text: 't', html: 'h' };
    const slow = mailer.send({ to: 'a@example.com', ...mail });

    kind = 'smtp';
    mailer.reload();
    expect(mailer.kind).toBe('smtp');
    await expect(mailer.send({ to: 'b@example.com', ...mail })).resolves.toEqual({ id: '<smtp2>' });
    await settle();
    expect(log).toEqual(['outbox1 sends to a@example.com', 'smtp2 sends to b@example.com']); // not closed yet

    pending.resolve({ id: '<outbox1>' });
    await expect(slow).resolves.toEqual({ id: '<outbox1>' });
    await settle();
    expect(log.at(-1)).toBe('outbox1 closed');
    await mailer.close();
    expect(log.at(-1)).toBe('smtp2 closed');
  });

  it('providers: services keep the same provider object; it follows the rebuilt adapter, and the old one closes after its calls', async () => {
    const log: string[] = [];
    const keys: Record<ProviderId, string | undefined> = { local: 'x', kie: undefined, fal: undefined };
    const polls = new Map<string, ReturnType<typeof deferred<never>>>();
    let built = 0;
    const ended = new Map<string, (id: string) => void>();
    const build = (id: ProviderId): VideoProvider => {
      const name = `${id}#${++built}`;
      const key = keys[id];
      if (key === 'unbuildable') throw new Error('bad settings');
      return {
        id,
        available: Boolean(key),
        ...(key ? {} : { unavailableReason: `${id} key is not set` }),
        supportsCallbacks: false,
        supportsCancel: false,
        idempotentSubmit: false,
        submit: async () => ({ upstreamId: `${name}:task` }),
        poll: (upstreamId) => {
          log.push(`${name} polls ${upstreamId}`);
          const d = deferred<never>();
          polls.set(name, d);
          return d.promise;
        },
        cancel: async () => undefined,
        verifyCallback: async () => ({ ok: false, reason: 'no' }),
        callbackKey: (u) => u,
        upstreamIdFor: (k) => k,
        onTaskEnded: (listener) => {
          ended.set(name, listener);
          return () => ended.delete(name);
        },
        close: async () => void log.push(`${name} closed`),
      };
    };
    const registry = createReloadableProviderRegistry(build);
    const kie = registry.get('kie');
    expect(registry.status('kie')).toEqual({ available: false, reason: 'kie key is not set' });
    const heard: string[] = [];
    kie.onTaskEnded?.((id) => heard.push(id));
    const inFlight = kie.poll('t1').catch(() => 'failed');

    keys.kie = 'key';
    registry.reload(['kie']);
    expect(registry.get('kie')).toBe(kie);
    expect(kie.available).toBe(true);
    expect(registry.status('kie')).toEqual({ available: true });
    await expect(kie.submit({} as never, 'k')).resolves.toEqual({ upstreamId: 'kie#4:task' });
    // a listener subscribed before the rebuild hears the new adapter
    ended.get('kie#4')?.('t9');
    expect(heard).toEqual(['t9']);

    await settle();
    expect(log).not.toContain('kie#2 closed');
    polls.get('kie#2')?.resolve(undefined as never);
    await inFlight;
    await settle();
    expect(log).toContain('kie#2 closed');

    // settings that cannot be built: the old adapter stays
    keys.kie = 'unbuildable';
    expect(() => registry.reload(['kie'])).toThrow('bad settings');
    expect(kie.available).toBe(true);
    await registry.close();
    expect(log).toEqual(expect.arrayContaining(['local#1 closed', 'kie#4 closed', 'fal#3 closed']));
  });

  it('payments: ids follow the settings; optional capabilities exist only where the provider has them; the old registry closes after its calls', async () => {
    const log: string[] = [];
    const refunding = deferred<{ refundRef: string; status: 'succeeded' }>();
    let configured: PaymentProviderId[] = ['creem'];
    let n = 0;
    const provider = (id: PaymentProviderId, name: string): PaymentProvider => ({
      id,
      supportsSubscriptions: true,
      createCheckout: async () => ({ checkoutRef: `${name}:c`, url: 'https://pay.example' }),
      verifyWebhook: () => ({ ok: false, reason: 'no' }),
      refund: () => (name === 'creem@1' ? refunding.promise : Promise.resolve({ refundRef: `${name}:r`, status: 'succeeded' as const })),
      ...(id === 'stripe' ? { listEventsSince: async () => [] } : {}),
      close: async () => void log.push(`${name} closed`),
    });
    const build = () => {
      const gen = ++n;
      return registryOfPayments(configured.map((id) => provider(id, `${id}@${gen}`)));
    };
    const payments = createReloadablePaymentRegistry(build);
    expect(payments.ids).toEqual(['creem']);
    const creem = payments.get('creem');
    expect('listEventsSince' in creem).toBe(false);
    const refund = creem.refund({ paymentRef: 'p', amountMinor: 1, currency: 'usd', idempotencyKey: 'k' });

    configured = ['stripe', 'creem'];
    payments.reload();
    expect(payments.ids).toEqual(['stripe', 'creem']);
    expect(payments.has('stripe')).toBe(true);
    expect(typeof payments.get('stripe').listEventsSince).toBe('function');
    await expect(payments.get('creem').createCheckout({} as never)).resolves.toMatchObject({ checkoutRef: 'creem@2:c' });
    await settle();
    expect(log).toEqual([]);
    refunding.resolve({ refundRef: 'creem@1:r', status: 'succeeded' });
    await expect(refund).resolves.toMatchObject({ refundRef: 'creem@1:r' });
    await settle();
    expect(log).toEqual(['creem@1 closed']);
    await payments.close();
    expect(log.slice(1).sort()).toEqual(['creem@2 closed', 'stripe@2 closed']);
  });
});
