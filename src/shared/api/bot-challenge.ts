import { z } from 'zod';

/**
 * The bot challenge (issue 19): a self-hosted proof of work (ALTCHA) by default, Cloudflare Turnstile
 * when the operator chose it, or none. The page asks `GET /api/bot-challenge?for=…` whether one is
 * needed now, solves it, and sends the solution in the `X-Bot-Challenge` header of the sign-up,
 * sign-in or password-reset request.
 */
export const botChallengePurposes = ['signup', 'signin', 'reset'] as const;
export type BotChallengePurpose = (typeof botChallengePurposes)[number];

/** The request header that carries the solution (an ALTCHA payload in base64, or a Turnstile token). */
export const BOT_CHALLENGE_HEADER = 'x-bot-challenge';
/** Longer than any solution we issue (an ALTCHA payload is ~600 characters, a Turnstile token at most 2048). */
export const BOT_CHALLENGE_MAX = 4096;

export const botChallengeQuery = z.object({
  for: z.enum(botChallengePurposes, { error: 'must be signup, signin or reset' }),
});

/** The header's value: printable ASCII without spaces, of a bounded length. */
export const botChallengeSolution = z
  .string()
  .min(1, { error: 'is empty' })
  .max(BOT_CHALLENGE_MAX, { error: `is longer than ${BOT_CHALLENGE_MAX} characters` })
  .regex(/^[\x21-\x7e]+$/, { error: 'holds characters a solution never has' });

/** ALTCHA's v2 challenge as the server signs it (altcha-lib `Challenge`); the page hands it to the solver. */
export const altchaChallenge = z.object({
  parameters: z.object({
    algorithm: z.string(),
    nonce: z.string(),
    salt: z.string(),
    cost: z.number(),
    keyLength: z.number(),
    keyPrefix: z.string(),
    keySignature: z.string().optional(),
    expiresAt: z.number().optional(),
    data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  }),
  signature: z.string().optional(),
});
export type AltchaChallenge = z.infer<typeof altchaChallenge>;

/** GET /api/bot-challenge: whether the next request for this purpose needs a solution, and what to solve. */
export const botChallengeResponse = z.discriminatedUnion('kind', [
  z.object({ required: z.literal(false), kind: z.literal('none') }),
  z.object({ required: z.literal(true), kind: z.literal('altcha'), challenge: altchaChallenge }),
  z.object({ required: z.literal(true), kind: z.literal('turnstile'), siteKey: z.string() }),
]);
export type BotChallengeResponse = z.infer<typeof botChallengeResponse>;
