import { legalDocumentIds } from '../../../shared/api/legal';
import type { SetupChecklist, SetupItem } from '../../../shared/api/admin-settings';
import type { Clock } from '../../adapters/clock';
import type { Mailer } from '../../adapters/mail/mailer';
import type { PaymentRegistry, PaymentProviderId } from '../../adapters/payments';
import type { ProviderRegistry } from '../../adapters/providers';
import type { ProviderId } from '../../adapters/providers/provider';
import type { ObjectStore } from '../../adapters/storage';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { AppError } from '../../errors';
import type { ListsService } from '../moderation/lists.service';
import type { PoliciesService } from '../privacy/policies.service';
import type { AuditActor, AuditService } from './audit.service';
import { adminExists, claimAdminRole, oldestActiveAccount } from './setup.repo';

/**
 * The first run (issue 18). While no admin exists, the oldest active account is offered the admin
 * role (the web app shows it a banner and /admin/setup; `npm run cli -- user:role --email E --role
 * admin` does the same from a terminal). The claim is a guarded UPDATE under a lock: it succeeds only
 * for that account and only while there is no admin, so two claims at once cannot both win.
 * Then the checklist: what is configured (providers, payments, mail, storage, policies, moderation
 * lists), each line linking to its setting.
 */
export interface SetupService {
  /** the signed-in user may claim the admin role now */
  canClaimAdmin(userId: string): Promise<boolean>;
  /** makes the user the admin (audited in the same transaction), or 409 when the claim is not open to them */
  claimAdmin(actor: AuditActor): Promise<void>;
  checklist(): Promise<SetupChecklist>;
}

export interface SetupDeps {
  database: Database;
  config: Config;
  clock: Pick<Clock, 'now'>;
  audit: Pick<AuditService, 'record'>;
  providers: Pick<ProviderRegistry, 'status'>;
  payments: Pick<PaymentRegistry, 'has'>;
  mailer: Pick<Mailer, 'kind'>;
  store: Pick<ObjectStore, 'kind'>;
  policies: Pick<PoliciesService, 'list'>;
  lists: Pick<ListsService, 'hashLists' | 'termEdits'>;
}

/** the key and secret a payment provider needs, as the registry requires both */
const paymentKeys: Record<PaymentProviderId, readonly [keyof Config, keyof Config]> = {
  stripe: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'],
  creem: ['CREEM_API_KEY', 'CREEM_WEBHOOK_SECRET'],
  nowpayments: ['NOWPAYMENTS_API_KEY', 'NOWPAYMENTS_IPN_SECRET'],
};

const providerKey: Record<ProviderId, string> = { local: 'LOCAL_PROVIDER', kie: 'KIE_API_KEY', fal: 'FAL_KEY' };

export function createSetupService(deps: SetupDeps): SetupService {
  const { database, config, clock, audit } = deps;

  return {
    async canClaimAdmin(userId) {
      // asked on every GET /api/me: only the oldest account goes on to look for an admin
      return (await oldestActiveAccount(database)) === userId && !(await adminExists(database));
    },

    async claimAdmin(actor) {
      const userId = actor.id;
      if (!userId) throw new AppError('claim_unavailable', 'Only a signed-in account can claim the admin role.', 409);
      const claimed = await database.transaction(async (tx) => {
        const row = await claimAdminRole(tx, userId, clock.now());
        if (!row) return false;
        await audit.record(
          actor,
          {
            action: 'setup.claim-admin',
            targetType: 'user',
            targetId: userId,
            reason: 'first run: no admin existed',
            before: { role: actor.role },
            after: { role: 'admin' },
          },
          tx,
        );
        return true;
      });
      if (!claimed) {
        throw new AppError(
          'claim_unavailable',
          'The admin role can be claimed only by the first account, and only while no admin exists. An admin can give you a role, or use `npm run cli -- user:role --email E --role admin`.',
          409,
        );
      }
    },

    async checklist() {
      const items: SetupItem[] = [];
      for (const id of ['local', 'kie', 'fal'] as const) {
        const status = deps.providers.status(id);
        items.push({
          id: `provider.${id}`,
          group: 'providers',
          configured: status.available,
          facts: status.available ? {} : { reason: status.reason ?? '' },
          link: `/admin/settings#${providerKey[id]}`,
        });
      }
      for (const id of ['stripe', 'creem', 'nowpayments'] as const) {
        const [key, secret] = paymentKeys[id];
        const missing = [key, secret].filter((k) => !config[k]);
        items.push({
          id: `payments.${id}`,
          group: 'payments',
          configured: deps.payments.has(id),
          facts: missing.length ? { missing: missing.join(', ') } : {},
          link: `/admin/settings#${missing[0] ?? key}`,
        });
      }
      const smtpHost = config.SMTP_URL ? safeHost(config.SMTP_URL) : '';
      items.push({
        id: 'mail',
        group: 'mail',
        configured: deps.mailer.kind === 'smtp',
        facts: deps.mailer.kind === 'smtp' ? { host: smtpHost } : {},
        link: '/admin/settings#SMTP_URL',
      });
      items.push({
        id: 'storage',
        group: 'storage',
        // the disk store works as it is; S3 is for several servers or a CDN
        configured: true,
        facts: { driver: deps.store.kind, ...(deps.store.kind === 's3' && config.S3_BUCKET ? { bucket: config.S3_BUCKET } : {}) },
        link: '/admin/settings#STORAGE_DRIVER',
      });
      const versions = await deps.policies.list();
      const published = new Set(versions.filter((v) => v.current).map((v) => v.document));
      const own = new Set(versions.filter((v) => v.current && v.publishedBy).map((v) => v.document));
      const all = legalDocumentIds.every((d) => published.has(d));
      items.push({
        id: 'policies',
        group: 'policies',
        configured: all && Boolean(config.HOSTING_LOCATION),
        facts: { published: published.size, total: legalDocumentIds.length, own: own.size, hostingLocation: config.HOSTING_LOCATION ? 'set' : 'unset' },
        link: '/legal/privacy',
      });
      const [hashLists, termEdits] = await Promise.all([deps.lists.hashLists(), deps.lists.termEdits()]);
      items.push({
        id: 'moderation.lists',
        group: 'moderation',
        configured: hashLists.length > 0,
        facts: { hashLists: hashLists.length, termEdits: termEdits.length },
        link: '/moderation',
      });
      return { items };
    },
  };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}
