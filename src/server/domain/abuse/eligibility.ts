import type { Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import type { SignalKind, SignalSource } from '../../db/schema';
import { credits } from '../credits/credits';
import { canonicalEmail, maskEmail } from './email';
import { accountFacts, claimAddress, decideGrant, getGrant, insertGrant, lockGrant, setCanonicalEmail, type GrantRow } from './eligibility.repo';
import { signalHash } from './signal-hash';
import { grantedMatches, lockSignalValues, recordSignals, signalsOf } from './signals.repo';
import type { Signal } from './signals';

/**
 * Free-credit eligibility (issue 19, ADR 19). SIGNUP_FREE_CREDITS are granted when the address is
 * verified (a Google sign-up with a verified address: at once), once per canonical address for ever
 * (free_credit_claims outlives the account), and only when none of the account's device, browser,
 * address or network signals matches another account that got them within
 * FREE_CREDITS_MATCH_WINDOW_DAYS. Otherwise the account works and starts at zero; signup_grants
 * keeps the decision, its reason and the matched account.
 *
 * One decision per account (its grant row is locked and decided only from `pending`), and decisions
 * about accounts that share a signal value are serialised (an advisory lock per value), so two
 * accounts of one device verifying at the same instant cannot both be granted.
 */

/** the signals compared with other accounts for free credits */
const COMPARED: readonly SignalKind[] = ['device', 'fingerprint', 'ip', 'ip_prefix'];

const MATCH_WORDS: Partial<Record<SignalKind, string>> = {
  device: 'this device',
  fingerprint: 'this browser',
  ip: 'this internet address',
  ip_prefix: 'this network',
};

export interface EligibilityDeps {
  config: Pick<Config, 'SIGNUP_FREE_CREDITS' | 'FREE_CREDITS_MATCH_WINDOW_DAYS'>;
  database: Database;
  clock: Pick<Clock, 'now'>;
  key: Buffer;
}

export function createEligibility({ config, database, clock, key }: EligibilityDeps) {
  return {
    /** Stores the signals of a request (sign-up, verification, sign-in). */
    async record(userId: string, signals: readonly Signal[], source: SignalSource): Promise<void> {
      await recordSignals(database, userId, signals, source, clock.now());
    },

    /** At sign-up: the canonical address and a pending decision (`none` when free credits are off). */
    async open(userId: string, email: string): Promise<void> {
      const now = clock.now();
      await setCanonicalEmail(database, userId, canonicalEmail(email));
      const amount = config.SIGNUP_FREE_CREDITS;
      await insertGrant(database, {
        userId,
        state: amount > 0 ? 'pending' : 'none',
        credits: amount,
        reason: amount > 0 ? null : 'Free credits were off when this account was created.',
        matchedUserId: null,
        decidedAt: amount > 0 ? null : now,
        createdAt: now,
      });
    },

    /**
     * The address is verified: grant or withhold. Idempotent (a decided account is left as it is)
     * and safe under any number of concurrent calls. Returns the decision (null: no grant row, an
     * account from before this rule, which got its credits at sign-up).
     */
    async decide(userId: string): Promise<GrantRow | null> {
      const decided = await database.transaction(async (tx) => {
        const grant = await lockGrant(tx, userId);
        if (!grant || grant.state !== 'pending') return grant;
        const account = await accountFacts(tx, userId);
        if (!account?.emailVerified) return grant;
        const now = clock.now();
        const canonical = account.canonicalEmail ?? canonicalEmail(account.email);
        const claimHash = signalHash(key, 'canonical_email', canonical);
        const signals = await signalsOf(tx, userId, COMPARED);
        await lockSignalValues(tx, [claimHash, ...signals.map((s) => s.hash)]);
        const amount = config.SIGNUP_FREE_CREDITS;
        const withhold = async (reason: string, matchedUserId: string | null) => {
          await decideGrant(tx, userId, { state: 'withheld', credits: 0, reason, matchedUserId, at: now });
        };
        if (amount <= 0) {
          await decideGrant(tx, userId, { state: 'none', credits: 0, reason: 'Free credits are off.', matchedUserId: null, at: now });
          return lockGrant(tx, userId);
        }
        const windowDays = config.FREE_CREDITS_MATCH_WINDOW_DAYS;
        if (windowDays > 0) {
          const since = new Date(now.getTime() - windowDays * 86_400_000);
          const [match] = await grantedMatches(tx, userId, signals, since);
          if (match) {
            await withhold(
              `No free credits: ${MATCH_WORDS[match.kind] ?? match.kind} (${match.label ?? 'hidden'}) was used by account ${match.userId}, which received free credits within ${windowDays} days. Free credits are given once per person.`,
              match.userId,
            );
            return lockGrant(tx, userId);
          }
        }
        const claim = await claimAddress(tx, claimHash, userId, now);
        if (!claim.claimed) {
          await withhold(
            `No free credits: the address ${maskEmail(canonical)} (in its canonical form) already received them${claim.holder ? ` on account ${claim.holder}` : ' on an account since deleted'}. Free credits are given once per address.`,
            claim.holder,
          );
          return lockGrant(tx, userId);
        }
        await credits.grant(tx, { userId, credits: amount, reason: 'Welcome credits', source: 'signup' });
        await decideGrant(tx, userId, {
          state: 'granted',
          credits: amount,
          reason: `Granted ${amount} free credits on email verification.`,
          matchedUserId: null,
          at: now,
        });
        return lockGrant(tx, userId);
      });
      return decided;
    },

    async grantOf(userId: string): Promise<GrantRow | null> {
      return getGrant(database, userId);
    },
  };
}
export type Eligibility = ReturnType<typeof createEligibility>;
