import type { Clock } from '../../adapters/clock';
import type { Database } from '../../db/client';
import type { AddBlockedDomainBody, BlockedDomainList, BlockedDomainView } from '../../../shared/api/abuse';
import { AppError } from '../../errors';
import type { AuditTrail } from '../admin/audit.service';
import { domainSuffixes, emailDomain, isListedDisposable, maintainedListSize, normalizeDomain } from './email';
import { deleteBlockedDomain, firstBlocked, insertBlockedDomain, listBlockedDomains, type BlockedDomainRow } from './email.repo';

/**
 * The disposable-mail rule at sign-up (issue 19): the maintained list (mailchecker), its
 * subdomains, and the operator's own additions (console and CLI, each change audited).
 */

export const DISPOSABLE_EMAIL_MESSAGE =
  'Addresses from disposable or temporary mail services cannot be used to create an account. Please use an address you will keep.';

const view = (r: BlockedDomainRow): BlockedDomainView => ({ domain: r.domain, note: r.note, addedBy: r.addedBy, addedAt: r.addedAt.toISOString() });

export function createEmailRules({ database, clock }: { database: Database; clock: Pick<Clock, 'now'> }) {
  return {
    /** True when the address's domain (or a domain it is under) is disposable: the maintained list or the operator's. */
    async isDisposable(email: string): Promise<boolean> {
      const domain = emailDomain(email);
      if (!domain) return false;
      if (isListedDisposable(domain)) return true;
      return (await firstBlocked(database, domainSuffixes(domain))) !== null;
    },

    /** Throws 400 `disposable_email` for a disposable address. */
    async assertAllowed(email: string): Promise<void> {
      if (await this.isDisposable(email)) {
        throw new AppError('disposable_email', DISPOSABLE_EMAIL_MESSAGE, 400, { fields: [{ field: 'email', message: 'is a disposable address' }] });
      }
    },

    async list(): Promise<BlockedDomainList> {
      return { items: (await listBlockedDomains(database)).map(view), maintainedCount: maintainedListSize() };
    },

    /** Adds an operator domain (400 for a malformed one, 409 when it is listed already); audited in the same transaction. */
    async add(body: AddBlockedDomainBody, actorLabel: string, trail: AuditTrail): Promise<BlockedDomainView> {
      const domain = normalizeDomain(body.domain);
      if (!domain) {
        throw new AppError('invalid_domain', 'Enter a domain name such as tempmail.example.', 400, {
          fields: [{ field: 'domain', message: 'is not a domain name' }],
        });
      }
      return database.transaction(async (tx) => {
        const row = await insertBlockedDomain(tx, { domain, note: body.note?.trim() || null, addedBy: actorLabel, addedAt: clock.now() });
        if (!row) throw new AppError('domain_exists', `${domain} is on the list already.`, 409);
        await trail({ action: 'abuse.domain.add', targetType: 'email_domain', targetId: domain, reason: row.note, after: view(row) }, tx);
        return view(row);
      });
    },

    /** Removes an operator domain (404 when it is not on the operator's list); audited in the same transaction. */
    async remove(input: string, trail: AuditTrail): Promise<void> {
      const domain = normalizeDomain(input);
      if (!domain) throw new AppError('not_found', 'That domain is not on the list.', 404);
      await database.transaction(async (tx) => {
        const row = await deleteBlockedDomain(tx, domain);
        if (!row) throw new AppError('not_found', `${domain} is not on the list.`, 404);
        await trail({ action: 'abuse.domain.remove', targetType: 'email_domain', targetId: domain, before: view(row) }, tx);
      });
    },
  };
}
export type EmailRules = ReturnType<typeof createEmailRules>;
