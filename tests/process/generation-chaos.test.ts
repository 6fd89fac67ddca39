import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationView } from '../../src/shared/api';
import { closeAll } from '../helpers/close';
import { onPostgresServer } from '../helpers/db';
import { childEnv, startServerProcess, type ServerProcess } from '../helpers/process';
import { startGenerationsApp, type GenerationsApp } from '../integration/generations/setup';
import { until } from '../helpers/wait';

/**
 * 300 generations while the fake providers misbehave: 5xx, 429, timeouts, content-policy
 * rejections after acceptance, duplicate and out-of-order callbacks, expired tasks. On the
 * PostgreSQL server two separate worker processes do the work (the web process answers the API and
 * the callbacks); on the embedded database one process does everything. Afterwards every task is
 * final, each failed one was released exactly once, each successful one captured exactly once, and
 * the ledger adds up to the balances.
 */
const TASKS = 300;
const USERS = 10;

describe('generations under upstream chaos', () => {
  let g: GenerationsApp;
  const workers: ServerProcess[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    const env = {
      GENERATION_MAX_IN_FLIGHT: '1000',
      GENERATION_UNKNOWN_OUTCOME_GRACE_SECONDS: '4',
      GENERATION_POLL_MAX_INTERVAL_SECONDS: '3',
      PROVIDER_TIMEOUT_MS: '1500',
      KIE_RATE_PER_MINUTE: '100000',
      FAL_RATE_PER_MINUTE: '100000',
      WORKER_CONCURRENCY: '8',
    };
    if (onPostgresServer()) {
      g = await startGenerationsApp(env, { role: 'web' });
      for (let i = 0; i < 2; i++) {
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-chaos-'));
        dirs.push(dataDir);
        const w = startServerProcess(
          ['--role=worker'],
          childEnv({
            ...env,
            DATABASE_URL: g.app.db.url,
            DATA_DIR: dataDir,
            PUBLIC_URL: g.app.url,
            WORKER_POLL_INTERVAL_MS: '200',
            KIE_API_KEY: g.kie.apiKey,
            KIE_BASE_URL: g.kie.url,
            KIE_UPLOAD_URL: g.kie.url,
            KIE_WEBHOOK_HMAC_KEY: g.kie.hmacKey!,
            FAL_KEY: g.fal.apiKey,
            FAL_QUEUE_URL: g.fal.url,
            FAL_JWKS_URL: g.fal.jwksUrl,
          }),
        );
        workers.push(w);
      }
      await Promise.all(workers.map((w) => w.waitFor(/Save Sora worker is running/)));
    } else {
      g = await startGenerationsApp(env);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await closeAll(g);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('every task ends final, settled exactly once, and the ledger adds up', async () => {
    // failures the fakes hand to the next submits, in order (each once)
    g.kie.inject({ kind: 'http-error', status: 503 }, 25);
    g.kie.inject({ kind: 'rate-limit', retryAfterSeconds: 1 }, 15);
    g.fal.inject({ kind: 'http-error', status: 502 }, 10);
    g.fal.inject({ kind: 'rate-limit', retryAfterSeconds: 1 }, 10);
    // per-task behaviour through prompt markers
    const markers = [
      '',
      '',
      '',
      '[fake:policy-after-accept]',
      '[fake:duplicate-callbacks]',
      '[fake:out-of-order-callbacks]',
      '[fake:expired]',
      '[fake:fail]',
      '[fake:timeout]',
      '[fake:accept-then-timeout]',
    ];
    const models = [{ model: 'sora-2', duration: 4 }, { model: 'kling-3.0', duration: 3, resolution: '720p', audio: false }, { model: 'veo-3.1-fast' }];
    const users = await Promise.all(Array.from({ length: USERS }, (_, i) => g.user(`chaos${i}@example.com`, 10_000)));
    const submitted: { id: string; user: number }[] = [];
    await Promise.all(
      users.map(async (c, u) => {
        for (let i = u; i < TASKS; i += USERS) {
          const m = models[i % models.length]!;
          const res = await c.post('/api/generations', { ...m, prompt: `chaos ${i} ${markers[i % markers.length]!}` });
          expect(res.status, res.body).toBe(202);
          submitted.push({ id: res.json<GenerationView>().id, user: u });
        }
      }),
    );
    expect(submitted).toHaveLength(TASKS);

    // wait until nothing is in flight (the work may be in other processes: looked at every 500 ms;
    // after 150 s the check below names what is stuck)
    await until(
      async () => {
        const [row] = await g.app.db.sql.query<{ n: string }>(
          `select count(*) as n from generations where status in ('queued', 'submitting', 'running', 'finalizing')`,
        );
        return Number(row!.n) === 0;
      },
      { timeoutMs: 150_000, recheckMs: 500, what: 'every task to end' },
    ).catch(() => undefined);
    const stuck = await g.app.db.sql.query(
      `select id, status, prompt, failure_detail, outcome_unknown_since from generations where status in ('queued', 'submitting', 'running', 'finalizing')`,
    );
    expect(stuck, JSON.stringify(stuck.slice(0, 5))).toEqual([]);

    const rows = await g.app.db.sql.query<{
      id: string;
      status: string;
      prompt: string;
      failure_code: string | null;
      failure_detail: string | null;
      captures: string;
      releases: string;
      holds: string;
    }>(
      `select g.id, g.status, g.prompt, g.failure_code, g.failure_detail,
              count(*) filter (where l.kind = 'capture') as captures,
              count(*) filter (where l.kind = 'release') as releases,
              count(*) filter (where l.kind = 'hold') as holds
         from generations g left join credit_ledger l on l.reference = 'generation:' || g.id
        group by g.id`,
    );
    expect(rows).toHaveLength(TASKS);
    for (const r of rows) {
      const counts = [Number(r.holds), Number(r.captures), Number(r.releases)];
      expect(counts, `${r.id} ${r.status} ${r.prompt}`).toEqual(r.status === 'succeeded' ? [1, 1, 0] : [1, 0, 1]);
    }
    // the markers that must fail did, and the clean ones succeeded
    const byMarker = (m: string) => rows.filter((r) => (m ? r.prompt.endsWith(m) : !r.prompt.includes('[fake:')));
    expect(byMarker('[fake:policy-after-accept]').every((r) => r.status === 'failed' && r.failure_code === 'policy')).toBe(true);
    expect(byMarker('[fake:expired]').every((r) => r.status === 'failed' && r.failure_code === 'generation_failed')).toBe(true);
    expect(byMarker('[fake:duplicate-callbacks]').every((r) => r.status === 'succeeded')).toBe(true);
    expect(byMarker('[fake:out-of-order-callbacks]').every((r) => r.status === 'succeeded')).toBe(true);
    expect(byMarker('[fake:accept-then-timeout]').every((r) => r.status === 'succeeded')).toBe(true);
    const cleanNotSucceeded = byMarker('').filter((r) => r.status !== 'succeeded');
    expect(cleanNotSucceeded.map((r) => `${r.status} ${String(r.failure_code)} ${String(r.failure_detail)} ${r.prompt}`)).toEqual([]);

    // the ledger adds up to the balances, and nothing is held any more
    const sums = await g.app.db.sql.query<{ user_id: string; amount: string; held: string; balance: string; held_now: string }>(
      `select b.user_id, coalesce(sum(l.amount), 0) as amount, coalesce(sum(l.held_delta), 0) as held, b.balance, b.held as held_now
         from credit_balances b left join credit_ledger l on l.user_id = b.user_id group by b.user_id, b.balance, b.held`,
    );
    for (const s of sums) {
      expect([Number(s.amount), Number(s.held)]).toEqual([Number(s.balance), Number(s.held_now)]);
      expect(Number(s.held_now)).toBe(0);
    }

    // no upstream task was created twice for one of ours
    const perTask = new Map<string, number>();
    const count = (url: string | undefined) => {
      const task = url ? new URL(url).searchParams.get('task') : null;
      if (task) perTask.set(task, (perTask.get(task) ?? 0) + 1);
    };
    for (const t of g.kie.tasks.values()) count(t.callBackUrl);
    for (const r of g.fal.created.values()) count(r.webhookUrl);
    expect([...perTask.values()].filter((n) => n > 1)).toEqual([]);
  }, 240_000);
});
