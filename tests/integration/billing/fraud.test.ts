import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../../src/shared/api';
import { runCommand } from '../../../src/server/cli/commands';
import { signalHash, signalKey } from '../../../src/server/domain/abuse/signal-hash';
import { TestClient } from '../../helpers/client';
import { closeAll } from '../../helpers/close';
import { until } from '../../helpers/wait';
import { startBillingApp, type BillingApp } from './setup';

/**
 * Payment fraud (issue 19) on one billing app with the fake Stripe: a dispute webhook holds the
 * account's generation (web, developer API and OpenAI-compatible API refused with 403), opens an
 * account case and writes an audit entry, once however often it is delivered; the console's
 * reactivate (and the CLI's) lifts it. Velocity rules at checkout: failed payments per account, per
 * card and per address in the last hour, and accounts per card, blocking or flagging per
 * PAYMENT_VELOCITY_ACTION (a live setting, switched on the shared config). Radar's outcome and the
 * card's fingerprint land on the order and in the account's signals.
 */
let b: BillingApp;
const PASSWORD = 'a fine password 1';
let n = 0;

interface Person extends TestClient {
  userId: string;
  email: string;
}

async function person(role: 'user' | 'admin', ip: string): Promise<Person> {
  const email = `fraud-${role}-${++n}@example.com`;
  const u = await b.app.platform.ctx.services.users.create({ email, password: PASSWORD, name: `Fraud ${n}`, role });
  const c = new TestClient(b.app.url, { ip });
  const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
  return Object.assign(c, { userId: u.id, email });
}

const rows = <T = Record<string, unknown>>(text: string, params: unknown[] = []) => b.app.db.sql.query<T>(text, params);
const config = () => b.app.platform.ctx.config;
const hash = (kind: 'card' | 'ip', value: string) => signalHash(signalKey(config().SESSION_SECRET), kind, value);

let admin: Person;

beforeAll(async () => {
  b = await startBillingApp({ TRUST_PROXY: 'true' });
  admin = await person('admin', '192.0.2.200');
});
afterAll(() => closeAll(b));

/** Starts a Stripe checkout: the order and its session id. */
async function start(c: TestClient) {
  const res = await c.post('/api/billing/checkout', { plan: 'starter', provider: 'stripe', currency: 'usd' });
  return {
    res,
    orderId: res.status === 200 ? res.json<{ orderId: string }>().orderId : '',
    sessionId: res.status === 200 ? res.json<{ url: string }>().url.split('/pay/')[1]! : '',
  };
}

/** A paid order through the fake's hosted checkout with this card and Radar verdict. */
async function pay(c: Person, card: { fingerprint: string; last4?: string }, risk?: { level: 'normal' | 'elevated' | 'highest'; score?: number }) {
  const { res, orderId, sessionId } = await start(c);
  expect(res.status, res.body).toBe(200);
  b.stripe.completeCheckout(sessionId, 'paid', { card, ...(risk ? { risk } : {}) });
  await b.stripe.settled();
  await b.waitOrder(c, orderId, 'paid');
  return { orderId, sessionId, pi: String(b.stripe.sessions.get(sessionId)!.payment_intent) };
}

async function decline(c: Person, times: number, card: { fingerprint: string }) {
  const { res, sessionId } = await start(c);
  expect(res.status, res.body).toBe(200);
  for (let i = 0; i < times; i++) b.stripe.declineCard(sessionId, { card });
  await b.stripe.settled();
}

const generate = (c: TestClient, headers: Record<string, string> = {}) =>
  c.post('/api/generations', { model: 'local-preview', prompt: 'a kite over the sea', duration: 2, resolution: '480p' }, headers);

describe('a dispute holds generation', () => {
  it('holds web and API generation, opens a case, audits once however often delivered; reactivation restores it', async () => {
    const buyer = await person('user', '203.0.113.10');
    const key = (await buyer.post('/api/keys', { name: 'fraud key' })).json<CreatedApiKey>();
    const { orderId, pi } = await pay(buyer, { fingerprint: 'fp_dispute' });
    const running = await generate(buyer);
    expect(running.status).toBe(202);

    b.stripe.dispute(pi);
    await b.stripe.settled();
    const [u] = await rows<{ generation_hold: string | null; generation_hold_at: Date | null }>(
      'select generation_hold, generation_hold_at from users where id = $1',
      [buyer.userId],
    );
    expect(u!.generation_hold).toContain(orderId);
    expect(u!.generation_hold_at).toBeTruthy();

    // every way to start a video is refused with our error shape
    const web = await generate(buyer);
    expect(web.status).toBe(403);
    expect(web.json()).toMatchObject({ error: { code: 'generation_on_hold', message: expect.stringContaining('Contact support') } });
    const api = new TestClient(b.app.url, { ip: '203.0.113.10', headers: { authorization: `Bearer ${key.secret}` } });
    const v1 = await api.post('/api/v1/generations', { model: 'local-preview', prompt: 'a kite', duration: 2, resolution: '480p' });
    expect(v1.status, v1.body).toBe(403);
    expect(v1.json()).toMatchObject({ error: { code: 'generation_on_hold' } });
    const openai = await api.post('/v1/videos', { model: 'local-preview', prompt: 'a kite', seconds: '2', size: '854x480' });
    expect(openai.status, openai.body).toBe(403);

    // a case in the trust & safety queue, and the audit entry with the system actor
    const cases = await rows<{ id: string; subject: string; status: string; top_category: string }>(
      `select id, subject, status, top_category from moderation_cases where user_id = $1`,
      [buyer.userId],
    );
    expect(cases).toEqual([expect.objectContaining({ subject: 'account', status: 'open', top_category: 'payment_fraud' })]);
    // the console's user page shows the hold and the case
    const risk = await admin.get(`/api/admin/users/${buyer.userId}/risk`);
    expect(risk.status, risk.body).toBe(200);
    expect(risk.json()).toMatchObject({
      flags: { generationHold: { reason: expect.stringContaining(orderId) }, openCases: [expect.objectContaining({ id: cases[0]!.id })] },
    });
    const queue = await admin.get('/api/moderation/queue?status=open');
    expect(queue.status, queue.body).toBe(200);
    expect(queue.body).toContain(cases[0]!.id);
    // a video started before the hold finishes
    const id = running.json<{ id: string }>().id;
    await until(async () => (await buyer.get(`/api/generations/${id}`)).json<{ status: string }>().status === 'succeeded', {
      app: b.app,
      timeoutMs: 30_000,
      what: 'the video started before the dispute to finish',
    });
    const events = await rows<{ note: string; details: { decision: string; orderId: string } }>(
      'select note, details from moderation_events where case_id = $1',
      [cases[0]!.id],
    );
    expect(events).toEqual([expect.objectContaining({ details: expect.objectContaining({ decision: 'generation_hold', orderId }) })]);
    const audit = async () =>
      rows<{ actor_label: string; reason: string }>(`select actor_label, reason from audit_log where action = 'user.generation_hold' and target_id = $1`, [
        buyer.userId,
      ]);
    expect(await audit()).toEqual([expect.objectContaining({ actor_label: 'system', reason: expect.stringContaining(orderId) })]);

    // redelivery of the same event changes nothing
    const dispute = b.stripe.events.filter((e) => e.type === 'charge.dispute.created').at(-1)!;
    await b.stripe.resend(dispute.id);
    await b.stripe.settled();
    expect(await audit()).toHaveLength(1);
    expect(await rows('select 1 from moderation_events where case_id = $1', [cases[0]!.id])).toHaveLength(1);

    // the console's reactivate lifts the hold, audited with before and after
    const back = await admin.post(`/api/admin/users/${buyer.userId}/reactivate`, { reason: 'dispute reviewed: a family member, resolved' });
    expect(back.status, back.body).toBe(200);
    const [entry] = await rows<{ before: { generationHold: string }; after: { generationHold: null } }>(
      `select before, after from audit_log where action = 'user.reactivate' and target_id = $1`,
      [buyer.userId],
    );
    expect(entry!.before.generationHold).toContain(orderId);
    expect(entry!.after.generationHold).toBeNull();
    // (the dispute took the bought credits back: an operator grants some to try again)
    expect((await admin.post(`/api/admin/users/${buyer.userId}/credits`, { amount: 50, reason: 'goodwill after review' })).status).toBe(200);
    expect((await generate(buyer)).status).toBe(202);

    // the CLI's user:reactivate does the same
    const second = await pay(buyer, { fingerprint: 'fp_dispute' });
    b.stripe.dispute(second.pi);
    await b.stripe.settled();
    expect((await generate(buyer)).status).toBe(403);
    const out = await runCommand(b.app.platform.ctx, 'user:reactivate', ['--email', buyer.email]);
    expect(out).toContain('active again');
    expect((await rows<{ generation_hold: string | null }>('select generation_hold from users where id = $1', [buyer.userId]))[0]!.generation_hold).toBeNull();
  });
});

describe('velocity rules at checkout', () => {
  it('blocks after failed payments per account, per card and per address; flags instead when set to flag', async () => {
    const limit = config().PAYMENT_FAILURES_PER_HOUR;
    const a = await person('user', '203.0.113.20');
    await decline(a, limit, { fingerprint: 'fp_velocity' });
    expect(await rows('select 1 from payment_failures where user_id = $1', [a.userId])).toHaveLength(limit);
    const refused = await start(a);
    expect(refused.res.status).toBe(429);
    expect(refused.res.json()).toMatchObject({ error: { code: 'payment_velocity' } });
    // the failed charges record the card on the account, and the rule its reason
    expect(await rows(`select label from account_signals where user_id = $1 and kind = 'card'`, [a.userId])).toEqual([{ label: 'visa •• 4242' }]);
    const [flagged] = await rows<{ billing_flag: string }>('select billing_flag from users where id = $1', [a.userId]);
    expect(flagged!.billing_flag).toBe('payment_velocity');
    const reasons = await rows<{ note: string }>(
      `select e.note from moderation_events e join moderation_cases c on c.id = e.case_id where c.user_id = $1 and e.details->>'rule' = 'failures_account'`,
      [a.userId],
    );
    expect(reasons[0]!.note).toMatch(/failed payments from this account in the last hour/);

    // another account at the same address
    const sameAddress = await person('user', '203.0.113.20');
    const byAddress = await start(sameAddress);
    expect(byAddress.res.status).toBe(429);

    // another account, elsewhere, that paid with the card that failed
    const sameCard = await person('user', '203.0.113.21');
    await pay(sameCard, { fingerprint: 'fp_velocity' });
    const byCard = await start(sameCard);
    expect(byCard.res.status).toBe(429);
    expect(
      await rows(
        `select 1 from moderation_events e join moderation_cases c on c.id = e.case_id where c.user_id = $1 and e.details->>'rule' = 'failures_card'`,
        [sameCard.userId],
      ),
    ).not.toHaveLength(0);

    // flag: the checkout goes through, the account is flagged with the reason
    config().PAYMENT_VELOCITY_ACTION = 'flag';
    try {
      const f = await person('user', '203.0.113.22');
      await decline(f, limit, { fingerprint: 'fp_flag' });
      const allowed = await start(f);
      expect(allowed.res.status, allowed.res.body).toBe(200);
      expect((await rows<{ billing_flag: string }>('select billing_flag from users where id = $1', [f.userId]))[0]!.billing_flag).toBe('payment_velocity');
      expect(
        await rows(`select 1 from audit_log where action = 'payment.flagged' and target_id = $1 and reason like '%failed payments from this account%'`, [
          f.userId,
        ]),
      ).not.toHaveLength(0);
    } finally {
      config().PAYMENT_VELOCITY_ACTION = 'block';
    }
  });

  it('refuses (or flags) accounts on a card that paid for more accounts than allowed', async () => {
    const limit = config().ACCOUNTS_PER_CARD;
    const people: Person[] = [];
    for (let i = 0; i <= limit; i++) {
      const p = await person('user', `203.0.113.${40 + i}`);
      await pay(p, { fingerprint: 'fp_shared', last4: '0005' });
      people.push(p);
    }
    const last = people.at(-1)!;
    // the payment that made it one account too many flagged the account
    const notes = await rows<{ note: string }>(
      `select e.note from moderation_events e join moderation_cases c on c.id = e.case_id where c.user_id = $1 and e.details->>'rule' = 'accounts_per_card'`,
      [last.userId],
    );
    expect(notes[0]!.note).toContain(`paid for ${limit + 1} accounts within 30 days`);
    const refused = await start(last);
    expect(refused.res.status).toBe(403);
    expect(refused.res.json()).toMatchObject({ error: { code: 'payment_refused' } });
    // every account on the card is over the limit now
    expect((await start(people[0]!)).res.status).toBe(403);
    expect(
      new Set(
        (await rows<{ user_id: string }>(`select user_id from account_signals where kind = 'card' and value_hash = $1`, [hash('card', 'fp_shared')])).map(
          (r) => r.user_id,
        ),
      ).size,
    ).toBe(limit + 1);
  });
});

describe('risk facts on the order', () => {
  it("records Radar's outcome and risk level, the card's fingerprint and the checkout address, as keyed hashes", async () => {
    const c = await person('user', '203.0.113.60');
    const { orderId } = await pay(c, { fingerprint: 'fp_radar', last4: '1881' }, { level: 'elevated', score: 72 });
    const [o] = await rows<{ risk_outcome: string; risk_level: string; payment_fingerprint: string; checkout_ip: string }>(
      'select risk_outcome, risk_level, payment_fingerprint, checkout_ip from orders where id = $1',
      [orderId],
    );
    expect(o).toEqual({
      risk_outcome: 'manual_review',
      risk_level: 'elevated',
      payment_fingerprint: hash('card', 'fp_radar'),
      checkout_ip: hash('ip', '203.0.113.60'),
    });
    expect(
      await rows(`select label, source from account_signals where user_id = $1 and kind = 'card' and value_hash = $2`, [c.userId, hash('card', 'fp_radar')]),
    ).toEqual([{ label: 'visa •• 1881', source: 'payment' }]);
    // a payment Radar placed in review is a reason for a person to look
    const rule = await rows(
      `select 1 from moderation_events e join moderation_cases c on c.id = e.case_id where c.user_id = $1 and e.details->>'rule' = 'radar_review'`,
      [c.userId],
    );
    expect(rule).toHaveLength(1);
    // nothing in clear
    const dump =
      JSON.stringify(await rows('select * from orders where id = $1', [orderId])) +
      JSON.stringify(await rows('select * from account_signals where user_id = $1', [c.userId]));
    expect(dump).not.toContain('fp_radar');
    expect(dump).not.toContain('203.0.113.60');

    // a subscription's first charge names no order: it waits for the subscription's order, then lands on it
    const sub = await c.post('/api/billing/checkout', { plan: 'pro-monthly', provider: 'stripe', currency: 'usd' });
    expect(sub.status, sub.body).toBe(200);
    const subOrder = sub.json<{ orderId: string }>().orderId;
    b.stripe.completeCheckout(sub.json<{ url: string }>().url.split('/pay/')[1]!, 'paid', { card: { fingerprint: 'fp_subscriber' } });
    await b.stripe.settled();
    await b.waitOrder(c, subOrder, 'paid');
    const [s1] = await rows<{ payment_fingerprint: string; risk_level: string }>('select payment_fingerprint, risk_level from orders where id = $1', [
      subOrder,
    ]);
    expect(s1).toEqual({ payment_fingerprint: hash('card', 'fp_subscriber'), risk_level: 'normal' });

    // Radar blocking a charge counts as a failed payment with its outcome
    const { sessionId, orderId: pending } = await start(c);
    b.stripe.declineCard(sessionId, { card: { fingerprint: 'fp_radar' }, outcome: 'blocked' });
    await b.stripe.settled();
    const [blocked] = await rows<{ outcome: string; payment_fingerprint: string }>(
      'select outcome, payment_fingerprint from payment_failures where order_id = $1',
      [pending],
    );
    expect(blocked).toEqual({ outcome: 'blocked', payment_fingerprint: hash('card', 'fp_radar') });
    expect((await rows<{ risk_outcome: string; risk_level: string }>('select risk_outcome, risk_level from orders where id = $1', [pending]))[0]).toEqual({
      risk_outcome: 'blocked',
      risk_level: 'highest',
    });
  });
});
