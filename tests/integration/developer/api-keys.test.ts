import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeyView, CreatedApiKey, UsageResponse } from '../../../src/shared/api';
import { FakeClock } from '../../../src/server/adapters/clock';
import { hashApiKey } from '../../../src/server/domain/developer/developer.service';
import { startGenerationsApp, type GenerationsApp } from '../generations/setup';
import { closeAll } from '../../helpers/close';
import { until } from '../../helpers/wait';

/**
 * API keys (policy 1.4 and 8): created on the account, secret shown once and stored hashed,
 * revocable, expiring, scoped; refused in URLs; every API request logged with its code and byte
 * counts, and the log removed after its retention period. The app tells time by a clock the tests
 * move: a key expires when its day has passed on that clock.
 */
const clock = new FakeClock();
let g: GenerationsApp;
beforeAll(async () => {
  g = await startGenerationsApp({ API_RATE_PER_MINUTE: '1000', API_USER_RATE_PER_MINUTE: '1000' }, { clock });
});
afterAll(() => closeAll(g));

const api = (path: string, key: string, init: RequestInit = {}) =>
  fetch(`${g.app.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string> | undefined) } });

describe('API keys', () => {
  it('shows the secret once, lists keys without it, stores only a hash, and revokes at once', async () => {
    const c = await g.user('keys@example.com', 0);
    const res = await c.post('/api/keys', { name: 'server', scopes: ['videos:read', 'videos:write'] });
    expect(res.status, res.body).toBe(201);
    const key = res.json<CreatedApiKey>();
    expect(key.secret).toMatch(/^ssk_[A-Za-z0-9_-]{43}$/);
    expect(key.prefix).toBe(key.secret.slice(0, 12));
    const listed = c.get('/api/keys').then((r) => r.json<{ keys: ApiKeyView[] }>());
    const { keys } = await listed;
    expect(keys).toEqual([expect.objectContaining({ id: key.id, name: 'server', prefix: key.prefix, revokedAt: null })]);
    expect(JSON.stringify(keys)).not.toContain(key.secret);
    const [row] = await g.app.db.sql.query('select * from api_keys where id = $1', [key.id]);
    expect(JSON.stringify(row)).not.toContain(key.secret);
    expect(row!.secret_hash).toBe(hashApiKey(key.secret));

    expect((await api('/v1/videos', key.secret)).status).toBe(200);
    // another user cannot revoke it
    const other = await g.user('keys-other@example.com', 0);
    expect((await other.delete(`/api/keys/${key.id}`)).status).toBe(404);
    expect((await c.delete(`/api/keys/${key.id}`)).status).toBe(204);
    const revoked = await api('/v1/videos', key.secret);
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { error: { message: string } }).error.message).toBe('This API key was revoked.');
  });

  it('refuses expired keys, unknown keys, a missing header, and keys in the query string', async () => {
    const c = await g.user('keys-expiry@example.com', 0);
    const key = (await c.post('/api/keys', { name: 'short-lived', expiresInDays: 1 })).json<CreatedApiKey>();
    expect(key.expiresAt).toBe(new Date(clock.nowMs() + 86_400_000).toISOString());
    expect((await api('/v1/videos', key.secret)).status).toBe(200);
    // a millisecond before its day is over the key works; at the end of it, it is refused
    await clock.set(Date.parse(key.expiresAt!) - 1);
    expect((await api('/v1/videos', key.secret)).status).toBe(200);
    await clock.set(Date.parse(key.expiresAt!));
    const expired = await api('/v1/videos', key.secret);
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { message: string } }).error.message).toBe('This API key has expired.');
    expect((await api('/v1/videos', 'ssk_notarealkeyatall')).status).toBe(401);
    expect((await fetch(`${g.app.url}/v1/videos`)).status).toBe(401);
    const fresh = (await c.post('/api/keys', { name: 'fresh' })).json<CreatedApiKey>();
    const inUrl = await fetch(`${g.app.url}/v1/videos?api_key=${fresh.secret}`);
    expect(inUrl.status).toBe(401);
    expect(((await inUrl.json()) as { error: { code: string } }).error.code).toBe('api_key_in_url');
    // even with the header, a key also placed in the URL is refused
    expect((await api(`/v1/videos?key=${fresh.secret}`, fresh.secret)).status).toBe(401);
  });

  it('a videos:read key can read but not create', async () => {
    const c = await g.user('keys-readonly@example.com', 10);
    const key = (await c.post('/api/keys', { name: 'reader', scopes: ['videos:read'] })).json<CreatedApiKey>();
    expect((await api('/v1/videos', key.secret)).status).toBe(200);
    const create = await api('/v1/videos', key.secret, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'local-preview', prompt: 'x' }),
    });
    expect(create.status).toBe(403);
  });

  it('the CLI creates a key and prints the secret once', async () => {
    // (the CLI runs the same function in the server or in its own process: tested here in-process)
    const { runCommand } = await import('../../../src/server/cli/commands');
    await g.user('keys-cli@example.com', 0);
    const out = await runCommand({ database: g.app.db, services: g.app.platform.ctx.services }, 'apikey:create', [
      '--email',
      'keys-cli@example.com',
      '--name',
      'ops',
      '--scopes',
      'videos:read',
    ]);
    const secret = out.split('\n').at(-1)!;
    expect(secret).toMatch(/^ssk_/);
    expect((await api('/v1/videos', secret)).status).toBe(200);
  });
});

describe('request log and usage (policy 1.4)', () => {
  it("a subscriber's plan sets the per-key rate (plans:set --api-rate); the usage page shows it", async () => {
    const { runCommand } = await import('../../../src/server/cli/commands');
    const ctx = { database: g.app.db, services: g.app.platform.ctx.services };
    const c = await g.user('keys-plan-rate@example.com', 0);
    const key = (await c.post('/api/keys', { name: 'plan rate' })).json<CreatedApiKey>();
    const [u] = await g.app.db.sql.query<{ id: string }>('select id from users where email = $1', ['keys-plan-rate@example.com']);
    // without a subscription: the setting's default (1000 here)
    expect((await api('/v1/videos', key.secret)).headers.get('x-ratelimit-limit')).toBe('1000');
    await runCommand(ctx, 'plans:set', ['--plan', 'pro-monthly', '--api-rate', '3']);
    try {
      await g.app.db.sql.query(
        `insert into subscriptions (id, user_id, plan_id, provider, provider_ref, current_period_start, current_period_end)
         values (gen_random_uuid()::text, $1, 'pro-monthly', 'stripe', 'sub_plan_rate_test', now(), now() + interval '30 days')`,
        [u!.id],
      );
      // a new key: its own window, counted from zero
      const fresh = (await c.post('/api/keys', { name: 'plan window' })).json<CreatedApiKey>();
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await api('/v1/videos', fresh.secret);
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(last!.headers.get('x-ratelimit-limit')).toBe('3');
      const usage = (await c.get('/api/usage?days=7')).json<UsageResponse>();
      expect(usage.limits).toMatchObject({ requestsPerMinutePerKey: 3, requestsPerMinutePerUser: 1000 });
    } finally {
      await runCommand(ctx, 'plans:set', ['--plan', 'pro-monthly', '--api-rate', 'default']);
    }
  });

  it('logs every API request with its code and byte counts, shows it on the usage page, and removes old entries', async () => {
    const c = await g.user('usage@example.com', 0);
    const key = (await c.post('/api/keys', { name: 'usage' })).json<CreatedApiKey>();
    await api('/v1/videos', key.secret);
    await api('/v1/videos/00000000-0000-4000-8000-000000000000', key.secret);
    await api('/v1/videos', key.secret, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'no-such-model', prompt: 'x' }),
    });
    // the log is written after the response: wait for the three rows
    const logged = () =>
      g.app.db.sql.query('select method, endpoint, status, bytes_in, bytes_out, latency_ms, request_id from api_request_log where key_id = $1 order by id', [
        key.id,
      ]);
    const rows = await until(
      async () => {
        const r = await logged();
        return r.length >= 3 && r;
      },
      { what: 'three request log rows' },
    );
    expect(rows.map((r) => [r.method, r.endpoint, Number(r.status)])).toEqual([
      ['GET', '/v1/videos', 200],
      ['GET', '/v1/videos/:id', 404],
      ['POST', '/v1/videos', 400],
    ]);
    for (const r of rows) {
      expect(Number(r.bytes_out)).toBeGreaterThan(0);
      expect(r.request_id).toBeTruthy();
    }
    expect(Number(rows[2]!.bytes_in)).toBeGreaterThan(0);

    const usage = (await c.get('/api/usage?days=7')).json<UsageResponse>();
    expect(usage.days).toHaveLength(7);
    expect(usage.days.at(-1)).toMatchObject({ requests: 3, errors: 2 });
    expect(usage.recent.map((r) => r.status)).toEqual([400, 404, 200]);
    expect(usage.recent[0]).toMatchObject({ keyName: 'usage', method: 'POST', endpoint: '/v1/videos' });
    expect(usage.retentionDays).toBe(90);
    // someone else's usage is their own
    const other = await g.user('usage-other@example.com', 0);
    expect((await other.get('/api/usage')).json<UsageResponse>().recent).toEqual([]);

    // one entry as if it had been made 91 days ago (the retention is 90 days)
    await g.app.db.sql.query(`update api_request_log set created_at = $2::timestamptz - interval '91 days' where key_id = $1 and status = 404`, [
      key.id,
      clock.now().toISOString(),
    ]);
    expect(await g.app.platform.ctx.services.developer.purgeRequestLogs()).toBeGreaterThanOrEqual(1);
    const left = await g.app.db.sql.query<{ status: number }>('select status from api_request_log where key_id = $1 order by id', [key.id]);
    expect(left.map((l) => l.status)).toEqual([200, 400]);
  });
});
