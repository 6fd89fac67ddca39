import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedApiKey } from '../../../src/shared/api';
type WebhookEndpointWithSecret = { id: string; secret: string };
import { startGenerationsApp, type GenerationsApp } from '../generations/setup';
import { closeAll } from '../../helpers/close';

/**
 * An account whose email is not verified cannot create API keys or webhook endpoints, nor send
 * test events (issue 14): 403 `email_not_verified`. What it already has it can still list and delete.
 */
let g: GenerationsApp;
beforeAll(async () => {
  // 127.0.0.1:9 (discard) is allowed as a webhook host so that endpoints can be made; nothing listens there
  g = await startGenerationsApp({ WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9' }, { role: 'web' });
});
afterAll(() => closeAll(g));

type Client = Awaited<ReturnType<GenerationsApp['user']>>;
const setVerified = (c: Client, verified: boolean) => g.app.db.sql.query('update users set email_verified = $2 where id = $1', [c.userId, verified]);
const code = (res: { json(): unknown }) => (res.json() as { error?: { code: string } }).error?.code;
const endpointUrl = 'http://127.0.0.1:9/savesora-hooks';

describe('developer features need a verified email address', () => {
  it('an unverified account gets 403 email_not_verified for a new webhook endpoint, and none is made', async () => {
    const c = await g.user('dev-unverified-endpoint@example.com', 0);
    await setVerified(c, false);
    const endpoint = await c.post('/api/webhooks/endpoints', { url: endpointUrl });
    expect([endpoint.status, code(endpoint)]).toEqual([403, 'email_not_verified']);
    expect(await g.app.db.sql.query('select id from webhook_endpoints where user_id = $1', [c.userId])).toEqual([]);
  });

  it('an unverified account gets 403 email_not_verified for a test event, and none is queued', async () => {
    // an endpoint made while the address was verified (it is unverified again after a change of address, say)
    const c = await g.user('dev-unverified-test@example.com', 0);
    const made = (await c.post('/api/webhooks/endpoints', { url: endpointUrl })).json<WebhookEndpointWithSecret>();
    await setVerified(c, false);
    const test = await c.post(`/api/webhooks/endpoints/${made.id}/test`, {});
    expect([test.status, code(test)]).toEqual([403, 'email_not_verified']);
    expect(await g.app.db.sql.query('select id from webhook_deliveries where endpoint_id = $1', [made.id])).toEqual([]);
  });

  it('an unverified account gets 403 email_not_verified for a new API key, and none is made', async () => {
    const c = await g.user('dev-unverified-key@example.com', 0);
    await setVerified(c, false);
    const key = await c.post('/api/keys', { name: 'server' });
    expect([key.status, code(key)]).toEqual([403, 'email_not_verified']);
    expect(await g.app.db.sql.query('select id from api_keys where user_id = $1', [c.userId])).toEqual([]);
  });

  it('an unverified account still lists and deletes what it has', async () => {
    const c = await g.user('dev-unverified-existing@example.com', 0);
    const key = (await c.post('/api/keys', { name: 'old key' })).json<CreatedApiKey>();
    const endpoint = (await c.post('/api/webhooks/endpoints', { url: endpointUrl })).json<WebhookEndpointWithSecret>();
    await setVerified(c, false);

    expect((await c.get('/api/keys')).json()).toMatchObject({ keys: [{ id: key.id }] });
    expect((await c.get('/api/webhooks/endpoints')).json()).toMatchObject({ endpoints: [{ id: endpoint.id }] });
    expect((await c.delete(`/api/keys/${key.id}`)).status).toBe(204);
    expect((await c.delete(`/api/webhooks/endpoints/${endpoint.id}`)).status).toBe(204);
    expect((await c.get('/api/webhooks/endpoints')).json()).toEqual({ endpoints: [] });
  });

  it('a verified account creates a key, an endpoint and sends a test event', async () => {
    const c = await g.user('dev-verified@example.com', 0);
    const key = await c.post('/api/keys', { name: 'server' });
    expect(key.status, key.body).toBe(201);
    expect(key.json<CreatedApiKey>().secret).toMatch(/^ssk_/);
    const endpoint = await c.post('/api/webhooks/endpoints', { url: endpointUrl });
    expect(endpoint.status, endpoint.body).toBe(201);
    const test = await c.post(`/api/webhooks/endpoints/${endpoint.json<WebhookEndpointWithSecret>().id}/test`, {});
    expect(test.status, test.body).toBe(202);
    expect(test.json()).toMatchObject({ eventType: 'webhook.test' });
  });
});
