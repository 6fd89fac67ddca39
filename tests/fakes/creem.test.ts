import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import { startFakeCreem, type FakeCreem } from './creem';

/** Protocol details of the fake Creem: auth, validation, checkout retrieval, webhook signing and retries. */

/** A webhook receiver whose answers can be scripted (`answers` is consumed first, then 200). */
async function startReceiver() {
  const hooks: { headers: http.IncomingHttpHeaders; body: string; answered: number }[] = [];
  const answers: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hooks,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let fake: FakeCreem;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let product: string;

beforeAll(async () => {
  receiver = await startReceiver();
  fake = await startFakeCreem({ webhookUrl: receiver.url, retryDelaysMs: [20, 40, 60] });
  product = fake.createProduct({ name: 'Pack', price: 500, currency: 'eur', billingType: 'onetime' });
});

afterAll(async () => {
  await closeAll(fake, receiver);
});

beforeEach(async () => {
  await fake.idle();
  receiver.hooks.length = 0;
  receiver.answers.length = 0;
  fake.deliveries.length = 0;
});

const api = (path: string, init: { method?: string; key?: string | null; body?: unknown } = {}) =>
  fetch(`${fake.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...(init.key === null ? {} : { 'x-api-key': init.key ?? fake.apiKey }) },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });

describe('API', () => {
  it('defaults: keys, secret', () => {
    expect(fake.apiKey).toBe('creem_test_fake');
    expect(fake.webhookSecret).toBe('whsec_creem_fake');
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('401 without or with a wrong x-api-key; Bearer is not accepted', async () => {
    expect((await api('/v1/checkouts', { method: 'POST', key: null, body: { product_id: product } })).status).toBe(401);
    expect((await api('/v1/checkouts', { method: 'POST', key: 'creem_wrong', body: { product_id: product } })).status).toBe(401);
    const bearer = await fetch(`${fake.url}/v1/checkouts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ product_id: product }),
    });
    expect(bearer.status).toBe(401);
    expect((await api('/v1/checkouts?checkout_id=ch_1', { key: null })).status).toBe(401);
  });

  it('400 for bad input: not JSON, no product, unknown product, fields Creem does not take', async () => {
    const cases: [unknown, RegExp][] = [
      ['{oops', /JSON/],
      [{}, /product_id/],
      [{ product_id: 'prod_missing' }, /Product not found/],
      [{ product_id: product, cancel_url: 'http://x.test/c' }, /cancel_url should not exist/],
      [{ product_id: product, customer_email: 'a@b.c' }, /customer_email should not exist/],
      [{ product_id: product, units: 0 }, /units/],
      [{ product_id: product, success_url: 'not a url' }, /success_url/],
      [{ product_id: product, customer: { email: 'nope' } }, /customer.email/],
      [{ product_id: product, metadata: 'x' }, /metadata/],
    ];
    for (const [body, message] of cases) {
      const res = await api('/v1/checkouts', { method: 'POST', body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = (await res.json()) as { status: number; message: string[] };
      expect(err.status).toBe(400);
      expect(err.message.join(' ')).toMatch(message);
    }
  });

  it('creates a checkout and retrieves it by checkout_id, with the order once paid', async () => {
    const res = await api('/v1/checkouts', {
      method: 'POST',
      body: { product_id: product, request_id: 'r-1', units: 2, success_url: 'http://app.test/ok', metadata: { a: 1 } },
    });
    expect(res.status).toBe(200);
    const c = (await res.json()) as Record<string, unknown>;
    expect(c).toMatchObject({
      object: 'checkout',
      status: 'pending',
      request_id: 'r-1',
      units: 2,
      mode: 'test',
      checkout_url: `${fake.url}/pay/${c.id as string}`,
      metadata: { a: 1 },
    });
    expect(c).not.toHaveProperty('order');
    expect((await api('/v1/checkouts')).status).toBe(400);
    expect((await api('/v1/checkouts?checkout_id=ch_unknown')).status).toBe(404);
    const done = await fake.completeCheckout(c.id as string, 'paid', { email: 'z@example.com' });
    const again = (await (await api(`/v1/checkouts?checkout_id=${c.id as string}`)).json()) as Record<string, any>;
    expect(again.status).toBe('completed');
    expect(again.order).toMatchObject({ id: done!.orderId, amount: 1000, currency: 'EUR', status: 'paid', type: 'onetime' });
    expect(again.customer).toMatchObject({ email: 'z@example.com' });
    // paying twice is a no-op
    await fake.idle();
    const n = receiver.hooks.length;
    expect(await fake.completeCheckout(c.id as string)).toEqual(done);
    expect(receiver.hooks.length).toBe(n);
  });

  it('subscription cancel: 404 unknown, 400 bad mode, scheduled and immediate', async () => {
    const monthly = fake.createProduct({ name: 'Monthly', price: 900, currency: 'USD', billingType: 'recurring' });
    const c = (await (await api('/v1/checkouts', { method: 'POST', body: { product_id: monthly } })).json()) as { id: string };
    const { subscriptionId } = (await fake.completeCheckout(c.id))!;
    expect((await api('/v1/subscriptions/sub_nope/cancel', { method: 'POST', body: {} })).status).toBe(404);
    expect((await api(`/v1/subscriptions/${subscriptionId!}/cancel`, { method: 'POST', body: { mode: 'later' } })).status).toBe(400);
    expect((await api(`/v1/subscriptions/${subscriptionId!}/cancel`, { method: 'POST', key: 'bad', body: {} })).status).toBe(401);
    const scheduled = await api(`/v1/subscriptions/${subscriptionId!}/cancel`, { method: 'POST', body: { mode: 'scheduled' } });
    expect(((await scheduled.json()) as { status: string }).status).toBe('scheduled_cancel');
    const now = await api(`/v1/subscriptions/${subscriptionId!}/cancel`, { method: 'POST' });
    expect(((await now.json()) as { status: string }).status).toBe('canceled');
    expect((await api(`/v1/subscriptions/${subscriptionId!}/cancel`, { method: 'POST' })).status).toBe(400);
    await fake.idle();
    const types = receiver.hooks.map((h) => (JSON.parse(h.body) as { eventType: string }).eventType);
    expect(types).toEqual(['checkout.completed', 'subscription.active', 'subscription.paid', 'subscription.scheduled_cancel', 'subscription.canceled']);
    const sub = (await (await api(`/v1/subscriptions?subscription_id=${subscriptionId!}`)).json()) as Record<string, unknown>;
    expect(sub).toMatchObject({ id: subscriptionId, object: 'subscription', status: 'canceled' });
  });
});

describe('hosted page', () => {
  it('serves the pay page and 404 for an unknown checkout', async () => {
    const c = (await (await api('/v1/checkouts', { method: 'POST', body: { product_id: product } })).json()) as { id: string; checkout_url: string };
    const html = await (await fetch(c.checkout_url)).text();
    expect(html).toContain('data-testid="fake-pay"');
    expect(html).toContain('data-testid="fake-decline"');
    expect((await fetch(`${fake.url}/pay/ch_nope`)).status).toBe(404);
    // no success_url: a plain "complete" page
    const paid = await fetch(c.checkout_url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'outcome=paid',
    });
    expect(paid.status).toBe(200);
    expect(await paid.text()).toMatch(/complete/);
  });
});

describe('webhooks', () => {
  it('envelope {id, eventType, created_at, object} signed with hex HMAC-SHA256 of the raw body', async () => {
    const id = await fake.sendEvent('subscription.update', { id: 'sub_1' });
    const [hook] = receiver.hooks;
    const envelope = JSON.parse(hook!.body) as Record<string, unknown>;
    expect(envelope).toMatchObject({ id, eventType: 'subscription.update', object: { id: 'sub_1' } });
    expect(typeof envelope.created_at).toBe('number');
    expect(hook!.headers['creem-signature']).toBe(createHmac('sha256', 'whsec_creem_fake').update(hook!.body).digest('hex'));
    expect(fake.sign(hook!.body)).toBe(hook!.headers['creem-signature']);
  });

  it('retries every answer other than 200 until 200, then stops', async () => {
    receiver.answers.push(500, 204);
    await fake.sendEvent('subscription.update', { id: 'sub_r' });
    await fake.idle();
    expect(fake.deliveries.map((d) => [d.attempt, d.status])).toEqual([
      [1, 500],
      [2, 204],
      [3, 200],
    ]);
    expect(new Set(receiver.hooks.map((h) => h.body)).size).toBe(1);
  });

  it('gives up after the last retry delay', async () => {
    receiver.answers.push(500, 500, 500, 500, 500);
    await fake.sendEvent('subscription.update', { id: 'sub_g' });
    await fake.idle();
    expect(fake.deliveries.map((d) => d.attempt)).toEqual([1, 2, 3, 4]);
  });

  it('an unreachable receiver counts as status 0 and is retried', async () => {
    const old = fake.webhookUrl;
    fake.setWebhookUrl('http://127.0.0.1:1/hook');
    await fake.sendEvent('subscription.update', { id: 'sub_u' });
    fake.setWebhookUrl(old);
    await fake.idle();
    expect(fake.deliveries[0]!.status).toBe(0);
    expect(fake.deliveries.at(-1)!.status).toBe(200);
  });

  it('sendRaw posts the bytes as given', async () => {
    expect(await fake.sendRaw('{"x":1}', { 'creem-signature': 'abc' })).toBe(200);
    expect(receiver.hooks[0]).toMatchObject({ body: '{"x":1}', headers: { 'creem-signature': 'abc' } });
  });

  it('refund() refuses more than is left; refunds carry cumulative refunded_amount', async () => {
    const c = (await (await api('/v1/checkouts', { method: 'POST', body: { product_id: product } })).json()) as { id: string };
    const { orderId, transactionId } = (await fake.completeCheckout(c.id))!;
    await fake.refund(orderId, 100);
    await fake.refund(transactionId);
    await expect(fake.refund(orderId, 1)).rejects.toThrow(/cannot refund/);
    const refunds = receiver.hooks
      .map((h) => JSON.parse(h.body) as { eventType: string; object: Record<string, any> })
      .filter((e) => e.eventType === 'refund.created');
    expect(refunds.map((r) => [r.object.refund_amount, r.object.transaction.refunded_amount, r.object.transaction.order])).toEqual([
      [100, 100, orderId],
      [400, 500, orderId],
    ]);
  });
});
