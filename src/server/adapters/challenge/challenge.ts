import type { AltchaChallenge, BotChallengePurpose } from '../../../shared/api/bot-challenge';

/**
 * The bot-challenge port (issue 19): issue a challenge for a page, verify the solution that comes
 * back with a sign-up, sign-in or password-reset request. Adapters: ALTCHA (self-hosted proof of
 * work, the default), Cloudflare Turnstile, and off. One contract suite runs against each
 * (tests/contract/bot-challenge.test.ts).
 */
export type ChallengeKind = 'altcha' | 'turnstile' | 'off';

export type PublicChallenge = { kind: 'altcha'; challenge: AltchaChallenge } | { kind: 'turnstile'; siteKey: string } | { kind: 'off' };

/**
 * Why a solution was refused: `malformed` (not a solution at all), `expired`, `invalid` (a wrong
 * solution, a forged or altered challenge, or one issued for another purpose), `replayed` (already
 * redeemed once), `unavailable` (the verifier could not be asked; Turnstile only).
 */
export type ChallengeFailure = 'malformed' | 'expired' | 'invalid' | 'replayed' | 'unavailable';

export type ChallengeVerdict = { ok: true } | { ok: false; reason: ChallengeFailure };

export interface IssueOptions {
  purpose: BotChallengePurpose;
  /** how much harder than the base cost: 1 normally, doubling with the address's recent failures */
  difficulty: number;
  now: Date;
}

export interface VerifyOptions {
  purpose: BotChallengePurpose;
  /** the client's IP as the server resolved it */
  ip: string;
  now: Date;
}

export interface BotChallenge {
  readonly kind: ChallengeKind;
  issue(opts: IssueOptions): Promise<PublicChallenge>;
  /** `payload` is the X-Bot-Challenge header as received (already checked for length and characters). */
  verify(payload: string, opts: VerifyOptions): Promise<ChallengeVerdict>;
}

/** Where redeemed challenges are remembered until they expire (bot_challenge_uses; challenge.repo.ts). */
export interface ChallengeUseStore {
  /** true the first time `id` is claimed, false on every later claim before it expires */
  claim(id: string, expiresAt: Date): Promise<boolean>;
}
