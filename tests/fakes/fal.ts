import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { FailureQueue, type FakeFailure } from './failures';
import { sampleMp4 } from './media';
import { listenLocal } from './listen';
import { pendingWork } from './pending';

/**
 * A fake fal.ai queue (docs/provider-apis.md §2 in the shared docs): a real HTTP server on
 * 127.0.0.1 that takes submits on any `/{owner}/{alias}[/{subpath}]` model path, serves status,
 * result and cancel under `/{owner}/{alias}/requests/{id}` (subpath dropped, as fal does), the
 * webhook JWKS at `/.well-known/jwks.json`, and result videos (real MP4s) at `/files/{id}.mp4`.
 * Inputs are validated like Sora 2 on fal. Webhooks are Ed25519-signed the way fal signs them.
 *
 * Time line of a request (stepMs each): IN_QUEUE (queue_position 1, then 0), IN_PROGRESS (two
 * steps, with logs), then COMPLETED, when the webhook (if any) is sent.
 *
 * Failures (tests/fakes/failures.ts) are taken once per submit, from a `[fake:kind]` prompt marker
 * or the injected queue. Webhook-only kinds (`duplicate-callbacks`, `out-of-order-callbacks`,
 * `bad-signature`) run the request normally and change only its webhook:
 * - duplicate-callbacks: the final webhook is delivered twice (the same body; the redelivery is
 *   signed again with a fresh timestamp, as a retried delivery would be).
 * - out-of-order-callbacks: fal only documents final webhooks, so the stale one is modelled as a
 *   late delivery of a progress-shaped body, `{request_id, gateway_request_id, status:
 *   "IN_PROGRESS", payload: null}`, signed with a timestamp 5 s older than the final OK webhook it
 *   follows. A receiver must never move a finished task back.
 * - bad-signature: the webhook is signed with an Ed25519 key that is not in the JWKS.
 */
export interface FakeFalOptions {
  /** the key clients must send as `Authorization: Key <apiKey>` (default 'fal-test-key') */
  apiKey?: string;
  /** X-Fal-Webhook-User-Id (default a fixed fake id) */
  userId?: string;
  /** length of one status step in ms (default 150) */
  stepMs?: number;
  port?: number;
  host?: string;
  /** durations accepted (UNCONFIRMED upstream: 4/8/12 documented, 16/20 in one note); default [4, 8, 12] */
  durations?: number[];
  /**
   * How a request canceled while queued looks afterwards (UNCONFIRMED upstream): 'status' (default)
   * = status answers `CANCELLED`; 'result' = status answers COMPLETED and the result answers 400
   * `{detail: "Request was cancelled."}`.
   */
  canceledAs?: 'status' | 'result';
}

export interface FakeFalRequest {
  method: string;
  /** path without the query */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** raw body ('' when none) */
  body: string;
}

export interface FakeFalWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** the receiver's HTTP status, 0 when it could not be reached */
  status: number;
}

export interface FakeFal {
  /** the queue base URL (what FAL_QUEUE_URL points at) */
  url: string;
  /** served by the same server at /.well-known/jwks.json */
  jwksUrl: string;
  apiKey: string;
  userId: string;
  inject(f: FakeFailure, times?: number): void;
  clearInjections(): void;
  /** every request received (JWKS and file downloads included), oldest first */
  requests: FakeFalRequest[];
  /** every webhook delivery attempt, oldest first */
  webhooks: FakeFalWebhook[];
  /** requests the fake accepted (created), by request id: endpoint and webhook URL */
  created: ReadonlyMap<string, { endpoint: string; webhookUrl?: string }>;
  /** resolves once at least `count` webhooks were delivered (rejects after `timeoutMs`, default 10 s) */
  waitForWebhooks(count: number, timeoutMs?: number): Promise<FakeFalWebhook[]>;
  /** a new Ed25519 signing key; the JWKS then lists the new key and the previous one */
  rotateKey(): Promise<void>;
  /** resolves once every webhook the fake has scheduled was delivered (and answered) */
  settled(): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

interface QueuedRequest {
  id: string;
  gatewayId: string;
  /** owner/alias */
  app: string;
  /** the full endpoint id submitted to, e.g. fal-ai/sora-2/image-to-video/pro */
  endpoint: string;
  input: Record<string, unknown>;
  failure?: FakeFailure;
  createdAt: number;
  canceled: boolean;
  webhookUrl?: string;
  fileId: string;
  video: Promise<{ file: string; size: number }>;
}

interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
  input?: unknown;
}

const QUEUE_STEPS = 2;
const PROGRESS_STEPS = 2;

const policyDetail = (): ValidationIssue[] => [
  {
    loc: ['body', 'prompt'],
    msg: 'The content could not be processed because it contained material flagged by a content checker.',
    type: 'content_policy_violation',
  },
];

function newSigningKey(): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const kid = `fake-fal-${randomBytes(6).toString('hex')}`;
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'EdDSA' } };
}

export async function startFakeFal(opts: FakeFalOptions = {}): Promise<FakeFal> {
  const apiKey = opts.apiKey ?? 'fal-test-key';
  const userId = opts.userId ?? 'fake-user-7f3c1a';
  const stepMs = opts.stepMs ?? 150;
  const durations = opts.durations ?? [4, 8, 12];
  const canceledAs = opts.canceledAs ?? 'status';
  const failures = new FailureQueue();
  const requests: FakeFalRequest[] = [];
  const webhooks: FakeFalWebhook[] = [];
  const webhookWaiters: { count: number; resolve: (w: FakeFalWebhook[]) => void }[] = [];
  const queue = new Map<string, QueuedRequest>();
  const files = new Map<string, QueuedRequest>();
  const pending = pendingWork();
  let keys: SigningKey[] = [newSigningKey()];
  const strangerKey = newSigningKey();
  let base = '';

  const later = pending.later;

  // --- request state ---------------------------------------------------------------------------

  type Phase = { status: 'IN_QUEUE'; position: number } | { status: 'IN_PROGRESS' } | { status: 'COMPLETED' } | { status: 'CANCELLED' };

  function phaseOf(r: QueuedRequest): Phase {
    if (r.canceled) return canceledAs === 'status' ? { status: 'CANCELLED' } : { status: 'COMPLETED' };
    const step = Math.floor((Date.now() - r.createdAt) / stepMs);
    if (step < QUEUE_STEPS) return { status: 'IN_QUEUE', position: QUEUE_STEPS - 1 - step };
    if (step < QUEUE_STEPS + PROGRESS_STEPS || r.failure?.kind === 'never-finish') return { status: 'IN_PROGRESS' };
    return { status: 'COMPLETED' };
  }

  const urlsOf = (r: QueuedRequest) => {
    const at = `${base}/${r.app}/requests/${r.id}`;
    return { response_url: at, status_url: `${at}/status`, cancel_url: `${at}/cancel` };
  };

  function logsOf(r: QueuedRequest, phase: Phase) {
    const t0 = new Date(r.createdAt + QUEUE_STEPS * stepMs).toISOString();
    const logs = [{ message: 'Generating video...', level: 'INFO', source: 'USER', timestamp: t0 }];
    if (phase.status === 'COMPLETED') logs.push({ message: 'Video generated.', level: 'INFO', source: 'USER', timestamp: new Date().toISOString() });
    return logs;
  }

  /** The finished request's output, as the result endpoint answers it. */
  async function outcome(r: QueuedRequest): Promise<{ status: number; body: unknown }> {
    if (r.canceled) return { status: 400, body: { detail: 'Request was cancelled.' } };
    if (r.failure?.kind === 'policy-after-accept') return { status: 422, body: { detail: policyDetail() } };
    if (r.failure?.kind === 'fail') return { status: 500, body: { detail: 'Internal error while generating the video.' } };
    const { size } = await r.video;
    return {
      status: 200,
      body: {
        video: { url: `${base}/files/${r.fileId}.mp4`, content_type: 'video/mp4', file_name: `${r.fileId}.mp4`, file_size: size },
        video_id: `video_${r.fileId}`,
      },
    };
  }

  // --- webhooks --------------------------------------------------------------------------------

  function signedHeaders(requestId: string, body: string, key: SigningKey, timestamp: number): Record<string, string> {
    const digest = createHash('sha256').update(body).digest('hex');
    const message = Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${digest}`, 'utf8');
    return {
      'content-type': 'application/json',
      'x-fal-webhook-request-id': requestId,
      'x-fal-webhook-user-id': userId,
      'x-fal-webhook-timestamp': String(timestamp),
      'x-fal-webhook-signature': sign(null, message, key.privateKey).toString('hex'),
    };
  }

  async function deliver(url: string, requestId: string, body: string, opts: { key?: SigningKey; ageSeconds?: number } = {}) {
    const timestamp = Math.floor(Date.now() / 1000) - (opts.ageSeconds ?? 0);
    const headers = signedHeaders(requestId, body, opts.key ?? keys[keys.length - 1]!, timestamp);
    let status = 0;
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      status = 0;
    }
    webhooks.push({ url, headers, body, status });
    for (const w of [...webhookWaiters]) {
      if (webhooks.length >= w.count) {
        webhookWaiters.splice(webhookWaiters.indexOf(w), 1);
        w.resolve([...webhooks]);
      }
    }
  }

  async function sendWebhooks(r: QueuedRequest) {
    if (!r.webhookUrl || r.canceled) return;
    const { status, body } = await outcome(r);
    const final =
      status === 200
        ? { request_id: r.id, gateway_request_id: r.gatewayId, status: 'OK', payload: body }
        : { request_id: r.id, gateway_request_id: r.gatewayId, status: 'ERROR', error: `Invalid status code: ${status}`, payload: body };
    const text = JSON.stringify(final);
    switch (r.failure?.kind) {
      case 'bad-signature':
        return deliver(r.webhookUrl, r.id, text, { key: strangerKey });
      case 'duplicate-callbacks':
        await deliver(r.webhookUrl, r.id, text);
        return deliver(r.webhookUrl, r.id, text);
      case 'out-of-order-callbacks': {
        await deliver(r.webhookUrl, r.id, text);
        const stale = JSON.stringify({ request_id: r.id, gateway_request_id: r.gatewayId, status: 'IN_PROGRESS', payload: null });
        return deliver(r.webhookUrl, r.id, stale, { ageSeconds: 5 });
      }
      default:
        return deliver(r.webhookUrl, r.id, text);
    }
  }

  // --- validation (Sora 2 on fal) ----------------------------------------------------------------

  function validate(endpoint: string, input: Record<string, unknown>): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    const imageToVideo = /\/image-to-video(\/|$)/.test(endpoint);
    const pro = /\/pro$/.test(endpoint);
    const literal = (field: string, allowed: readonly unknown[]) => {
      const v = input[field];
      if (v === undefined || allowed.includes(v)) return;
      issues.push({ loc: ['body', field], msg: `Input should be ${allowed.map((a) => `'${String(a)}'`).join(' or ')}`, type: 'literal_error', input: v });
    };
    if (typeof input.prompt !== 'string' || input.prompt.trim() === '') {
      issues.push(
        input.prompt === undefined
          ? { loc: ['body', 'prompt'], msg: 'Field required', type: 'missing' }
          : { loc: ['body', 'prompt'], msg: 'Input should be a non-empty string', type: 'string_type', input: input.prompt },
      );
    }
    const d = input.duration;
    if (d !== undefined && !((typeof d === 'number' || (typeof d === 'string' && /^\d+$/.test(d))) && durations.includes(Number(d)))) {
      issues.push({ loc: ['body', 'duration'], msg: `Input should be ${durations.join(', ')}`, type: 'literal_error', input: d });
    }
    literal('aspect_ratio', imageToVideo ? ['auto', '16:9', '9:16'] : ['16:9', '9:16']);
    literal('resolution', [...(imageToVideo ? ['auto'] : []), '720p', ...(pro ? ['1080p'] : [])]);
    if (imageToVideo) {
      const img = input.image_url;
      if (img === undefined) issues.push({ loc: ['body', 'image_url'], msg: 'Field required', type: 'missing' });
      else if (typeof img !== 'string' || !/^(https?:\/\/|data:image\/[a-z0-9.+-]+;base64,)/i.test(img)) {
        issues.push({
          loc: ['body', 'image_url'],
          msg: 'Input should be a valid URL or data URI',
          type: 'url_parsing',
          input: typeof img === 'string' ? img.slice(0, 64) : img,
        });
      }
    }
    return issues;
  }

  function videoFor(input: Record<string, unknown>) {
    const portrait = input.aspect_ratio === '9:16';
    const seconds = Math.min(Number(input.duration ?? 4) || 4, 12);
    return sampleMp4({ width: portrait ? 360 : 640, height: portrait ? 640 : 360, seconds, audio: true, label: 'fake fal' }).then((file) => ({
      file,
      size: fs.statSync(file).size,
    }));
  }

  // --- HTTP ------------------------------------------------------------------------------------

  // responders return the response, so that a handler can answer and stop in one `return json(...)`
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  const authorized = (req: http.IncomingMessage) => req.headers.authorization === `Key ${apiKey}`;
  const notFound = (res: http.ServerResponse) => json(res, 404, { detail: 'Request not found' });

  async function submit(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string, segments: string[]) {
    if (!authorized(req)) return json(res, 401, { detail: 'Authentication is required to access this application.' });
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(body || '{}');
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      return json(res, 422, { detail: [{ loc: ['body'], msg: 'Input should be a valid JSON object', type: 'json_invalid' }] });
    }
    const failure = failures.take(input.prompt);
    switch (failure?.kind) {
      case 'auth':
        return json(res, 401, { detail: 'Invalid API key.' });
      case 'http-error':
        return json(res, failure.status, { detail: http.STATUS_CODES[failure.status] ?? 'Server error' });
      case 'rate-limit':
        return json(res, 429, { detail: 'Rate limit exceeded.' }, { 'retry-after': String(failure.retryAfterSeconds ?? 1) });
      case 'timeout':
        return; // body read, never answered, nothing created
      case 'invalid-input':
        return json(res, 422, { detail: [{ loc: ['body', 'prompt'], msg: 'Prompt is not acceptable for this model.', type: 'value_error' }] });
    }
    const endpoint = segments.join('/');
    const issues = validate(endpoint, input);
    if (issues.length) return json(res, 422, { detail: issues });

    const r: QueuedRequest = {
      id: randomUUID(),
      gatewayId: randomUUID(),
      app: segments.slice(0, 2).join('/'),
      endpoint,
      input,
      failure,
      createdAt: Date.now(),
      canceled: false,
      webhookUrl: url.searchParams.get('fal_webhook') ?? undefined,
      fileId: randomBytes(10).toString('hex'),
      video: videoFor(input),
    };
    r.video.catch(() => undefined);
    queue.set(r.id, r);
    files.set(r.fileId, r);
    const webhookless = failure?.kind === 'never-finish' || failure?.kind === 'expired' || failure?.kind === 'unknown-status';
    if (r.webhookUrl && !webhookless) later((QUEUE_STEPS + PROGRESS_STEPS) * stepMs + 5, () => sendWebhooks(r));

    if (failure?.kind === 'accept-then-timeout') return; // created, never answered
    const answer = () =>
      json(res, 200, { request_id: r.id, gateway_request_id: r.gatewayId, ...urlsOf(r), status: 'IN_QUEUE', queue_position: QUEUE_STEPS - 1 });
    if (failure?.kind === 'delay') later(failure.ms, answer);
    else answer();
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string) {
    const method = req.method ?? 'GET';
    const segments = url.pathname
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
    if (url.pathname === '/.well-known/jwks.json' && method === 'GET') return json(res, 200, { keys: keys.map((k) => k.jwk) });
    if (segments[0] === 'files' && segments.length === 2 && method === 'GET') return serveFile(req, res, segments[1]!);
    if (segments.length < 2) return json(res, 404, { detail: 'Not found' });

    // /{owner}/{alias}/requests/{id}[/status|/cancel]
    if (segments[2] === 'requests' && segments.length >= 4 && segments.length <= 5) {
      if (!authorized(req)) return json(res, 401, { detail: 'Authentication is required to access this application.' });
      const r = queue.get(segments[3]!);
      const app = segments.slice(0, 2).join('/');
      if (!r || r.app !== app || r.failure?.kind === 'expired') return notFound(res);
      const action = segments[4];
      const phase = phaseOf(r);
      if (action === 'status' && method === 'GET') {
        if (r.failure?.kind === 'unknown-status') return json(res, 200, { status: 'MYSTERY_STATE', request_id: r.id, ...urlsOf(r) });
        const withLogs = url.searchParams.get('logs') === '1';
        const common = { request_id: r.id, ...urlsOf(r) };
        switch (phase.status) {
          case 'IN_QUEUE':
            return json(res, 200, { status: 'IN_QUEUE', queue_position: phase.position, ...common });
          case 'IN_PROGRESS':
            return json(res, 200, { status: 'IN_PROGRESS', logs: withLogs ? logsOf(r, phase) : null, ...common });
          case 'CANCELLED':
            return json(res, 200, { status: 'CANCELLED', ...common });
          case 'COMPLETED':
            return json(res, 200, {
              status: 'COMPLETED',
              logs: withLogs ? logsOf(r, phase) : null,
              metrics: { inference_time: ((QUEUE_STEPS + PROGRESS_STEPS) * stepMs) / 1000 },
              ...common,
            });
        }
      }
      if (action === 'cancel' && method === 'PUT') {
        if (phase.status !== 'IN_QUEUE') return json(res, 400, { status: 'ALREADY_COMPLETED' });
        r.canceled = true;
        return json(res, 202, { status: 'CANCELLATION_REQUESTED' });
      }
      if (action === undefined && method === 'GET') {
        if (phase.status === 'IN_QUEUE' || phase.status === 'IN_PROGRESS') return json(res, 400, { detail: 'Request is still in progress' });
        const { status, body: out } = await outcome(r);
        return json(res, status, out, { 'x-fal-request-id': r.id });
      }
      return json(res, 405, { detail: 'Method Not Allowed' });
    }
    if (method === 'POST') return submit(req, res, url, body, segments);
    return json(res, 405, { detail: 'Method Not Allowed' });
  }

  async function serveFile(req: http.IncomingMessage, res: http.ServerResponse, name: string) {
    const r = files.get(name.replace(/\.mp4$/, ''));
    if (!r || !name.endsWith('.mp4')) return json(res, 404, { detail: 'File not found' });
    const { file, size } = await r.video;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    const headers = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes' };
    if (range && (range[1] || range[2])) {
      let start: number;
      let end: number;
      if (range[1]) {
        start = Number(range[1]);
        end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      } else {
        start = Math.max(0, size - Number(range[2]));
        end = size - 1;
      }
      if (start >= size || start > end) {
        return res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      }
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
      if (req.method === 'HEAD') return res.end();
      return fs.createReadStream(file, { start, end }).pipe(res);
    }
    res.writeHead(200, { ...headers, 'content-length': String(size) });
    if (req.method === 'HEAD') return res.end();
    return fs.createReadStream(file).pipe(res);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 20_000_000) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base);
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body });
      onRequest(req, res, url, body).catch((err: unknown) => {
        if (res.headersSent) return void res.end();
        json(res, 500, { detail: err instanceof Error ? err.message : String(err) });
      });
    });
  });

  base = await listenLocal(server, opts);

  return {
    url: base,
    jwksUrl: `${base}/.well-known/jwks.json`,
    apiKey,
    userId,
    inject: (f, times = 1) => failures.push(f, times),
    clearInjections: () => failures.clear(),
    requests,
    webhooks,
    created: queue,
    waitForWebhooks(count, timeoutMs = 10_000) {
      if (webhooks.length >= count) return Promise.resolve([...webhooks]);
      return new Promise((resolve, reject) => {
        const waiter = {
          count,
          resolve: (w: FakeFalWebhook[]) => {
            clearTimeout(t);
            resolve(w);
          },
        };
        const t = setTimeout(() => {
          webhookWaiters.splice(webhookWaiters.indexOf(waiter), 1);
          reject(new Error(`fake fal: ${webhooks.length} webhooks after ${timeoutMs} ms, wanted ${count}`));
        }, timeoutMs);
        webhookWaiters.push(waiter);
      });
    },
    async rotateKey() {
      keys = [...keys.slice(-1), newSigningKey()];
    },
    settled: pending.settled,
    close: () =>
      new Promise<void>((resolve, reject) => {
        pending.close();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
