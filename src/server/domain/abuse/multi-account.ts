import type { Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import type { SignalKind } from '../../db/schema';
import { addEvent, openOrExtendCase } from '../moderation/cases.repo';
import { withholdGrant } from './eligibility.repo';
import type { Signal } from './signals';
import { restrictedMatches, type SignalMatch } from './signals.repo';

/**
 * Multi-account evasion (issue 19, ADR 19): a sign-up whose signals match a suspended or terminated
 * account. A device, browser-fingerprint or canonical-address match is high confidence; a match on
 * the address or network alone is low. Per MULTI_ACCOUNT_ACTION: `block` refuses a high-confidence
 * match at sign-up; `review` lets it in without free credits and opens an `account` case; `off`
 * does nothing. A low-confidence match is always a case for review, never a refusal.
 */

export type Confidence = 'high' | 'low';

const HIGH: ReadonlySet<SignalKind> = new Set<SignalKind>(['device', 'fingerprint', 'canonical_email']);
const MATCHED_KINDS: ReadonlySet<SignalKind> = new Set<SignalKind>(['device', 'fingerprint', 'canonical_email', 'ip', 'ip_prefix']);

const KIND_WORDS: Record<SignalKind, string> = {
  device: 'the same device (device cookie)',
  fingerprint: 'the same browser fingerprint',
  canonical_email: 'the same email address (canonical form)',
  ip: 'the same IP address',
  ip_prefix: 'the same network (/24 or /64)',
  card: 'the same payment card',
  wallet: 'the same crypto wallet',
};

export interface Assessment {
  confidence: Confidence;
  /** the restricted account the decision names (a terminated one first, then the strongest match) */
  matchedUserId: string;
  matchedStatus: string;
  kinds: SignalKind[];
  /** what an operator reads */
  reason: string;
}

/** The strongest match among the restricted accounts, or null when none matches. */
export function assess(matches: ReadonlyArray<SignalMatch & { status: string }>): Assessment | null {
  const relevant = matches.filter((m) => MATCHED_KINDS.has(m.kind));
  if (!relevant.length) return null;
  const byUser = new Map<string, { status: string; kinds: Set<SignalKind> }>();
  for (const m of relevant) {
    const u = byUser.get(m.userId) ?? { status: m.status, kinds: new Set<SignalKind>() };
    u.kinds.add(m.kind);
    byUser.set(m.userId, u);
  }
  const score = (u: { status: string; kinds: Set<SignalKind> }) =>
    ([...u.kinds].some((k) => HIGH.has(k)) ? 4 : 0) + (u.status === 'terminated' ? 2 : 0) + Math.min(u.kinds.size, 5) / 10;
  const top = [...byUser].sort((a, b) => score(b[1]) - score(a[1]))[0];
  if (!top) return null;
  const [userId, best] = top;
  const kinds = [...best.kinds].sort();
  const confidence: Confidence = kinds.some((k) => HIGH.has(k)) ? 'high' : 'low';
  const others = byUser.size - 1;
  const reason =
    `Sign-up matches ${best.status} account ${userId}: ${kinds.map((k) => KIND_WORDS[k]).join(', ')} (${confidence} confidence)` +
    (others > 0 ? `; ${others} other restricted account${others === 1 ? '' : 's'} also match.` : '.');
  return { confidence, matchedUserId: userId, matchedStatus: best.status, kinds, reason };
}

export class MultiAccountBlocked extends Error {
  constructor(
    readonly supportEmail: string,
    readonly decision: Assessment,
  ) {
    super(`We could not create this account: it matches an account that was closed or suspended. If you think this is a mistake, write to ${supportEmail}.`);
  }
}

export interface MultiAccountDeps {
  config: Pick<Config, 'MULTI_ACCOUNT_ACTION' | 'SUPPORT_EMAIL'>;
  database: Database;
  clock: Pick<Clock, 'now'>;
}

export function createMultiAccount({ config, database, clock }: MultiAccountDeps) {
  return {
    /** Before the account exists: throws MultiAccountBlocked when the setting is `block` and a high-confidence match exists. */
    async gate(signals: readonly Signal[]): Promise<void> {
      if (config.MULTI_ACCOUNT_ACTION !== 'block') return;
      const a = assess(await restrictedMatches(database, signals, null));
      if (a?.confidence === 'high') throw new MultiAccountBlocked(config.SUPPORT_EMAIL, a);
    },

    /**
     * After the account exists (its signals recorded): on a match, withhold its free credits and
     * open an `account` case with the reason and the matched account. Returns the assessment.
     */
    async review(userId: string, signals: readonly Signal[]): Promise<Assessment | null> {
      if (config.MULTI_ACCOUNT_ACTION === 'off') return null;
      const a = assess(await restrictedMatches(database, signals, userId));
      if (!a) return null;
      await database.transaction((tx) => flag(tx, userId, a, clock.now()));
      return a;
    },
  };
}
export type MultiAccount = ReturnType<typeof createMultiAccount>;

async function flag(tx: DbHandle, userId: string, a: Assessment, now: Date): Promise<void> {
  await withholdGrant(tx, userId, `No free credits: ${a.reason}`, a.matchedUserId, now);
  const c = await openOrExtendCase(
    tx,
    { userId, subject: 'account' },
    { severity: a.confidence === 'high' ? 0.8 : 0.3, topCategory: 'multi_account', action: 'flag' },
    now,
  );
  await addEvent(
    tx,
    c.id,
    {
      kind: 'classifier',
      source: 'multi_account',
      action: 'flag',
      actorId: null,
      note: a.reason,
      details: { matchedUserId: a.matchedUserId, matchedStatus: a.matchedStatus, kinds: a.kinds, confidence: a.confidence },
    },
    now,
  );
}
