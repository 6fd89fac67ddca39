import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clip, type FetchLike, header, kindForStatus, looksLikePolicy, providerFetch, readBody, retryAfterMs, textOf } from './http';
import {
  ProviderError,
  type CallbackVerdict,
  type NormalizedStatus,
  type ProviderErrorKind,
  type ProviderFailure,
  type ProviderRequest,
  type VideoProvider,
} from './provider';

/**
 * The fal.ai queue adapter (docs/provider-apis.md §2 in the shared docs).
 *
 * - submit: `POST {queueUrl}/{owner}/{alias}[/{subpath}]` with the model input as the body and
 *   `?fal_webhook=<callbackUrl>`; fal has no idempotency key, so `idempotencyKey` is not sent.
 * - status, result and cancel live under `{queueUrl}/{owner}/{alias}/requests/{id}` (the subpath is
 *   dropped), so the upstream id we hand out is `<owner>/<alias>:<request_id>` and poll/cancel need
 *   nothing else.
 * - webhooks are Ed25519-signed; keys come from a JWKS (https://rest.fal.ai/.well-known/jwks.json).
 */
export interface FalProviderOptions {
  /** `FAL_KEY` (either the key or `KEY_ID:KEY_SECRET`); missing = provider unavailable */
  apiKey?: string;
  /** default https://queue.fal.run */
  queueUrl: string;
  jwksUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  /** clock in ms (tests) */
  now?: () => number;
}

const PROVIDER = 'fal' as const;
const MISSING_KEY = 'FAL_KEY is not set';
/** fal accepts data: URIs; larger local files should go through a signed http(s) URL instead */
const MAX_INLINE_BYTES = 10 * 1024 * 1024;
const WEBHOOK_TOLERANCE_S = 300;
const JWKS_MAX_AGE_MS = 24 * 3_600_000;
const JWKS_REFETCH_AFTER_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Model input mapping

/**
 * Our request -> fal model input (the POST body). Sora 2 on fal takes prompt, duration, resolution,
 * aspect_ratio and (image-to-video) image_url; it always makes sound and has no audio switch.
 * Other fal video models take `generate_audio`; negative prompt and seed only go out when set
 * (the catalog only allows them for models that support them).
 */
export function falInput(request: ProviderRequest, imageUrl?: string): Record<string, unknown> {
  const input: Record<string, unknown> = {
    prompt: request.prompt,
    duration: request.durationSeconds,
    resolution: request.resolution,
    aspect_ratio: request.aspectRatio,
  };
  if (imageUrl !== undefined) input.image_url = imageUrl;
  if (!/\/sora-2(\/|$)/.test(request.upstreamModel)) input.generate_audio = request.audio;
  if (request.negativePrompt) input.negative_prompt = request.negativePrompt;
  if (request.seed !== undefined) input.seed = request.seed;
  return input;
}

// ---------------------------------------------------------------------------------------------
// Upstream ids

/** `owner/alias` of a fal endpoint id (`fal-ai/sora-2/image-to-video/pro` -> `fal-ai/sora-2`). */
export function falAppOf(upstreamModel: string): string {
  const parts = upstreamModel.split('/');
  if (parts.length < 2 || parts.some((p) => !/^[A-Za-z0-9._-]+$/.test(p))) {
    throw new ProviderError(PROVIDER, 'invalid_input', `not a fal endpoint id: ${clip(upstreamModel, 100)}`);
  }
  return parts.slice(0, 2).join('/');
}

const upstreamIdPattern = /^([A-Za-z0-9._-]+\/[A-Za-z0-9._-]+):([A-Za-z0-9._-]+)$/;

/**
 * The fal request id inside one of our fal upstream ids (`fal-ai/sora-2:<request_id>` -> `<request_id>`).
 * Callback events carry the bare request id (fal webhooks do not say which app they are for), so a
 * caller matches a fal callback with `falRequestId(task.upstreamId) === event.upstreamId`.
 */
export function falRequestId(upstreamId: string): string {
  return upstreamIdPattern.exec(upstreamId)?.[2] ?? upstreamId;
}

function parseUpstreamId(upstreamId: string): { app: string; requestId: string } {
  const [, app, requestId] = upstreamIdPattern.exec(upstreamId) ?? [];
  if (!app || !requestId)
    throw new ProviderError(PROVIDER, 'invalid_input', `not a fal upstream id (want <owner>/<alias>:<request_id>): ${clip(upstreamId, 100)}`);
  return { app, requestId };
}

// ---------------------------------------------------------------------------------------------
// Error bodies

interface DetailSummary {
  message: string;
  policy: boolean;
}

/** fal error bodies: `{detail: [{loc, msg, type}]}` (validation), `{detail: "text"}`, or anything. */
function summarizeDetail(body: unknown, fallback: string): DetailSummary {
  const detail = (body as { detail?: unknown } | null)?.detail ?? body;
  if (Array.isArray(detail)) {
    const items = detail.map((d) => {
      const e = (d ?? {}) as { loc?: unknown; msg?: unknown; type?: unknown };
      const loc = Array.isArray(e.loc) ? e.loc.filter((x) => x !== 'body').join('.') : '';
      return { text: `${loc ? `${loc}: ` : ''}${textOf(e.msg ?? e.type) || 'invalid'}`, type: textOf(e.type), msg: textOf(e.msg) };
    });
    return {
      message: clip(items.map((i) => i.text).join('; ')) || fallback,
      policy: items.some((i) => i.type === 'content_policy_violation' || looksLikePolicy(i.type) || looksLikePolicy(i.msg)),
    };
  }
  if (typeof detail === 'string') return { message: clip(detail) || fallback, policy: looksLikePolicy(detail) };
  if (detail && typeof detail === 'object') {
    const text = JSON.stringify(detail);
    return { message: clip(text) || fallback, policy: looksLikePolicy(text) };
  }
  return { message: fallback, policy: false };
}

const readJson = readBody;

/** A failed HTTP answer as a ProviderError (422 with a policy detail -> policy). */
async function errorFor(res: Response, what: string): Promise<ProviderError> {
  const { json, text } = await readJson(res);
  const summary = summarizeDetail(json ?? (text || undefined), `HTTP ${res.status}`);
  const kind: ProviderErrorKind = summary.policy && (res.status === 400 || res.status === 422) ? 'policy' : kindForStatus(res.status);
  return new ProviderError(PROVIDER, kind, `fal ${what} failed (${res.status}): ${summary.message}`, {
    upstreamCode: String(res.status),
    retryAfterMs: retryAfterMs(res.headers.get('retry-after'), Date.now()),
  });
}

// ---------------------------------------------------------------------------------------------
// References

const mimeByExt: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
};

/** http(s) URLs go as they are; file:// becomes a data: URI (at most 10 MB). */
async function referenceUrl(url: string, mimeType: string | undefined): Promise<string> {
  if (/^https?:\/\//i.test(url) || /^data:/i.test(url)) return url;
  if (!/^file:/i.test(url)) throw new ProviderError(PROVIDER, 'invalid_input', `fal cannot fetch this reference URL scheme: ${clip(url, 60)}`);
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch {
    throw new ProviderError(PROVIDER, 'invalid_input', `bad file:// reference: ${clip(url, 100)}`);
  }
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new ProviderError(PROVIDER, 'invalid_input', `reference file not found: ${path.basename(file)}`);
  }
  if (size > MAX_INLINE_BYTES) {
    throw new ProviderError(
      PROVIDER,
      'invalid_input',
      `reference file ${path.basename(file)} is ${size} bytes; fal references sent inline may be at most ${MAX_INLINE_BYTES} bytes`,
    );
  }
  const mime = mimeType ?? mimeByExt[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  return `data:${mime};base64,${(await readFile(file)).toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------
// Output normalization

type FalOutput = { video?: { url?: unknown; content_type?: unknown }; thumbnail?: { url?: unknown } | null } | null | undefined;

/** A 2xx model output (result body or webhook payload) -> succeeded, or failed when it has no video. */
function outputStatus(upstreamStatus: string, output: FalOutput): NormalizedStatus {
  const url = output?.video?.url;
  if (typeof url !== 'string' || !url) {
    return { state: 'failed', upstreamStatus, error: { kind: 'generation_failed', message: 'fal finished without a video.url in its output' } };
  }
  const thumb = output.thumbnail?.url;
  const contentType = output.video?.content_type;
  return {
    state: 'succeeded',
    upstreamStatus,
    output: {
      videoUrl: url,
      ...(typeof thumb === 'string' && thumb ? { thumbnailUrl: thumb } : {}),
      ...(typeof contentType === 'string' && contentType ? { contentType } : {}),
    },
  };
}

/**
 * A finished request whose output is an HTTP error (`code`; 0 when unknown) with `body`:
 * content-policy detail -> failed `policy`; 400/422 -> `invalid_input`; a "cancelled" detail ->
 * canceled (fal's canceled-request answer is UNCONFIRMED); anything else -> `generation_failed`.
 */
function finishedWithError(upstreamStatus: string, code: number, body: unknown, fallback: string): NormalizedStatus {
  const summary = summarizeDetail(body, fallback);
  if (!summary.policy && /\bcancel(l?ed|lation)\b/i.test(summary.message)) return { state: 'canceled', upstreamStatus };
  let kind: ProviderErrorKind;
  if (summary.policy) kind = 'policy';
  else if (code === 422 || code === 400) kind = 'invalid_input';
  else kind = 'generation_failed';
  const error: ProviderFailure = { kind, message: summary.message, ...(code ? { upstreamCode: String(code) } : {}) };
  return { state: 'failed', upstreamStatus, error };
}

// ---------------------------------------------------------------------------------------------
// Webhook keys

interface KeySet {
  keys: KeyObject[];
  fetchedAt: number;
}

function parseJwks(body: unknown): KeyObject[] {
  const list = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) return [];
  const keys: KeyObject[] = [];
  for (const jwk of list) {
    const k = (jwk && typeof jwk === 'object' ? jwk : {}) as { kty?: unknown; crv?: unknown; x?: unknown };
    if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string') continue;
    try {
      keys.push(createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.x }, format: 'jwk' }));
    } catch {
      // a malformed key: skip it, the others may still verify
    }
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------

export function createFalProvider(opts: FalProviderOptions): VideoProvider {
  const apiKey = opts.apiKey?.trim() || undefined;
  const queueUrl = (opts.queueUrl || 'https://queue.fal.run').replace(/\/+$/, '');
  const now = opts.now ?? Date.now;
  const fetchImpl: FetchLike | undefined = opts.fetch;

  const requireKey = (): string => {
    if (!apiKey) throw new ProviderError(PROVIDER, 'auth_config', MISSING_KEY);
    return apiKey;
  };
  const authHeaders = (key: string): Record<string, string> => ({ authorization: `Key ${key}`, accept: 'application/json' });
  const call = (url: string, init: RequestInit, creates = false) =>
    providerFetch(PROVIDER, url, init, { timeoutMs: opts.timeoutMs, creates, fetch: fetchImpl });
  const requestUrl = (app: string, requestId: string, suffix = '') => `${queueUrl}/${app}/requests/${encodeURIComponent(requestId)}${suffix}`;

  // --- JWKS cache -----------------------------------------------------------------------------
  let keySet: KeySet | undefined;
  let keyFetch: Promise<KeySet> | undefined;

  const fetchKeys = (): Promise<KeySet> => {
    keyFetch ??= (async () => {
      try {
        const res = await call(opts.jwksUrl, { method: 'GET', headers: { accept: 'application/json' } });
        if (!res.ok) throw new Error(`fal JWKS answered ${res.status}`);
        const keys = parseJwks(await res.json());
        if (keys.length === 0) throw new Error('fal JWKS has no Ed25519 keys');
        keySet = { keys, fetchedAt: now() };
        return keySet;
      } finally {
        keyFetch = undefined;
      }
    })();
    return keyFetch;
  };

  /** The cached key set, fetched when missing or older than 24 h (a failed refresh keeps the old set). */
  const currentKeys = async (): Promise<KeySet> => {
    if (keySet && now() - keySet.fetchedAt < JWKS_MAX_AGE_MS) return keySet;
    try {
      return await fetchKeys();
    } catch (err) {
      if (keySet) return keySet;
      throw err;
    }
  };

  async function signatureValid(message: Buffer, signature: Buffer): Promise<boolean> {
    const matches = (set: KeySet) =>
      set.keys.some((key) => {
        try {
          return verifySignature(null, message, key, signature);
        } catch {
          return false;
        }
      });
    const set = await currentKeys();
    if (matches(set)) return true;
    // maybe fal rotated its keys: refetch once, but not more than once a minute
    if (now() - set.fetchedAt <= JWKS_REFETCH_AFTER_MS) return false;
    let fresh: KeySet;
    try {
      fresh = await fetchKeys();
    } catch {
      return false;
    }
    return matches(fresh);
  }

  return {
    id: PROVIDER,
    available: Boolean(apiKey),
    ...(apiKey ? {} : { unavailableReason: MISSING_KEY }),
    supportsCallbacks: true,
    supportsCancel: true,
    idempotentSubmit: false,
    callbackKey: (upstreamId) => falRequestId(upstreamId),
    upstreamIdFor: (callbackKey, upstreamModel) => `${falAppOf(upstreamModel)}:${callbackKey}`,

    async submit(request) {
      const key = requireKey();
      const app = falAppOf(request.upstreamModel);
      let imageUrl: string | undefined;
      if (request.mode !== 'text-to-video') {
        const image = request.references.find((r) => r.kind === 'image' && r.role === 'first_frame') ?? request.references.find((r) => r.kind === 'image');
        if (!image) throw new ProviderError(PROVIDER, 'invalid_input', `${request.mode} on fal needs an image reference`);
        imageUrl = await referenceUrl(image.url, image.mimeType);
      }
      const url = new URL(`${queueUrl}/${request.upstreamModel}`);
      if (request.callbackUrl) url.searchParams.set('fal_webhook', request.callbackUrl);
      const res = await call(
        url.toString(),
        { method: 'POST', headers: { ...authHeaders(key), 'content-type': 'application/json' }, body: JSON.stringify(falInput(request, imageUrl)) },
        true,
      );
      if (!res.ok) throw await errorFor(res, 'submit');
      const { json, text } = await readJson(res);
      const requestId = (json as { request_id?: unknown } | undefined)?.request_id;
      if (typeof requestId !== 'string' || !/^[A-Za-z0-9._-]+$/.test(requestId)) {
        // fal answered 2xx, so a request may exist, but we cannot tell which: reconcile, don't resubmit
        throw new ProviderError(PROVIDER, 'retryable', `fal submit answered ${res.status} without a request_id: ${clip(text, 120)}`, {
          upstreamCode: String(res.status),
          maybeAccepted: true,
        });
      }
      return { upstreamId: `${app}:${requestId}` };
    },

    async poll(upstreamId) {
      const key = requireKey();
      const { app, requestId } = parseUpstreamId(upstreamId);
      const res = await call(`${requestUrl(app, requestId, '/status')}?logs=0`, { method: 'GET', headers: authHeaders(key) });
      if (res.status === 404) {
        const { json } = await readJson(res);
        throw new ProviderError(PROVIDER, 'not_found', `fal does not know request ${requestId}: ${summarizeDetail(json, 'not found').message}`, {
          upstreamCode: '404',
        });
      }
      if (!res.ok) throw await errorFor(res, 'status');
      const { json } = await readJson(res);
      const body = (json ?? {}) as { status?: unknown; queue_position?: unknown; error?: unknown };
      const status = textOf(body.status);
      switch (status.toUpperCase()) {
        case 'IN_QUEUE':
          return typeof body.queue_position === 'number'
            ? { state: 'queued', upstreamStatus: status, queuePosition: body.queue_position }
            : { state: 'queued', upstreamStatus: status };
        case 'IN_PROGRESS':
          return { state: 'running', upstreamStatus: status };
        case 'COMPLETED':
          return result(key, app, requestId, status);
        // not in fal's client types; a third-party schema lists them (UNCONFIRMED)
        case 'FAILED':
        case 'ERROR':
          return { state: 'failed', upstreamStatus: status, error: { kind: 'generation_failed', message: clip(body.error) || `fal request ${status}` } };
        case 'CANCELED':
        case 'CANCELLED':
          return { state: 'canceled', upstreamStatus: status };
        default:
          return { state: 'unknown', upstreamStatus: status || 'missing status' };
      }
    },

    async cancel(upstreamId) {
      const key = requireKey();
      const { app, requestId } = parseUpstreamId(upstreamId);
      const res = await call(requestUrl(app, requestId, '/cancel'), { method: 'PUT', headers: authHeaders(key) });
      if (res.ok) return;
      if (res.status === 400) {
        const { json, text } = await readJson(res);
        const said = clip((json as { status?: unknown } | undefined)?.status ?? summarizeDetail(json ?? text, '').message, 80);
        throw new ProviderError(
          PROVIDER,
          'invalid_input',
          `fal request ${requestId} cannot be canceled: it has already started or finished${said ? ` (${said})` : ''}`,
          {
            upstreamCode: '400',
          },
        );
      }
      throw await errorFor(res, 'cancel');
    },

    /**
     * Verifies fal's Ed25519 webhook signature (X-Fal-Webhook-* headers, JWKS keys) and normalizes
     * the body. fal webhooks do not name the app they are for, so the event's `upstreamId` is the
     * bare fal request id: match it with `falRequestId(task.upstreamId)` (request ids are UUIDs).
     */
    async verifyCallback(rawBody, headers): Promise<CallbackVerdict> {
      try {
        if (!apiKey) return { ok: false, reason: MISSING_KEY };
        const requestIdHeader = header(headers, 'x-fal-webhook-request-id');
        const userId = header(headers, 'x-fal-webhook-user-id');
        const timestamp = header(headers, 'x-fal-webhook-timestamp');
        const signatureHex = header(headers, 'x-fal-webhook-signature');
        if (!requestIdHeader || !userId || !timestamp || !signatureHex) return { ok: false, reason: 'missing X-Fal-Webhook-* headers' };
        if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad webhook timestamp' };
        if (Math.abs(now() / 1000 - Number(timestamp)) > WEBHOOK_TOLERANCE_S) return { ok: false, reason: 'webhook timestamp outside the 300 s window' };
        if (!/^[0-9a-f]{128}$/i.test(signatureHex)) return { ok: false, reason: 'malformed webhook signature' };

        const bodyHash = createHash('sha256').update(rawBody).digest('hex');
        const message = Buffer.from(`${requestIdHeader}\n${userId}\n${timestamp}\n${bodyHash}`, 'utf8');
        let valid: boolean;
        try {
          valid = await signatureValid(message, Buffer.from(signatureHex, 'hex'));
        } catch (err) {
          return { ok: false, reason: `fal webhook keys unavailable: ${clip((err as Error).message, 120)}` };
        }
        if (!valid) return { ok: false, reason: 'webhook signature does not match any fal key' };

        let parsed: unknown;
        try {
          parsed = JSON.parse(rawBody.toString('utf8'));
        } catch {
          return { ok: false, reason: 'webhook body is not JSON' };
        }
        if (!parsed || typeof parsed !== 'object') return { ok: false, reason: 'webhook body is not an object' };
        const body = parsed as { request_id?: unknown; status?: unknown; payload?: unknown; error?: unknown; payload_error?: unknown };
        const requestId = typeof body.request_id === 'string' && body.request_id ? body.request_id : requestIdHeader;
        const status = typeof body.status === 'string' ? body.status : '';
        return { ok: true, event: { upstreamId: requestId, status: webhookStatus(status, body) } };
      } catch (err) {
        return { ok: false, reason: `fal webhook could not be verified: ${clip(err instanceof Error ? err.message : err, 120)}` };
      }
    },

    async close() {
      keySet = undefined;
    },
  };

  /** The output of a COMPLETED request. */
  async function result(key: string, app: string, requestId: string, upstreamStatus: string): Promise<NormalizedStatus> {
    const res = await call(requestUrl(app, requestId), { method: 'GET', headers: authHeaders(key) });
    const { json, text } = await readJson(res);
    if (res.ok) {
      if (json === undefined)
        return { state: 'failed', upstreamStatus, error: { kind: 'generation_failed', message: `fal result is not JSON: ${clip(text, 120)}` } };
      return outputStatus(upstreamStatus, json);
    }
    const kind = kindForStatus(res.status);
    // transport-ish or account trouble says nothing about the request: let the caller poll again
    if ((kind === 'retryable' && res.status !== 500) || kind === 'auth_config' || kind === 'not_found') {
      throw new ProviderError(PROVIDER, kind, `fal result fetch failed (${res.status}): ${summarizeDetail(json ?? text, `HTTP ${res.status}`).message}`, {
        upstreamCode: String(res.status),
        retryAfterMs: retryAfterMs(res.headers.get('retry-after'), Date.now()),
      });
    }
    return finishedWithError(upstreamStatus, res.status, json ?? (text || undefined), `HTTP ${res.status}`);
  }
}

/** A verified webhook body -> normalized status. */
function webhookStatus(status: string, body: { payload?: unknown; error?: unknown; payload_error?: unknown }): NormalizedStatus {
  switch (status.toUpperCase()) {
    case 'OK':
      // payload null + payload_error: the output was not JSON; a poll reads the result itself
      if (body.payload === null && body.payload_error !== undefined) return { state: 'unknown', upstreamStatus: status };
      return outputStatus(status, body.payload as FalOutput);
    case 'ERROR': {
      // `error` is e.g. "Invalid status code: 422"; `payload` is the app's error body ({detail: [...]})
      const code = /\b([1-5]\d\d)\b/.exec(textOf(body.error))?.[1];
      return finishedWithError(status, code ? Number(code) : 0, body.payload ?? body.error, clip(body.error) || 'fal request failed');
    }
    // fal documents final webhooks only; tolerate progress-shaped bodies (stale or future deliveries)
    case 'IN_QUEUE':
      return { state: 'queued', upstreamStatus: status };
    case 'IN_PROGRESS':
      return { state: 'running', upstreamStatus: status };
    default:
      return { state: 'unknown', upstreamStatus: status || 'missing status' };
  }
}
