import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../adapters/clock';
import type { DbHandle } from '../../db/client';
import { createCredits, InsufficientCredits, ledgerKey, type Credits } from './credits';
import { createInMemoryCreditsRepo, type InMemoryCreditsRepo } from './in-memory-credits-repo';

/** The credit operations on an in-memory repository: arithmetic, guards, idempotency, keys. */

const tx = {} as DbHandle;
let repo: InMemoryCreditsRepo;
let credits: Credits;
let clock: FakeClock;

beforeEach(() => {
  repo = createInMemoryCreditsRepo();
  clock = new FakeClock(Date.parse('2026-06-01T00:00:00.000Z'));
  credits = createCredits(repo, clock);
});

const account = (userId = 'u1') => repo.balances.get(userId);
const rows = (userId = 'u1') => repo.ledger.filter((r) => r.userId === userId).map((r) => [r.kind, r.amount, r.heldDelta, r.balanceAfter]);
const charge = (credits: number, generationId = 'g1') => ({ userId: 'u1', generationId, credits, reason: 'a video' });

async function fund(amount: number, userId = 'u1') {
  await credits.grant(tx, { userId, credits: amount, reason: 'test', source: 'operator' });
}

describe('hold, capture, release', () => {
  it('a hold moves the price from spendable to held; a capture spends it', async () => {
    await fund(100);
    expect(await credits.hold(tx, charge(30))).toBe(70);
    expect(account()).toEqual({ balance: 70, held: 30 });
    expect(await credits.capture(tx, charge(30))).toBe(70);
    expect(account()).toEqual({ balance: 70, held: 0 });
    expect(rows()).toEqual([
      ['grant', 100, 0, 100],
      ['hold', -30, 30, 70],
      ['capture', 0, -30, 70],
    ]);
  });

  it('a release gives the held price back', async () => {
    await fund(100);
    await credits.hold(tx, charge(40));
    expect(await credits.release(tx, charge(40))).toBe(100);
    expect(account()).toEqual({ balance: 100, held: 0 });
    // the ledger explains the balance exactly
    expect(repo.ledger.reduce((sum, r) => sum + r.amount, 0)).toBe(100);
  });

  it('each is keyed by the generation, with the keys existing ledgers hold', async () => {
    await fund(100);
    await credits.hold(tx, charge(10, 'gen-a'));
    await credits.capture(tx, charge(10, 'gen-a'));
    await credits.hold(tx, charge(10, 'gen-b'));
    await credits.release(tx, charge(10, 'gen-b'));
    expect(repo.ledger.slice(1).map((r) => [r.reference, r.idempotencyKey])).toEqual([
      ['generation:gen-a', 'hold:gen-a'],
      ['generation:gen-a', 'capture:gen-a'],
      ['generation:gen-b', 'hold:gen-b'],
      ['generation:gen-b', 'release:gen-b'],
    ]);
  });

  it('a replayed hold, capture or release changes nothing and answers null', async () => {
    await fund(100);
    await credits.hold(tx, charge(30));
    expect(await credits.hold(tx, charge(30))).toBeNull();
    await credits.capture(tx, charge(30));
    expect(await credits.capture(tx, charge(30))).toBeNull();
    // a release after the capture is the same generation settled twice: its key differs, but nothing is held any more
    await expect(credits.release(tx, charge(30))).rejects.toThrow(/exceeds what is held/);
    expect(account()).toEqual({ balance: 70, held: 0 });
    expect(repo.ledger).toHaveLength(3);
  });

  it('refuses a hold larger than the balance, writing nothing', async () => {
    await fund(20);
    await expect(credits.hold(tx, charge(21))).rejects.toBeInstanceOf(InsufficientCredits);
    expect(account()).toEqual({ balance: 20, held: 0 });
    expect(repo.ledger).toHaveLength(1);
    // exactly the balance is fine
    expect(await credits.hold(tx, charge(20))).toBe(0);
  });

  it('a user without an account has nothing to hold', async () => {
    await expect(credits.hold(tx, charge(1))).rejects.toBeInstanceOf(InsufficientCredits);
    expect(await credits.balanceOf(tx, 'u1')).toEqual({ balance: 0, held: 0 });
  });
});

describe('grants, purchases and take-backs', () => {
  it('the signup grant is given once per account', async () => {
    const welcome = { userId: 'u1', credits: 50, reason: 'Welcome credits', source: 'signup' as const };
    expect(await credits.grant(tx, welcome)).toBe(50);
    expect(await credits.grant(tx, welcome)).toBeNull();
    expect(account()!.balance).toBe(50);
    expect(repo.ledger[0]).toMatchObject({ kind: 'grant', reference: 'signup', idempotencyKey: 'signup-grant:u1' });
  });

  it("operators' grants and adjustments are never deduplicated; a negative adjustment cannot overdraw", async () => {
    await credits.grant(tx, { userId: 'u1', credits: 10, reason: 'support', source: 'operator' });
    await credits.grant(tx, { userId: 'u1', credits: 10, reason: 'support', source: 'operator' });
    expect(await credits.adjust(tx, { userId: 'u1', amount: -15, reason: 'duplicate grant' })).toBe(5);
    await expect(credits.adjust(tx, { userId: 'u1', amount: -6, reason: 'too much' })).rejects.toBeInstanceOf(InsufficientCredits);
    expect(repo.ledger.map((r) => [r.kind, r.amount, r.reference, r.idempotencyKey])).toEqual([
      ['grant', 10, 'cli', null],
      ['grant', 10, 'cli', null],
      ['adjustment', -15, 'cli', null],
    ]);
  });

  it('a purchase is keyed by the total the order has granted: a larger payment later is new, a replay is not', async () => {
    const buy = (credits: number, grantedTotal: number) => ({ userId: 'u1', orderId: 'o1', credits, grantedTotal, reason: 'bought' });
    expect(await credits.purchase(tx, buy(400, 400))).toBe(400);
    expect(await credits.purchase(tx, buy(600, 1000))).toBe(1000);
    expect(await credits.purchase(tx, buy(600, 1000))).toBeNull();
    expect(repo.ledger.map((r) => [r.kind, r.reference, r.idempotencyKey])).toEqual([
      ['purchase', 'order:o1', 'order:o1:grant:400'],
      ['purchase', 'order:o1', 'order:o1:grant:1000'],
    ]);
  });

  it('a clawback takes credits back once per cumulative total and never below zero', async () => {
    await credits.purchase(tx, { userId: 'u1', orderId: 'o1', credits: 1000, grantedTotal: 1000, reason: 'bought' });
    const back = (credits: number, clawedBackTotal: number) => ({ userId: 'u1', orderId: 'o1', credits, clawedBackTotal, reason: 'refunded' });
    expect(await credits.clawback(tx, back(300, 300))).toBe(700);
    expect(await credits.clawback(tx, back(300, 300))).toBeNull();
    await expect(credits.clawback(tx, back(701, 1001))).rejects.toBeInstanceOf(InsufficientCredits);
    expect(repo.ledger.at(-1)).toMatchObject({ kind: 'clawback', amount: -300, idempotencyKey: 'order:o1:clawback:300' });
  });

  it("expiry is keyed by the subscription's period; a refund of a delivered video is once per generation", async () => {
    await fund(100);
    const periodStart = new Date('2026-01-01T00:00:00.000Z');
    const expiry = { userId: 'u1', subscriptionId: 's1', periodStart, credits: 60, reason: 'period ended' };
    expect(await credits.expire(tx, expiry)).toBe(40);
    expect(await credits.expire(tx, expiry)).toBeNull();
    expect(repo.ledger.at(-1)).toMatchObject({
      kind: 'expire',
      reference: 'subscription:s1',
      idempotencyKey: 'subscription:s1:expire:2026-01-01T00:00:00.000Z',
    });
    expect(await credits.refund(tx, charge(25, 'g9'))).toBe(65);
    expect(await credits.refund(tx, charge(25, 'g9'))).toBeNull();
    expect(repo.ledger.at(-1)).toMatchObject({ kind: 'refund', amount: 25, heldDelta: 0, reference: 'generation:g9', idempotencyKey: 'refund:g9' });
  });
});

describe('reads', () => {
  it('counts what was captured in a period and pages the history newest first', async () => {
    await fund(100);
    for (const g of ['a', 'b', 'c']) {
      await credits.hold(tx, charge(10, g));
      await credits.capture(tx, charge(10, g));
    }
    expect(await credits.capturedBetween(tx, 'u1', new Date(0), null)).toBe(30);
    expect(await credits.capturedBetween(tx, 'u1', new Date(clock.nowMs() + 60_000), null)).toBe(0);
    // each movement is dated by the module's clock
    expect(repo.ledger.every((r) => r.createdAt.getTime() === clock.nowMs())).toBe(true);
    const first = await credits.history(tx, 'u1', { limit: 3 });
    expect(first.map((r) => r.kind)).toEqual(['capture', 'hold', 'capture']);
    const next = await credits.history(tx, 'u1', { limit: 10, beforeId: String(first.at(-1)!.id) });
    expect(next.map((r) => r.kind)).toEqual(['hold', 'capture', 'hold', 'grant']);
  });
});

describe('the key convention', () => {
  it('builds the exact strings running installations have in their ledgers', () => {
    expect(ledgerKey.signupGrant('u')).toBe('signup-grant:u');
    expect([ledgerKey.hold('g'), ledgerKey.capture('g'), ledgerKey.release('g')]).toEqual(['hold:g', 'capture:g', 'release:g']);
    expect(ledgerKey.purchase('o', 3000)).toBe('order:o:grant:3000');
    expect(ledgerKey.clawback('o', 1666)).toBe('order:o:clawback:1666');
    expect(ledgerKey.expire('s', new Date('2026-03-01T12:00:00Z'))).toBe('subscription:s:expire:2026-03-01T12:00:00.000Z');
  });
});
