import { createHmac, randomUUID } from 'node:crypto';
import { createChallenge, randomInt, verifySolution } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { z } from 'zod';
import type { BotChallenge, ChallengeUseStore } from './challenge';

/** The key-derivation function of every challenge we issue. */
export const ALTCHA_ALGORITHM = 'PBKDF2/SHA-256';
/** How long a challenge may be solved and redeemed. */
export const ALTCHA_EXPIRY_SECONDS = 600;
/**
 * The counter the solver must reach is drawn from [MAX/2, MAX]: the work is about
 * counter × cost PBKDF2 iterations (see ALTCHA_COST; measured in tests/e2e/bot-challenge.spec.ts).
 */
export const ALTCHA_MAX_COUNTER = 200;
/** The highest multiple of ALTCHA_COST a challenge asks for, however many failures an address has (0.35 s × 4 in Chromium on 2 cores). */
export const ALTCHA_MAX_DIFFICULTY = 4;

export interface AltchaOptions {
  /** the HMAC secret challenges are signed with (ALTCHA_HMAC_KEY, else derived from SESSION_SECRET) */
  hmacKey: string;
  /** PBKDF2 iterations per attempt at difficulty 1 (ALTCHA_COST, read for each challenge: a live setting) */
  cost: number | (() => number);
  uses: ChallengeUseStore;
  maxCounter?: number;
  expirySeconds?: number;
}

/** The HMAC secret when ALTCHA_HMAC_KEY is not set: derived from SESSION_SECRET, never equal to it. */
export function altchaKeyFromSessionSecret(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('savesora-altcha-v1').digest('hex');
}

const hex = (max: number) =>
  z
    .string()
    .regex(/^[0-9a-f]+$/, 'hex')
    .max(max);

/** What a submitted payload must look like before any cryptography runs (base64 of this JSON). */
const payloadSchema = z.object({
  challenge: z.object({
    parameters: z
      .object({
        algorithm: z.literal(ALTCHA_ALGORITHM),
        nonce: hex(64),
        salt: hex(64),
        cost: z.number().int().min(1).max(10_000_000),
        keyLength: z.number().int().min(1).max(64),
        keyPrefix: hex(128),
        keySignature: hex(128).optional(),
        expiresAt: z.number().int(),
        data: z.object({ id: z.string().min(1).max(64), for: z.string().max(16) }).catchall(z.unknown()),
      })
      .catchall(z.unknown()),
    signature: hex(128),
  }),
  solution: z.object({
    counter: z.number().int().min(0).max(0xffffffff),
    derivedKey: hex(128),
    time: z.number().optional(),
  }),
});

function decode(payload: string): z.infer<typeof payloadSchema> | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(payload)) return null;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  const parsed = payloadSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/**
 * ALTCHA v2 (altcha-lib): a signed PBKDF2/SHA-256 challenge in deterministic mode (the server
 * picks the counter, so it also signs the derived key and verifies with one HMAC instead of
 * re-deriving). `data` carries the challenge id (the replay key) and the purpose it was issued
 * for; the id is claimed in bot_challenge_uses when redeemed, so each challenge counts once.
 */
export function createAltchaChallenge(opts: AltchaOptions): BotChallenge {
  const hmacSignatureSecret = opts.hmacKey;
  // altcha-lib's documented derivation of the second secret (deriveHmacKeySecret): HMAC(master, "derived-secret")
  const hmacKeySignatureSecret = createHmac('sha256', opts.hmacKey).update('derived-secret').digest('hex');
  const maxCounter = opts.maxCounter ?? ALTCHA_MAX_COUNTER;
  const expirySeconds = opts.expirySeconds ?? ALTCHA_EXPIRY_SECONDS;
  return {
    kind: 'altcha',
    async issue({ purpose, difficulty, now }) {
      const factor = Math.min(ALTCHA_MAX_DIFFICULTY, Math.max(1, Math.floor(difficulty)));
      const challenge = await createChallenge({
        algorithm: ALTCHA_ALGORITHM,
        cost: (typeof opts.cost === 'function' ? opts.cost() : opts.cost) * factor,
        counter: randomInt(Math.max(1, Math.floor(maxCounter / 2)), maxCounter),
        deriveKey,
        hmacSignatureSecret,
        hmacKeySignatureSecret,
        expiresAt: Math.floor(now.getTime() / 1000) + expirySeconds,
        data: { id: randomUUID(), for: purpose },
      });
      return { kind: 'altcha', challenge: { parameters: { ...challenge.parameters }, ...(challenge.signature ? { signature: challenge.signature } : {}) } };
    },
    async verify(payload, { purpose, now }) {
      const decoded = decode(payload);
      if (!decoded) return { ok: false, reason: 'malformed' };
      const { parameters } = decoded.challenge;
      if (parameters.expiresAt * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
      let verified = false;
      let expired = false;
      try {
        const result = await verifySolution({
          challenge: decoded.challenge as Parameters<typeof verifySolution>[0]['challenge'],
          solution: decoded.solution,
          deriveKey,
          hmacSignatureSecret,
          hmacKeySignatureSecret,
        });
        verified = result.verified;
        expired = result.expired;
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      if (expired) return { ok: false, reason: 'expired' };
      // the purpose is inside the signed parameters: a cheap sign-in challenge does not open sign-up
      if (!verified || parameters.data.for !== purpose) return { ok: false, reason: 'invalid' };
      const first = await opts.uses.claim(`altcha:${parameters.data.id}`, new Date(parameters.expiresAt * 1000));
      return first ? { ok: true } : { ok: false, reason: 'replayed' };
    },
  };
}
