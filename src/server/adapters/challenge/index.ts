import type { Config } from '../../config';
import { StartupError } from '../../errors';
import { createAltchaChallenge, altchaKeyFromSessionSecret } from './altcha';
import type { BotChallenge, ChallengeUseStore } from './challenge';
import { createOffChallenge } from './off';
import { createTurnstileChallenge } from './turnstile';

export type { BotChallenge, ChallengeFailure, ChallengeKind, ChallengeUseStore, ChallengeVerdict, PublicChallenge } from './challenge';
export { createAltchaChallenge, altchaKeyFromSessionSecret } from './altcha';
export { createTurnstileChallenge, TURNSTILE_DEFAULT_VERIFY_URL } from './turnstile';
export { createOffChallenge } from './off';

type ChallengeConfig = Pick<
  Config,
  'BOT_CHALLENGE' | 'SESSION_SECRET' | 'PUBLIC_URL' | 'ALTCHA_HMAC_KEY' | 'ALTCHA_COST' | 'TURNSTILE_SITE_KEY' | 'TURNSTILE_SECRET_KEY' | 'TURNSTILE_VERIFY_URL'
>;

/** The configured adapter (BOT_CHALLENGE). */
export function createBotChallenge(config: ChallengeConfig, deps: { uses: ChallengeUseStore; fetch?: typeof fetch }): BotChallenge {
  switch (config.BOT_CHALLENGE) {
    case 'off':
      return createOffChallenge();
    case 'turnstile':
      // config.ts refuses this from the environment; a value saved in the console arrives after that check
      if (!config.TURNSTILE_SITE_KEY || !config.TURNSTILE_SECRET_KEY) {
        throw new StartupError(
          'Invalid setting BOT_CHALLENGE: turnstile needs both TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY (set them, or BOT_CHALLENGE=altcha in the environment, which wins over the console).',
        );
      }
      return createTurnstileChallenge({
        siteKey: config.TURNSTILE_SITE_KEY,
        secretKey: config.TURNSTILE_SECRET_KEY,
        verifyUrl: config.TURNSTILE_VERIFY_URL,
        expectedHostname: new URL(config.PUBLIC_URL).hostname,
        uses: deps.uses,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
    default:
      return createAltchaChallenge({
        hmacKey: config.ALTCHA_HMAC_KEY ?? altchaKeyFromSessionSecret(config.SESSION_SECRET),
        cost: () => config.ALTCHA_COST,
        uses: deps.uses,
      });
  }
}
