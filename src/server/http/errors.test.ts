import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../errors';
import { installErrorHandler } from './errors';

const app = Fastify({ logger: false }).withTypeProvider<ZodTypeProvider>();
app.setValidatorCompiler(validatorCompiler);
app.setSerializerCompiler(serializerCompiler);
installErrorHandler(app);
app.post('/things', { schema: { body: z.object({ name: z.string().min(2), count: z.number().int() }) } }, async (req) => req.body);
app.get('/app-error', async () => {
  throw new AppError('insufficient_credits', 'You need 40 credits; you have 10.', 402);
});
app.get('/crash', async () => {
  throw new Error('secret internal detail');
});
afterAll(() => app.close());

describe('one error shape', () => {
  it('answers validation failures with 400 invalid_request naming each bad field', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', payload: { name: 'x', count: 1.5 } });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.message).toContain('body.name');
    expect(body.error.message).toContain('body.count');
    expect(Object.keys(body)).toEqual(['error']);
  });

  it('answers malformed JSON with 400 bad_request', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: '{"name":' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
  });

  it('answers a wrong content type with 415', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    expect(res.statusCode).toBe(415);
    expect(res.json().error.code).toBe('unsupported_media_type');
  });

  it('passes AppError code, message and status through', async () => {
    const res = await app.inject({ method: 'GET', url: '/app-error' });
    expect(res.statusCode).toBe(402);
    expect(res.json()).toEqual({ error: { code: 'insufficient_credits', message: 'You need 40 credits; you have 10.' } });
  });

  it('hides internal details of unexpected errors behind 500 internal_error with the request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/crash' });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('internal_error');
    expect(res.body).not.toContain('secret internal detail');
    expect(res.json().error.message).toContain('request id');
  });
});
