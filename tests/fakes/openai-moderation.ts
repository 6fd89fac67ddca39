import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import { FailureQueue, type FakeFailure } from './failures';
import { listenLocal } from './listen';

/**
 * A fake of OpenAI's moderation endpoint (docs/provider-apis.md §8 in the shared docs): a real HTTP
 * server on 127.0.0.1 answering `POST /v1/moderations`.
 *
 * - Auth: `Authorization: Bearer <apiKey>`, else 401 with OpenAI's error object
 *   (`{error:{message, type:"invalid_request_error", param:null, code}}`; `code` is
 *   `invalid_api_key` for a wrong key, null for a missing one: the shapes are UNCONFIRMED from an
 *   official page).
 * - Body: JSON `{input, model?}` and nothing else (an unknown field is 400 "Unrecognized request
 *   argument supplied"). `model` is one of the four documented models (else 404
 *   `model_not_found`), default `omni-moderation-latest`. `input` is a string, a non-empty array
 *   of strings, or a non-empty array of parts `{type:"text", text}` / `{type:"image_url",
 *   image_url:{url}}` with an http(s) URL or a `data:image/{png,jpeg,gif,webp};base64,` URL; any
 *   other shape is 400 with `param:"input"`; images sent to a `text-moderation-*` model are 400.
 *   A data URL whose bytes are not a whole PNG, JPEG, GIF or WebP file is 400
 *   `invalid_image_format` (the message is UNCONFIRMED for this endpoint).
 * - Answer: `{id:"modr-…", model, results:[…]}`, one result per string of a string array, one
 *   combined result for a multi-modal array. Every result has all 13 categories in `categories`,
 *   `category_scores` and `category_applied_input_types`; a category is true when its score is at
 *   least `flagThreshold` (OpenAI's own thresholds are not published); `flagged` when any is.
 *   Image parts are judged only for the image categories (self-harm*, sexual, violence*): OpenAI
 *   judges `sexual/minors` and the others on text only, so for an image alone they score 0 with
 *   no applied input type.
 * - Scores: a small baseline, raised by the test's script: `flagText(match, scores)` for texts
 *   containing `match` (a string, case-insensitive, or a RegExp), `flagImage(bytes | url, scores)`
 *   for one image (by the SHA-256 of its bytes, or its http URL, which is never fetched), and the
 *   marker `[flag:<category>]` or `[flag:<category>=0.7]` in a text (for trying it by hand).
 * - Failures (tests/fakes/failures.ts), one per request, from `inject()` or a `[fake:kind]` marker
 *   in the first text: `rate-limit` (429 `rate_limit_exceeded` with `Retry-After`), `http-error`
 *   (500/503 as OpenAI's error object, 502/504 as a gateway's HTML page), `delay` (answers late),
 *   `timeout` (reads the body, never answers), `auth` (401), `invalid-input` (400). Other kinds
 *   are ignored here.
 * - `requests` records every request (method, path, headers, raw body, parsed JSON).
 */
export const fakeModerationCategories = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;
export type FakeModerationCategory = (typeof fakeModerationCategories)[number];
export type FakeModerationScores = Partial<Record<FakeModerationCategory, number>>;

/** What OpenAI judges on images (the SDK's types); the rest is text only. */
export const fakeImageCategories: readonly FakeModerationCategory[] = [
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'violence',
  'violence/graphic',
];

export const fakeModerationModels = ['omni-moderation-latest', 'omni-moderation-2024-09-26', 'text-moderation-latest', 'text-moderation-stable'] as const;

export interface FakeOpenAiModerationOptions {
  port?: number;
  host?: string;
  /** the key clients must send (default 'sk-test-moderation-fake') */
  apiKey?: string;
  /** a category is `true` from this score (default 0.5) */
  flagThreshold?: number;
}

export interface FakeModerationRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** raw body as UTF-8 */
  body: string;
  /** the body parsed, when it was JSON */
  json?: unknown;
}

export interface FakeOpenAiModeration {
  url: string;
  apiKey: string;
  requests: FakeModerationRequest[];
  /** texts containing `match` score at least these */
  flagText(match: string | RegExp, scores: FakeModerationScores): void;
  /** this image (its bytes, or its http URL) scores at least these */
  flagImage(image: Uint8Array | string, scores: FakeModerationScores): void;
  /** the next `times` requests fail this way */
  inject(failure: FakeFailure, times?: number): void;
  clearInjections(): void;
  /** forget the script, the injections and the recorded requests */
  reset(): void;
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCategory = (v: string): v is FakeModerationCategory => (fakeModerationCategories as readonly string[]).includes(v);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** the score of a category nothing raised: small, different per category, stable */
const baseline = (i: number) => Number((0.00001 * (i + 1)).toFixed(6));

const DATA_URL = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/]*={0,2})$/;

/** Whether the bytes are a whole image file of a supported format (its start and its end are where they should be). */
export function isWholeImage(b: Buffer): boolean {
  if (b.length >= 12 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    // PNG: IHDR first, IEND last
    return b.subarray(12, 16).toString('latin1') === 'IHDR' && b.subarray(-8, -4).toString('latin1') === 'IEND';
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    // JPEG: ends with EOI (trailing padding zeros allowed)
    let end = b.length;
    while (end > 2 && b[end - 1] === 0) end--;
    return b[end - 2] === 0xff && b[end - 1] === 0xd9;
  }
  if (b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') {
    return b.readUInt32LE(4) + 8 === b.length;
  }
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.subarray(0, 6).toString('latin1'))) return b[b.length - 1] === 0x3b;
  return false;
}

/** A whole PNG of one colour, drawn here (for tests that need an image but not a picture). */
export function solidPng(width: number, height: number, rgb: readonly [number, number, number]): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolour, deflate, no filter, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [...rgb]).flat())]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return new Uint8Array(Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(pixels)), chunk('IEND', Buffer.alloc(0))]));
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null,
    readonly code: string | null,
  ) {
    super(message);
  }
}

type Part = { kind: 'text'; text: string } | { kind: 'image'; key: string };

/** Start a fake moderation endpoint on 127.0.0.1 (a random port unless `port` is given). */
export async function startFakeOpenAiModeration(opts: FakeOpenAiModerationOptions = {}): Promise<FakeOpenAiModeration> {
  const apiKey = opts.apiKey ?? 'sk-test-moderation-fake';
  const threshold = opts.flagThreshold ?? 0.5;
  const requests: FakeModerationRequest[] = [];
  const textRules: { match: string | RegExp; scores: FakeModerationScores }[] = [];
  const imageRules = new Map<string, FakeModerationScores>();
  const failures = new FailureQueue();
  const timers = new Set<NodeJS.Timeout>();

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.writableEnded || res.destroyed) return;
    res
      .writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_${randomBytes(12).toString('hex')}`, ...headers })
      .end(JSON.stringify(body));
  };
  const error = (
    res: http.ServerResponse,
    status: number,
    message: string,
    o: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) => send(res, status, { error: { message, type: o.type ?? 'invalid_request_error', param: o.param ?? null, code: o.code ?? null } }, o.headers);

  const masked = (key: string) => (key.length <= 8 ? '*'.repeat(key.length) : `${key.slice(0, 3)}${'*'.repeat(Math.max(4, key.length - 7))}${key.slice(-4)}`);

  function authorize(req: http.IncomingMessage, res: http.ServerResponse, forceFail: boolean): boolean {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) {
      error(
        res,
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
      );
      return false;
    }
    if (forceFail || m[1] !== apiKey) {
      error(res, 401, `Incorrect API key provided: ${masked(m[1] ?? '')}. You can find your API key at https://platform.openai.com/account/api-keys.`, {
        code: 'invalid_api_key',
      });
      return false;
    }
    return true;
  }

  /** the parts of a valid input, or a RequestError */
  function parseInput(input: unknown, model: string): { parts: Part[]; perElement: boolean } {
    const bad = (why: string) => new RequestError(400, `Invalid value for 'input': ${why}`, 'input', 'invalid_value');
    if (input === undefined) throw new RequestError(400, "Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
    if (typeof input === 'string') return { parts: [{ kind: 'text', text: input }], perElement: true };
    if (!Array.isArray(input)) throw bad('expected a string, an array of strings, or an array of objects.');
    if (input.length === 0) throw bad('expected a non-empty array.');
    if (input.every((x) => typeof x === 'string')) return { parts: input.map((text: string) => ({ kind: 'text' as const, text })), perElement: true };
    const parts: Part[] = [];
    for (const [i, p] of input.entries()) {
      if (!isObj(p)) throw bad(`input[${i}] must be a string or an object (strings and objects cannot be mixed).`);
      if (p.type === 'text') {
        if (typeof p.text !== 'string') throw bad(`input[${i}].text must be a string.`);
        parts.push({ kind: 'text', text: p.text });
      } else if (p.type === 'image_url') {
        if (model.startsWith('text-moderation')) throw new RequestError(400, `The model ${model} does not support image inputs.`, 'input', 'invalid_value');
        const url = isObj(p.image_url) ? p.image_url.url : undefined;
        if (typeof url !== 'string') throw bad(`input[${i}].image_url.url must be a string.`);
        if (/^https?:\/\/\S+$/i.test(url)) parts.push({ kind: 'image', key: url });
        else {
          const m = DATA_URL.exec(url);
          if (!m) throw bad(`input[${i}].image_url.url must be an http(s) URL or a base64 data URL of a PNG, JPEG, GIF or WebP image.`);
          const bytes = Buffer.from(m[2] ?? '', 'base64');
          if (!isWholeImage(bytes)) {
            throw new RequestError(
              400,
              "The image data you provided does not represent a valid image. Please check your input and try again with one of the supported image formats: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'].",
              'input',
              'invalid_image_format',
            );
          }
          parts.push({ kind: 'image', key: sha256(bytes) });
        }
      } else throw bad(`input[${i}].type must be 'text' or 'image_url'.`);
    }
    return { parts, perElement: false };
  }

  function scoresOfText(text: string): FakeModerationScores {
    const out: FakeModerationScores = {};
    const raise = (c: FakeModerationCategory, s: number) => (out[c] = Math.max(out[c] ?? 0, s));
    const lower = text.toLowerCase();
    for (const r of textRules) {
      const hit = typeof r.match === 'string' ? lower.includes(r.match.toLowerCase()) : r.match.test(text);
      if (hit) for (const [c, s] of Object.entries(r.scores)) if (isCategory(c)) raise(c, s);
    }
    for (const m of text.matchAll(/\[flag:([a-z/-]+)(?:=([\d.]+))?\]/g)) {
      const c = m[1] ?? '';
      if (isCategory(c)) raise(c, m[2] === undefined ? 0.99 : Math.min(1, Number(m[2])));
    }
    return out;
  }

  function result(parts: readonly Part[]) {
    const categories: Record<string, boolean> = {};
    const scores: Record<string, number> = {};
    const applied: Record<string, string[]> = {};
    const raised: FakeModerationScores = {};
    const hasText = parts.some((p) => p.kind === 'text');
    const hasImage = parts.some((p) => p.kind === 'image');
    for (const p of parts) {
      const s = p.kind === 'text' ? scoresOfText(p.text) : (imageRules.get(p.key) ?? {});
      for (const [c, v] of Object.entries(s)) {
        if (!isCategory(c)) continue;
        // an image says nothing about the text-only categories
        if (p.kind === 'image' && !fakeImageCategories.includes(c)) continue;
        raised[c] = Math.max(raised[c] ?? 0, v);
      }
    }
    fakeModerationCategories.forEach((c, i) => {
      const types = [...(hasText ? ['text'] : []), ...(hasImage && fakeImageCategories.includes(c) ? ['image'] : [])];
      const score = types.length ? Math.max(baseline(i), raised[c] ?? 0) : 0;
      scores[c] = score;
      categories[c] = types.length > 0 && score >= threshold;
      applied[c] = types;
    });
    return { flagged: Object.values(categories).some(Boolean), categories, category_scores: scores, category_applied_input_types: applied };
  }

  function answerFailure(res: http.ServerResponse, failure: FakeFailure | undefined): 'answered' | 'hold' | 'continue' {
    switch (failure?.kind) {
      case 'rate-limit':
        error(res, 429, 'Rate limit reached for omni-moderation-latest in organization org-fake on requests per min (RPM): Limit 250, Used 250, Requested 1.', {
          type: 'requests',
          code: 'rate_limit_exceeded',
          headers: { 'retry-after': String(failure.retryAfterSeconds ?? 1) },
        });
        return 'answered';
      case 'http-error':
        if (failure.status === 502 || failure.status === 504) {
          const text = `${failure.status} ${http.STATUS_CODES[failure.status] ?? ''}`;
          res.writeHead(failure.status, { 'content-type': 'text/html' }).end(`<html><head><title>${text}</title></head><body><h1>${text}</h1></body></html>`);
        } else error(res, failure.status, 'The server had an error while processing your request. Sorry about that!', { type: 'server_error' });
        return 'answered';
      case 'invalid-input':
        error(res, 400, "Invalid value for 'input': refused by the fake.", { param: 'input', code: 'invalid_value' });
        return 'answered';
      case 'timeout':
        return 'hold';
      default:
        return 'continue';
    }
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: string, json: unknown): void {
    const method = req.method ?? 'GET';
    if (method !== 'POST' || path !== '/v1/moderations') return error(res, 404, `Invalid URL (${method} ${path})`);
    const body = isObj(json) ? json : undefined;
    const firstText =
      typeof body?.input === 'string' ? body.input : Array.isArray(body?.input) ? (body.input as unknown[]).find((x) => typeof x === 'string') : undefined;
    const failure = failures.take(firstText);
    if (!authorize(req, res, failure?.kind === 'auth')) return;
    if (!body) {
      return error(
        res,
        400,
        raw
          ? "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
          : 'You must provide a JSON body.',
      );
    }
    const answer = (): void => {
      const extra = Object.keys(body).filter((k) => k !== 'input' && k !== 'model');
      if (extra.length) return error(res, 400, `Unrecognized request argument supplied: ${extra.join(', ')}`);
      const model = body.model === undefined ? 'omni-moderation-latest' : body.model;
      if (typeof model !== 'string' || !(fakeModerationModels as readonly string[]).includes(model)) {
        return error(res, 404, `The model \`${typeof model === 'string' ? model : JSON.stringify(model)}\` does not exist or you do not have access to it.`, {
          param: 'model',
          code: 'model_not_found',
        });
      }
      let parsed: { parts: Part[]; perElement: boolean };
      try {
        parsed = parseInput(body.input, model);
      } catch (err) {
        if (err instanceof RequestError) return error(res, err.status, err.message, { param: err.param, code: err.code });
        throw err;
      }
      const results = parsed.perElement ? parsed.parts.map((p) => result([p])) : [result(parsed.parts)];
      send(res, 200, { id: `modr-${randomBytes(12).toString('hex')}`, model, results });
    };
    if (failure?.kind === 'delay') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, failure.ms);
      timers.add(timer);
      return;
    }
    const outcome = answerFailure(res, failure);
    if (outcome === 'continue') answer();
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = raw ? JSON.parse(raw) : undefined;
      } catch {
        json = undefined;
      }
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body: raw, ...(json === undefined ? {} : { json }) });
      try {
        handle(req, res, path, raw, json);
      } catch (err) {
        error(res, 500, err instanceof Error ? err.message : String(err), { type: 'server_error' });
      }
    });
  });
  const url = await listenLocal(server, opts);

  return {
    url,
    apiKey,
    requests,
    flagText: (match, scores) => textRules.push({ match, scores }),
    flagImage: (image, scores) => imageRules.set(typeof image === 'string' ? image : sha256(image), scores),
    inject: (f, times = 1) => failures.push(f, times),
    clearInjections: () => failures.clear(),
    reset() {
      textRules.length = 0;
      imageRules.clear();
      failures.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // also the requests held by `timeout`
      }),
  };
}
