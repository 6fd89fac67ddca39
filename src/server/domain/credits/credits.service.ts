import type { Clock } from '../../adapters/clock';
import type { Database } from '../../db/client';
import { createCredits, type Credits } from './credits';
import { sqlCreditsRepo } from './credits.repo';

/** Credit movements an operator makes by hand (the CLI), each in its own transaction. */
export interface CreditsService {
  /**
   * A positive amount is a grant, a negative one an adjustment that may not exceed the balance
   * (throws InsufficientCredits). Returns the new balance.
   */
  operatorChange(userId: string, amount: number, reason: string): Promise<number>;
}

export interface CreditsServiceDeps {
  database: Database;
  /** dates the movements (default: the system clock) */
  clock?: Pick<Clock, 'now'>;
  /** default: the credits module on the database, on `clock` */
  credits?: Credits;
}

export function createCreditsService({ database, clock, credits = createCredits(sqlCreditsRepo, clock) }: CreditsServiceDeps): CreditsService {
  return {
    async operatorChange(userId, amount, reason) {
      const balance = await database.transaction((tx) =>
        amount > 0 ? credits.grant(tx, { userId, credits: amount, reason, source: 'operator' }) : credits.adjust(tx, { userId, amount, reason }),
      );
      // neither carries an idempotency key, so neither is ever skipped as a replay
      if (balance === null) throw new Error('an operator credit change was skipped as a replay');
      return balance;
    },
  };
}
