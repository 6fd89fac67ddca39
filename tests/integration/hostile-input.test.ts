import fs from 'node:fs';
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { TestClient } from '../helpers/client';
import { closeAll } from '../helpers/close';

/**
 * Hostile input never answers 5xx (issue 14). Every operation of /openapi.json, plus the Better
 * Auth routes the web app calls, gets generated bad input (fast-check, fixed seed) and a fixed set
 * of hostile requests: NUL bytes, 100k-character strings, 10k- and 100k-deep JSON, wrong JSON
 * types, wrong content types, huge and negative numbers, unknown enum values, empty bodies,
 * invalid UTF-8 and lone surrogates in the query, and paths a proxy would normalise. Each is sent
 * anonymously, with a verified user's session (with our Origin, or CSRF would stop it first) and,
 * on the API-key surfaces, with an API key. Every answer must be < 500, a 4xx JSON answer must
 * have our error shape, and the app must stay healthy.
 *
 * Bounded: the user has no credits (no generation starts), URLs point at a closed loopback port,
 * each request has a deadline, and event streams are closed as soon as they answer.
 * hostile-input-cases.test.ts has one readable case per known failure.
 */

const SEED = 20_261_206;
/** fast-check runs per operation and identity (fewer on the auth routes: each valid-looking one hashes a password) */
const RUNS = 3;
const AUTH_RUNS = 2;
const REQUEST_TIMEOUT_MS = 15_000;

let app: TestApp;
let cookie: string;
let apiKey: string;
let origin: string;
let doc: OpenApi;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
  app = await startTestApp({
    env: {
      TRUST_PROXY: 'true',
      SIGNUP_FREE_CREDITS: '0',
      API_RATE_PER_MINUTE: '100000',
      API_USER_RATE_PER_MINUTE: '100000',
      UPLOADS_PER_HOUR: '100000',
      SIGNUP_RATE_PER_HOUR: '100000',
    },
  });
  origin = new URL(app.url).origin;
  const email = 'hostile-sweep@example.com';
  const password = 'a fine password 1';
  await app.platform.ctx.services.users.create({ email, password, name: 'Hostile Sweep', credits: 0 });
  const c = new TestClient(app.url, { ip: '203.0.113.7' });
  const signIn = await c.post('/api/auth/sign-in/email', { email, password });
  expect(signIn.status, signIn.body).toBe(200);
  cookie = c.cookieHeader();
  const key = await c.post('/api/keys', { name: 'hostile sweep' });
  expect(key.status, key.body).toBe(201);
  apiKey = key.json<{ secret: string }>().secret;
  doc = (await (await app.fetch('/openapi.json')).json()) as OpenApi;
});
afterAll(async () => {
  agent.destroy();
  await closeAll(app);
});

// ---------------------------------------------------------------- the OpenAPI document, loosely

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  format?: string;
  pattern?: string;
  minimum?: number;
  minLength?: number;
  minItems?: number;
  default?: unknown;
}
interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}

interface Op {
  method: string;
  /** with `{name}` placeholders */
  path: string;
  pathParams: string[];
  query: Record<string, Schema>;
  /** JSON body schema, when the operation takes one */
  body?: Schema;
  multipart: boolean;
}

/** The Better Auth routes the web app calls: hidden from the document, so listed here with their bodies. */
const AUTH_OPS: Op[] = [
  { path: '/api/auth/sign-in/email', body: obj({ email: { type: 'string', format: 'email' }, password: { type: 'string' } }) },
  {
    path: '/api/auth/sign-up/email',
    body: obj({
      email: { type: 'string', format: 'email' },
      password: { type: 'string', minLength: 12 },
      name: { type: 'string' },
      region: { type: 'string', pattern: '^[A-Z]{2}$' },
      ageConfirmed: { type: 'boolean', const: true },
    }),
  },
  { path: '/api/auth/request-password-reset', body: obj({ email: { type: 'string', format: 'email' }, redirectTo: { type: 'string' } }) },
  { path: '/api/auth/reset-password', body: obj({ newPassword: { type: 'string', minLength: 12 }, token: { type: 'string' } }) },
  { path: '/api/auth/send-verification-email', body: obj({ email: { type: 'string', format: 'email' }, callbackURL: { type: 'string' } }) },
  { path: '/api/auth/sign-in/social', body: obj({ provider: { type: 'string', enum: ['google'] }, callbackURL: { type: 'string' } }) },
].map((o) => ({ method: 'POST', pathParams: [], query: {}, multipart: false, ...o }));

function obj(properties: Record<string, Schema>): Schema {
  return { type: 'object', properties, required: Object.keys(properties) };
}

function operations(): Op[] {
  const ops: Op[] = [];
  for (const [path, byMethod] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(byMethod)) {
      const params = op.parameters ?? [];
      const content = op.requestBody?.content ?? {};
      ops.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, p.schema ?? {}])),
        ...(content['application/json']?.schema ? { body: content['application/json'].schema } : {}),
        multipart: Boolean(content['multipart/form-data']) || /\/uploads$/.test(path),
      });
    }
  }
  return [...ops, ...AUTH_OPS];
}

// ---------------------------------------------------------------- values

let serial = 0;
const typeOf = (s: Schema): string | undefined => (Array.isArray(s.type) ? s.type[0] : s.type) ?? (s.anyOf ?? s.oneOf ?? s.allOf)?.map(typeOf).find(Boolean);

/** A plausible value for a schema: what a careful client would send (loopback URLs only). */
function plausible(s: Schema, name = ''): unknown {
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  const alt = s.anyOf ?? s.oneOf ?? s.allOf;
  if (alt?.length && !s.type) return plausible(alt[0]!, name);
  switch (typeOf(s)) {
    case 'object':
      // the required fields, and a model (so that a create names one this server has)
      return Object.fromEntries(
        Object.entries(s.properties ?? {})
          .filter(([k]) => s.required?.includes(k) || k === 'model')
          .map(([k, v]) => [k, plausible(v, k)]),
      );
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => plausible(s.items ?? {}, name));
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    default: {
      if (s.format === 'email' || /email/i.test(name)) return `hostile-${serial++}@example.com`;
      if (s.format === 'uri' || /url/i.test(name)) return 'http://127.0.0.1:9/hostile';
      if (name === 'model') return 'local-preview';
      if (s.pattern === '^[A-Z]{2}$') return 'US';
      if (/^currency$/.test(name)) return 'usd';
      if (/password/i.test(name)) return 'a fine password 1';
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    }
  }
}

/** JSON text that JSON.stringify cannot write (numbers beyond double range, long digit strings) */
class Raw {
  constructor(readonly text: string) {}
}
function toJson(value: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => (v instanceof Raw ? `\u0001raw${raws.push(v.text) - 1}\u0001` : v));
  return text.replace(/"\\u0001raw(\d+)\\u0001"/g, (_m, i: string) => raws[Number(i)]!);
}

const LONG = 'a'.repeat(100_000);
const badStrings = fc.oneof(
  fc.constantFrom(
    '\u0000',
    'nul\u0000in the middle',
    '\u0001\u0002\u001b[31m',
    LONG,
    '',
    ' ',
    '\uD800',
    'lone \uDFFF surrogate',
    '\u202Eevil',
    '\uFEFF',
    "' or 1=1 --",
    '%00',
    '../../etc/passwd',
    '\\',
    'a%',
    '_%\\',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
);
const badNumbers = fc.constantFrom<unknown>(
  1e308,
  -1e308,
  2 ** 64,
  -(2 ** 64),
  -1,
  0,
  1.5,
  Number.MAX_SAFE_INTEGER + 2,
  new Raw('1e400'),
  new Raw('-1e400'),
  new Raw('123456789012345678901234567890'),
);
const wrongTypes = fc.constantFrom<unknown>(null, true, false, 0, '', {}, [], [[]], { a: 1 }, 'string');
const unknownEnums = fc.constantFrom('definitely-not-a-value', 'ADMIN', '', ' video.completed ', 'null');

/** a bad value for a field of this schema */
function badValue(s: Schema): fc.Arbitrary<unknown> {
  const t = typeOf(s);
  const forType = s.enum
    ? unknownEnums
    : t === 'string'
      ? badStrings
      : t === 'number' || t === 'integer'
        ? badNumbers
        : t === 'array'
          ? fc.constantFrom<unknown>([], Array(1000).fill('x'), ['\u0000'])
          : wrongTypes;
  return fc.oneof(forType, wrongTypes);
}

/** every (path, schema) of a body's fields, nested objects and first array items included */
function fields(s: Schema, at: (string | number)[] = [], depth = 0): { at: (string | number)[]; schema: Schema }[] {
  if (depth > 3) return [];
  const t = typeOf(s);
  if (t === 'object') return Object.entries(s.properties ?? {}).flatMap(([k, v]) => [{ at: [...at, k], schema: v }, ...fields(v, [...at, k], depth + 1)]);
  if (t === 'array' && s.items) return fields(s.items, [...at, 0], depth + 1);
  return [];
}

function setAt(body: unknown, at: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const [i, key] of at.entries()) {
    if (i === at.length - 1) node[key] = value;
    else {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = typeof at[i + 1] === 'number' ? [] : {};
      node = node[key] as Record<string | number, unknown>;
    }
  }
  return copy;
}

/** a JSON body of the operation with one field made bad, or a wholly wrong body */
function badBody(op: Op): fc.Arbitrary<unknown> {
  const base = plausible(op.body!);
  const fs = fields(op.body!);
  const mutations: fc.Arbitrary<unknown>[] = [wrongTypes, fc.constant({ ...(base as object), unexpected: '\u0000' })];
  if (fs.length) mutations.push(fc.constantFrom(...fs).chain((f) => badValue(f.schema).map((v) => setAt(base, f.at, v))));
  return fc.oneof(...mutations);
}

/** raw (already percent-encoded) query values: NUL, invalid UTF-8, lone surrogates, huge, wrong */
const badQueryValues = fc.oneof(
  fc.constantFrom(
    '%00',
    'a%00b',
    '%FF',
    '%C0%AE',
    '%ED%A0%80',
    '%E0%A4%A',
    '%',
    '%zz',
    'a'.repeat(10_000),
    '1e308',
    '-1',
    '18446744073709551616',
    '1.5',
    'NaN',
    'Infinity',
    'definitely-not-a-value',
    '',
    '%5C',
    '%27%20or%201%3D1',
  ),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, ''))),
);
const pathValues = ['00000000-0000-4000-8000-000000000000', 'abc', '%00', '..', '%2e%2e', '%FF', '%ED%A0%80', 'a'.repeat(5_000), '-1', '1e308', '%E2%80%AE'];

function fillPath(op: Op, value: string): string {
  return op.path.replace(/\{[^}]+\}/g, value);
}

// ---------------------------------------------------------------- sending

interface Sent {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}
interface Answer {
  status: number;
  type: string;
  body: string;
}
type Who = 'anonymous' | 'session' | 'api-key';

let ipSerial = 0;
function send(who: Who, req: Sent): Promise<Answer> {
  const headers: Record<string, string> = { 'x-forwarded-for': `198.18.${(ipSerial >> 8) & 255}.${ipSerial++ & 255}`, ...req.headers };
  if (who === 'session') {
    headers.cookie = cookie;
    headers.origin = origin;
  }
  if (who === 'api-key') headers.authorization = `Bearer ${apiKey}`;
  if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent }, (res) => {
      const type = res.headers['content-type'] ?? '';
      if (type.startsWith('text/event-stream')) {
        res.destroy();
        resolve({ status: res.statusCode!, type, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, type, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.setTimeout(REQUEST_TIMEOUT_MS, () => r.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

const failures: string[] = [];
/** the failures since `from`, once each (HOSTILE_DEBUG=<file> also appends them there) */
function report(from: number): string[] {
  const unique = [...new Set(failures.slice(from))];
  if (process.env.HOSTILE_DEBUG && unique.length) fs.appendFileSync(process.env.HOSTILE_DEBUG, `${unique.join('\n')}\n`);
  return unique;
}
let sent = 0;

/** the rule every answer keeps; a broken one is recorded (and returned) with the request */
function check(who: Who, req: Sent, res: Answer): string | undefined {
  sent++;
  let problem: string | undefined;
  if (res.status >= 500) problem = `answered ${res.status}`;
  else if (res.status >= 400 && res.type.includes('json') && req.method !== 'HEAD') {
    let body: { error?: { code?: unknown; message?: unknown; type?: unknown } } | undefined;
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      problem = `answered ${res.status} with JSON that does not parse`;
    }
    const e = body?.error;
    // the OpenAI-compatible surface answers OpenAI's shape: {error:{message,type,param,code}}, code may be null
    const openai = req.path.startsWith('/v1/') && typeof e?.type === 'string' && (e.code === null || typeof e.code === 'string');
    if (body && !(e && typeof e.message === 'string' && e.message && (typeof e.code === 'string' || openai)))
      problem = `answered ${res.status} without {error:{code,message}}`;
    if (/SQLSTATE|syntax error at or near|invalid byte sequence|violates .* constraint|at character \d+/i.test(res.body))
      problem = `answered ${res.status} leaking database details`;
  }
  if (!problem) return undefined;
  const shown = typeof req.body === 'string' ? req.body.slice(0, 160) : req.body ? `<${req.body.length} bytes>` : '';
  const line = `${who} ${req.method} ${req.path.slice(0, 160)} ${JSON.stringify(req.headers?.['content-type'] ?? '')} ${shown} -> ${problem}: ${res.body.slice(0, 300)}`;
  failures.push(line);
  return line;
}

async function sendAndCheck(who: Who, req: Sent): Promise<boolean> {
  let res: Answer;
  try {
    res = await send(who, req);
  } catch (err) {
    failures.push(`${who} ${req.method} ${req.path.slice(0, 160)} -> no answer: ${(err as Error).message}`);
    return false;
  }
  return check(who, req, res) === undefined;
}

/** runs fn over items, `limit` at a time */
async function inPool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const JSON_TYPE = { 'content-type': 'application/json' };
const identities = (op: Op): Who[] => (/^\/(v1|api\/v1)\//.test(op.path) ? ['anonymous', 'session', 'api-key'] : ['anonymous', 'session']);
const hasBody = (op: Op) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(op.method);
const deep = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** Hand-written requests that reach the handler: sent with every identity. */
function fieldRequests(op: Op): Sent[] {
  const path = fillPath(op, pathValues[0]!);
  const out: Sent[] = [];
  if (Object.keys(op.query).length) {
    const name = Object.keys(op.query)[0]!;
    out.push(
      { method: op.method, path: `${path}?${name}=a&${name}=b&${name}[x]=1` },
      { method: op.method, path: `${path}?__proto__[polluted]=1&constructor[prototype][x]=1` },
    );
  }
  if (op.body && hasBody(op)) {
    // NUL in each text field in turn (PostgreSQL cannot store it), then every text field 100k long
    const plain = plausible(op.body);
    const texts = fields(op.body).filter((f) => typeOf(f.schema) === 'string' && !f.schema.enum);
    for (const f of texts)
      out.push({
        method: op.method,
        path,
        headers: JSON_TYPE,
        body: toJson(setAt(plain, f.at, `nul\u0000${String(plausible(f.schema, String(f.at.at(-1))))}`)),
      });
    if (texts.length) out.push({ method: op.method, path, headers: JSON_TYPE, body: toJson(texts.reduce((b, f) => setAt(b, f.at, LONG), plain)) });
  }
  if (op.multipart) out.push(...multipartRequests(op.method, path));
  return out;
}

/** Hand-written hostile bodies, most stopped by the body parser or the router: each sent once, the identities taking turns. */
function fixedRequests(op: Op): Sent[] {
  if (!hasBody(op)) return [];
  const path = fillPath(op, pathValues[0]!);
  const base = op.body ? toJson(plausible(op.body)) : '{}';
  const out: Sent[] = [];
  out.push(
    { method: op.method, path, headers: JSON_TYPE, body: deep(10_000) },
    { method: op.method, path, headers: JSON_TYPE, body: deepArray(100_000) },
    { method: op.method, path, headers: JSON_TYPE, body: '' },
    { method: op.method, path, headers: JSON_TYPE, body: '{"a":' },
    { method: op.method, path, headers: JSON_TYPE, body: '{"__proto__":{"isAdmin":true}}' },
    { method: op.method, path, headers: JSON_TYPE, body: '{"constructor":{"prototype":{"isAdmin":true}}}' },
    { method: op.method, path, headers: JSON_TYPE, body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0xae, 0x22, 0x7d]) },
    { method: op.method, path, headers: { 'content-type': 'application/merge-patch+json' }, body: deepArray(1_000) },
    { method: op.method, path, headers: { 'content-type': 'text/plain' }, body: base },
    { method: op.method, path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=%00' },
    { method: op.method, path, headers: { 'content-type': 'multipart/form-data' }, body: '--x\r\n\r\n' },
    {
      method: op.method,
      path,
      headers: { 'content-type': 'multipart/form-data; boundary=wrong' },
      body: '--right\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--right--\r\n',
    },
    { method: op.method, path, headers: { 'content-type': 'image/png' }, body: Buffer.from('not really a png') },
  );
  return out;
}

/** multipart bodies: no or a wrong boundary, truncated, too many parts and fields, odd names, NUL file names */
function multipartRequests(method: string, path: string): Sent[] {
  const b = 'hostileboundary';
  const type = { 'content-type': `multipart/form-data; boundary=${b}` };
  const part = (name: string, value: string, filename?: string) =>
    `--${b}\r\nContent-Disposition: form-data; name="${name}"${filename !== undefined ? `; filename="${filename}"` : ''}\r\n${filename !== undefined ? 'Content-Type: image/png\r\n' : ''}\r\n${value}\r\n`;
  const end = `--${b}--\r\n`;
  return [
    { method, path, headers: { 'content-type': 'multipart/form-data' }, body: part('file', 'abc', 'a.png') + end },
    { method, path, headers: { 'content-type': 'multipart/form-data; boundary=wrong' }, body: part('file', 'abc', 'a.png') + end },
    { method, path, headers: type, body: part('file', 'abc', 'a.png').slice(0, -10) },
    { method, path, headers: type, body: `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n` },
    { method, path, headers: type, body: Array.from({ length: 30 }, (_, i) => part(`f${i}`, 'v')).join('') + end },
    { method, path, headers: type, body: part('file', 'a', 'a.png') + part('file', 'b', 'b.png') + end },
    { method, path, headers: type, body: part('__proto__', 'x') + part('file', 'abc', 'a.png') + end },
    { method, path, headers: type, body: part('file', 'not an image at all', 'evil\u0000name.png') + end },
    { method, path, headers: type, body: part('prompt', 'nul\u0000prompt') + part('model', 'local\u0000preview') + end },
    { method, path, headers: type, body: part('prompt', 'x'.repeat(100_000)) + end },
    { method, path, headers: type, body: part('input_reference[image_url]', 'data:image/png;base64,%%%') + part('prompt', 'x') + end },
    { method, path, headers: type, body: end },
    { method, path, headers: type, body: '' },
  ];
}

/** Paths a careless proxy or router would normalise, or that are not valid URLs at all. */
const ODD_PATHS = [
  '/api/../api/me',
  '//api/me',
  '/api//me',
  '/./api/me',
  '/api/%2e%2e/api/me',
  '/api/me/..',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/api/%c0%ae%c0%ae/api/me',
  '/files/..%2f..%2fpackage.json',
  '/files/%2e%2e/%2e%2e/package.json',
  '/files/../../package.json',
  '/api/me%00',
  '/api/me%',
  '/api/me%ZZ',
  '/api/generations/%ED%A0%80',
  '/api/creations?q=%ED%A0%80',
  '/api/creations?q=%FF%FE',
  '/api/creations?q=%E0%A4%A',
  '/api/creations?from=2020-13-45&to=9999999-01-01',
  '/api/creations?q=%5C',
  '/api/creations?q=100%25_%5C',
  '/api/me;jsessionid=1',
  '/api/me?a[b][c][d][e][f]=1',
  `/api/${'a'.repeat(10_000)}`,
  `/api/creations?${'a=1&'.repeat(2_000)}`,
  '/api/auth/../me',
  '/api/auth/%2e%2e/me',
  '/api/auth/verify-email?token=%00',
  '/api/auth/reset-password/%00?callbackURL=%2F',
  '/api/auth/callback/google?code=%FF&state=%00',
  '/api/dev/mailbox/%2e%2e%2f%2e%2e%2fsecrets.json',
  '/api/dev/mailbox/..%5C..%5Csecrets.json',
  '/v1/videos/%00/content',
  '/v1/../api/me',
];

// ---------------------------------------------------------------- the sweep

describe('hostile input never answers 5xx', () => {
  it('covers every documented operation and the Better Auth routes', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(50);
    expect(ops.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining(['PATCH /api/me', 'POST /api/keys', 'POST /v1/videos', 'POST /api/uploads', 'POST /api/auth/sign-in/email']),
    );
  });

  it('generated bad input: fields, query values and path parameters of every operation', async () => {
    const from = failures.length;
    const ops = operations();
    const jobs = ops.flatMap((op) => identities(op).map((who) => ({ op, who })));
    await inPool(jobs, 4, async ({ op, who }) => {
      const query = Object.entries(op.query);
      const request = fc.record({
        pathValue: fc.constantFrom(...pathValues),
        queryValue: query.length ? fc.tuple(fc.constantFrom(...query.map(([k]) => k)), badQueryValues) : fc.constant(undefined),
        body: op.body && hasBody(op) ? badBody(op) : fc.constant(undefined),
      });
      await fc
        .assert(
          fc.asyncProperty(request, async ({ pathValue, queryValue, body }) => {
            const path = fillPath(op, pathValue) + (queryValue ? `?${queryValue[0]}=${queryValue[1]}` : '');
            const req: Sent = body === undefined ? { method: op.method, path } : { method: op.method, path, headers: JSON_TYPE, body: toJson(body) };
            return sendAndCheck(who, req);
          }),
          { seed: SEED, numRuns: op.path.startsWith('/api/auth/') ? AUTH_RUNS : RUNS, endOnFailure: true },
        )
        .catch(() => undefined); // recorded in failures, with every other operation's
    });
    expect(report(from)).toEqual([]);
  });

  it('fixed hostile requests: NUL and 100k text in every field, deep JSON, wrong content types, broken multipart', async () => {
    const from = failures.length;
    const jobs = operations().flatMap((op) => [
      ...identities(op).flatMap((who) => fieldRequests(op).map((req) => ({ who, req }))),
      ...fixedRequests(op).map((req, i) => ({ who: identities(op)[i % identities(op).length]!, req })),
    ]);
    await inPool(jobs, 4, async ({ who, req }) => {
      await sendAndCheck(who, req);
    });
    expect(report(from)).toEqual([]);
  });

  it('paths a proxy would normalise, and invalid URLs', async () => {
    const from = failures.length;
    const jobs = ODD_PATHS.flatMap((path) =>
      (['anonymous', 'session'] as Who[]).flatMap((who) => [
        { who, req: { method: 'GET', path } },
        { who, req: { method: 'POST', path, headers: JSON_TYPE, body: '{}' } },
      ]),
    );
    await inPool(jobs, 4, async ({ who, req }) => {
      await sendAndCheck(who, req);
    });
    expect(report(from)).toEqual([]);
  });

  it('the app is still healthy afterwards', async () => {
    expect(sent).toBeGreaterThan(1_000);
    expect((await app.fetch('/healthz')).status).toBe(200);
    const me = await app.fetch('/api/me', { headers: { cookie } });
    expect(me.status).toBe(200);
  });
});
