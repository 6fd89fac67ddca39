import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import type { CreatedApiKey, GenerationView, MediaView } from '../../../src/shared/api';
import type { ExportList, ExportView } from '../../../src/shared/api/exports';
import { isObjectNotFound } from '../../../src/server/adapters/storage';
import { runCommand } from '../../../src/server/cli/commands';
import { privacyExportBuild, privacyExportMail } from '../../../src/server/jobs/names';
import { closeAll } from '../../helpers/close';
import { TestClient, PHONE_UA } from '../../helpers/client';
import { seedGeneration } from '../../helpers/seed';
import { jobsDone, until } from '../../helpers/wait';
import { startFakeSmtp, type FakeSmtp } from '../../fakes/smtp';
import { linkIn } from '../accounts/setup';
import { startGenerationsApp, waitFinal, type GenerationsApp } from '../generations/setup';

/**
 * Data exports (privacy policy 5, issue 17): a ZIP of everything an account holds, built by a job,
 * delivered by a mailed link that expires. One app for the whole file; each test has its own users.
 */

let smtp: FakeSmtp;
let g: GenerationsApp;
beforeAll(async () => {
  smtp = await startFakeSmtp();
  g = await startGenerationsApp({
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Save Sora <no-reply@savesora.test>',
    WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9',
    SUPPORT_EMAIL: 'help@savesora.test',
    // the clients' X-Forwarded-For is the address sessions record
    TRUST_PROXY: 'true',
  });
}, 120_000);
afterAll(() => closeAll(g, smtp));

const ctx = () => g.app.platform.ctx;
const q = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => g.app.db.sql.query<T>(text, params);
const PNG = (color: string) =>
  sharp({ create: { width: 48, height: 32, channels: 3, background: color } })
    .png()
    .toBuffer();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const iso = (d: unknown) => (d === null || d === undefined ? null : new Date(d as string).toISOString());

// ---------------------------------------------------------------------------------------------
// reading a ZIP

interface Zip {
  names: string[];
  files: Map<string, Buffer>;
  json<T = any>(name: string): T; // eslint-disable-line @typescript-eslint/no-unnecessary-type-parameters
  text(name: string): string;
}

/** Open a ZIP (central directory and every local entry), check each entry's CRC-32 and size, return the contents. */
async function openZip(bytes: Buffer): Promise<Zip> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true });
  const files = new Map<string, Buffer>();
  const names: string[] = [];
  for await (const entry of zip.eachEntry()) {
    const stream = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const data = Buffer.concat(chunks);
    expect(data.length, entry.fileName).toBe(entry.uncompressedSize);
    expect(zlib.crc32(data) >>> 0, `${entry.fileName} crc`).toBe(entry.crc32 >>> 0);
    names.push(entry.fileName);
    files.set(entry.fileName, data);
  }
  zip.close();
  return {
    names,
    files,
    json: (name) => {
      const f = files.get(name);
      if (!f) throw new Error(`${name} is not in the archive (${names.join(', ')})`);
      return JSON.parse(f.toString('utf8'));
    },
    text: (name) => files.get(name)?.toString('utf8') ?? '',
  };
}

async function waitExport(c: TestClient, id: string, status: ExportView['status'] = 'ready'): Promise<ExportView> {
  let last: ExportView | undefined;
  return until(
    async () => {
      last = (await c.get('/api/me/exports')).json<ExportList>().items.find((e) => e.id === id);
      return last?.status === status && last;
    },
    { app: g.app, timeoutMs: 60_000, what: () => `export ${id} to be ${status} (now ${last?.status ?? 'unseen'})` },
  );
}

/** Follow a download route's redirect to the stored file and read it. */
async function downloadVia(c: TestClient | null, route: string): Promise<{ bytes: Buffer; disposition: string | null; location: string }> {
  const res = c ? await c.get(route) : await new TestClient(g.app.url).get(route);
  expect(res.status, res.body).toBe(302);
  expect(res.headers.get('cache-control')).toMatch(/no-store/);
  const location = res.headers.get('location')!;
  expect(location.startsWith(`${g.app.url}/files/exports/`)).toBe(true);
  const file = await fetch(location);
  expect(file.status).toBe(200);
  expect(file.headers.get('content-type')).toBe('application/zip');
  return { bytes: Buffer.from(await file.arrayBuffer()), disposition: file.headers.get('content-disposition'), location };
}

const exists = (key: string) =>
  ctx()
    .store.head(key)
    .then(
      () => true,
      (err: unknown) => {
        if (isObjectNotFound(err)) return false;
        throw err;
      },
    );

// ---------------------------------------------------------------------------------------------
// a seeded account

/** A second person, whose data must never appear in the first one's export. */
async function otherPerson(email: string) {
  const b = await g.user(email, 5);
  const gen = await seedGeneration(g.app.db, b.userId, { prompt: `OTHER-PERSON-PROMPT-${randomUUID()}` });
  const ref = (await b.upload('/api/uploads', { data: await PNG('#aa0000'), name: 'other-secret-name.png', type: 'image/png' })).json<MediaView>();
  const key = (await b.post('/api/keys', { name: 'other key' })).json<CreatedApiKey>();
  const [session] = await q<{ id: string; token: string }>('select id, token from sessions where user_id = $1', [b.userId]);
  const [row] = await q<{ referral_code: string }>('select referral_code from users where id = $1', [b.userId]);
  return { client: b, email, userId: b.userId, gen, ref, key, session: session!, referralCode: row!.referral_code };
}

/** An account with a record of every kind, some of each kind that must be left out, and the secrets it holds. */
async function seededAccount(tag: string) {
  const other = await otherPerson(`${tag}-other@example.com`);
  const email = `${tag}@example.com`;
  const a = await g.user(email, 40);
  // a second session, from a phone
  const phone = new TestClient(g.app.url, { ip: '192.0.2.77', userAgent: PHONE_UA });
  expect((await phone.post('/api/auth/sign-in/email', { email, password: 'a fine password 1' })).status).toBe(200);
  expect((await a.patch('/api/me', { name: 'Ada Exportista', region: 'ES', language: 'es' })).status).toBe(200);
  expect((await a.put('/api/me/photo', new Uint8Array(await PNG('#3366ff')), { 'content-type': 'image/png' })).status).toBe(200);

  // creations: one real video, one failed request, one deleted
  const made = (
    await a.post('/api/generations', { model: 'local-preview', prompt: 'a lighthouse at dusk', duration: 2, resolution: '480p' })
  ).json<GenerationView>();
  expect((await waitFinal(a, made.id)).status).toBe('succeeded');
  const failed = await seedGeneration(g.app.db, a.userId, { prompt: 'a failed attempt', negativePrompt: 'no rain' });
  await q(
    `update generations set status = 'failed', failure_code = 'provider_error', failure_message = 'The provider failed.', failure_detail = 'OPERATOR-ONLY-DETAIL' where id = $1`,
    [failed.id],
  );
  const deleted = await seedGeneration(g.app.db, a.userId, { prompt: 'DELETED-PROMPT' });
  await q('update generations set deleted_at = now() where id = $1', [deleted.id]);

  // references: one kept, one deleted
  const ref = (await a.upload('/api/uploads', { data: await PNG('#00aa66'), name: 'my reference.png', type: 'image/png' })).json<MediaView>();
  const gone = (await a.upload('/api/uploads', { data: await PNG('#101010'), name: 'DELETED-REFERENCE.png', type: 'image/png' })).json<MediaView>();
  expect((await a.delete(`/api/uploads/${gone.id}`)).status).toBe(204);

  // money: an order with a receipt, a subscription (the ledger already has the grant, hold and capture)
  const orderId = randomUUID();
  await q(
    `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider, payment_ref, status, paid_minor,
                         credits_granted, checkout_email, receipt_number, paid_at)
     values ($1, $2, 'starter', 'Starter', 'pack', 100, 1000, 'usd', 'stripe', 'pi_test_123', 'paid', 1000, 100, $3, $4, now())`,
    [orderId, a.userId, email, `SS-2026-${orderId.slice(0, 6)}`],
  );
  const subscriptionId = randomUUID();
  await q(`insert into subscriptions (id, user_id, plan_id, provider, provider_ref, status) values ($1, $2, 'creator-monthly', 'stripe', $3, 'active')`, [
    subscriptionId,
    a.userId,
    `sub_${subscriptionId.slice(0, 8)}`,
  ]);

  // developer: a key (used once), a webhook endpoint and a delivery to it
  const key = (await a.post('/api/keys', { name: 'my server' })).json<CreatedApiKey>();
  expect((await fetch(`${g.app.url}/v1/videos`, { headers: { authorization: `Bearer ${key.secret}` } })).status).toBe(200);
  const hook = await a.post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/hook', description: 'my hook', events: ['video.failed'] });
  expect(hook.status, hook.body).toBe(201);
  const endpoint = hook.json<{ id: string; secret: string }>();
  const deliveryId = `msg_${randomUUID().replace(/-/g, '')}`;
  await q(
    `insert into webhook_deliveries (id, endpoint_id, user_id, event_type, payload, status, attempts, last_status, created_at)
     values ($1, $2, $3, 'video.failed', $4::jsonb, 'failed', 3, 500, now())`,
    [deliveryId, endpoint.id, a.userId, JSON.stringify({ type: 'video.failed', timestamp: new Date().toISOString(), data: { id: failed.id } })],
  );

  // Google sign-in with its tokens; consent: product updates, a dismissed policy notice
  await q(
    `insert into accounts (user_id, provider_id, account_id, access_token, refresh_token, id_token, scope)
     values ($1, 'google', $2, 'ya29.GOOGLE-ACCESS-SECRET', '1//GOOGLE-REFRESH-SECRET', 'eyJ.GOOGLE-ID-TOKEN-SECRET', 'openid email')`,
    [a.userId, `google-sub-${tag}`],
  );
  await q("update users set marketing_opt_in_at = now() - interval '3 days' where id = $1", [a.userId]);
  await q(`insert into policy_notice_dismissals (user_id, document, version, dismissed_at) values ($1, 'privacy', '2026-12-07', now())`, [a.userId]);

  // referrals: the account signed up with the other person's code, and one person signed up with this account's code
  const invited = await g.user(`${tag}-invited@example.com`, 0);
  const [mine] = await q<{ referral_code: string }>('select referral_code from users where id = $1', [a.userId]);
  await q('insert into referrals (referred_user_id, referrer_user_id, code) values ($1, $2, $3)', [a.userId, other.userId, other.referralCode]);
  await q('insert into referrals (referred_user_id, referrer_user_id, code) values ($1, $2, $3)', [invited.userId, a.userId, mine!.referral_code]);

  // moderation: a removal with a strike and an appeal (told reason), an allowed report (reporter and internal note kept back),
  // a CyberTipline escalation and an undecided review (both left out)
  const caseRow = async (over: Record<string, unknown>) => {
    const id = randomUUID();
    const c = { subject: 'output', status: 'closed', outcome: null, top_category: null, appealed_at: null, appeal_text: null, generation_id: null, ...over };
    await q(
      `insert into moderation_cases (id, user_id, subject, generation_id, status, severity, top_category, action, outcome, appealed_at, appeal_text, opened_at, updated_at, closed_at)
       values ($1, $2, $3, $4, $5, 0.9, $6, 'flag', $7, $8, $9, now() - interval '2 days', now(), case when $5 = 'closed' then now() - interval '1 day' end)`,
      [id, a.userId, c.subject, c.generation_id, c.status, c.top_category, c.outcome, c.appealed_at, c.appeal_text],
    );
    return id;
  };
  const event = (caseId: string, kind: string, over: { actorId?: string | null; note?: string; action?: string; details?: object }) =>
    q(`insert into moderation_events (case_id, kind, action, actor_id, note, details, created_at) values ($1, $2, $3, $4, $5, $6::jsonb, now())`, [
      caseId,
      kind,
      over.action ?? null,
      over.actorId ?? null,
      over.note ?? null,
      over.details ? JSON.stringify(over.details) : null,
    ]);
  const removed = await caseRow({
    generation_id: made.id,
    outcome: 'removed_strike',
    top_category: 'violence',
    appealed_at: new Date(),
    appeal_text: 'It was a film scene, please look again.',
  });
  await event(removed, 'decision', { action: 'remove_strike', actorId: other.userId, note: 'Graphic violence in the video.' });
  await q(`insert into moderation_strikes (id, user_id, case_id, created_by, created_at) values ($1, $2, $3, $4, now())`, [
    randomUUID(),
    a.userId,
    removed,
    other.userId,
  ]);
  await q(`insert into moderation_evidence (id, case_id, input, text, created_at) values ($1, $2, 'prompt', 'EVIDENCE-TEXT-SECRET', now())`, [
    randomUUID(),
    removed,
  ]);
  const allowed = await caseRow({ subject: 'report', outcome: 'allowed', top_category: 'hate' });
  await event(allowed, 'report', { actorId: other.userId, note: 'REPORTER-WORDS', details: { reporterEmail: 'REPORTER@example.com' } });
  await event(allowed, 'decision', { action: 'allow', actorId: other.userId, note: 'INTERNAL-MODERATOR-NOTE' });
  const csam = await caseRow({ outcome: 'csam_reported', top_category: 'sexual/minors' });
  await event(csam, 'decision', { action: 'escalate_csam', note: 'ESCALATION-NOTE' });
  const escalated = await caseRow({ outcome: 'removed', top_category: 'sexual/minors' });
  await q(
    `insert into ncmec_reports (id, case_id, status, environment, payload, created_at, updated_at) values ($1, $2, 'queued', 'test', '{"note":"NCMEC-PAYLOAD"}'::jsonb, now(), now())`,
    [randomUUID(), escalated],
  );
  const undecided = await caseRow({ status: 'open', top_category: 'sexual' });

  // privacy requests: the account's own, and a report about it by someone else (left out)
  const requestId = randomUUID();
  await q(
    `insert into privacy_requests (id, kind, email, name, user_id, message, language, created_at, due_at)
     values ($1, 'access', $2, 'Ada', $3, 'What do you hold about me?', 'es', now(), now() + interval '30 days')`,
    [requestId, email, a.userId],
  );
  await q(
    `insert into privacy_requests (id, kind, email, subject_email, subject_user_id, message, created_at, due_at)
     values ($1, 'child', 'CHILD-REPORTER@example.com', $2, $3, 'CHILD-REPORT-MESSAGE', now(), now() + interval '30 days')`,
    [randomUUID(), email, a.userId],
  );

  const [secrets] = await q<{ password: string }>(`select password from accounts where user_id = $1 and provider_id = 'credential'`, [a.userId]);
  const [keyRow] = await q<{ secret_hash: string }>('select secret_hash from api_keys where id = $1', [key.id]);
  const [hookRow] = await q<{ secret_encrypted: string }>('select secret_encrypted from webhook_endpoints where id = $1', [endpoint.id]);
  const tokens = (await q<{ token: string }>('select token from sessions where user_id = $1', [a.userId])).map((r) => r.token);
  return {
    client: a,
    email,
    userId: a.userId,
    other,
    invited,
    ids: { made: made.id, failed: failed.id, deleted: deleted.id, ref: ref.id, gone: gone.id, orderId, subscriptionId, deliveryId, requestId },
    cases: { removed, allowed, csam, escalated, undecided },
    key,
    endpoint,
    secrets: [
      secrets!.password,
      'a fine password 1',
      keyRow!.secret_hash,
      key.secret,
      endpoint.secret,
      hookRow!.secret_encrypted,
      'GOOGLE-ACCESS-SECRET',
      'GOOGLE-REFRESH-SECRET',
      'GOOGLE-ID-TOKEN-SECRET',
      ctx().config.SESSION_SECRET,
      ...tokens,
      ...tokens.map((t) => t.replace(/^sha256:/, '')),
    ],
    notMine: [
      other.userId,
      other.email,
      other.gen.id,
      other.gen.prompt,
      other.ref.id,
      'other-secret-name',
      other.key.id,
      other.key.prefix,
      other.session.id,
      invited.userId,
      `${tag}-invited@example.com`,
      'REPORTER',
      'REPORTER-WORDS',
      'INTERNAL-MODERATOR-NOTE',
      'EVIDENCE-TEXT-SECRET',
      'ESCALATION-NOTE',
      'NCMEC-PAYLOAD',
      'CHILD-REPORTER',
      'CHILD-REPORT-MESSAGE',
      'OPERATOR-ONLY-DETAIL',
      'DELETED-PROMPT',
      'DELETED-REFERENCE',
      csam,
      escalated,
      undecided,
      deleted.id,
      gone.id,
    ],
  };
}

// ---------------------------------------------------------------------------------------------

describe('data export: the archive', () => {
  it('holds every kind of record, matching the database, as a valid ZIP with no secret and nothing of another person', async () => {
    const s = await seededAccount('exporter');
    const a = s.client;
    const res = await a.post('/api/me/exports');
    expect(res.status, res.body).toBe(202);
    const asked = res.json<ExportView>();
    expect(asked).toMatchObject({ status: 'queued', byOperator: false, downloadable: false, expiresAt: null });

    const ready = await waitExport(a, asked.id);
    expect(ready.downloadable).toBe(true);
    const [row] = await q<{ finished_at: Date; expires_at: Date; storage_key: string; size_bytes: string }>('select * from data_exports where id = $1', [
      asked.id,
    ]);
    // the link works EXPORT_LINK_DAYS (7) days from when it was finished
    expect(new Date(row!.expires_at).getTime() - new Date(row!.finished_at).getTime()).toBe(7 * 86_400_000);
    expect(ready.expiresAt).toBe(iso(row!.expires_at));

    // the mail, in the account's language, with our own link (no session needed)
    const mail = await smtp.waitFor((m) => m.to.includes(s.email) && /exportación/i.test(m.subject), 20_000);
    expect(mail.subject).toBe('Tu exportación de datos de Save Sora está lista');
    expect(mail.text).toContain('help@savesora.test');
    const link = linkIn(mail.text, `${g.app.url}/api/exports/${asked.id}/download?token=`);
    const viaMail = await downloadVia(null, link.replace(g.app.url, ''));
    const day = new Date(row!.finished_at).toISOString().slice(0, 10);
    expect(viaMail.disposition).toBe(`attachment; filename="savesora-export-${day}.zip"`);
    // the signed-in route answers the same file
    const viaSession = await downloadVia(a, `/api/me/exports/${asked.id}/download`);
    expect(sha256(viaSession.bytes)).toBe(sha256(viaMail.bytes));
    expect(viaMail.bytes.length).toBe(Number(row!.size_bytes));
    expect(ready.sizeBytes).toBe(viaMail.bytes.length);

    const zip = await openZip(viaMail.bytes);
    const userId = s.userId;

    // every file, and nothing else
    const [avatar] = await q<{ content: Uint8Array; content_type: string }>('select content, content_type from user_avatars where user_id = $1', [userId]);
    const photo = `media/profile-photo.${avatar!.content_type.replace('image/', '')}`;
    const [refRow] = await q<{ storage_key: string }>('select storage_key from media where id = $1', [s.ids.ref]);
    const refFile = `media/references/${s.ids.ref}.${refRow!.storage_key.replace(/^.*\./, '')}`;
    expect(new Set(zip.names)).toEqual(
      new Set([
        'README.txt',
        'profile.json',
        photo,
        'sessions.json',
        'devices.json',
        'orders.json',
        'subscriptions.json',
        'ledger.json',
        'api-keys.json',
        'api-requests.json',
        'webhook-endpoints.json',
        'webhook-deliveries.json',
        'consent.json',
        'moderation.json',
        'privacy-requests.json',
        `media/creations/${s.ids.made}.mp4`,
        `media/creations/${s.ids.made}-poster.jpg`,
        'generations.json',
        refFile,
        'references.json',
      ]),
    );
    expect(zip.names.length).toBe(new Set(zip.names).size);

    // profile
    const [u] = await q('select * from users where id = $1', [userId]);
    const [bal] = await q<{ balance: string; held: string }>('select balance, held from credit_balances where user_id = $1', [userId]);
    expect(zip.json('profile.json')).toMatchObject({
      id: userId,
      email: s.email,
      name: 'Ada Exportista',
      region: 'ES',
      language: 'es',
      photo,
      credits: { balance: Number(bal!.balance), held: Number(bal!.held) },
      signInMethods: ['email-and-password', 'google'],
      referralCode: u!.referral_code,
      referredWithCode: s.other.referralCode,
      peopleReferred: 1,
      createdAt: iso(u!.created_at),
    });
    expect(zip.files.get(photo)!.equals(Buffer.from(avatar!.content))).toBe(true);

    // sessions (never a token) and devices
    const sessions = await q('select * from sessions where user_id = $1 order by created_at, id', [userId]);
    expect(sessions.length).toBe(2);
    expect(zip.json('sessions.json')).toEqual(
      sessions.map((r) => ({
        id: r.id,
        deviceType: r.device_type,
        browser: r.browser,
        os: r.os,
        region: r.region,
        ipAddress: r.ip_address,
        userAgent: r.user_agent,
        createdAt: iso(r.created_at),
        lastSeenAt: iso(r.last_seen_at),
        expiresAt: iso(r.expires_at),
      })),
    );
    expect(zip.json<{ ipAddress: string }[]>('sessions.json').map((x) => x.ipAddress)).toContain('192.0.2.77');
    const devices = await q('select * from user_devices where user_id = $1 order by first_seen_at, fingerprint', [userId]);
    expect(devices.length).toBe(2);
    const exportedDevices = zip.json<Record<string, unknown>[]>('devices.json');
    expect(exportedDevices.map((d) => [d.deviceId, d.firstSeenAt, d.lastSeenAt])).toEqual(
      devices.map((d) => [d.fingerprint, iso(d.first_seen_at), iso(d.last_seen_at)]),
    );
    expect(exportedDevices.map((d) => d.deviceType).sort()).toEqual(['desktop', 'mobile']);

    // generations: the kept ones, with their settings and exactly the files in the archive
    const gens = await q('select * from generations where user_id = $1 and deleted_at is null order by created_at, id', [userId]);
    const exportedGens = zip.json<Record<string, unknown>[]>('generations.json');
    expect(exportedGens.map((x) => x.id)).toEqual(gens.map((x) => x.id));
    for (const [i, row] of gens.entries()) {
      expect(exportedGens[i]).toMatchObject({
        status: row.status,
        model: row.model_id,
        prompt: row.prompt,
        negativePrompt: row.negative_prompt,
        durationSeconds: row.duration_seconds,
        resolution: row.resolution,
        credits: row.price_credits,
        failureCode: row.failure_code,
        failureMessage: row.failure_message,
        createdAt: iso(row.created_at),
      });
    }
    const made = exportedGens.find((x) => x.id === s.ids.made)!;
    const madeRow = gens.find((x) => x.id === s.ids.made)!;
    expect(made.files).toEqual({ video: `media/creations/${s.ids.made}.mp4`, poster: `media/creations/${s.ids.made}-poster.jpg` });
    expect(made.output).toMatchObject({ sha256: madeRow.output_sha256, sizeBytes: Number(madeRow.output_size_bytes) });
    // the video in the archive is the stored output, byte for byte
    expect(sha256(zip.files.get(`media/creations/${s.ids.made}.mp4`)!)).toBe(madeRow.output_sha256);
    const posterKey = String(madeRow.output_thumbnail_url).replace(/^store:/, '');
    const poster = await ctx().store.get(posterKey);
    const posterBytes = Buffer.concat(await poster.body.toArray());
    expect(zip.files.get(`media/creations/${s.ids.made}-poster.jpg`)!.equals(posterBytes)).toBe(true);
    expect(exportedGens.find((x) => x.id === s.ids.failed)).toMatchObject({ files: null, output: null, negativePrompt: 'no rain' });

    // references
    const refs = await q('select * from media where user_id = $1 and deleted_at is null order by created_at, id', [userId]);
    expect(zip.json('references.json')).toEqual(
      refs.map((m) => ({
        id: m.id,
        kind: m.kind,
        source: m.source,
        name: m.name,
        contentType: m.content_type,
        sizeBytes: Number(m.size_bytes),
        sha256: m.sha256,
        width: m.width,
        height: m.height,
        durationSeconds: m.duration_seconds,
        file: refFile,
        createdAt: iso(m.created_at),
      })),
    );
    expect(sha256(zip.files.get(refFile)!)).toBe(refs[0]!.sha256);

    // orders, subscriptions, ledger
    const [order] = await q('select * from orders where id = $1', [s.ids.orderId]);
    expect(zip.json('orders.json')).toEqual([
      expect.objectContaining({
        id: s.ids.orderId,
        receiptNumber: order!.receipt_number,
        status: 'paid',
        amountMinor: 1000,
        currency: 'usd',
        provider: 'stripe',
        providerPaymentRef: 'pi_test_123',
        creditsGranted: 100,
        paidAt: iso(order!.paid_at),
      }),
    ]);
    expect(zip.json('subscriptions.json')).toEqual([expect.objectContaining({ id: s.ids.subscriptionId, planId: 'creator-monthly', status: 'active' })]);
    const ledger = await q('select * from credit_ledger where user_id = $1 order by id', [userId]);
    expect(ledger.length).toBeGreaterThanOrEqual(3);
    expect(zip.json('ledger.json')).toEqual(
      ledger.map((l) => ({
        id: String(l.id),
        kind: l.kind,
        amount: Number(l.amount),
        heldChange: Number(l.held_delta),
        balanceAfter: Number(l.balance_after),
        reason: l.reason,
        reference: l.reference,
        createdAt: iso(l.created_at),
      })),
    );

    // developer records
    expect(zip.json('api-keys.json')).toEqual([
      {
        id: s.key.id,
        name: 'my server',
        prefix: s.key.prefix,
        scopes: s.key.scopes,
        createdAt: s.key.createdAt,
        lastUsedAt: expect.any(String),
        expiresAt: null,
        revokedAt: null,
      },
    ]);
    const requests = await q('select * from api_request_log where user_id = $1 order by id', [userId]);
    expect(requests.length).toBeGreaterThanOrEqual(1);
    expect(zip.json<{ id: string; endpoint: string; status: number }[]>('api-requests.json').map((r) => [r.id, r.endpoint, r.status])).toEqual(
      requests.map((r) => [String(r.id), r.endpoint, r.status]),
    );
    expect(zip.json('webhook-endpoints.json')).toEqual([
      expect.objectContaining({ id: s.endpoint.id, url: 'http://127.0.0.1:9/hook', description: 'my hook', events: ['video.failed'], enabled: true }),
    ]);
    expect(zip.json('webhook-deliveries.json')).toEqual([
      expect.objectContaining({
        id: s.ids.deliveryId,
        endpointId: s.endpoint.id,
        eventType: 'video.failed',
        status: 'failed',
        attempts: 3,
        payload: expect.objectContaining({ data: { id: s.ids.failed } }),
      }),
    ]);

    // choices
    expect(zip.json('consent.json')).toEqual({
      language: 'es',
      region: 'ES',
      minimumAgeConfirmed: u!.age_confirmed_minimum ?? null,
      productUpdateEmails: { optedIn: true, since: iso(u!.marketing_opt_in_at) },
      policyNoticesDismissed: [{ document: 'privacy', version: '2026-12-07', dismissedAt: expect.any(String) }],
    });

    // moderation: decisions only, the reason only where the user is told it, no reporter, no internal note, no escalation
    const moderation = zip.json<Record<string, unknown>[]>('moderation.json');
    expect(moderation.map((c) => c.id).sort()).toEqual([s.cases.removed, s.cases.allowed].sort());
    expect(moderation.find((c) => c.id === s.cases.removed)).toMatchObject({
      about: 'output',
      generationId: s.ids.made,
      category: 'violence',
      decision: 'removed_strike',
      reason: 'Graphic violence in the video.',
      strike: true,
      appeal: { text: 'It was a film scene, please look again.', answered: false },
    });
    expect(moderation.find((c) => c.id === s.cases.allowed)).toMatchObject({ about: 'report', decision: 'allowed', reason: null, strike: false, appeal: null });

    // privacy requests: the account's own only
    expect(zip.json('privacy-requests.json')).toEqual([
      expect.objectContaining({ id: s.ids.requestId, kind: 'access', status: 'open', message: 'What do you hold about me?' }),
    ]);

    // the README: in the account's language, the date, the counts (as the export row records them)
    const readme = zip.text('README.txt');
    expect(readme).toContain('Save Sora: una copia de tus datos');
    expect(readme).toContain(`Cuenta: ${s.email}`);
    expect(readme).toContain(`Fecha de la copia: ${day}`);
    expect(readme).toMatch(/generations\.json\s+.*\(2 registros\)/);
    expect(readme).toMatch(/sessions\.json\s+.*\(2 registros\)/);
    expect(readme).toMatch(/moderation\.json\s+.*\(2 registros\)/);
    expect(readme).toMatch(/media\/creations\/\s+.*\(2 registros\)/);
    expect(ready.contents).toMatchObject({
      generations: 2,
      references: 1,
      sessions: 2,
      devices: 2,
      orders: 1,
      subscriptions: 1,
      ledger: ledger.length,
      apiKeys: 1,
    });
    expect(ready.contents).toMatchObject({ moderation: 2, privacyRequests: 1, creationFiles: 2, referenceFiles: 1, profilePhoto: 1, webhookDeliveries: 1 });

    // no secret, nothing of another person, nothing deleted or kept back, in any file
    const everything = [...zip.files.values()].map((b) => b.toString('latin1')).join('\n');
    for (const secret of s.secrets) expect(everything.includes(secret), `a secret (${secret.slice(0, 12)}…) is in the archive`).toBe(false);
    for (const theirs of s.notMine) expect(everything.includes(theirs), `${theirs} is in the archive`).toBe(false);
    expect(everything).not.toMatch(/"(password|token|secret|secretHash|secretEncrypted|accessToken|refreshToken|idToken|failureDetail|idempotencyKey)"\s*:/i);

    // the other person still sees only their own exports (none)
    expect((await s.other.client.get('/api/me/exports')).json<ExportList>().items).toEqual([]);
    expect((await s.other.client.get(`/api/me/exports/${asked.id}/download`)).status).toBe(404);
  });
});

describe('data export: the rules', () => {
  it('asks for a session, takes no options, and runs one export at a time per user', async () => {
    const anon = new TestClient(g.app.url);
    expect((await anon.post('/api/me/exports')).status).toBe(401);
    expect((await anon.get('/api/me/exports')).status).toBe(401);
    expect((await anon.get(`/api/me/exports/${randomUUID()}/download`)).status).toBe(401);

    const c = await g.user('rules-one@example.com', 0);
    const bad = await c.post('/api/me/exports', { format: 'tar' });
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBeTruthy();
    const huge = await c.request('POST', '/api/me/exports', undefined, { 'content-type': 'application/json' });
    expect([202, 400]).toContain(huge.status);
    if (huge.status === 202) await waitExport(c, huge.json<ExportView>().id);
    const tooBig = await fetch(`${g.app.url}/api/me/exports`, {
      method: 'POST',
      headers: { cookie: c.cookieHeader(), origin: g.app.url, 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(tooBig.status).toBe(413);

    // asked for at the same time: one is accepted, the others are told one is under way
    const d = await g.user('rules-concurrent@example.com', 0);
    const answers = await Promise.all(Array.from({ length: 4 }, () => d.post('/api/me/exports')));
    expect(answers.map((r) => r.status).sort()).toEqual([202, 409, 409, 409]);
    const refused = answers.find((r) => r.status === 409)!;
    expect(refused.json().error.code).toBe('export_in_progress');
    const accepted = answers.find((r) => r.status === 202)!.json<ExportView>();
    await waitExport(d, accepted.id);
    expect((await q('select 1 from data_exports where user_id = $1', [d.userId])).length).toBe(1);
    // ready: a new one may be asked for
    const again = await d.post('/api/me/exports');
    expect(again.status).toBe(202);
    await waitExport(d, again.json<ExportView>().id);

    // a build in progress (a live lease) blocks a new one; one whose worker died long ago does not
    const e = await g.user('rules-running@example.com', 0);
    const running = randomUUID();
    await q(
      `insert into data_exports (id, user_id, status, created_at, started_at, lease_until) values ($1, $2, 'building', now(), now(), now() + interval '1 minute')`,
      [running, e.userId],
    );
    expect((await e.post('/api/me/exports')).json().error.code).toBe('export_in_progress');
    // its worker died mid-way (its retries used up): the half-written object goes when a new export starts
    const abandoned = `exports/${running}/0123456789abcdef.zip`;
    await ctx().store.put(abandoned, Buffer.from('PK partial'), { contentType: 'application/zip' });
    await q(`update data_exports set lease_until = now() - interval '10 minutes', storage_key = $2 where id = $1`, [running, abandoned]);
    const after = await e.post('/api/me/exports');
    expect(after.status, after.body).toBe(202);
    const [stale] = await q<{ status: string; error: string }>('select status, error from data_exports where id = $1', [running]);
    expect(stale).toEqual({ status: 'failed', error: 'interrupted' });
    expect(await exists(abandoned)).toBe(false);
    await waitExport(e, after.json<ExportView>().id);
    const list = (await e.get('/api/me/exports')).json<ExportList>().items;
    expect(list.map((x) => x.status)).toEqual(['ready', 'failed']);
  });

  it('allows three a day per user (429 with Retry-After), and an operator acting on a request is not limited', async () => {
    const c = await g.user('rules-daily@example.com', 0);
    for (const hoursAgo of [20, 5, 1]) {
      await q(`insert into data_exports (id, user_id, status, created_at) values ($1, $2, 'failed', now() - make_interval(hours => $3))`, [
        randomUUID(),
        c.userId,
        hoursAgo,
      ]);
    }
    const refused = await c.post('/api/me/exports');
    expect(refused.status).toBe(429);
    expect(refused.json().error.code).toBe('too_many_exports');
    // the oldest of the three leaves the 24-hour window in about 4 hours
    const retry = Number(refused.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(4 * 3600 - 120);
    expect(retry).toBeLessThanOrEqual(4 * 3600);
    const support = await g.user('rules-daily-support@example.com', 0);
    await ctx().services.users.setRole('rules-daily-support@example.com', 'support');
    const byOperator = await support.post(`/api/admin/users/${c.userId}/exports`);
    expect(byOperator.status, byOperator.body).toBe(202);
    expect(byOperator.json<ExportView>().byOperator).toBe(true);
    await waitExport(c, byOperator.json<ExportView>().id);
    // once the oldest is more than a day old, the user may ask again
    await q(
      `update data_exports set created_at = now() - interval '25 hours' where user_id = $1 and requested_by is null and created_at < now() - interval '19 hours'`,
      [c.userId],
    );
    expect((await c.post('/api/me/exports')).status).toBe(429); // the operator's export counts too: still three in the window
    await q(`update data_exports set created_at = now() - interval '25 hours' where user_id = $1 and requested_by is not null`, [c.userId]);
    const ok = await c.post('/api/me/exports');
    expect(ok.status, ok.body).toBe(202);
    await waitExport(c, ok.json<ExportView>().id);
  });

  it("keeps each user's exports to themselves: others get 404; not ready is 409, expired is 410", async () => {
    const owner = await g.user('rules-owner@example.com', 0);
    const stranger = await g.user('rules-stranger@example.com', 0);
    const made = (await owner.post('/api/me/exports')).json<ExportView>();
    const ready = await waitExport(owner, made.id);
    expect((await stranger.get(`/api/me/exports/${made.id}/download`)).status).toBe(404);
    expect((await stranger.get(`/api/me/exports/${made.id}/download`)).json().error.code).toBe('not_found');
    expect((await stranger.get('/api/me/exports')).json<ExportList>().items).toEqual([]);
    expect((await owner.get(`/api/me/exports/${randomUUID()}/download`)).status).toBe(404);
    // a path parameter past Fastify's limit: a clear 4xx whichever route answers it
    expect([404, 414]).toContain((await owner.get(`/api/me/exports/${'x'.repeat(101)}/download`)).status);
    expect((await owner.get('/api/me/exports/%00/download')).status).toBe(400);

    // queued (not ready yet) and failed
    const waiting = randomUUID();
    await q(`insert into data_exports (id, user_id, status, created_at) values ($1, $2, 'failed', now())`, [waiting, owner.userId]);
    const failed = await owner.get(`/api/me/exports/${waiting}/download`);
    expect([failed.status, failed.json().error.code]).toEqual([409, 'export_failed']);

    // past expires_at: 410 on both routes, although the file is still there until the retention job runs
    const key = (await q<{ storage_key: string }>('select storage_key from data_exports where id = $1', [made.id]))[0]!.storage_key;
    const mail = await smtp.waitFor((m) => m.to.includes('rules-owner@example.com') && /export/i.test(m.subject));
    const link = linkIn(mail.text, `${g.app.url}/api/exports/`).replace(g.app.url, '');
    expect((await new TestClient(g.app.url).get(link)).status).toBe(302);
    await q(`update data_exports set expires_at = now() - interval '1 second' where id = $1`, [made.id]);
    const late = await owner.get(`/api/me/exports/${made.id}/download`);
    expect([late.status, late.json().error.code]).toEqual([410, 'export_expired']);
    expect((await new TestClient(g.app.url).get(link)).status).toBe(410);
    expect((await owner.get('/api/me/exports')).json<ExportList>().items.find((x) => x.id === made.id)).toMatchObject({
      status: 'expired',
      downloadable: false,
    });
    expect(await exists(key)).toBe(true);
    expect(ready.expiresAt).not.toBeNull();
  });

  it('the mailed link needs its own token: a wrong, altered or another export’s token is 404, a missing one 400', async () => {
    const c = await g.user('rules-token@example.com', 0);
    const one = (await c.post('/api/me/exports')).json<ExportView>();
    await waitExport(c, one.id);
    const two = (await c.post('/api/me/exports')).json<ExportView>();
    await waitExport(c, two.id);
    const t1 = ctx().services.exports.linkToken(one.id, c.userId);
    const t2 = ctx().services.exports.linkToken(two.id, c.userId);
    const anon = new TestClient(g.app.url);
    expect((await anon.get(`/api/exports/${one.id}/download?token=${t1}`)).status).toBe(302);
    expect((await anon.get(`/api/exports/${two.id}/download?token=${t2}`)).status).toBe(302);
    const altered = `${t1.slice(0, -2)}${t1.endsWith('AA') ? 'AB' : 'AA'}`;
    for (const bad of [
      `/api/exports/${one.id}/download?token=${t2}`,
      `/api/exports/${one.id}/download?token=${altered}`,
      `/api/exports/${one.id}/download?token=nope`,
    ]) {
      const res = await anon.get(bad);
      expect([res.status, res.json().error.code], bad).toEqual([404, 'not_found']);
    }
    expect((await anon.get(`/api/exports/${randomUUID()}/download?token=${t1}`)).status).toBe(404);
    expect((await anon.get(`/api/exports/${one.id}/download`)).status).toBe(400);
    expect((await anon.get(`/api/exports/${one.id}/download?token=${'a'.repeat(500)}`)).status).toBe(400);
    expect((await anon.get(`/api/exports/${one.id}/download?token=%00${t1}`)).status).toBe(400);
    // a token made with another secret does not open it
    const forged = createHash('sha256').update(`data-export.${one.id}.${c.userId}`).digest('base64url');
    expect((await anon.get(`/api/exports/${one.id}/download?token=${forged}`)).status).toBe(404);
  });

  it('expire() deletes the files of ended exports, except what a legal hold on the user keeps', async () => {
    const c = await g.user('rules-expire@example.com', 0);
    const held = await g.user('rules-expire-held@example.com', 0);
    const mine = (await c.post('/api/me/exports')).json<ExportView>();
    const theirs = (await held.post('/api/me/exports')).json<ExportView>();
    await Promise.all([waitExport(c, mine.id), waitExport(held, theirs.id)]);
    const keyOf = async (id: string) =>
      (await q<{ storage_key: string; expires_at: Date }>('select storage_key, expires_at from data_exports where id = $1', [id]))[0]!;
    const [a, b] = [await keyOf(mine.id), await keyOf(theirs.id)];
    const hold = await ctx().services.holds.place(null, { subjectKind: 'user', subjectId: held.userId, reason: 'court order' });
    // a day before they end: nothing to do
    await ctx().services.exports.expire(new Date(new Date(a.expires_at).getTime() - 86_400_000));
    expect([await exists(a.storage_key), await exists(b.storage_key)]).toEqual([true, true]);
    const after = new Date(Math.max(new Date(a.expires_at).getTime(), new Date(b.expires_at).getTime()) + 1000);
    const result = await ctx().services.exports.expire(after);
    expect(result.expired).toBeGreaterThanOrEqual(1);
    expect(result.keptByHold).toBe(1);
    expect(await exists(a.storage_key)).toBe(false);
    expect(await exists(b.storage_key)).toBe(true);
    expect((await q('select status, storage_key from data_exports where id = $1', [mine.id]))[0]).toEqual({ status: 'expired', storage_key: null });
    expect((await q('select status from data_exports where id = $1', [theirs.id]))[0]).toEqual({ status: 'ready' });
    // a second run finds nothing new; the hold released, the held file goes too
    expect(await ctx().services.exports.expire(after)).toEqual({ expired: 0, keptByHold: 1 });
    await ctx().services.holds.release(null, hold.id, 'closed');
    expect(await ctx().services.exports.expire(after)).toEqual({ expired: 1, keptByHold: 0 });
    expect(await exists(b.storage_key)).toBe(false);
  });
});

describe('data export: operators', () => {
  it('support and admins start and list exports for a user; the link goes to the user; others are refused', async () => {
    const user = await g.user('ops-subject@example.com', 0);
    expect((await user.patch('/api/me', { language: 'en' })).status).toBe(200);
    const support = await g.user('ops-support@example.com', 0);
    await ctx().services.users.setRole('ops-support@example.com', 'support');
    const moderator = await g.user('ops-moderator@example.com', 0);
    await ctx().services.users.setRole('ops-moderator@example.com', 'moderator');
    const admin = await g.user('ops-admin@example.com', 0);
    await ctx().services.users.setRole('ops-admin@example.com', 'admin');

    // the console's rule (issue 18): 404 to whoever is not staff, 403 to staff without the permission
    expect((await new TestClient(g.app.url).post(`/api/admin/users/${user.userId}/exports`)).status).toBe(404);
    for (const [who, status] of [
      [user, 404],
      [moderator, 403],
    ] as const) {
      expect((await who.post(`/api/admin/users/${user.userId}/exports`)).status).toBe(status);
      expect((await who.get(`/api/admin/users/${user.userId}/exports`)).status).toBe(status);
    }
    expect((await support.post(`/api/admin/users/${randomUUID()}/exports`)).status).toBe(404);
    expect((await support.get(`/api/admin/users/${randomUUID()}/exports`)).status).toBe(404);

    const started = await support.post(`/api/admin/users/${user.userId}/exports`);
    expect(started.status, started.body).toBe(202);
    const view = started.json<ExportView>();
    expect(view).toMatchObject({ status: 'queued', byOperator: true });
    expect((await admin.post(`/api/admin/users/${user.userId}/exports`)).json().error.code).toBe('export_in_progress');
    await waitExport(user, view.id);
    const [row] = await q<{ requested_by: string }>('select requested_by from data_exports where id = $1', [view.id]);
    expect(row!.requested_by).toBe(support.userId);
    // the user is mailed (in their language), not the operator
    const mail = await smtp.waitFor((m) => m.to.includes('ops-subject@example.com') && m.subject === 'Your Save Sora data export is ready');
    expect(mail.text).toContain(`/api/exports/${view.id}/download?token=`);
    expect(smtp.messages.some((m) => m.to.includes('ops-support@example.com') && /export/i.test(m.subject))).toBe(false);
    // the operator sees the list but cannot download the user's data with their own session
    expect((await admin.get(`/api/admin/users/${user.userId}/exports`)).json<ExportList>().items.map((x) => x.id)).toEqual([view.id]);
    expect((await support.get(`/api/me/exports/${view.id}/download`)).status).toBe(404);
    // the user sees it, marked as started for them
    expect((await user.get('/api/me/exports')).json<ExportList>().items).toEqual([expect.objectContaining({ id: view.id, byOperator: true, status: 'ready' })]);
  });
});

describe('data export: the build job', () => {
  it('a build whose worker died is taken over and rebuilt from scratch; a duplicate delivery while the lease is live waits', async () => {
    const c = await g.user('job-crash@example.com', 0);
    const id = randomUUID();
    // what a SIGKILLed worker leaves: the row building under a lapsed lease, a half-written object under its attempt's key
    const partialKey = `exports/${id}/deadbeefdeadbeef.zip`;
    await ctx().store.put(partialKey, Buffer.from('PK\x03\x04 half an archive'), { contentType: 'application/zip' });
    await q(
      `insert into data_exports (id, user_id, status, storage_key, created_at, started_at, lease_until)
       values ($1, $2, 'building', $3, now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '5 minutes')`,
      [id, c.userId, partialKey],
    );
    await ctx().services.exports.build(id, { attempt: 2, last: false });
    const [row] = await q<{ status: string; storage_key: string; size_bytes: string }>(
      'select status, storage_key, size_bytes from data_exports where id = $1',
      [id],
    );
    expect(row!.status).toBe('ready');
    expect(row!.storage_key).not.toBe(partialKey);
    expect(await exists(partialKey)).toBe(false);
    const stored = await ctx().store.get(row!.storage_key);
    const zip = await openZip(Buffer.concat(await stored.body.toArray()));
    expect(zip.json('profile.json')).toMatchObject({ id: c.userId, email: 'job-crash@example.com' });
    expect(Number(row!.size_bytes)).toBe(stored.size);
    // the finished build mailed the link (once: the mail job is a singleton per export)
    await jobsDone(g.app, [privacyExportMail.name]);
    expect(smtp.messages.filter((m) => m.to.includes('job-crash@example.com')).length).toBe(1);
    // run again (a late retry): nothing changes
    await ctx().services.exports.build(id, { attempt: 3, last: false });
    expect((await q('select storage_key from data_exports where id = $1', [id]))[0]).toEqual({ storage_key: row!.storage_key });

    // a live lease: another worker is building it; this delivery fails (to be retried), or on its last attempt leaves it be
    const busy = randomUUID();
    await q(
      `insert into data_exports (id, user_id, status, created_at, started_at, lease_until) values ($1, $2, 'building', now(), now(), now() + interval '1 minute')`,
      [busy, (await g.user('job-busy@example.com', 0)).userId],
    );
    await expect(ctx().services.exports.build(busy, { attempt: 1, last: false })).rejects.toThrow(/another worker/);
    await ctx().services.exports.build(busy, { attempt: 11, last: true });
    expect((await q('select status from data_exports where id = $1', [busy]))[0]).toEqual({ status: 'building' });
    // an unknown or deleted export: nothing to do
    await ctx().services.exports.build(randomUUID(), { attempt: 1, last: false });
    await jobsDone(g.app, [privacyExportBuild.name]);
  });

  it('an account deleted while its export waits leaves nothing behind', async () => {
    const c = await g.user('job-deleted@example.com', 0);
    const id = randomUUID();
    await q(`insert into data_exports (id, user_id, status, created_at) values ($1, $2, 'queued', now())`, [id, c.userId]);
    await q('delete from users where id = $1', [c.userId]);
    await ctx().services.exports.build(id, { attempt: 1, last: false });
    expect(await q('select 1 from data_exports where id = $1', [id])).toEqual([]);
    const listed = await ctx().store.list(`exports/${id}/`, { limit: 10 });
    expect(listed.items).toEqual([]);
  });
});

describe('data export: the CLI', () => {
  it('user:export writes the same archive to a file, never over an existing one', async () => {
    const c = await g.user('cli-export@example.com', 3);
    await seedGeneration(g.app.db, c.userId, { prompt: 'a prompt for the CLI' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-export-cli-'));
    try {
      const file = path.join(dir, 'export.zip');
      const cmdCtx = { database: ctx().database, services: ctx().services };
      const out = await runCommand(cmdCtx, 'user:export', ['--email', 'CLI-Export@example.com', '--out', file, '--json']);
      const result = JSON.parse(out) as { file: string; bytes: number; contents: Record<string, number> };
      expect(result.file).toBe(file);
      const bytes = fs.readFileSync(file);
      expect(bytes.length).toBe(result.bytes);
      expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('600');
      const zip = await openZip(bytes);
      expect(zip.json<{ prompt: string }[]>('generations.json').map((x) => x.prompt)).toEqual(['a prompt for the CLI']);
      expect(zip.text('README.txt')).toContain('Save Sora: a copy of your data');
      expect(result.contents).toMatchObject({ generations: 1, ledger: 1 });
      // the same files as the archive the job builds
      const viaJob = (await c.post('/api/me/exports')).json<ExportView>();
      await waitExport(c, viaJob.id);
      const jobZip = await openZip((await downloadVia(c, `/api/me/exports/${viaJob.id}/download`)).bytes);
      expect([...jobZip.names].sort()).toEqual([...zip.names].sort());
      expect(jobZip.json('generations.json')).toEqual(zip.json('generations.json'));

      await expect(runCommand(cmdCtx, 'user:export', ['--email', 'cli-export@example.com', '--out', file])).rejects.toThrow(/already exists/);
      expect(fs.readFileSync(file).equals(bytes)).toBe(true);
      await expect(runCommand(cmdCtx, 'user:export', ['--email', 'nobody@example.com', '--out', path.join(dir, 'n.zip')])).rejects.toThrow(/No user/);
      await expect(runCommand(cmdCtx, 'user:export', ['--email', 'cli-export@example.com'])).rejects.toThrow(/--out is required/);
      await expect(runCommand(cmdCtx, 'user:export', ['--email', 'cli-export@example.com', '--out', path.join(dir, 'x.txt')])).rejects.toThrow(/\.zip/);
      expect(fs.readdirSync(dir)).toEqual(['export.zip']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes --out absolute before a running server gets the command', async () => {
    const { findCommand, withAbsolutePaths } = await import('../../../src/server/cli/commands');
    const cmd = findCommand('user:export')!;
    expect(withAbsolutePaths(cmd, ['--email', 'a@b.c', '--out', 'x/e.zip'], '/home/op')).toEqual(['--email', 'a@b.c', '--out', '/home/op/x/e.zip']);
    expect(withAbsolutePaths(cmd, ['--out=e.zip', '--email', 'a@b.c'], '/srv')).toEqual(['--out=/srv/e.zip', '--email', 'a@b.c']);
    expect(withAbsolutePaths(cmd, ['--out', '/abs/e.zip'], '/srv')).toEqual(['--out', '/abs/e.zip']);
  });
});
