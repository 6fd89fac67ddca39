import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView } from '../../../src/shared/api';
import { startGenerationsApp, type GenerationsApp } from './setup';
import { closeAll } from '../../helpers/close';

/**
 * Many concurrent submits with one Idempotency-Key, from a user whose balance pays for exactly one
 * video: one generation is made and every request answers with it (issue 14). The web role only
 * queues the task, so nothing is rendered.
 */
const N = 30;
// local-preview at 2 s, 480p costs 2 credits: the users below get exactly that
const body = { model: 'local-preview', prompt: 'one video, many clicks', duration: 2, resolution: '480p' };
const PRICE = 2;

let g: GenerationsApp;
beforeAll(async () => {
  g = await startGenerationsApp({ API_KEY_MAX_IN_FLIGHT: '10', API_RATE_PER_MINUTE: '100000', API_USER_RATE_PER_MINUTE: '100000' }, { role: 'web' });
});
afterAll(() => closeAll(g));

interface Answer {
  status: number;
  replayed: boolean;
  body: { id?: string; error?: { code: string } };
}

/** what the database holds for the user: generations, and holds in the ledger */
async function stored(userId: string) {
  const tasks = await g.app.db.sql.query<{ id: string }>('select id from generations where user_id = $1', [userId]);
  const holds = await g.app.db.sql.query<{ amount: string; reference: string }>(
    `select amount, reference from credit_ledger where user_id = $1 and kind = 'hold'`,
    [userId],
  );
  const [balance] = await g.app.db.sql.query<{ balance: string; held: string }>('select balance, held from credit_balances where user_id = $1', [userId]);
  return {
    tasks: tasks.map((t) => t.id),
    holds: holds.map((h) => [Number(h.amount), h.reference]),
    balance: { balance: Number(balance!.balance), held: Number(balance!.held) },
  };
}

/** the one generation every answer names, after checking that all of them name the same one */
function oneGeneration(answers: Answer[]): string {
  const ids = new Set(answers.map((a) => a.body.id));
  expect(answers.map((a) => a.body.error?.code ?? null)).toEqual(answers.map(() => null));
  expect(ids.size).toBe(1);
  return [...ids][0]!;
}

async function apiKey(userId: string) {
  return (await g.app.platform.ctx.services.developer.createKey(userId, { name: 'race', scopes: ['videos:read', 'videos:write'] })).secret;
}

describe('one Idempotency-Key, 30 concurrent submits, credits for one video', () => {
  it('web (/api/generations): one generation, one hold; the first answers 202 and every other one replays it', async () => {
    const c = await g.user('race-web@example.com', PRICE);
    const answers: Answer[] = await Promise.all(
      Array.from({ length: N }, async () => {
        const res = await c.post('/api/generations', body, { 'idempotency-key': 'race-web-1' });
        return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body: res.json() };
      }),
    );
    const id = oneGeneration(answers);
    // the documented contract: 202 for the request that made it, 200 (+ Idempotent-Replayed) for the replays
    expect(answers.filter((a) => a.status === 202 && !a.replayed)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200 && a.replayed)).toHaveLength(N - 1);
    expect(await stored(c.userId)).toEqual({ tasks: [id], holds: [[-PRICE, `generation:${id}`]], balance: { balance: 0, held: PRICE } });

    // later retries replay too; another body with the same key is the documented conflict
    const again = await c.post('/api/generations', body, { 'idempotency-key': 'race-web-1' });
    expect([again.status, again.json<GenerationView>().id]).toEqual([200, id]);
    const other = await c.post('/api/generations', { ...body, prompt: 'another video' }, { 'idempotency-key': 'race-web-1' });
    expect([other.status, other.json().error.code]).toEqual([409, 'idempotency_key_reused']);
  });

  it('web: concurrent submits with one key and two bodies make one generation; the other body gets 409, never 402', async () => {
    const c = await g.user('race-mixed@example.com', PRICE);
    const bodies = Array.from({ length: N }, (_, i) => (i % 2 ? { ...body, prompt: 'the other video' } : body));
    const answers = await Promise.all(
      bodies.map(async (b) => {
        const res = await c.post('/api/generations', b, { 'idempotency-key': 'race-mixed-1' });
        return { prompt: b.prompt, status: res.status, body: res.json<{ id?: string; prompt?: string; error?: { code: string } }>() };
      }),
    );
    const [made] = (await stored(c.userId)).tasks;
    const winner = answers.find((a) => a.status === 202)!;
    expect(winner.body.id).toBe(made);
    for (const a of answers) {
      if (a.prompt === winner.prompt) expect([a.status === 202 || a.status === 200, a.body.id]).toEqual([true, made]);
      else expect([a.status, a.body.error?.code]).toEqual([409, 'idempotency_key_reused']);
    }
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect((await stored(c.userId)).holds).toEqual([[-PRICE, `generation:${made!}`]]);
  });

  it('native API (/api/v1/generations) with an API key: one generation, one hold, every answer names it', async () => {
    const u = await g.user('race-api@example.com', PRICE);
    const secret = await apiKey(u.userId);
    const answers: Answer[] = await Promise.all(
      Array.from({ length: N }, async () => {
        const res = await fetch(`${g.app.url}/api/v1/generations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': 'race-api-1' },
          body: JSON.stringify(body),
        });
        return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body: (await res.json()) as Answer['body'] };
      }),
    );
    const id = oneGeneration(answers);
    expect(answers.filter((a) => a.status === 202 && !a.replayed)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200 && a.replayed)).toHaveLength(N - 1);
    expect(await stored(u.userId)).toEqual({ tasks: [id], holds: [[-PRICE, `generation:${id}`]], balance: { balance: 0, held: PRICE } });
  });

  it('OpenAI-compatible /v1/videos with an API key: all 30 answer 200 with the same video, one hold', async () => {
    const u = await g.user('race-openai@example.com', PRICE);
    const secret = await apiKey(u.userId);
    const answers: Answer[] = await Promise.all(
      Array.from({ length: N }, async () => {
        const res = await fetch(`${g.app.url}/v1/videos`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': 'race-openai-1' },
          body: JSON.stringify({ model: 'local-preview', prompt: 'one video, many clicks', seconds: '2', size: '854x480' }),
        });
        return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body: (await res.json()) as Answer['body'] };
      }),
    );
    const id = oneGeneration(answers);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(answers.filter((a) => a.replayed)).toHaveLength(N - 1);
    expect(await stored(u.userId)).toEqual({ tasks: [id], holds: [[-PRICE, `generation:${id}`]], balance: { balance: 0, held: PRICE } });
  });
});
