import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { BotChallenge, ChallengeUseStore } from './challenge';

/** Cloudflare's documented siteverify endpoint (provider-apis.md §9). */
export const TURNSTILE_DEFAULT_VERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';
/** A token is valid for 300 s after it was issued. */
export const TURNSTILE_TOKEN_SECONDS = 300;
/** Cloudflare's documented test secrets: they only accept the dummy token, whose answer names hostname "localhost" and action "test". */
const TEST_SECRETS = new Set(['1x0000000000000000000000000000000AA', '2x0000000000000000000000000000000AA', '3x0000000000000000000000000000000AA']);

export interface TurnstileOptions {
  siteKey: string;
  secretKey: string;
  /** TURNSTILE_VERIFY_URL (default Cloudflare's) */
  verifyUrl?: string;
  /** the host name of PUBLIC_URL: a token solved on another site is refused */
  expectedHostname: string;
  uses: ChallengeUseStore;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const answer = z.object({
  success: z.boolean(),
  'error-codes': z.array(z.string()).optional(),
  hostname: z.string().optional(),
  action: z.string().optional(),
  challenge_ts: z.string().optional(),
});

/**
 * Cloudflare Turnstile: the page renders the widget with the site key (action = the purpose), and
 * the token it gets is validated here by siteverify, server to server, with the client's IP. One
 * retry with the same idempotency key when Cloudflare answers `internal-error` or cannot be reached
 * (a retry with the same key is not a duplicate). A token counts once: Cloudflare refuses a second
 * validation, and bot_challenge_uses keeps its hash too, so a replay is refused without asking.
 */
export function createTurnstileChallenge(opts: TurnstileOptions): BotChallenge {
  const verifyUrl = opts.verifyUrl ?? TURNSTILE_DEFAULT_VERIFY_URL;
  const doFetch = opts.fetch ?? fetch;
  const testSecret = TEST_SECRETS.has(opts.secretKey);

  async function siteverify(token: string, ip: string, idempotencyKey: string): Promise<z.infer<typeof answer> | null> {
    try {
      const res = await doFetch(verifyUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ secret: opts.secretKey, response: token, remoteip: ip, idempotency_key: idempotencyKey }).toString(),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
      const parsed = answer.safeParse(await res.json());
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  return {
    kind: 'turnstile',
    issue: async () => ({ kind: 'turnstile', siteKey: opts.siteKey }),
    async verify(token, { purpose, ip, now }) {
      if (token.length > 2048) return { ok: false, reason: 'malformed' };
      const idempotencyKey = randomUUID();
      let result = await siteverify(token, ip, idempotencyKey);
      if (!result || result['error-codes']?.includes('internal-error')) result = await siteverify(token, ip, idempotencyKey);
      if (!result) return { ok: false, reason: 'unavailable' };
      if (!result.success) {
        const codes = result['error-codes'] ?? [];
        if (codes.includes('internal-error')) return { ok: false, reason: 'unavailable' };
        if (codes.includes('timeout-or-duplicate')) return { ok: false, reason: 'replayed' };
        return { ok: false, reason: 'invalid' };
      }
      // Cloudflare advises checking where and for what the token was solved (the test secrets answer hostname "localhost", action "test")
      if (!testSecret) {
        if (result.hostname !== undefined && result.hostname !== opts.expectedHostname) return { ok: false, reason: 'invalid' };
        if (result.action !== undefined && result.action !== purpose) return { ok: false, reason: 'invalid' };
      }
      const id = `turnstile:${createHash('sha256').update(token).digest('hex')}`;
      const first = await opts.uses.claim(id, new Date(now.getTime() + TURNSTILE_TOKEN_SECONDS * 1000));
      return first ? { ok: true } : { ok: false, reason: 'replayed' };
    },
  };
}
