import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipArchive } from 'archiver';
import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import { isObjectNotFound, type ObjectStore } from '../../adapters/storage';
import type { DbHandle } from '../../db/client';
import { STORE_PREFIX } from '../media/ingest';
import { lastDecisionNotes } from '../moderation/cases.repo';
import {
  apiKeysPage,
  apiRequestsPage,
  countRecords,
  devicesPage,
  dismissedNotices,
  generationsPage,
  ledgerPage,
  mediaPage,
  moderationCasesPage,
  ordersPage,
  privacyRequestsPage,
  profileFacts,
  profilePhoto,
  sessionDeviceFacts,
  sessionsPage,
  struckCases,
  subscriptionsPage,
  webhookDeliveriesPage,
  webhookEndpointsPage,
  type Cursor,
  type GenerationRow,
  type MediaRow,
} from './export.repo';
import { renderReadme, type ArchiveCountKey } from './export.readme';
import { deviceFingerprint, type DeviceInfo } from '../auth/request-info';

/**
 * The ZIP of a user's data (privacy policy 5), written as a stream: JSON files built item by item
 * from keyset pages of a few hundred rows, media files streamed one at a time from the object
 * store, the ZIP itself streamed to `out` (zip64 once it passes 4 GB). Nothing holds the archive
 * or a media file in memory; the one thing that grows with the account is the list of creation
 * and reference ids whose files made it into the archive (about 100 bytes each), so that the JSON
 * names exactly the files the archive holds.
 *
 * Layout: README.txt, profile.json, sessions.json, devices.json, generations.json,
 * references.json, orders.json, subscriptions.json, ledger.json, api-keys.json,
 * api-requests.json, webhook-endpoints.json, webhook-deliveries.json, consent.json,
 * moderation.json, privacy-requests.json, media/creations/<id>.mp4 and <id>-poster.jpg,
 * media/references/<id>.<ext>, media/profile-photo.<ext>. No secret (password hash, session
 * token, OAuth token, API key hash, webhook secret) and nothing of another person is read.
 */

export interface ArchiveDeps {
  database: DbHandle;
  store: ObjectStore;
  clock: Pick<Clock, 'now'>;
  logger: Logger;
}

export interface ArchiveOptions {
  /** aborts the archive (the lease was lost, the process is stopping) */
  signal?: AbortSignal;
  /** items written so far of the total (records and files) */
  onProgress?: (done: number, total: number) => void;
}

export interface ArchiveResult {
  /** records and files per kind, as the README states them */
  contents: Record<ArchiveCountKey, number>;
  /** bytes of the ZIP */
  bytes: number;
  /** when the copy was made */
  madeAt: Date;
}

const PAGE = 500;
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const extOf = (key: string, fallback: string) => /\.([a-z0-9]{1,5})$/.exec(key)?.[1] ?? fallback;
const storeKey = (location: string | null) => (location?.startsWith(STORE_PREFIX) ? location.slice(STORE_PREFIX.length) : null);

/** Every page of a keyset read. */
async function* pages<T, C>(fetch: (after: C | null) => Promise<{ rows: T[]; next: C | null }>, signal?: AbortSignal): AsyncGenerator<T[]> {
  let after: C | null = null;
  do {
    signal?.throwIfAborted();
    const page: { rows: T[]; next: C | null } = await fetch(after);
    yield page.rows;
    after = page.next;
  } while (after !== null);
}

export async function writeExportArchive(deps: ArchiveDeps, userId: string, out: Writable, opts: ArchiveOptions = {}): Promise<ArchiveResult> {
  const { database: db, store, logger } = deps;
  const { signal } = opts;
  const madeAt = deps.clock.now();
  const facts = await profileFacts(db, userId);
  if (!facts) throw new Error(`no user ${userId}`);
  const totals = await countRecords(db, userId);
  const total = Object.entries(totals).reduce((sum, [kind, n]) => sum + (kind === 'creation_files' ? n * 2 : n), 0) + 2;
  let done = 0;
  const progressed = (n = 1) => {
    done += n;
    opts.onProgress?.(done, Math.max(total, done));
  };

  const contents: Record<ArchiveCountKey, number> = {
    profile: 1,
    sessions: 0,
    devices: 0,
    generations: 0,
    references: 0,
    orders: 0,
    subscriptions: 0,
    ledger: 0,
    apiKeys: 0,
    apiRequests: 0,
    webhookEndpoints: 0,
    webhookDeliveries: 0,
    consent: 1,
    moderation: 0,
    privacyRequests: 0,
    creationFiles: 0,
    referenceFiles: 0,
    profilePhoto: 0,
  };

  // ---- the ZIP stream: entries are added one at a time, each once the previous one is written
  const zip = new ZipArchive({ zlib: { level: 6 } });
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  // the entry being written: settled when the zip has taken it in, or when the archive fails
  let pending: { resolve: () => void; reject: (err: Error) => void } | null = null;
  let failure: Error | null = null;
  zip.on('entry', () => {
    const p = pending;
    pending = null;
    p?.resolve();
  });
  zip.on('warning', (err) => logger.warn({ err }, 'export: archive warning'));
  const written = pipeline(zip, meter, out);
  // a failure anywhere (a source, the zip, the destination) ends the archive
  written.catch((err: unknown) => {
    failure = err instanceof Error ? err : new Error(String(err));
    const p = pending;
    pending = null;
    p?.reject(failure);
  });
  const onAbort = () => meter.destroy(signal?.reason instanceof Error ? signal.reason : new Error('the export was stopped'));
  signal?.addEventListener('abort', onAbort, { once: true });

  function add(name: string, source: Readable | Buffer, options: { date?: Date; store?: boolean } = {}): Promise<void> {
    signal?.throwIfAborted();
    if (failure) return Promise.reject(failure);
    return new Promise<void>((resolve, reject) => {
      pending = { resolve, reject };
      zip.append(source, { name, date: options.date ?? madeAt, store: options.store ?? false });
    });
  }

  /** A JSON array written item by item from pages of rows. */
  function jsonArray<T>(rows: AsyncIterable<T[]>, map: (row: T) => unknown, count: ArchiveCountKey): Readable {
    async function* lines(): AsyncGenerator<Buffer> {
      yield Buffer.from('[');
      let first = true;
      for await (const page of rows) {
        let chunk = '';
        for (const row of page) {
          chunk += `${first ? '\n' : ',\n'}  ${JSON.stringify(await map(row))}`;
          first = false;
          contents[count] += 1;
        }
        if (chunk) yield Buffer.from(chunk);
        progressed(page.length);
      }
      yield Buffer.from(first ? ']\n' : '\n]\n');
    }
    return Readable.from(lines(), { objectMode: false });
  }

  /** A stored object, streamed into the archive; false when it is gone (deleted meanwhile). */
  async function addObject(name: string, key: string, date: Date): Promise<boolean> {
    signal?.throwIfAborted();
    let body: Readable;
    try {
      body = (await store.get(key)).body;
    } catch (err) {
      if (isObjectNotFound(err)) {
        logger.warn({ userId, key }, 'export: a stored file is missing; left out');
        return false;
      }
      throw err;
    }
    try {
      await add(name, body, { date, store: true });
    } catch (err) {
      body.destroy(); // not read to the end: release its file or connection
      throw err;
    }
    return true;
  }

  try {
    // ---- profile and photo
    const u = facts.user;
    const photo = facts.photo ? await profilePhoto(db, userId) : null;
    const photoName = photo ? `media/profile-photo.${photo.contentType.split('/')[1]?.replace(/[^a-z0-9]/g, '') || 'img'}` : null;
    const profile = {
      id: u.id,
      email: u.email,
      emailVerified: u.emailVerified,
      name: u.name,
      photo: photoName,
      photoUrl: u.image,
      region: u.region,
      language: u.language,
      role: u.role,
      status: u.status,
      statusReason: u.statusReason,
      signInMethods: facts.signInMethods.map((m) => (m === 'credential' ? 'email-and-password' : m)),
      credits: { balance: facts.balance, held: facts.held },
      referralCode: u.referralCode,
      referredWithCode: facts.referredWithCode,
      peopleReferred: facts.referredCount,
      signupDeviceType: u.signupDeviceType,
      signupUserAgent: u.signupUserAgent,
      createdAt: iso(u.createdAt),
      updatedAt: iso(u.updatedAt),
      lastSignInAt: iso(u.lastSignInAt),
    };
    await add('profile.json', Buffer.from(`${JSON.stringify(profile, null, 2)}\n`));
    progressed();
    if (photo && photoName) {
      await add(photoName, photo.content, { store: true });
      contents.profilePhoto = 1;
    }

    // ---- sign-in sessions and devices (never a session token)
    await add(
      'sessions.json',
      jsonArray(
        pages((after: Cursor | null) => sessionsPage(db, userId, after, PAGE), signal),
        (r) => {
          return {
            id: r.id,
            deviceType: r.deviceType,
            browser: r.browser,
            os: r.os,
            region: r.region,
            ipAddress: r.ipAddress,
            userAgent: r.userAgent,
            createdAt: iso(r.createdAt),
            lastSeenAt: iso(r.lastSeenAt),
            expiresAt: iso(r.expiresAt),
          };
        },
        'sessions',
      ),
    );
    // name each device by the session facts it was made from (the fingerprint is a hash of them)
    const known = new Map(
      (await sessionDeviceFacts(db, userId)).map((f) => [
        deviceFingerprint({ deviceType: (f.deviceType ?? 'other') as DeviceInfo['deviceType'], browser: f.browser, os: f.os }),
        f,
      ]),
    );
    await add(
      'devices.json',
      jsonArray(
        pages((after: Cursor | null) => devicesPage(db, userId, after, PAGE), signal),
        (d) => {
          const f = known.get(d.fingerprint);
          return {
            deviceId: d.fingerprint,
            deviceType: f?.deviceType ?? null,
            browser: f?.browser ?? null,
            os: f?.os ?? null,
            firstSeenAt: iso(d.firstSeenAt),
            lastSeenAt: iso(d.lastSeenAt),
          };
        },
        'devices',
      ),
    );

    // ---- money and credits
    await add(
      'orders.json',
      jsonArray(
        pages((after: Cursor | null) => ordersPage(db, userId, after, PAGE), signal),
        (o) => ({
          id: o.id,
          receiptNumber: o.receiptNumber,
          status: o.status,
          kind: o.kind,
          planId: o.planId,
          planName: o.planName,
          credits: o.credits,
          amountMinor: o.amountMinor,
          currency: o.currency,
          paidMinor: o.paidMinor,
          refundedMinor: o.refundedMinor,
          creditsGranted: o.creditsGranted,
          creditsTakenBack: o.creditsClawedBack,
          provider: o.provider,
          providerPaymentRef: o.paymentRef,
          providerInvoiceRef: o.invoiceRef,
          subscriptionId: o.subscriptionId,
          checkoutEmail: o.checkoutEmail,
          periodStart: iso(o.periodStart),
          periodEnd: iso(o.periodEnd),
          createdAt: iso(o.createdAt),
          paidAt: iso(o.paidAt),
          updatedAt: iso(o.updatedAt),
        }),
        'orders',
      ),
    );
    await add(
      'subscriptions.json',
      jsonArray(
        pages((after: Cursor | null) => subscriptionsPage(db, userId, after, PAGE), signal),
        (s) => ({
          id: s.id,
          planId: s.planId,
          provider: s.provider,
          providerRef: s.providerRef,
          status: s.status,
          currentPeriodStart: iso(s.currentPeriodStart),
          currentPeriodEnd: iso(s.currentPeriodEnd),
          cancelAtPeriodEnd: s.cancelAtPeriodEnd,
          createdAt: iso(s.createdAt),
          updatedAt: iso(s.updatedAt),
        }),
        'subscriptions',
      ),
    );
    await add(
      'ledger.json',
      jsonArray(
        pages((after: number | null) => ledgerPage(db, userId, after, PAGE), signal),
        (l) => ({
          id: String(l.id),
          kind: l.kind,
          amount: l.amount,
          heldChange: l.heldDelta,
          balanceAfter: l.balanceAfter,
          reason: l.reason,
          reference: l.reference,
          createdAt: iso(l.createdAt),
        }),
        'ledger',
      ),
    );

    // ---- developer: keys (never the secret or its hash), request log, webhooks (never the signing secret)
    await add(
      'api-keys.json',
      jsonArray(
        pages((after: Cursor | null) => apiKeysPage(db, userId, after, PAGE), signal),
        (k) => ({
          id: k.id,
          name: k.name,
          prefix: k.prefix,
          scopes: k.scopes,
          createdAt: iso(k.createdAt),
          lastUsedAt: iso(k.lastUsedAt),
          expiresAt: iso(k.expiresAt),
          revokedAt: iso(k.revokedAt),
        }),
        'apiKeys',
      ),
    );
    await add(
      'api-requests.json',
      jsonArray(
        pages((after: number | null) => apiRequestsPage(db, userId, after, PAGE), signal),
        (r) => ({
          id: String(r.id),
          keyId: r.keyId,
          method: r.method,
          endpoint: r.endpoint,
          status: r.status,
          bytesIn: r.bytesIn,
          bytesOut: r.bytesOut,
          latencyMs: r.latencyMs,
          requestId: r.requestId,
          createdAt: iso(r.createdAt),
        }),
        'apiRequests',
      ),
    );
    await add(
      'webhook-endpoints.json',
      jsonArray(
        pages((after: Cursor | null) => webhookEndpointsPage(db, userId, after, PAGE), signal),
        (w) => ({
          id: w.id,
          url: w.url,
          description: w.description,
          events: w.events,
          enabled: w.enabled,
          createdAt: iso(w.createdAt),
          updatedAt: iso(w.updatedAt),
        }),
        'webhookEndpoints',
      ),
    );
    await add(
      'webhook-deliveries.json',
      jsonArray(
        pages((after: Cursor | null) => webhookDeliveriesPage(db, userId, after, PAGE), signal),
        (d) => ({
          id: d.id,
          endpointId: d.endpointId,
          eventType: d.eventType,
          payload: d.payload,
          status: d.status,
          attempts: d.attempts,
          lastStatus: d.lastStatus,
          lastError: d.lastError,
          createdAt: iso(d.createdAt),
          deliveredAt: iso(d.deliveredAt),
        }),
        'webhookDeliveries',
      ),
    );

    // ---- choices, moderation decisions, privacy requests
    const dismissed = await dismissedNotices(db, userId);
    const consent = {
      language: u.language,
      region: u.region,
      minimumAgeConfirmed: u.ageConfirmedMinimum,
      productUpdateEmails: { optedIn: u.marketingOptInAt !== null, since: iso(u.marketingOptInAt) },
      policyNoticesDismissed: dismissed.map((d) => ({ document: d.document, version: d.version, dismissedAt: iso(d.dismissedAt) })),
    };
    await add('consent.json', Buffer.from(`${JSON.stringify(consent, null, 2)}\n`));
    progressed();

    /** the reason a user is told: for removals and suspensions (what the decision notice says) */
    const toldReason = new Set(['removed', 'removed_strike', 'suspended']);
    async function* casePages(): AsyncGenerator<
      { row: Awaited<ReturnType<typeof moderationCasesPage>>['rows'][number]; reason: string | null; strike: boolean }[]
    > {
      for await (const rows of pages((after: Cursor | null) => moderationCasesPage(db, userId, after, PAGE), signal)) {
        const ids = rows.map((c) => c.id);
        const [notes, strikes] = await Promise.all([lastDecisionNotes(db, ids), struckCases(db, userId, ids)]);
        yield rows.map((row) => ({
          row,
          reason: row.outcome && toldReason.has(row.outcome) ? (notes.get(row.id) ?? null) : null,
          strike: strikes.has(row.id),
        }));
      }
    }
    await add(
      'moderation.json',
      jsonArray(
        casePages(),
        ({ row: c, reason, strike }) => ({
          id: c.id,
          about: c.subject,
          generationId: c.generationId,
          referenceId: c.mediaId,
          category: c.topCategory,
          decision: c.outcome,
          reason,
          strike,
          status: c.status,
          openedAt: iso(c.openedAt),
          decidedAt: iso(c.closedAt),
          appeal: c.appealedAt ? { appealedAt: iso(c.appealedAt), text: c.appealText, answered: c.appealAnswered } : null,
        }),
        'moderation',
      ),
    );
    await add(
      'privacy-requests.json',
      jsonArray(
        pages((after: Cursor | null) => privacyRequestsPage(db, userId, after, PAGE), signal),
        (p) => ({
          id: p.id,
          kind: p.kind,
          status: p.status,
          email: p.email,
          name: p.name,
          message: p.message,
          language: p.language,
          createdAt: iso(p.createdAt),
          dueAt: iso(p.dueAt),
          closedAt: iso(p.closedAt),
        }),
        'privacyRequests',
      ),
    );

    // ---- creations: the files first, then the JSON naming exactly the files that made it in
    const creationFiles = new Map<string, { video: string | null; poster: string | null }>();
    for await (const rows of pages((after: Cursor | null) => generationsPage(db, userId, after, PAGE), signal)) {
      for (const g of rows) {
        const videoKey = g.status === 'succeeded' ? storeKey(g.outputUrl) : null;
        if (!videoKey) continue;
        const files = { video: null as string | null, poster: null as string | null };
        const video = `media/creations/${g.id}.${extOf(videoKey, 'mp4')}`;
        if (await addObject(video, videoKey, g.finishedAt ?? g.createdAt)) files.video = video;
        progressed();
        const posterKey = storeKey(g.outputThumbnailUrl);
        if (posterKey) {
          const poster = `media/creations/${g.id}-poster.${extOf(posterKey, 'jpg')}`;
          if (await addObject(poster, posterKey, g.finishedAt ?? g.createdAt)) files.poster = poster;
        }
        progressed();
        contents.creationFiles += (files.video ? 1 : 0) + (files.poster ? 1 : 0);
        if (files.video || files.poster) creationFiles.set(g.id, files);
      }
    }
    await add(
      'generations.json',
      jsonArray(
        pages((after: Cursor | null) => generationsPage(db, userId, after, PAGE), signal),
        (g: GenerationRow) => ({
          id: g.id,
          status: g.status,
          model: g.modelId,
          mode: g.mode,
          prompt: g.prompt,
          negativePrompt: g.negativePrompt,
          durationSeconds: g.durationSeconds,
          resolution: g.resolution,
          aspectRatio: g.aspectRatio,
          audio: g.audio,
          seed: g.seed,
          references: g.references,
          credits: g.priceCredits,
          refunded: g.refunded,
          failureCode: g.failureCode,
          failureMessage: g.failureMessage,
          provider: g.provider,
          source: g.source,
          apiKeyId: g.apiKeyId,
          remixedFrom: g.remixedFrom,
          output:
            g.status === 'succeeded'
              ? {
                  contentType: g.outputContentType,
                  durationSeconds: g.outputDurationSeconds,
                  width: g.outputWidth,
                  height: g.outputHeight,
                  codec: g.outputCodec,
                  sizeBytes: g.outputSizeBytes,
                  sha256: g.outputSha256,
                }
              : null,
          files: creationFiles.get(g.id) ?? null,
          createdAt: iso(g.createdAt),
          startedAt: iso(g.startedAt),
          finishedAt: iso(g.finishedAt),
        }),
        'generations',
      ),
    );
    creationFiles.clear();

    // ---- references: the files, then their JSON
    const referenceFiles = new Map<string, string>();
    for await (const rows of pages((after: Cursor | null) => mediaPage(db, userId, after, PAGE), signal)) {
      for (const m of rows) {
        const name = `media/references/${m.id}.${extOf(m.storageKey, 'bin')}`;
        if (await addObject(name, m.storageKey, m.createdAt)) {
          referenceFiles.set(m.id, name);
          contents.referenceFiles += 1;
        }
      }
    }
    await add(
      'references.json',
      jsonArray(
        pages((after: Cursor | null) => mediaPage(db, userId, after, PAGE), signal),
        (m: MediaRow) => ({
          id: m.id,
          kind: m.kind,
          source: m.source,
          name: m.name,
          contentType: m.contentType,
          sizeBytes: m.sizeBytes,
          sha256: m.sha256,
          width: m.width,
          height: m.height,
          durationSeconds: m.durationSeconds,
          file: referenceFiles.get(m.id) ?? null,
          createdAt: iso(m.createdAt),
        }),
        'references',
      ),
    );
    referenceFiles.clear();

    // ---- the README, with the counts
    await add('README.txt', Buffer.from(renderReadme(u.language, { email: u.email, madeAt, contents }), 'utf8'));
    progressed();
    signal?.throwIfAborted();
    // finalize() resolves once the central directory is written; `written` once the destination has it all
    await Promise.all([zip.finalize(), written]);
    return { contents, bytes, madeAt };
  } catch (err) {
    // stop every stream; the destination sees the error and keeps nothing
    zip.abort();
    meter.destroy(err instanceof Error ? err : new Error(String(err)));
    await written.catch(() => {});
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
