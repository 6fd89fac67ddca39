import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseDetail, QueueResponse } from '../../../src/shared/api/moderation';
import type { DbHandle } from '../../../src/server/db/client';
import { addEvent, addEvidence } from '../../../src/server/domain/moderation/cases.repo';
import { createModerationService, type NcmecEscalation, type NcmecPort, type QuarantinePort } from '../../../src/server/domain/moderation/moderation.service';
import { closeAll } from '../../helpers/close';
import { eventsOf, startModerationApp, type ModerationApp, type SignedIn } from './core-setup';

/**
 * The review queue and decisions: who may see and decide (moderators and admins; support 403),
 * the order (most severe, then oldest), evidence files (never cached, only for moderators), the
 * audit record every decision writes, idempotent repeats and 409 on a conflicting one, strikes up
 * to the automatic suspension, and the quarantine and CyberTipline ports a decision drives.
 */
let m: ModerationApp;
let mod: SignedIn;
let admin: SignedIn;
let support: SignedIn;
beforeAll(async () => {
  m = await startModerationApp({ MODERATION_STRIKES_TO_SUSPEND: '2' });
  [mod, admin, support] = await Promise.all([
    m.user('mod@example.com', 'moderator'),
    m.user('admin@example.com', 'admin'),
    m.user('support@example.com', 'support'),
  ]);
});
afterAll(async () => {
  await closeAll(m);
});

const decide = (c: SignedIn, caseId: string, decision: string, reason = 'violates rule 3') =>
  c.post(`/api/moderation/cases/${caseId}/decision`, { decision, reason });

/** a service beside the app's, on the same database, with the other helpers' ports played by test implementations */
function serviceWith(ports: { quarantine?: QuarantinePort; ncmec?: NcmecPort }) {
  const ctx = m.app.platform.ctx;
  return createModerationService({ database: ctx.database, clock: m.clock, logger: ctx.logger, rateLimiter: ctx.rateLimiter, config: ctx.config, ...ports });
}

describe('the queue', () => {
  it('is for moderators and admins: support gets 403, users and nobody signed in 404', async () => {
    const user = await m.user('queue-user@example.com');
    expect((await support.get('/api/moderation/queue')).status).toBe(403);
    expect((await user.get('/api/moderation/queue')).status).toBe(404);
    expect((await m.app.fetch('/api/moderation/queue')).status).toBe(404);
    expect((await admin.get('/api/moderation/queue')).status).toBe(200);
    const res = await mod.get('/api/moderation/queue');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('lists open cases most severe first, then oldest, a page at a time', async () => {
    const owner = await m.user('queue-owner@example.com');
    const before = (await mod.get('/api/moderation/queue?limit=100')).json<QueueResponse>().items.map((i) => i.id);
    const low = await m.openCase({ userId: owner.userId, severity: 0.55, text: 'low one' });
    await m.clock.advance(1000);
    const highNewer = await m.openCase({ userId: owner.userId, severity: 0.9 });
    await m.clock.advance(1000);
    const highNewest = await m.openCase({ userId: owner.userId, severity: 0.9 });
    const csam = await m.openCase({ userId: owner.userId, severity: 1, category: 'sexual/minors', action: 'block' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await mod.get(`/api/moderation/queue?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = res.json<QueueResponse>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    const mine = seen.filter((id) => !before.includes(id));
    expect(mine).toEqual([csam, highNewer, highNewest, low]);
    expect(new Set(seen).size).toBe(seen.length);

    const item = (await mod.get('/api/moderation/queue?limit=100')).json<QueueResponse>().items.find((i) => i.id === low);
    expect(item).toMatchObject({ userEmail: 'queue-owner@example.com', status: 'open', texts: [{ input: 'prompt', text: 'low one' }], appealPending: false });
  });

  it('answers 400 in our error shape for a bad cursor, status or limit', async () => {
    for (const q of ['cursor=nonsense', 'status=pending', 'limit=0', 'limit=1000']) {
      const res = await mod.get(`/api/moderation/queue?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
    }
  });
});

describe('a case and its evidence', () => {
  it('shows the case with its events; an unknown or malformed id is 404', async () => {
    const owner = await m.user('detail-owner@example.com');
    const id = await m.openCase({ userId: owner.userId, text: 'a prompt' });
    const res = await mod.get(`/api/moderation/cases/${id}`);
    expect(res.status).toBe(200);
    const detail = res.json<CaseDetail>();
    expect(detail).toMatchObject({ id, userId: owner.userId, strikes: 0, holds: [], report: null, appealText: null });
    expect(detail.events.map((e) => e.kind)).toEqual(['classifier']);
    expect((await mod.get('/api/moderation/cases/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await mod.get('/api/moderation/cases/not-a-case')).json().error.code).toBe('not_found');
    expect((await support.get(`/api/moderation/cases/${id}`)).status).toBe(403);
  });

  it('serves an evidence file to moderators only, never cached, with its type; anything not media as a download', async () => {
    const owner = await m.user('evidence-owner@example.com');
    const id = await m.openCase({ userId: owner.userId });
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const store = m.app.platform.ctx.store;
    const db = m.app.db;
    const image = await addEvidence(
      db,
      id,
      { input: 'output', storageKey: `quarantine/${id}/image.png`, contentType: 'image/png', sizeBytes: png.length },
      m.clock.now(),
    );
    await store.put(`quarantine/${id}/image.png`, png, { contentType: 'image/png' });
    const page = await addEvidence(db, id, { input: 'reference', storageKey: `quarantine/${id}/page.html`, contentType: 'text/html' }, m.clock.now());
    await store.put(`quarantine/${id}/page.html`, Buffer.from('<script>alert(1)</script>'), { contentType: 'text/html' });

    const res = await mod.get(`/api/moderation/cases/${id}/evidence/${image.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(res.body, 'latin1').length).toBeGreaterThan(0);

    const html = await admin.get(`/api/moderation/cases/${id}/evidence/${page.id}`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toBe('application/octet-stream');
    expect(html.headers.get('content-disposition')).toMatch(/^attachment/);

    expect((await support.get(`/api/moderation/cases/${id}/evidence/${image.id}`)).status).toBe(403);
    expect((await owner.get(`/api/moderation/cases/${id}/evidence/${image.id}`)).status).toBe(404);
    expect((await mod.get(`/api/moderation/cases/${id}/evidence/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    // the evidence of another case is not reachable through this one
    const other = await m.openCase({ userId: owner.userId });
    expect((await mod.get(`/api/moderation/cases/${other}/evidence/${image.id}`)).status).toBe(404);
    // the row names a file that is gone
    await store.delete(`quarantine/${id}/image.png`);
    const gone = await mod.get(`/api/moderation/cases/${id}/evidence/${image.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json().error.code).toBe('not_found');
  });
});

describe('decisions', () => {
  it('refuses bad input with 400, support with 403, an unknown case with 404', async () => {
    const owner = await m.user('bad-decision@example.com');
    const id = await m.openCase({ userId: owner.userId });
    const noReason = await mod.post(`/api/moderation/cases/${id}/decision`, { decision: 'remove' });
    expect(noReason.status).toBe(400);
    expect(noReason.json().error.fields[0].field).toBe('reason');
    expect((await decide(mod, id, 'delete_everything')).status).toBe(400);
    expect((await decide(mod, id, 'remove', '   ')).status).toBe(400);
    expect((await decide(support, id, 'remove')).status).toBe(403);
    expect((await owner.post(`/api/moderation/cases/${id}/decision`, { decision: 'allow', reason: 'mine' })).status).toBe(404);
    expect((await decide(mod, '00000000-0000-4000-8000-000000000000', 'remove')).status).toBe(404);
    expect(await eventsOf(m.app, id)).toHaveLength(1);
  });

  it('records who decided what, when and why, closes the case, and is idempotent for the same decision; another one is 409', async () => {
    const owner = await m.user('decided@example.com');
    const id = await m.openCase({ userId: owner.userId });
    await m.clock.advance(60_000);
    const at = m.clock.now();
    const res = await decide(mod, id, 'remove', 'graphic violence');
    expect(res.status).toBe(200);
    const detail = res.json<CaseDetail>();
    expect(detail).toMatchObject({ status: 'closed', outcome: 'removed' });
    expect(detail.events.at(-1)).toMatchObject({
      kind: 'decision',
      action: 'remove',
      actorId: mod.userId,
      actorEmail: 'mod@example.com',
      note: 'graphic violence',
    });
    expect(new Date(detail.events.at(-1)!.createdAt).getTime()).toBe(at.getTime());

    const again = await decide(mod, id, 'remove', 'graphic violence');
    expect(again.status).toBe(200);
    expect(again.json<CaseDetail>().events.filter((e) => e.kind === 'decision')).toHaveLength(1);

    const conflict = await decide(admin, id, 'allow', 'changed my mind');
    expect(conflict.status).toBe(409);
    expect(conflict.json().error.code).toBe('case_closed');
    expect((await eventsOf(m.app, id)).filter((e) => e.kind === 'decision')).toHaveLength(1);

    const closed = (await mod.get('/api/moderation/queue?status=closed&limit=100')).json<QueueResponse>();
    expect(closed.items.map((i) => i.id)).toContain(id);
    const open = (await mod.get('/api/moderation/queue?limit=100')).json<QueueResponse>();
    expect(open.items.map((i) => i.id)).not.toContain(id);
  });

  it('suspends and terminates accounts, ending their sessions', async () => {
    const bad = await m.user('to-suspend@example.com');
    const worse = await m.user('to-terminate@example.com');
    expect((await bad.get('/api/me')).status).toBe(200);
    const a = await m.openCase({ userId: bad.userId });
    const b = await m.openCase({ userId: worse.userId });
    expect((await decide(mod, a, 'suspend', 'harassment campaign')).json<CaseDetail>().outcome).toBe('suspended');
    expect((await decide(admin, b, 'terminate', 'repeat offender')).json<CaseDetail>().outcome).toBe('terminated');
    expect((await bad.get('/api/me')).status).toBe(401);
    expect((await worse.get('/api/me')).status).toBe(401);
    const rows = await m.app.db.sql.query<{ email: string; status: string; status_reason: string }>(
      `select email, status, status_reason from users where id = any($1) order by email`,
      [[bad.userId, worse.userId]],
    );
    expect(rows).toEqual([
      { email: 'to-suspend@example.com', status: 'suspended', status_reason: 'harassment campaign' },
      { email: 'to-terminate@example.com', status: 'terminated', status_reason: 'repeat offender' },
    ]);
  });

  it('adds one strike per case and suspends automatically at the threshold (actor null, auto_suspend)', async () => {
    const user = await m.user('striker@example.com');
    const first = await m.openCase({ userId: user.userId });
    const second = await m.openCase({ userId: user.userId });
    const one = await decide(mod, first, 'remove_strike', 'first strike');
    expect(one.json<CaseDetail>()).toMatchObject({ outcome: 'removed_strike', strikes: 1 });
    // repeating the decision adds no second strike to the same case
    expect((await decide(mod, first, 'remove_strike', 'first strike')).json<CaseDetail>().strikes).toBe(1);
    expect((await user.get('/api/me')).status).toBe(200);

    const two = (await decide(mod, second, 'remove_strike', 'second strike')).json<CaseDetail>();
    expect(two.strikes).toBe(2);
    expect(two.events.slice(-2).map((e) => [e.action, e.actorId])).toEqual([
      ['remove_strike', mod.userId],
      ['auto_suspend', null],
    ]);
    expect(two.events.at(-1)!.details).toMatchObject({ strikes: 2, threshold: 2 });
    expect((await user.get('/api/me')).status).toBe(401);
    const [row] = await m.app.db.sql.query<{ status: string }>(`select status from users where id = $1`, [user.userId]);
    expect(row!.status).toBe('suspended');
  });
});

describe('decisions through the quarantine and CyberTipline ports', () => {
  class RecordingQuarantine implements QuarantinePort {
    calls: string[] = [];
    failNext = false;
    async release(caseId: string) {
      await this.record('release', caseId);
    }
    async remove(caseId: string) {
      await this.record('remove', caseId);
    }
    private async record(what: string, caseId: string) {
      if (this.failNext) {
        this.failNext = false;
        throw new Error('the store is down');
      }
      this.calls.push(`${what}:${caseId}`);
      // what H2's quarantine does to the generation's status, so a repeat finds nothing held
      await m.app.db.sql.query(
        `update generations set status = $2 where id = (select generation_id from moderation_cases where id = $1) and status = 'under_review'`,
        [caseId, what === 'release' ? 'succeeded' : 'blocked'],
      );
    }
  }

  it('allow releases a held output, remove removes it; a failure leaves the decision recorded and a repeat retries', async () => {
    const owner = await m.user('held@example.com');
    const quarantine = new RecordingQuarantine();
    const svc = serviceWith({ quarantine });
    const actor = { id: mod.userId, role: 'moderator' as const };

    const g1 = await m.generation(owner.userId, 'under_review');
    const c1 = await m.openCase({ userId: owner.userId, generationId: g1 });
    await svc.decide(actor, c1, { decision: 'allow', reason: 'fine after all' });
    expect(quarantine.calls).toEqual([`release:${c1}`]);

    const g2 = await m.generation(owner.userId, 'under_review');
    const c2 = await m.openCase({ userId: owner.userId, generationId: g2 });
    quarantine.failNext = true;
    await expect(svc.decide(actor, c2, { decision: 'remove', reason: 'gore' })).rejects.toMatchObject({ code: 'quarantine_failed', status: 503 });
    expect((await svc.detail(c2)).outcome).toBe('removed');
    await svc.decide(actor, c2, { decision: 'remove', reason: 'gore' });
    expect(quarantine.calls).toEqual([`release:${c1}`, `remove:${c2}`]);

    // nothing held (the output was never quarantined): no call
    const g3 = await m.generation(owner.userId, 'succeeded');
    const c3 = await m.openCase({ userId: owner.userId, generationId: g3 });
    await svc.decide(actor, c3, { decision: 'remove', reason: 'reported' });
    expect(quarantine.calls).toHaveLength(2);
  });

  it('escalate_csam runs the CyberTipline port inside the decision transaction; without it the answer is 503 and nothing changes', async () => {
    const owner = await m.user('csam@example.com');
    const c1 = await m.openCase({ userId: owner.userId, severity: 1, category: 'sexual/minors', action: 'block' });
    const unavailable = await decide(mod, c1, 'escalate_csam', 'confirmed');
    if (unavailable.status === 503) {
      expect(unavailable.json().error.code).toBe('ncmec_unavailable');
      expect((await eventsOf(m.app, c1)).map((e) => e.kind)).toEqual(['classifier']);
    } else {
      // the lead wired H3's real escalation into the app's service
      expect(unavailable.status).toBe(200);
    }

    const seen: NcmecEscalation[] = [];
    const ncmec: NcmecPort = {
      async escalate(tx: DbHandle, input) {
        seen.push(input);
        await addEvent(tx, input.caseId, { kind: 'ncmec', action: 'queued', actorId: input.actorId, note: input.reason }, m.clock.now());
      },
    };
    const c2 = await m.openCase({ userId: owner.userId, severity: 1, category: 'sexual/minors', action: 'block' });
    const detail = await serviceWith({ ncmec }).decide({ id: admin.userId, role: 'admin' }, c2, { decision: 'escalate_csam', reason: 'confirmed CSAM' });
    expect(detail.outcome).toBe('csam_reported');
    expect(seen).toEqual([{ caseId: c2, actorId: admin.userId, reason: 'confirmed CSAM' }]);
    expect(detail.events.map((e) => [e.kind, e.action].join(':'))).toEqual(['classifier:block', 'decision:escalate_csam', 'ncmec:queued']);

    // a port that fails rolls the whole decision back
    const c3 = await m.openCase({ userId: owner.userId, severity: 1, category: 'sexual/minors', action: 'block' });
    const failing: NcmecPort = {
      async escalate(tx, input) {
        await addEvent(tx, input.caseId, { kind: 'ncmec', action: 'queued' }, m.clock.now());
        throw new Error('could not assemble the report');
      },
    };
    await expect(serviceWith({ ncmec: failing }).decide({ id: mod.userId, role: 'moderator' }, c3, { decision: 'escalate_csam', reason: 'x' })).rejects.toThrow(
      'could not assemble',
    );
    expect((await eventsOf(m.app, c3)).map((e) => e.kind)).toEqual(['classifier']);

    // automatic escalation (a CSAM hash match): actor null, also on a case already decided otherwise, once
    const c4 = await m.openCase({ userId: owner.userId, severity: 1, category: 'sexual/minors', action: 'block' });
    const svc = serviceWith({ ncmec });
    await svc.decide({ id: mod.userId, role: 'moderator' }, c4, { decision: 'remove', reason: 'looked adult' });
    await svc.escalateAutomatically(c4, 'matched list csam-demo');
    await svc.escalateAutomatically(c4, 'matched list csam-demo');
    expect(seen.filter((s) => s.caseId === c4)).toEqual([{ caseId: c4, actorId: null, reason: 'matched list csam-demo' }]);
    const auto = await svc.detail(c4);
    expect(auto.outcome).toBe('csam_reported');
    expect(auto.events.filter((e) => e.kind === 'decision').map((e) => [e.action, e.actorId])).toEqual([
      ['remove', mod.userId],
      ['escalate_csam', null],
    ]);
  });

  it('a moderator role is checked by the service too', async () => {
    const owner = await m.user('svc-role@example.com');
    const id = await m.openCase({ userId: owner.userId });
    await expect(serviceWith({}).decide({ id: support.userId, role: 'support' }, id, { decision: 'allow', reason: 'x' })).rejects.toMatchObject({
      status: 403,
    });
  });
});
