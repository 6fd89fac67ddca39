import type { Config } from '../../config';
import { createFalProvider } from './fal';
import { createKieProvider } from './kie';
import { withLimits } from './limits';
import { createLocalProvider } from './local';
import { ProviderError, providerIds, type ProviderId, type VideoProvider } from './provider';

/**
 * The provider registry: one adapter per provider id, built from settings. A provider whose key is
 * missing is still registered but reports `available: false`, so its routes are skipped and the
 * models that depend on it show as unavailable rather than broken.
 */
export interface ProviderRegistry {
  get(id: ProviderId): VideoProvider;
  /** for the catalog: is this provider configured? */
  status(id: ProviderId): { available: boolean; reason?: string };
  list(): VideoProvider[];
  close(): Promise<void>;
}

export type ProviderSettings = Pick<
  Config,
  | 'dataDir'
  | 'FFMPEG_PATH'
  | 'LOCAL_PROVIDER'
  | 'LOCAL_RENDER_CONCURRENCY'
  | 'KIE_API_KEY'
  | 'KIE_BASE_URL'
  | 'KIE_UPLOAD_URL'
  | 'KIE_WEBHOOK_HMAC_KEY'
  | 'KIE_MAX_CONCURRENCY'
  | 'KIE_RATE_PER_MINUTE'
  | 'FAL_KEY'
  | 'FAL_QUEUE_URL'
  | 'FAL_JWKS_URL'
  | 'FAL_MAX_CONCURRENCY'
  | 'FAL_RATE_PER_MINUTE'
  | 'PROVIDER_TIMEOUT_MS'
>;

export function createProviderRegistry(config: ProviderSettings, logger?: ProviderLogger): ProviderRegistry {
  return registryOf(new Map(providerIds.map((id) => [id, createProvider(id, config, logger)])));
}

type ProviderLogger = { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };

/** One provider's adapter from the settings (the registry's, and a reloadable registry's after a settings change). */
export function createProvider(id: ProviderId, config: ProviderSettings, logger?: ProviderLogger): VideoProvider {
  switch (id) {
    case 'local':
      return config.LOCAL_PROVIDER
        ? createLocalProvider({ dataDir: config.dataDir, ffmpegPath: config.FFMPEG_PATH, concurrency: config.LOCAL_RENDER_CONCURRENCY, logger })
        : disabled('local', 'LOCAL_PROVIDER is false');
    case 'kie':
      return withLimits(
        createKieProvider({
          apiKey: config.KIE_API_KEY,
          baseUrl: config.KIE_BASE_URL,
          uploadUrl: config.KIE_UPLOAD_URL,
          webhookHmacKey: config.KIE_WEBHOOK_HMAC_KEY,
          timeoutMs: config.PROVIDER_TIMEOUT_MS,
        }),
        { maxConcurrent: config.KIE_MAX_CONCURRENCY, submitsPerMinute: config.KIE_RATE_PER_MINUTE },
      );
    case 'fal':
      return withLimits(
        createFalProvider({ apiKey: config.FAL_KEY, queueUrl: config.FAL_QUEUE_URL, jwksUrl: config.FAL_JWKS_URL, timeoutMs: config.PROVIDER_TIMEOUT_MS }),
        { maxConcurrent: config.FAL_MAX_CONCURRENCY, submitsPerMinute: config.FAL_RATE_PER_MINUTE },
      );
  }
}

/** A registry over given adapters (tests, or a custom wiring). */
export function registryOf(providers: Map<ProviderId, VideoProvider>): ProviderRegistry {
  return {
    get(id) {
      const p = providers.get(id);
      if (!p) throw new Error(`no provider registered as ${id}`);
      return p;
    },
    status(id) {
      const p = providers.get(id);
      if (!p) return { available: false, reason: `${id} is not registered` };
      return p.available ? { available: true } : { available: false, reason: p.unavailableReason };
    },
    list: () => providerIds.flatMap((id) => providers.get(id) ?? []),
    close: async () => {
      await Promise.all([...providers.values()].map((p) => p.close()));
    },
  };
}

function disabled(id: ProviderId, reason: string): VideoProvider {
  const fail = async (): Promise<never> => {
    throw new ProviderError(id, 'auth_config', reason);
  };
  return {
    id,
    available: false,
    unavailableReason: reason,
    supportsCallbacks: false,
    supportsCancel: false,
    idempotentSubmit: false,
    submit: fail,
    poll: fail,
    cancel: fail,
    verifyCallback: async () => ({ ok: false, reason }),
    callbackKey: (upstreamId) => upstreamId,
    upstreamIdFor: (key) => key,
    close: async () => undefined,
  };
}
