import type { Database } from '../../db/client';
import { credits as sqlCredits, type Credits } from './credits';

/** Credit movements an operator makes by hand (the CLI), each in its own transaction. */
export interface CreditsService {
  /**
   * A positive amount is a grant, a negative one an adjustment that may not exceed the balance
   * (throws InsufficientCredits). Returns the new balance.
   */
  operatorChange(userId: string, amount: number, reason: string): Promise<number>;
}

export function createCreditsService({ database, credits = sqlCredits }: { database: Database; credits?: Credits }): CreditsService {
  return {
    async operatorChange(userId, amount, reason) {
      const balance = await database.transaction((tx) =>
        amount > 0 ? credits.grant(tx, { userId, credits: amount, reason, source: 'operator' }) : credits.adjust(tx, { userId, amount, reason }),
      );
      // neither carries an idempotency key, so neither is ever skipped as a replay
      return balance!;
    },
  };
}
