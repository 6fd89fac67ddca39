import type { BotChallenge } from './challenge';

/** BOT_CHALLENGE=off: nothing is asked and everything passes (private installs, tests). */
export function createOffChallenge(): BotChallenge {
  return {
    kind: 'off',
    issue: async () => ({ kind: 'off' }),
    verify: async () => ({ ok: true }),
  };
}
