import type { Logger } from 'pino';
import type { ReloadableMailer } from '../../adapters/mail/reloadable';
import type { ReloadablePaymentRegistry } from '../../adapters/payments/reloadable';
import type { ProviderId } from '../../adapters/providers/provider';
import type { ReloadableProviderRegistry } from '../../adapters/providers/reloadable';
import { declaredSettings, type Reloads } from './settings.declared';
import type { SettingsService } from './settings.service';

/**
 * The adapters a live settings change rebuilds: the KIE or fal provider, the payment registry, the
 * mailer. Every service keeps its reference to the reloadable wrapper, which sends the next call to
 * the new instance and closes the old one after the calls it had started. A change whose adapter
 * cannot be built (it should not happen: the values were validated) keeps the old adapter and is
 * logged. Resolves to the function that stops applying changes.
 */
export function applySettingsToAdapters(
  settings: Pick<SettingsService, 'onChange'>,
  adapters: { providers?: ReloadableProviderRegistry; payments?: ReloadablePaymentRegistry; mailer?: ReloadableMailer },
  logger: Pick<Logger, 'info' | 'error'>,
): () => void {
  return settings.onChange((changed) => {
    const touched = new Set<Reloads>(declaredSettings.flatMap((s) => (s.reloads && changed.has(s.key) ? [s.reloads] : [])));
    const rebuild = (what: string, fn: () => void) => {
      try {
        fn();
        logger.info({ adapter: what }, 'settings: rebuilt with the new settings');
      } catch (err) {
        logger.error({ err, adapter: what }, 'settings: could not rebuild with the new settings; the previous one stays in use');
      }
    };
    const { providers: registry, payments, mailer } = adapters;
    const providers: ProviderId[] = (['kie', 'fal'] as const).filter((id) => touched.has(id));
    if (providers.length && registry) rebuild(`providers:${providers.join(',')}`, () => registry.reload(providers));
    if (touched.has('payments') && payments) rebuild('payments', () => payments.reload());
    if (touched.has('mail') && mailer) rebuild('mailer', () => mailer.reload());
  });
}
