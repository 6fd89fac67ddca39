import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { normalizeLanguage, type Language } from '../../../shared/languages';
import { NO_CONTROL_CHARACTERS } from '../../../shared/api/text';
import { systemClock, type Clock } from '../../adapters/clock';
import { MailError, type Mailer } from '../../adapters/mail/mailer';
import type { Database, DbHandle } from '../../db/client';
import { legalDocuments, mailingKinds, type MailingKind } from '../../db/schema';
import { AppError } from '../../errors';
import { mailMailingSend } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { deriveKey } from '../../lib/secret-box';
import { renderEmail, type RenderedEmail } from '../../mail/templates';
import {
  claimNextRecipient,
  countEligible,
  countRecipients,
  findMailing,
  findOptIn,
  finishMailing,
  insertMailing,
  listMailingSummaries,
  markRecipientFailed,
  markRecipientSent,
  materialiseRecipients,
  optOut,
  pendingState,
  setOptIn,
  type MailingSummaryRow,
  type OptInRow,
} from './mailings.repo';

/**
 * Mailings (privacy policy 11, 4.5, 2 and 5): one message to many accounts, each mailed exactly
 * once in their own language.
 *
 * - Notices: `policy-change` (a material change to a legal document; the policies service creates
 *   it in its publish transaction) and `business-transfer` (a change of ownership, from the
 *   `notice:business-transfer` command) go to every account that is active or suspended and not
 *   closed for deletion, whatever its email preferences (they are service notices).
 * - `product-update` goes only to accounts that opted in on their account page (never by default),
 *   are active and verified, and carries an RFC 8058 one-click unsubscribe link (`List-Unsubscribe`
 *   and `List-Unsubscribe-Post` headers, and a visible link). Transactional mail never carries it.
 *
 * `create` writes the mailing and one `pending` recipient row per eligible account in the caller's
 * transaction, and enqueues `mail.mailing-send` in it; the same dedupe key twice is a no-op. The
 * job claims one recipient at a time (a lease in the row, so two runs never mail the same person
 * at once), sends, and marks it sent. Delivery is at least once: a crash between the mail server
 * accepting a message and the row being marked re-sends that one message (at most one per running
 * job) when the lease runs out; no one else is mailed twice. A send that fails is retried later
 * (back-off, fewest attempts first) up to {@link MAX_ATTEMPTS} times, and a permanent refusal (a
 * 5xx answer, an unusable address) marks the recipient `failed` at once.
 */

/** Text in every language we mail in. */
export type Localized = Record<Language, string>;

export interface PolicyChangeContent {
  document: (typeof legalDocuments)[number];
  version: string;
  /** the page of the new version */
  url: string;
  /** the document's title, e.g. "Privacy Policy" */
  title: Localized;
  /** what changed, in a sentence or two */
  summary: Localized;
}

export interface BusinessTransferContent {
  /** who runs the service from `effectiveDate` */
  newOwner: string;
  /** YYYY-MM-DD */
  effectiveDate: string;
  /** the operator's own words (plain text; blank lines separate paragraphs) */
  message: Localized;
  /** a page with more about the change */
  url?: string | undefined;
}

export interface ProductUpdateContent {
  title: Localized;
  /** plain text; blank lines separate paragraphs */
  body: Localized;
  /** an optional button */
  url?: string | undefined;
  buttonLabel?: Localized | undefined;
}

export interface MailingContentOf {
  'policy-change': PolicyChangeContent;
  'business-transfer': BusinessTransferContent;
  'product-update': ProductUpdateContent;
}
export type MailingContent = MailingContentOf[MailingKind];

export interface CreateMailingInput {
  kind: MailingKind;
  /** what makes the mailing unique, e.g. `privacy@2026-12-07`: creating it again is a no-op */
  dedupeKey: string;
  content: MailingContent;
  /** the operator (user id or a CLI label); null for the server itself */
  createdBy: string | null;
}

export interface PreviewedMail extends RenderedEmail {
  headers: Record<string, string>;
}

export interface EmailPreferences {
  productUpdates: boolean;
  /** when the account opted in (ISO), or null */
  optedInAt: string | null;
  /** product updates go only to a verified address */
  emailVerified: boolean;
}

export interface SendRunResult {
  sent: number;
  failed: number;
  skipped: number;
  /** recipients still pending after this run (the job sends itself again when there are) */
  pending: number;
}

export type MailingSummary = MailingSummaryRow;

/** Attempts per recipient before it is marked failed. */
export const MAX_ATTEMPTS = 6;
/** A claimed recipient is not claimed again for this long (longer than any single send can take). */
export const LEASE_MS = 10 * 60_000;
/** Recipients per job run, and the time one run may spend; the job sends itself again after. */
const BATCH = 200;
const RUN_BUDGET_MS = 120_000;

// --- content --------------------------------------------------------------------------------

const line = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\r\n]*$/, { error: 'must be one line' })
    .regex(NO_CONTROL_CHARACTERS, { error: 'must not contain control characters' });
const prose = (max: number) => z.string().trim().min(1).max(max).regex(NO_CONTROL_CHARACTERS, { error: 'must not contain control characters' });
const localized = (schema: z.ZodString) => z.strictObject({ en: schema, es: schema } satisfies Record<Language, z.ZodString>);
const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2000)
  .regex(NO_CONTROL_CHARACTERS, { error: 'must not contain control characters' });

export const mailingContentSchemas = {
  'policy-change': z.strictObject({
    document: z.enum(legalDocuments),
    version: line(100),
    url: httpUrl,
    title: localized(line(200)),
    summary: localized(prose(2000)),
  }),
  'business-transfer': z.strictObject({
    newOwner: line(200),
    effectiveDate: z.iso.date({ error: 'must be a date as YYYY-MM-DD' }),
    message: localized(prose(10_000)),
    url: httpUrl.optional(),
  }),
  'product-update': z.strictObject({
    title: localized(line(150)),
    body: localized(prose(20_000)),
    url: httpUrl.optional(),
    buttonLabel: localized(line(60)).optional(),
  }),
} satisfies { [K in MailingKind]: z.ZodType<MailingContentOf[K]> };

const dedupeKeySchema = line(200);

/** The content checked for its kind; AppError `invalid_mailing` (400) naming the field otherwise. */
export function parseMailingContent<K extends MailingKind>(kind: K, content: unknown): MailingContentOf[K] {
  if (!(mailingKinds as readonly string[]).includes(kind)) throw new AppError('invalid_mailing', `Unknown mailing kind ${JSON.stringify(kind)}.`, 400);
  const parsed = (mailingContentSchemas[kind] as unknown as z.ZodType<MailingContentOf[K]>).safeParse(content);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('invalid_mailing', `${issue?.path.join('.') || 'content'}: ${issue?.message ?? 'is not valid'}`, 400);
  }
  return parsed.data;
}

/**
 * The file an operator gives `notice:business-transfer` or `mail:product-update`: JSON with a
 * `key` (what makes the mailing unique: sending the same key again does nothing) and the content.
 */
export function parseMailingFile(kind: 'business-transfer' | 'product-update', text: string): { key: string; content: MailingContent } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new AppError('invalid_mailing', `The file is not valid JSON: ${(err as Error).message}`, 400);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new AppError('invalid_mailing', 'The file must hold one JSON object.', 400);
  const { key, ...content } = data as Record<string, unknown>;
  const k = dedupeKeySchema.safeParse(key);
  if (!k.success) throw new AppError('invalid_mailing', 'key: a short one-line name for this mailing is required (e.g. "2027-01-newsletter").', 400);
  return { key: k.data, content: parseMailingContent(kind, content) };
}

// --- unsubscribe tokens -----------------------------------------------------------------------

const TOKEN_PURPOSE = 'mailing-unsubscribe/v1';

/** An HMAC of the user id (SESSION_SECRET-derived key): `<user id b64url>.<mac b64url>`. The same for the user every time; no expiry. */
export function signUnsubscribeToken(secret: string, userId: string): string {
  const mac = createHmac('sha256', deriveKey(secret, TOKEN_PURPOSE)).update(userId).digest('base64url');
  return `${Buffer.from(userId, 'utf8').toString('base64url')}.${mac}`;
}

/** The user id a token was made for (checked with the current secret and the previous ones), or null. */
export function readUnsubscribeToken(secrets: readonly string[], token: string): string | null {
  const parts = token.split('.');
  if (parts.length !== 2) return null;
  const [idPart, macPart] = parts as [string, string];
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(idPart) || !/^[A-Za-z0-9_-]{43}$/.test(macPart)) return null;
  const userId = Buffer.from(idPart, 'base64url').toString('utf8');
  if (!userId || Buffer.from(userId, 'utf8').toString('base64url') !== idPart) return null;
  const got = Buffer.from(macPart, 'base64url');
  for (const secret of secrets) {
    const want = createHmac('sha256', deriveKey(secret, TOKEN_PURPOSE)).update(userId).digest();
    if (got.length === want.length && timingSafeEqual(got, want)) return userId;
  }
  return null;
}

// --- the service ------------------------------------------------------------------------------

export interface MailingsServiceDeps {
  database: Database;
  queue: JobQueue;
  mailer: Mailer;
  logger: Logger;
  config: { PUBLIC_URL: string; SESSION_SECRET: string; SESSION_SECRET_PREVIOUS: readonly string[] };
  clock?: Clock;
}

export interface MailingsService {
  /**
   * Creates a mailing and its recipients, and enqueues the send job, in `tx` when given (the
   * caller's transaction: nothing is mailed unless it commits). The same `dedupeKey` again returns
   * the existing mailing with `created: false`. Throws AppError `invalid_mailing` (400) for content
   * that does not fit its kind.
   */
  create(input: CreateMailingInput, tx?: DbHandle): Promise<{ id: string; recipients: number; created: boolean }>;
  /** The message as a recipient with this language would get it (dry runs); a sample unsubscribe link for product updates. */
  preview(kind: MailingKind, content: MailingContent, language: string): PreviewedMail;
  /** How many accounts a mailing of this kind would go to now. */
  countRecipients(kind: MailingKind): Promise<number>;
  /** One run of the send job. */
  send(mailingId: string): Promise<SendRunResult>;
  /** The latest mailings, or the one with this id or dedupe key, with their recipients counted. */
  status(opts?: { idOrKey?: string; limit?: number }): Promise<MailingSummary[]>;
  preferences(userId: string): Promise<EmailPreferences>;
  setPreferences(userId: string, prefs: { productUpdates: boolean }): Promise<EmailPreferences>;
  /** The one-click unsubscribe URL of a user (what product updates carry). */
  unsubscribeUrl(userId: string): string;
  /** Whether the token's account gets product updates now; 404 for a token we did not make. */
  subscriptionByToken(token: string): Promise<{ productUpdates: boolean }>;
  /** The one-click unsubscribe: opts the token's account out (idempotent); 404 for a token we did not make. */
  unsubscribe(token: string): Promise<{ changed: boolean }>;
}

export function createMailingsService(deps: MailingsServiceDeps): MailingsService {
  const { database, queue, mailer, logger, config } = deps;
  const clock = deps.clock ?? systemClock;
  const secrets = [config.SESSION_SECRET, ...config.SESSION_SECRET_PREVIOUS];

  const unsubscribeUrl = (userId: string) => `${config.PUBLIC_URL}/api/unsubscribe/${signUnsubscribeToken(config.SESSION_SECRET, userId)}`;

  function render(kind: MailingKind, content: MailingContent, language: string, name: string, unsubscribe: string): PreviewedMail {
    const lang = normalizeLanguage(language);
    switch (kind) {
      case 'policy-change': {
        const c = content as PolicyChangeContent;
        return {
          ...renderEmail('policy-change', lang, { name, documentTitle: c.title[lang], version: c.version, summary: c.summary[lang], url: c.url }),
          headers: {},
        };
      }
      case 'business-transfer': {
        const c = content as BusinessTransferContent;
        return {
          ...renderEmail('business-transfer', lang, {
            name,
            newOwner: c.newOwner,
            effectiveDate: c.effectiveDate,
            message: c.message[lang],
            url: c.url ?? null,
            accountUrl: `${config.PUBLIC_URL}/account`,
          }),
          headers: {},
        };
      }
      case 'product-update': {
        const c = content as ProductUpdateContent;
        return {
          ...renderEmail('product-update', lang, {
            name,
            title: c.title[lang],
            body: c.body[lang],
            url: c.url ?? null,
            buttonLabel: c.buttonLabel?.[lang] ?? null,
            unsubscribeUrl: unsubscribe,
          }),
          // RFC 8058: one HTTPS URI (http only on a development server) and the one-click marker
          headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        };
      }
    }
  }

  function userOfToken(token: string): string {
    const userId = readUnsubscribeToken(secrets, token);
    if (!userId) throw new AppError('not_found', 'This unsubscribe link is not valid. You can change your email preferences on your account page.', 404);
    return userId;
  }

  const view = (row: OptInRow): EmailPreferences => ({
    productUpdates: row.marketingOptInAt !== null,
    optedInAt: row.marketingOptInAt?.toISOString() ?? null,
    emailVerified: row.emailVerified,
  });

  async function send(mailingId: string): Promise<SendRunResult> {
    const result: SendRunResult = { sent: 0, failed: 0, skipped: 0, pending: 0 };
    const mailing = await findMailing(database, mailingId);
    if (!mailing || mailing.status !== 'sending') return result;
    const content = parseMailingContent(mailing.kind, mailing.content);
    const log = logger.child({ mailingId, kind: mailing.kind });
    const startedMs = clock.nowMs();
    const tried: string[] = [];
    let retryAfterSeconds: number | null = null;
    while (tried.length < BATCH && clock.nowMs() - startedMs < RUN_BUDGET_MS) {
      const now = clock.now();
      const r = await claimNextRecipient(database, {
        mailingId,
        kind: mailing.kind,
        now,
        leaseCutoff: new Date(now.getTime() - LEASE_MS),
        exclude: tried,
        onSkipped: () => result.skipped++,
      });
      if (!r) break;
      tried.push(r.userId);
      try {
        if (!SENDABLE_ADDRESS.test(r.email.trim())) throw new UnsendableError('the account has no usable email address');
        const message = render(mailing.kind, content, r.language, r.name, unsubscribeUrl(r.userId));
        await mailer.send({ to: r.email, ...message });
      } catch (err) {
        const permanent = isPermanentFailure(err);
        const final = permanent || r.attempts >= MAX_ATTEMPTS;
        const error = err instanceof Error ? err.message : String(err);
        await markRecipientFailed(database, { mailingId, userId: r.userId, claimedAt: r.claimedAt, error, final });
        log.warn({ userId: r.userId, attempt: r.attempts, final, err }, 'mailing: a message could not be sent');
        if (final) {
          result.failed++;
          continue;
        }
        // most likely the mail server: stop here and come back later rather than fail everyone
        retryAfterSeconds = Math.min(30 * 2 ** (r.attempts - 1), 3600);
        break;
      }
      if (await markRecipientSent(database, mailingId, r.userId, r.claimedAt, clock.now())) result.sent++;
    }
    const state = await pendingState(database, mailingId, LEASE_MS);
    result.pending = state.pending;
    if (state.pending === 0) {
      await finishMailing(database, mailingId, clock.now());
      log.info({ sent: result.sent, failed: result.failed, skipped: result.skipped }, 'mailing: every recipient done');
      return result;
    }
    const leaseWait = state.nextClaimAt ? Math.max(0, Math.ceil((state.nextClaimAt.getTime() - clock.nowMs()) / 1000)) : 0;
    const delay = Math.max(retryAfterSeconds ?? 0, leaseWait);
    await queue.enqueue(mailMailingSend, { mailingId }, delay > 0 ? { startAfterSeconds: delay } : {});
    log.info({ ...result, nextRunInSeconds: delay }, 'mailing: batch sent');
    return result;
  }

  return {
    async create(input, tx) {
      if (!(mailingKinds as readonly string[]).includes(input.kind))
        throw new AppError('invalid_mailing', `Unknown mailing kind ${JSON.stringify(input.kind)}.`, 400);
      const dedupeKey = dedupeKeySchema.safeParse(input.dedupeKey);
      if (!dedupeKey.success) throw new AppError('invalid_mailing', 'dedupeKey must be one line of 1 to 200 characters.', 400);
      const content = parseMailingContent(input.kind, input.content);
      const run = async (h: DbHandle) => {
        const m = await insertMailing(h, {
          kind: input.kind,
          dedupeKey: dedupeKey.data,
          content: content as unknown as Record<string, unknown>,
          createdBy: input.createdBy,
          now: clock.now(),
        });
        if (!m.created) return { id: m.id, recipients: await countRecipients(h, m.id), created: false };
        const recipients = await materialiseRecipients(h, m.id, input.kind);
        await queue.enqueue(mailMailingSend, { mailingId: m.id }, { tx: h });
        return { id: m.id, recipients, created: true };
      };
      const out = tx ? await run(tx) : await database.transaction(run);
      if (out.created) logger.info({ mailingId: out.id, kind: input.kind, dedupeKey: dedupeKey.data, recipients: out.recipients }, 'mailing created');
      return out;
    },

    preview(kind, content, language) {
      const parsed = parseMailingContent(kind, content);
      return render(kind, parsed, language, '', `${config.PUBLIC_URL}/api/unsubscribe/EXAMPLE-TOKEN`);
    },

    countRecipients: (kind) => countEligible(database, kind),

    send,

    status: (opts = {}) => listMailingSummaries(database, { limit: opts.limit ?? 20, idOrKey: opts.idOrKey }),

    async preferences(userId) {
      const row = await findOptIn(database, userId);
      if (!row) throw new AppError('not_found', 'That account was not found.', 404);
      return view(row);
    },

    async setPreferences(userId, prefs) {
      const row = await setOptIn(database, userId, prefs.productUpdates, clock.now());
      if (!row) throw new AppError('not_found', 'That account was not found.', 404);
      logger.info({ userId, productUpdates: prefs.productUpdates }, 'email preferences changed');
      return view(row);
    },

    unsubscribeUrl,

    async subscriptionByToken(token) {
      const row = await findOptIn(database, userOfToken(token));
      return { productUpdates: row?.marketingOptInAt != null };
    },

    async unsubscribe(token) {
      const userId = userOfToken(token);
      const changed = await optOut(database, userId, clock.now());
      if (changed) logger.info({ userId }, 'unsubscribed from product updates (one-click)');
      return { changed };
    },
  };
}

/**
 * A failure that another attempt will not fix: the mail server refused for good (a 5xx answer), or
 * the message could not be made (our rendering, an address that is not one). Anything else (the
 * connection, a temporary refusal, a full outbox disk) is worth another attempt.
 */
function isPermanentFailure(err: unknown): boolean {
  if (err instanceof UnsendableError) return true;
  if (!(err instanceof MailError)) return true;
  return (err.responseCode ?? 0) >= 500;
}

class UnsendableError extends Error {}

/** One address, as the mailers accept it (mailer.ts). */
const SENDABLE_ADDRESS = /^[^\s@<>,;]+@[^\s@<>,;]+$/;
