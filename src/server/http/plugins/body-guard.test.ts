import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { installErrorHandler } from '../errors';
import { installBodyGuard, jsonNestedDeeperThan, MAX_JSON_DEPTH } from './body-guard';

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 }).withTypeProvider<ZodTypeProvider>();
app.setValidatorCompiler(validatorCompiler);
app.setSerializerCompiler(serializerCompiler);
installErrorHandler(app);
installBodyGuard(app);
app.post('/schema', { schema: { body: z.looseObject({ name: z.string() }) } }, async (req) => ({ got: req.body }));
app.post('/no-schema', async (req) => ({ got: req.body }));
app.post('/big', { bodyLimit: 4 * 1024 * 1024 }, async (req) => ({ size: JSON.stringify(req.body).length }));
app.get('/q', async (req) => ({ query: req.query }));
afterAll(() => app.close());

const post = (url: string, payload: string, type = 'application/json') => app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload });
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('jsonNestedDeeperThan', () => {
  it('counts brackets outside strings only, escapes included', () => {
    expect(jsonNestedDeeperThan('{"a":[{"b":[]}]}', 4)).toBe(false);
    expect(jsonNestedDeeperThan('{"a":[{"b":[]}]}', 3)).toBe(true);
    expect(jsonNestedDeeperThan(`{"a":"${'['.repeat(1000)}"}`, 2)).toBe(false);
    expect(jsonNestedDeeperThan(`{"a":"\\"${'{'.repeat(100)}"}`, 2)).toBe(false);
    expect(jsonNestedDeeperThan(`{"a":"\\\\"${'{'.repeat(3)}`, 2)).toBe(true);
  });
});

describe('the JSON body guard', () => {
  it(`accepts ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1}, and 100,000, with 400`, async () => {
    expect((await post('/no-schema', nested(MAX_JSON_DEPTH))).statusCode).toBe(200);
    for (const depth of [MAX_JSON_DEPTH + 1, 100_000]) {
      const res = await post('/no-schema', nested(depth));
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/nested too deeply/);
    }
  });

  it('keeps prototype-poisoning protection and answers malformed or empty JSON with 400', async () => {
    for (const body of ['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}', '{"a":', '']) {
      const res = await post('/no-schema', body);
      expect(res.statusCode, body).toBe(400);
      expect(Object.keys(res.json().error)).toEqual(['code', 'message']);
    }
  });

  it('parses application/*+json too', async () => {
    const res = await post('/no-schema', '{"a":1}', 'application/merge-patch+json');
    expect(res.json()).toEqual({ got: { a: 1 } });
  });

  it("keeps the 1 MB body limit, and a route's own larger limit", async () => {
    const big = JSON.stringify({ name: 'x'.repeat(1_200_000) });
    expect((await post('/schema', big)).statusCode).toBe(413);
    expect((await post('/big', big)).statusCode).toBe(200);
  });

  it('refuses control characters in any string of a body for a route without a body schema', async () => {
    expect((await post('/no-schema', '{"a":{"b":["x\\u0000y"]}}')).statusCode).toBe(400);
    expect((await post('/no-schema', '{"a\\u001b":1}')).statusCode).toBe(400);
    expect((await post('/no-schema', '{"a":"tab\\there\\nand line"}')).statusCode).toBe(200);
    // a route with a schema decides field by field (safeText())
    expect((await post('/schema', '{"name":"ok","other":"x\\u0000y"}')).statusCode).toBe(200);
  });
});

describe('the URL guard', () => {
  it('refuses percent-encoded control characters in the path and the query, not tab or line feed', async () => {
    for (const url of ['/q?a=%00', '/q?a=x%1b', '/q%00', '/q?a=%0B']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
    }
    expect((await app.inject({ method: 'GET', url: '/q?a=%09%0A%0D%20%7F' })).statusCode).toBe(200);
  });
});
