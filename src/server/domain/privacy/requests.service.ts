import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Mailer } from '../../adapters/mail/mailer';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { privacyRequestKinds as storedKinds, type PrivacyRequestKind, type PrivacyRequestStatus } from '../../db/schema';
import { AppError, notFound } from '../../errors';
import { privacyRequestMail } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import type { RateLimiter } from '../../lib/rate-limit';
import { sendTemplateMail } from '../../mail/send';
import { normalizeLanguage } from '../../../shared/languages';
import {
  privacyRequestKinds,
  type PrivacyRequestAccount,
  type PrivacyRequestDetail,
  type PrivacyRequestList,
  type PrivacyRequestReceipt,
  type PrivacyRequestView,
} from '../../../shared/api/privacy-requests';
import type { AccountDeletionResult, DeletionActor } from '../users/account-deletion.service';
import type { AuditTrail } from '../admin/audit.service';
import {
  accountByEmail,
  accountById,
  closedStatuses,
  countOpenPrivacyRequests,
  getPrivacyRequest,
  insertPrivacyRequest,
  listPrivacyRequests,
  openStatuses,
  updateOpenPrivacyRequest,
  type AccountSummary,
  type PrivacyRequestRow,
} from './requests.repo';

/**
 * Privacy requests and child reports (privacy policy 5, 6 and 12). Anyone may send one from the
 * public form: it gets a reference and a due date (PRIVACY_REQUEST_DUE_DAYS), the sender a receipt
 * and SUPPORT_EMAIL a notice (two jobs sent in the same transaction as the row). Operators
 * (support and admins) see them soonest due first, with the overdue ones marked, and close each
 * with what was done. A child report that an admin confirms deletes the account it names through
 * the account deletion service and closes the report.
 *
 * The form sends mail to an address anyone can type, so it is rate-limited per IP address and per
 * address given, and the receipt never repeats the sender's own words (it cannot carry spam).
 * Matching a request to an account by its email address proves nothing about who wrote it: the
 * detail says how the account was matched, so operators check identity before they act.
 */

/** The kinds the form offers: the shared API's list, which must be the database's (a compile error here when they part). */
const formKinds: readonly PrivacyRequestKind[] = privacyRequestKinds;
export const storedPrivacyRequestKinds: readonly (typeof privacyRequestKinds)[number][] = storedKinds;

export interface SubmitInput {
  kind: PrivacyRequestKind;
  email: string;
  name?: string | undefined;
  message: string;
  subjectEmail?: string | undefined;
  language?: string | undefined;
}

export interface ListFilter {
  status: 'open' | 'closed' | 'all' | PrivacyRequestStatus;
  overdue?: boolean | undefined;
  kind?: PrivacyRequestKind | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface PrivacyRequestsService {
  /** The public form: stores the request, queues the receipt and the notice; 429 past the hourly limits. */
  submit(input: SubmitInput, from: { ip: string; userId: string | null }): Promise<PrivacyRequestReceipt>;
  list(filter: ListFilter): Promise<PrivacyRequestList>;
  get(id: string): Promise<PrivacyRequestDetail>;
  /** An operator moves a request on or closes it (done / rejected need a resolution); 409 once closed. */
  update(
    actorId: string,
    id: string,
    patch: { status?: PrivacyRequestStatus | undefined; resolution?: string | undefined },
    /** an operator's action: writes the audit log entry with the change */
    audit?: AuditTrail,
  ): Promise<PrivacyRequestDetail>;
  /** An admin confirms a child report: the account it names is deleted and the report closed. */
  confirmChild(
    actorId: string,
    id: string,
    reason: string,
    audit?: AuditTrail,
  ): Promise<{ request: PrivacyRequestDetail; deletion: Pick<AccountDeletionResult, 'userId' | 'outcome'> }>;
  /** The `privacy.request-mail` job: the receipt to the sender, or the notice to SUPPORT_EMAIL. */
  sendMail(id: string, to: 'requester' | 'support'): Promise<void>;
}

export interface PrivacyRequestsDeps {
  database: Database;
  queue: JobQueue;
  mailer: Mailer;
  rateLimiter: RateLimiter;
  logger: Logger;
  config: Pick<Config, 'PUBLIC_URL' | 'SUPPORT_EMAIL' | 'PRIVACY_REQUEST_DUE_DAYS' | 'PRIVACY_REQUESTS_PER_HOUR'>;
  /** the account deletion service's `deleteAccount` (a confirmed child report) */
  deleteAccount: (userId: string, by: DeletionActor) => Promise<AccountDeletionResult>;
  clock?: Pick<Clock, 'now'>;
}

/** `PR-` and ten Crockford base-32 characters: short enough to read out, 50 random bits. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function newReference(): string {
  const bytes = randomBytes(10);
  let out = 'PR-';
  for (const b of bytes) out += ALPHABET.charAt(b & 31);
  return out;
}
const REFERENCE = /^PR-[0-9A-HJKMNP-TV-Z]{10}$/;

const encodeCursor = (row: Pick<PrivacyRequestRow, 'dueAt' | 'id'>) => Buffer.from(`${row.dueAt.toISOString()}|${row.id}`).toString('base64url');
function decodeCursor(cursor: string): { dueAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const dueAt = new Date(at ?? '');
  if (!id || !REFERENCE.test(id) || Number.isNaN(dueAt.getTime())) throw new AppError('invalid_request', 'That cursor is not one this list gave out.', 400);
  return { dueAt, id };
}

export function createPrivacyRequestsService(deps: PrivacyRequestsDeps): PrivacyRequestsService {
  const { database, queue, mailer, rateLimiter, logger, config } = deps;
  const clock = deps.clock ?? systemClock;

  const toView = (r: PrivacyRequestRow, now: Date): PrivacyRequestView => ({
    id: r.id,
    kind: r.kind,
    status: r.status,
    email: r.email,
    name: r.name,
    message: r.message,
    subjectEmail: r.subjectEmail,
    language: r.language,
    userId: r.userId,
    createdAt: r.createdAt.toISOString(),
    dueAt: r.dueAt.toISOString(),
    overdue: (openStatuses as readonly string[]).includes(r.status) && r.dueAt < now,
    closedAt: r.closedAt?.toISOString() ?? null,
    closedBy: r.closedBy,
    resolution: r.resolution,
  });

  /**
   * The account a request is about: the one it is linked to (sent signed in, or acted on), else the
   * one using the address it names (a child report: the reported account's; otherwise the sender's).
   */
  async function accountOf(r: PrivacyRequestRow): Promise<{ account: AccountSummary; match: PrivacyRequestAccount['match'] } | null> {
    const linked = r.subjectUserId ?? (r.kind === 'child' ? null : r.userId);
    if (linked) {
      const account = await accountById(database, linked);
      if (account) return { account, match: 'linked' };
    }
    const address = r.kind === 'child' ? r.subjectEmail : r.email;
    const account = address ? await accountByEmail(database, address) : null;
    return account ? { account, match: 'email' } : null;
  }

  async function detail(r: PrivacyRequestRow): Promise<PrivacyRequestDetail> {
    const found = await accountOf(r);
    return {
      ...toView(r, clock.now()),
      account: found
        ? {
            id: found.account.id,
            email: found.account.email,
            name: found.account.name,
            role: found.account.role,
            status: found.account.status,
            match: found.match,
          }
        : null,
    };
  }

  async function throttle(keys: string[]): Promise<void> {
    for (const key of keys) {
      const r = await rateLimiter.hit(key, config.PRIVACY_REQUESTS_PER_HOUR, 3600);
      if (!r.allowed) {
        throw new AppError(
          'rate_limited',
          `Too many privacy requests from here in the last hour. Try again in ${Math.ceil(r.retryAfterSeconds / 60)} min, or write to ${config.SUPPORT_EMAIL}.`,
          429,
          { extra: { retryAfterSeconds: r.retryAfterSeconds } },
        );
      }
    }
  }

  async function load(id: string): Promise<PrivacyRequestRow> {
    const row = REFERENCE.test(id) ? await getPrivacyRequest(database, id) : null;
    if (!row) throw notFound('That privacy request');
    return row;
  }

  const closed = () => new AppError('request_closed', 'This request is closed already; nothing was changed.', 409);

  return {
    async submit(input, from) {
      if (!formKinds.includes(input.kind))
        throw new AppError('invalid_request', 'Unknown kind of request.', 400, { fields: [{ field: 'kind', message: 'is unknown' }] });
      const subjectEmail = input.kind === 'child' ? input.subjectEmail?.trim() || null : null;
      if (input.kind === 'child' && !subjectEmail) {
        throw new AppError('invalid_request', 'A report about a child needs the email address of the account it is about.', 400, {
          fields: [{ field: 'subjectEmail', message: 'is required for a report about a child' }],
        });
      }
      const email = input.email.trim();
      await throttle([`privacy-requests:ip:${from.ip}`, `privacy-requests:email:${email.toLowerCase()}`]);
      const account = from.userId ? await accountById(database, from.userId) : null;
      const now = clock.now();
      const row = await database.transaction(async (tx) => {
        const inserted = await insertPrivacyRequest(tx, {
          id: newReference(),
          kind: input.kind,
          status: 'open',
          email,
          name: input.name?.trim() || null,
          userId: account?.id ?? null,
          subjectEmail,
          // sent signed in, about one's own account: linked (a child report is about someone else's)
          subjectUserId: account && input.kind !== 'child' ? account.id : null,
          message: input.message.trim(),
          language: normalizeLanguage(input.language ?? account?.language),
          createdAt: now,
          dueAt: new Date(now.getTime() + config.PRIVACY_REQUEST_DUE_DAYS * 86_400_000),
        });
        await queue.enqueue(privacyRequestMail, { id: inserted.id, to: 'requester' }, { tx });
        await queue.enqueue(privacyRequestMail, { id: inserted.id, to: 'support' }, { tx });
        return inserted;
      });
      logger.info({ reference: row.id, kind: row.kind, signedIn: Boolean(account) }, 'privacy: request received');
      return {
        reference: row.id,
        kind: row.kind,
        createdAt: row.createdAt.toISOString(),
        dueAt: row.dueAt.toISOString(),
        supportEmail: config.SUPPORT_EMAIL,
      };
    },

    async list(filter) {
      const now = clock.now();
      const statuses = filter.status === 'open' ? openStatuses : filter.status === 'closed' ? closedStatuses : filter.status === 'all' ? null : [filter.status];
      const rows = await listPrivacyRequests(
        database,
        {
          statuses,
          limit: filter.limit + 1,
          ...(filter.overdue !== undefined ? { overdue: filter.overdue } : {}),
          ...(filter.kind ? { kind: filter.kind } : {}),
          ...(filter.cursor ? { after: decodeCursor(filter.cursor) } : {}),
        },
        now,
      );
      const page = rows.slice(0, filter.limit);
      const last = page.at(-1);
      return {
        items: page.map((r) => toView(r, now)),
        nextCursor: rows.length > filter.limit && last ? encodeCursor(last) : null,
        counts: await countOpenPrivacyRequests(database, now),
      };
    },

    async get(id) {
      return detail(await load(id));
    },

    async update(actorId, id, patch, audit) {
      const row = await load(id);
      if (!(openStatuses as readonly string[]).includes(row.status)) throw closed();
      const status = patch.status ?? row.status;
      const resolution = patch.resolution === undefined ? row.resolution : patch.resolution.trim() || null;
      const closing = (closedStatuses as readonly string[]).includes(status);
      if (closing && !resolution) {
        throw new AppError('invalid_request', 'Say what was done (the resolution) to close a request.', 400, {
          fields: [{ field: 'resolution', message: 'is required to close a request' }],
        });
      }
      const updated = await database.transaction(async (tx) => {
        const changed = await updateOpenPrivacyRequest(tx, row.id, {
          status,
          resolution,
          ...(closing ? { closedAt: clock.now(), closedBy: actorId } : {}),
        });
        if (changed && audit)
          await audit(
            {
              action: closing ? 'privacy_request.close' : 'privacy_request.update',
              targetType: 'privacy_request',
              targetId: row.id,
              reason: resolution,
              before: { status: row.status, resolution: row.resolution },
              after: { status: changed.status, resolution: changed.resolution },
            },
            tx,
          );
        return changed;
      });
      if (!updated) throw closed();
      logger.info({ reference: row.id, status, actorId }, 'privacy: request updated');
      return detail(updated);
    },

    async confirmChild(actorId, id, reason, audit) {
      const text = reason.trim();
      if (!text)
        throw new AppError('invalid_request', 'Give the reason (it is kept with the deletion).', 400, {
          fields: [{ field: 'reason', message: 'is required' }],
        });
      const row = await load(id);
      if (row.kind !== 'child') throw new AppError('not_a_child_report', 'Only a report about a child can be confirmed this way.', 409);
      if (!(openStatuses as readonly string[]).includes(row.status)) throw closed();
      const found = await accountOf(row);
      if (!found) throw new AppError('subject_not_found', 'No account uses the address this report names, so there is nothing to delete.', 404);
      if (found.account.id === actorId) throw new AppError('forbidden', 'You cannot delete your own account this way.', 403);
      // the report names the account from now on (the link is cut again when the account goes)
      await updateOpenPrivacyRequest(database, row.id, { subjectUserId: found.account.id, status: 'in_progress' });
      let result: AccountDeletionResult;
      try {
        result = await deps.deleteAccount(found.account.id, { actorId, reason: text, origin: 'child-report' });
      } catch (err) {
        // another operator confirmed it at the same time: their deletion and closing stand
        const now = await getPrivacyRequest(database, row.id);
        if (now && !(openStatuses as readonly string[]).includes(now.status)) throw closed();
        throw err;
      }
      const done = await database.transaction(async (tx) => {
        const closedNow = await updateOpenPrivacyRequest(tx, row.id, { status: 'done', resolution: text, closedAt: clock.now(), closedBy: actorId });
        if (closedNow && audit)
          await audit(
            {
              action: 'privacy_request.confirm_child',
              targetType: 'privacy_request',
              targetId: row.id,
              reason: text,
              before: { status: row.status },
              after: { status: 'done', deletedUserId: result.userId, deletion: result.outcome },
            },
            tx,
          );
        return closedNow;
      });
      // another operator confirmed it at the same time and closed it first (the deletion ran once: it is idempotent)
      if (!done) throw closed();
      logger.info({ reference: row.id, userId: result.userId, outcome: result.outcome, actorId }, 'privacy: child report confirmed; the account was deleted');
      return { request: await detail(done), deletion: { userId: result.userId, outcome: result.outcome } };
    },

    async sendMail(id, to) {
      const row = await getPrivacyRequest(database, id);
      if (!row) return; // removed meanwhile (retention): nothing to send
      if (to === 'requester') {
        await sendTemplateMail(mailer, row.email, 'privacy-request-received', row.language, {
          // not even the name they typed: the receipt goes to any address typed into a public form, so it carries none of the sender's words
          name: '',
          reference: row.id,
          kind: row.kind,
          createdAt: row.createdAt,
          dueAt: row.dueAt,
          supportEmail: config.SUPPORT_EMAIL,
        });
      } else {
        await sendTemplateMail(mailer, config.SUPPORT_EMAIL, 'privacy-request-notice', 'en', {
          name: '',
          reference: row.id,
          kind: row.kind,
          email: row.email,
          subjectEmail: row.subjectEmail ?? '',
          message: row.message,
          dueAt: row.dueAt,
          url: `${config.PUBLIC_URL}/operator/privacy-requests/${row.id}`,
        });
      }
    },
  };
}
