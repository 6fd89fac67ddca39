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
/** what `pg` and PGlite throw: a DatabaseError with the SQLSTATE in `code` */
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR', routine: 'x' });
app.get('/db/:code', async (req) => {
  const { code } = req.params as { code: string };
  throw pgError(code, 'invalid byte sequence for encoding "UTF8": 0x00 in select secret from users');
});
app.get('/drizzle-wrapped', async () => {
  // Drizzle's DrizzleQueryError keeps the driver's error as its cause
  throw Object.assign(new Error('Failed query: select "secret" from "users" where "name" = $1'), { cause: pgError('22021', 'invalid byte sequence') });
});
// @fastify/multipart reads the body in the handler: the parser itself leaves it alone
app.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null));
app.post('/multipart-broken', async () => {
  // what busboy rejects req.file() with when the body ends before the closing boundary
  throw new Error('Unexpected end of multipart data');
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

  it('answers database errors caused by a bad value (NUL, too long, out of range) with 400 invalid_request, without SQL', async () => {
    for (const code of ['22021', '22P05', '22001', '22003', '22P02', '22007', '22008', '54000']) {
      const res = await app.inject({ method: 'GET', url: `/db/${code}` });
      expect(res.statusCode, code).toBe(400);
      expect(res.json().error.code).toBe('invalid_request');
      expect(res.body).not.toMatch(/select|secret|UTF8/);
    }
    const wrapped = await app.inject({ method: 'GET', url: '/drizzle-wrapped' });
    expect(wrapped.statusCode).toBe(400);
    expect(wrapped.body).not.toMatch(/select|secret/);
  });

  it('keeps other database errors (deadlock, unique violation) a 500', async () => {
    for (const code of ['40P01', '23505', '57014']) expect((await app.inject({ method: 'GET', url: `/db/${code}` })).statusCode, code).toBe(500);
  });

  it('answers a malformed multipart body with 400, and the same message from elsewhere with 500', async () => {
    const multipart = await app.inject({
      method: 'POST',
      url: '/multipart-broken',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x\r\n',
    });
    expect(multipart.statusCode).toBe(400);
    expect(multipart.json().error.code).toBe('invalid_request');
    const json = await app.inject({ method: 'POST', url: '/multipart-broken', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(json.statusCode).toBe(500);
  });

  it('hides internal details of unexpected errors behind 500 internal_error with the request id', async () => {
    const res = await app.inject({ method: 'GET', url: '/crash' });
    expect(res.statusCode).toBe(500);
    expect(res.json().error.code).toBe('internal_error');
    expect(res.body).not.toContain('secret internal detail');
    expect(res.json().error.message).toContain('request id');
  });
});
