import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import { nowPaymentsSortedJson, startFakeNowPayments, type FakeNowPayments } from './nowpayments';

/** Protocol details of the fake NOWPayments: auth, validation, invoice/payment lookups, IPN signing and retries. */

async function startReceiver() {
  const hooks: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const answers: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ipn`,
    hooks,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let fake: FakeNowPayments;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver();
  fake = await startFakeNowPayments({ retryDelaysMs: [20, 40] });
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

async function invoice(extra: Record<string, unknown> = {}) {
  const res = await api('/v1/invoice', {
    method: 'POST',
    body: {
      price_amount: 12.5,
      price_currency: 'usd',
      order_id: 'o-1',
      order_description: 'Pack',
      ipn_callback_url: receiver.url,
      success_url: 'http://app.test/ok',
      cancel_url: 'http://app.test/no',
      ...extra,
    },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Record<string, unknown> & { id: string; invoice_url: string };
}

describe('API', () => {
  it('defaults', () => {
    expect(fake.apiKey).toBe('np_test_fake');
    expect(fake.ipnSecret).toBe('np_ipn_fake');
  });

  it('403 INVALID_API_KEY without or with a wrong x-api-key', async () => {
    for (const key of [null, 'wrong']) {
      const res = await api('/v1/invoice', { method: 'POST', key, body: { price_amount: 1, price_currency: 'usd' } });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ status: false, statusCode: 403, code: 'INVALID_API_KEY', message: 'Invalid api key' });
    }
    expect((await api('/v1/payment/1', { key: null })).status).toBe(403);
  });

  it('401 when configured so', async () => {
    const other = await startFakeNowPayments({ authStatus: 401 });
    try {
      expect((await fetch(`${other.url}/v1/invoice`, { method: 'POST', body: '{}' })).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('400 INVALID_REQUEST_PARAMS for bad input', async () => {
    const cases: [unknown, RegExp][] = [
      ['{oops', /JSON/],
      [{ price_currency: 'usd' }, /price_amount/],
      [{ price_amount: '10', price_currency: 'usd' }, /price_amount/],
      [{ price_amount: -1, price_currency: 'usd' }, /price_amount/],
      [{ price_amount: 10 }, /price_currency/],
      [{ price_amount: 10, price_currency: 'usd', ipn_callback_url: 'nope' }, /ipn_callback_url/],
      [{ price_amount: 10, price_currency: 'usd', order_id: 5 }, /order_id/],
    ];
    for (const [body, message] of cases) {
      const res = await api('/v1/invoice', { method: 'POST', body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = (await res.json()) as { code: string; message: string };
      expect(err.code).toBe('INVALID_REQUEST_PARAMS');
      expect(err.message).toMatch(message);
    }
  });

  it('201 invoice in the documented shape; GET invoice and GET payment', async () => {
    const inv = await invoice();
    expect(inv).toMatchObject({
      order_id: 'o-1',
      order_description: 'Pack',
      price_amount: '12.5',
      price_currency: 'usd',
      pay_currency: null,
      ipn_callback_url: receiver.url,
      success_url: 'http://app.test/ok',
      cancel_url: 'http://app.test/no',
    });
    expect(inv.id).toMatch(/^\d+$/);
    expect(inv.invoice_url).toBe(`${fake.url}/payment/?iid=${inv.id}`);
    expect(((await (await api(`/v1/invoice/${inv.id}`)).json()) as { id: string }).id).toBe(inv.id);
    expect((await api('/v1/invoice/999')).status).toBe(404);

    const payment = await fake.pay(inv.id);
    expect((await api('/v1/payment/abc')).status).toBe(400);
    expect((await api('/v1/payment/1')).status).toBe(404);
    const status = (await (await api(`/v1/payment/${payment.paymentId}`)).json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      payment_id: Number(payment.paymentId),
      invoice_id: Number(inv.id),
      payment_status: 'finished',
      price_amount: 12.5,
      order_id: 'o-1',
    });
  });
});

describe('hosted page', () => {
  it('serves the invoice page with both buttons; 404 for an unknown invoice', async () => {
    const inv = await invoice();
    const html = await (await fetch(inv.invoice_url)).text();
    expect(html).toContain('data-testid="fake-pay"');
    expect(html).toContain('data-testid="fake-decline"');
    expect((await fetch(`${fake.url}/payment/?iid=1`)).status).toBe(404);
  });

  it('pay sends confirming then finished, then 303 to success_url', async () => {
    const inv = await invoice();
    const res = await fetch(inv.invoice_url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'action=pay',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('http://app.test/ok');
    expect(receiver.hooks.map((h) => (JSON.parse(h.body) as { payment_status: string }).payment_status)).toEqual(['confirming', 'finished']);
  });
});

describe('IPNs', () => {
  it('flat body signed with hex HMAC-SHA512 over the sorted JSON', async () => {
    const inv = await invoice();
    await fake.setStatus(inv.id, 'partially_paid', { actuallyPaidFraction: 0.25 });
    const [hook] = receiver.hooks;
    const body = JSON.parse(hook!.body) as Record<string, unknown>;
    expect(Object.values(body).some((v) => v !== null && typeof v === 'object')).toBe(false);
    expect(body).toMatchObject({
      payment_status: 'partially_paid',
      invoice_id: Number(inv.id),
      order_id: 'o-1',
      price_amount: 12.5,
      price_currency: 'usd',
      pay_currency: 'btc',
    });
    expect(body.actually_paid).toBeCloseTo((body.pay_amount as number) * 0.25, 8);
    const sorted = JSON.stringify(
      Object.fromEntries(
        Object.keys(body)
          .sort()
          .map((k) => [k, body[k]]),
      ),
    );
    expect(hook!.headers['x-nowpayments-sig']).toBe(createHmac('sha512', 'np_ipn_fake').update(sorted).digest('hex'));
  });

  it('no ipn_callback_url: nothing is sent', async () => {
    const inv = await invoice({ ipn_callback_url: undefined });
    await fake.setStatus(inv.id, 'finished');
    await fake.idle();
    expect(fake.deliveries).toHaveLength(0);
  });

  it('retries non-2xx answers, then stops', async () => {
    receiver.answers.push(500, 503);
    const inv = await invoice();
    await fake.setStatus(inv.id, 'finished');
    await fake.idle();
    expect(fake.deliveries.map((d) => [d.attempt, d.httpStatus])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);
    receiver.answers.push(500, 500, 500);
    fake.deliveries.length = 0;
    await fake.setStatus(inv.id, 'refunded');
    await fake.idle();
    expect(fake.deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
  });

  it('duplicateNext, hold and release', async () => {
    const inv = await invoice();
    fake.duplicateNext(1);
    await fake.setStatus(inv.id, 'waiting');
    expect(receiver.hooks).toHaveLength(2);
    expect(receiver.hooks[0]!.body).toBe(receiver.hooks[1]!.body);
    receiver.hooks.length = 0;
    fake.hold();
    await fake.setStatus(inv.id, 'confirming');
    await fake.setStatus(inv.id, 'finished');
    expect(receiver.hooks).toHaveLength(0);
    await fake.release('reverse');
    expect(receiver.hooks.map((h) => (JSON.parse(h.body) as { payment_status: string }).payment_status)).toEqual(['finished', 'confirming']);
  });

  it('sign() in both conventions; top-level drops nested keys; sendRaw posts as given', async () => {
    const nested = { b: 1, a: { z: 1, b: 2 } };
    expect(nowPaymentsSortedJson(nested)).toBe('{"a":{"b":2,"z":1},"b":1}');
    expect(nowPaymentsSortedJson(nested, 'top-level')).toBe('{"a":{"b":2},"b":1}');
    expect(fake.sign(nested, 's', 'top-level')).toBe(createHmac('sha512', 's').update('{"a":{"b":2},"b":1}').digest('hex'));
    await invoice();
    expect(await fake.sendRaw({ x: 1 }, { 'x-nowpayments-sig': 'abc' })).toBe(200);
    expect(receiver.hooks.at(-1)).toMatchObject({ body: '{"x":1}', headers: { 'x-nowpayments-sig': 'abc' } });
  });
});
