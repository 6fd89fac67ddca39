import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseEvents } from '../../../src/server/domain/moderation/cases.repo';
import { claimReport, getReport, type NcmecReportRow } from '../../../src/server/domain/moderation/ncmec.repo';
import { createNcmecService, LEASE_MS } from '../../../src/server/domain/moderation/ncmec.service';
import { purgeDeleted } from '../../../src/server/domain/media/purge';
import { closeAll } from '../../helpers/close';
import { until } from '../../helpers/wait';
import { cyberTipEnv, startFakeCyberTip, type FakeCyberTip, type FakeCyberTipReport } from '../../fakes/ncmec';
import { startHoldsApp, type HoldsApp } from './holds-setup';

/**
 * CSAM escalation and the CyberTipline report (issue 16), against the fake CyberTipline: a
 * confirmation assembles one report that the fake accepts, terminates the account and places
 * one-year holds; the job resumes from its persisted progress after a lost answer or an attempt that
 * died between steps, and never files twice; without credentials the report waits, and an admin
 * retries it.
 */
let h: HoldsApp;
let tip: FakeCyberTip;
beforeAll(async () => {
  tip = await startFakeCyberTip();
  h = await startHoldsApp(cyberTipEnv(tip));
});
afterAll(async () => {
  await closeAll(h, tip);
});

const day = 86_400_000;
const services = () => h.app.platform.ctx.services;

/** A user with a creation, a case about it with quarantined evidence, and a moderator; escalated. */
async function escalated(name: string) {
  const owner = await h.user(`${name}-owner@example.com`);
  const moderator = await services().users.create({ email: `${name}-mod@example.com`, password: 'a fine password 1', role: 'moderator' });
  const gen = await h.creation(owner.userId);
  const kase = await h.caseAbout(owner.userId, gen.id);
  const result = await h.app.db.transaction((tx) => services().ncmec.escalate(tx, { caseId: kase.id, actorId: moderator.id, reason: 'confirmed CSAM' }));
  return { owner, moderator, gen, kase, result };
}

const row = async (id: string) => (await getReport(h.app.db, id))!;
const reportRow = (id: string, ok: (r: NcmecReportRow) => boolean, what: string) =>
  until(
    async () => {
      const r = await row(id);
      return ok(r) && r;
    },
    { app: h.app, timeoutMs: 20_000, what },
  );
/** the fake's reports that carry this case's id */
const reportsOf = (caseId: string): FakeCyberTipReport[] => [...tip.reports.values()].filter((r) => r.xml.includes(caseId));
const finished = (caseId: string) => reportsOf(caseId).filter((r) => r.state === 'finished');
const calls = (path: string, since: number) => tip.requests.slice(since).filter((r) => r.path === `/ispws/${path}`).length;

describe('CSAM escalation', () => {
  it('files one report the fake accepts, terminates the account and holds the material for a year', async () => {
    const { owner, gen, kase, result } = await escalated('ncmec-ok');
    expect(result.created).toBe(true);
    const filed = await reportRow(result.reportId, (r) => r.status === 'submitted', 'the report to be filed');
    expect(filed.reportId).toMatch(/^\d+$/);

    const [report] = finished(kase.id);
    expect(reportsOf(kase.id)).toHaveLength(1);
    expect(report!.reportId).toBe(filed.reportId);
    const xml = report!.xml;
    expect(xml).toContain('Child Pornography (possession, manufacture, and distribution)');
    expect(xml).toContain('ncmec-ok-owner@example.com');
    expect(xml).toContain('<ipCaptureEvent>');
    expect(xml).toContain(`/creations/${gen.id}`);
    // the quarantined evidence and the creation's video, each described once, marked as made by a model
    expect(report!.files).toHaveLength(2);
    for (const f of report!.files) {
      expect(f.detailsCount).toBe(1);
      expect(f.detailsXml).toContain('<generativeAi');
      expect(f.detailsXml).toContain('<fileViewedByEsp>true</fileViewedByEsp>');
    }
    expect(report!.files.map((f) => f.bytes.toString()).sort()).toEqual([`quarantined evidence of ${kase.id}`, `video bytes of ${gen.id}`].sort());

    // terminated: the session is gone and the account stays closed
    expect((await owner.get('/api/me')).status).toBe(401);
    const [status] = await h.app.db.sql.query<{ status: string }>(`select status from users where id = $1`, [owner.userId]);
    expect(status!.status).toBe('terminated');

    // one-year holds on the user, the case and the creation, placed by the moderator
    const holds = await services().holds.list({ caseId: kase.id });
    expect(holds.map((x) => x.subjectKind).sort()).toEqual(['case', 'generation', 'user']);
    for (const x of holds) expect(x.expiresAt!.getTime() - h.clock.nowMs()).toBe(365 * day);
    const events = await caseEvents(h.app.db, kase.id);
    expect(events.filter((e) => e.kind === 'hold')).toHaveLength(3);
    expect(events.filter((e) => e.kind === 'ncmec').map((e) => e.action)).toEqual(['queued', 'filed']);

    // escalating again does nothing more
    const again = await h.app.db.transaction((tx) => services().ncmec.escalate(tx, { caseId: kase.id, actorId: null, reason: 'again' }));
    expect(again).toMatchObject({ reportId: result.reportId, created: false });

    // deleting the creation does not remove held material; nor does the purge, until the holds end
    await services().creations.delete(owner.userId, [gen.id]);
    await h.clock.set(h.clock.nowMs() + 40 * day);
    const purge = () =>
      purgeDeleted({ database: h.app.db, store: h.app.platform.ctx.store, logger: pino({ level: 'silent' }), clock: h.clock }, { purgeDays: 30 });
    await purge();
    for (const k of gen.keys) expect(await h.exists(k)).toBe(true);
    expect((await h.app.db.sql.query(`select 1 from generations where id = $1`, [gen.id])).length).toBe(1);
    await h.clock.set(h.clock.nowMs() + 330 * day);
    await purge();
    for (const k of gen.keys) expect(await h.exists(k)).toBe(false);
  });
});

describe('the report job: retried safely, never filed twice', () => {
  it('a finish whose answer was lost is recognised on retry ("already finished")', async () => {
    const since = tip.requests.length;
    tip.failNext('finish', { kind: 'drop-after' });
    const { kase, result } = await escalated('ncmec-lost-finish');
    const failed = await reportRow(result.reportId, (r) => r.status === 'queued' && !!r.lastError, 'the first attempt to fail');
    expect(failed.progress).toMatchObject({ finished: false });
    expect(finished(kase.id)).toHaveLength(1); // the service did finish it

    const done = await services().ncmec.run(result.reportId);
    expect(done?.status).toBe('submitted');
    expect(reportsOf(kase.id)).toHaveLength(1);
    expect(calls('submit', since)).toBe(1);
    expect(calls('finish', since)).toBe(2);
    const filedEvent = (await caseEvents(h.app.db, kase.id)).find((e) => e.action === 'filed');
    expect(filedEvent?.details).toMatchObject({ alreadyFinished: true });
  });

  it('a submit whose answer was lost opens a second report, and only one is ever finished', async () => {
    const since = tip.requests.length;
    tip.failNext('submit', { kind: 'drop-after' });
    const { kase, result } = await escalated('ncmec-lost-submit');
    await reportRow(result.reportId, (r) => r.status === 'queued' && !!r.lastError, 'the first attempt to fail');
    expect(reportsOf(kase.id)).toHaveLength(1);

    const done = await services().ncmec.run(result.reportId);
    expect(done?.status).toBe('submitted');
    expect(calls('submit', since)).toBe(2);
    const reports = reportsOf(kase.id);
    expect(reports.map((r) => r.state).sort()).toEqual(['finished', 'open']);
    // the orphan never got files: it cannot be filed
    expect(reports.find((r) => r.state === 'open')!.files).toEqual([]);
    expect(finished(kase.id)[0]!.reportId).toBe(done!.reportId);
  });

  it('an attempt that died between steps is resumed: no second report, no file uploaded twice', async () => {
    const since = tip.requests.length;
    tip.failNext('fileinfo', { kind: 'http', status: 503 });
    const { kase, result } = await escalated('ncmec-resume');
    const failed = await reportRow(result.reportId, (r) => r.status === 'queued' && !!r.lastError, 'the first attempt to fail');
    expect(Object.keys((failed.progress as { files: object }).files)).toHaveLength(1);

    const done = await services().ncmec.run(result.reportId);
    expect(done?.status).toBe('submitted');
    expect(calls('submit', since)).toBe(1);
    expect(calls('upload', since)).toBe(2);
    const [report] = finished(kase.id);
    expect(reportsOf(kase.id)).toHaveLength(1);
    expect(report!.files).toHaveLength(2);
    expect(report!.files.every((f) => f.detailsCount === 1)).toBe(true);
  });

  it('a crashed attempt keeps its claim until the lease ends; then another takes over', async () => {
    const since = tip.requests.length;
    tip.failNext('submit', { kind: 'http', status: 503 });
    const { kase, result } = await escalated('ncmec-lease');
    await reportRow(result.reportId, (r) => r.status === 'queued' && !!r.lastError, 'the first attempt to fail');
    // an attempt claims the report and dies without a word
    expect(await claimReport(h.app.db, result.reportId, h.clock.now(), new Date(0))).not.toBeNull();
    const meanwhile = await services().ncmec.run(result.reportId);
    expect(meanwhile?.status).toBe('submitting');
    expect(calls('submit', since)).toBe(1); // only the first, failed one

    await h.clock.set(h.clock.nowMs() + LEASE_MS + 1000);
    const done = await services().ncmec.run(result.reportId);
    expect(done?.status).toBe('submitted');
    expect(finished(kase.id)).toHaveLength(1);
  });

  it('without credentials the report waits with the reason, and an admin retries it once they are set', async () => {
    tip.failNext('submit', { kind: 'http', status: 503 });
    const { kase, result } = await escalated('ncmec-unsent');
    await reportRow(result.reportId, (r) => r.status === 'queued' && !!r.lastError, 'the first attempt to fail');
    const ctx = h.app.platform.ctx;
    const unconfigured = createNcmecService({
      database: ctx.database,
      queue: ctx.queue,
      store: ctx.store,
      config: { ...ctx.config, NCMEC_USERNAME: undefined, NCMEC_PASSWORD: undefined },
      clock: h.clock,
      logger: pino({ level: 'silent' }),
    });
    const waiting = await unconfigured.run(result.reportId);
    expect(waiting).toMatchObject({ status: 'queued' });
    expect(waiting!.lastError).toMatch(/NCMEC_USERNAME, NCMEC_PASSWORD are not set/);
    expect((await caseEvents(h.app.db, kase.id)).some((e) => e.kind === 'ncmec' && e.action === 'unsent')).toBe(true);

    // the admin's retry (the route; a fresh admin: the clock may have moved past older sign-ins)
    await h.clock.set(Date.now());
    const admin = await h.user('ncmec-admin@example.com', 'admin');
    const moderator = await h.user('ncmec-mod-only@example.com', 'moderator');
    expect((await moderator.post(`/api/moderation/ncmec-reports/${result.reportId}/retry`)).status).toBe(403);
    const list = (await admin.get('/api/moderation/ncmec-reports?status=queued')).json<{ items: { id: string }[]; unavailable: string | null }>();
    expect(list.unavailable).toBeNull();
    expect(list.items.map((i) => i.id)).toContain(result.reportId);
    expect((await admin.post(`/api/moderation/ncmec-reports/${result.reportId}/retry`)).status).toBe(202);
    await reportRow(result.reportId, (r) => r.status === 'submitted', 'the retried report to be filed');
    expect(finished(kase.id)).toHaveLength(1);
    expect((await admin.post(`/api/moderation/ncmec-reports/${result.reportId}/retry`)).status).toBe(409);
  });
});
