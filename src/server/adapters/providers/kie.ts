import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clip, header, kindForStatus, looksLikePolicy, providerFetch, retryAfterMs, textOf } from './http';
import {
  ProviderError,
  type CallbackVerdict,
  type GenerationMode,
  type NormalizedStatus,
  type ProviderErrorKind,
  type ProviderFailure,
  type ProviderReference,
  type ProviderRequest,
  type ReferenceKind,
  type VideoProvider,
} from './provider';

/**
 * The KIE (kie.ai) adapter (docs/provider-apis.md §1 in the shared docs).
 *
 * - Veo 3.1 has its own endpoints: `POST /api/v1/veo/generate` (flat body) and
 *   `GET /api/v1/veo/record-info` (`successFlag`). Every other model goes through the market
 *   "jobs" API: `POST /api/v1/jobs/createTask` (`{model, input}`) and `GET /api/v1/jobs/recordInfo`
 *   (`state`, string `resultJson`). Our upstream id says which: `veo:<taskId>` or `job:<taskId>`.
 * - Every answer is a `{code, msg, data}` envelope; errors come either as an HTTP status or as
 *   HTTP 200 with `code != 200` (which one is UNCONFIRMED), so both are handled.
 * - KIE has no idempotency key: `idempotencyKey` is not sent, and a submit that may have been
 *   accepted fails with `maybeAccepted`.
 * - References that are not http(s) URLs (file:, data:) are uploaded first with the file upload API.
 * - Callbacks are signed only when a webhook HMAC key is set in KIE's settings: the signature is
 *   base64(HMAC-SHA256(taskId + "." + timestamp)) and does not cover the body.
 */
export interface KieProviderOptions {
  /** `KIE_API_KEY`; missing = provider unavailable */
  apiKey?: string;
  /** e.g. https://api.kie.ai */
  baseUrl: string;
  /** host of the file upload API, e.g. https://kieai.redpandaai.co */
  uploadUrl: string;
  /** `KIE_WEBHOOK_HMAC_KEY`; without it every callback is rejected and tasks are polled */
  webhookHmacKey?: string;
  timeoutMs: number;
  fetch?: typeof fetch;
  /** clock in ms, for callback timestamp checks */
  now?: () => number;
}

const PROVIDER = 'kie' as const;
const MISSING_KEY = 'KIE_API_KEY is not set';
const MISSING_HMAC = 'KIE_WEBHOOK_HMAC_KEY is not set; relying on polling';
const WEBHOOK_TOLERANCE_S = 300;
const UPLOAD_PATH = 'savesora/refs';

// ---------------------------------------------------------------------------------------------
// Request mapping

type Family = 'veo' | 'kling' | 'seedance' | 'sora';

function familyOf(upstreamModel: string): Family | undefined {
  const m = upstreamModel.toLowerCase();
  if (m.startsWith('veo')) return 'veo';
  if (m.startsWith('kling-')) return 'kling';
  if (m.startsWith('bytedance/') || m.includes('seedance')) return 'seedance';
  if (m.startsWith('sora-2')) return 'sora';
  return undefined;
}

/** Reference kinds each family takes; anything else is refused before a call is made. */
const acceptedKinds: Record<Family, readonly ReferenceKind[]> = {
  veo: ['image'],
  kling: ['image'],
  seedance: ['image', 'video', 'audio'],
  sora: ['image'],
};

/** Upstream URLs of the references, by kind: first frame, last frame, then the others in the user's order. */
type ReferenceUrls = Record<ReferenceKind, string[]>;

const veoGenerationType: Record<GenerationMode, string> = {
  'text-to-video': 'TEXT_2_VIDEO',
  'image-to-video': 'FIRST_AND_LAST_FRAMES_2_VIDEO',
  'first-last-frame': 'FIRST_AND_LAST_FRAMES_2_VIDEO',
  reference: 'REFERENCE_2_VIDEO',
};

const soraOrientation: Record<string, string> = { '16:9': 'landscape', '9:16': 'portrait' };

const some = (urls: string[]) => (urls.length ? urls : undefined);

/** The Veo generate body (flat). Fields left undefined are not sent. */
function veoBody(r: ProviderRequest, refs: ReferenceUrls): Record<string, unknown> {
  return {
    prompt: r.prompt,
    model: r.upstreamModel,
    generationType: veoGenerationType[r.mode],
    imageUrls: some(refs.image),
    aspect_ratio: r.aspectRatio,
    seeds: r.seed,
    callBackUrl: r.callbackUrl,
  };
}

/** The jobs API `input` per model family. Fields left undefined are not sent. */
function jobInput(family: Exclude<Family, 'veo'>, r: ProviderRequest, refs: ReferenceUrls): Record<string, unknown> {
  const duration = String(r.durationSeconds);
  switch (family) {
    case 'kling':
      return {
        prompt: r.prompt,
        duration,
        aspect_ratio: r.aspectRatio,
        sound: r.audio,
        image_urls: some(refs.image),
        negative_prompt: r.negativePrompt || undefined,
      };
    case 'seedance':
      return {
        prompt: r.prompt,
        duration,
        resolution: r.resolution,
        aspect_ratio: r.aspectRatio,
        generate_audio: r.audio,
        seed: r.seed,
        image_urls: some(refs.image),
        video_urls: some(refs.video),
        audio_urls: some(refs.audio),
        camera_fixed: false,
      };
    case 'sora': {
      const orientation = soraOrientation[r.aspectRatio];
      if (!orientation) throw new ProviderError(PROVIDER, 'invalid_input', `Sora 2 on KIE takes 16:9 or 9:16, not ${clip(r.aspectRatio, 20)}`);
      const pro = r.upstreamModel.startsWith('sora-2-pro');
      return {
        prompt: r.prompt,
        aspect_ratio: orientation,
        n_frames: duration,
        size: pro ? (r.resolution === '1080p' ? 'high' : 'standard') : undefined,
        // Sora's visible watermark stays: we never ask KIE to remove it (issue 16)
        image_urls: some(refs.image),
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Upstream ids

type Api = 'veo' | 'job';

function parseUpstreamId(upstreamId: string): { api: Api; taskId: string } {
  const [, api, taskId] = /^(veo|job):(.+)$/.exec(upstreamId) ?? [];
  if (!api || !taskId)
    throw new ProviderError(PROVIDER, 'invalid_input', `not a KIE upstream id (want veo:<taskId> or job:<taskId>): ${clip(upstreamId, 100)}`);
  return { api: api as Api, taskId };
}

// ---------------------------------------------------------------------------------------------
// Envelopes and errors

/** Kind for a KIE `code` (in the body or as the HTTP status). */
function kindForCode(code: number, msg: string): ProviderErrorKind {
  if (code === 455) return 'retryable'; // service unavailable / maintenance
  if (code === 501) return 'generation_failed';
  if (code === 505) return 'auth_config'; // feature disabled for this account
  if ((code === 400 || code === 422) && looksLikePolicy(msg)) return 'policy';
  return kindForStatus(code);
}

/**
 * The `data` of a KIE answer. Throws ProviderError for a non-2xx status, a 2xx with `code != 200`,
 * a body that is not JSON, or a body cut off by the timeout. `creates`: the call creates a task, so
 * a 2xx we cannot read may still have created one (`maybeAccepted`).
 */
async function readData(res: Response, what: string, creates = false): Promise<unknown> {
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new ProviderError(PROVIDER, 'retryable', `kie ${what}: the answer was cut off`, { maybeAccepted: creates, cause: err });
  }
  let body: { code?: unknown; msg?: unknown; message?: unknown; data?: unknown } | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed;
  } catch {
    body = undefined;
  }
  if (!body) {
    throw new ProviderError(PROVIDER, 'retryable', `kie ${what} answered ${res.status} with a body that is not a JSON envelope: ${clip(text, 120)}`, {
      upstreamCode: String(res.status),
      retryAfterMs: retryAfterMs(res.headers.get('retry-after'), Date.now()),
      maybeAccepted: creates && res.ok,
    });
  }
  const bodyCode = body.code === undefined || body.code === null || body.code === '' ? undefined : Number(body.code);
  if (res.ok && (bodyCode === undefined || bodyCode === 200)) return body.data;
  // the body's code when it says something, else the HTTP status (a 2xx with a garbled code: none)
  const code = bodyCode !== undefined && bodyCode !== 200 && Number.isFinite(bodyCode) ? bodyCode : res.ok ? undefined : res.status;
  const msg = clip(body.msg ?? body.message);
  throw new ProviderError(
    PROVIDER,
    code === undefined ? 'retryable' : kindForCode(code, msg),
    `kie ${what} failed (code ${String(code ?? body.code)}): ${msg || `HTTP ${res.status}`}`,
    {
      upstreamCode: String(code ?? body.code),
      retryAfterMs: retryAfterMs(res.headers.get('retry-after'), Date.now()),
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Status normalization (shared by poll and callbacks)

function firstUrl(urls: unknown): string | undefined {
  const first: unknown = Array.isArray(urls) ? urls[0] : undefined;
  return typeof first === 'string' && /^https?:\/\//i.test(first) ? first : undefined;
}

function succeededOrMissing(upstreamStatus: string, url: string | undefined): NormalizedStatus {
  return url
    ? { state: 'succeeded', upstreamStatus, output: { videoUrl: url } }
    : { state: 'failed', upstreamStatus, error: { kind: 'generation_failed', message: 'KIE reported success with no result URL' } };
}

/** A failed task: policy when the message or code says moderation, else generation_failed. */
function failure(upstreamStatus: string, message: unknown, code: unknown): NormalizedStatus {
  const msg = clip(message);
  const upstreamCode = textOf(code);
  const error: ProviderFailure = {
    kind: looksLikePolicy(msg) || looksLikePolicy(upstreamCode) ? 'policy' : 'generation_failed',
    message: msg || `KIE task failed${upstreamCode ? ` (${upstreamCode})` : ''}`,
    ...(upstreamCode ? { upstreamCode } : {}),
  };
  return { state: 'failed', upstreamStatus, error };
}

interface JobRecord {
  state?: unknown;
  progress?: unknown;
  resultJson?: unknown;
  failCode?: unknown;
  failMsg?: unknown;
}

/** A jobs API record (recordInfo `data`, or a jobs callback's `data`). */
function jobStatus(d: JobRecord): NormalizedStatus {
  const upstreamStatus = textOf(d.state);
  switch (upstreamStatus.toLowerCase()) {
    case 'waiting':
    case 'queuing':
      return { state: 'queued', upstreamStatus };
    case 'generating': {
      const p = d.progress;
      return typeof p === 'number' && Number.isFinite(p)
        ? { state: 'running', upstreamStatus, progress: Math.min(100, Math.max(0, p)) }
        : { state: 'running', upstreamStatus };
    }
    case 'success': {
      let result: unknown = d.resultJson;
      if (typeof result === 'string') {
        try {
          result = JSON.parse(result);
        } catch {
          result = undefined;
        }
      }
      return succeededOrMissing(upstreamStatus, firstUrl((result as { resultUrls?: unknown } | undefined)?.resultUrls));
    }
    case 'fail':
      return failure(upstreamStatus, d.failMsg, d.failCode);
    default:
      return { state: 'unknown', upstreamStatus: upstreamStatus || 'missing state' };
  }
}

interface VeoRecord {
  successFlag?: unknown;
  response?: { resultUrls?: unknown } | null;
  errorCode?: unknown;
  errorMessage?: unknown;
}

/** A Veo record-info `data`: successFlag 0 generating, 1 success, 2/3 failed. */
function veoStatus(d: VeoRecord): NormalizedStatus {
  const flag = d.successFlag;
  const upstreamStatus = `successFlag ${textOf(flag) || 'missing'}`;
  switch (typeof flag === 'number' || (typeof flag === 'string' && /^\d+$/.test(flag)) ? Number(flag) : undefined) {
    case 0:
      return { state: 'running', upstreamStatus };
    case 1:
      return succeededOrMissing(upstreamStatus, firstUrl(d.response?.resultUrls));
    case 2:
    case 3:
      return failure(upstreamStatus, d.errorMessage, d.errorCode);
    default:
      return { state: 'unknown', upstreamStatus };
  }
}

interface VeoCallback {
  code?: unknown;
  msg?: unknown;
  data: VeoRecord & { info?: { resultUrls?: unknown } | null };
}

/** A Veo callback: `code` 200 success, 400 policy or bad input, 422 fallback refused, 500/501 failed. */
function veoCallbackStatus(body: VeoCallback): NormalizedStatus {
  // tolerate record-info-shaped callbacks (one client says callbacks mirror the status body)
  if (body.data.successFlag !== undefined && body.data.successFlag !== null) return veoStatus(body.data);
  const code = Number(body.code);
  const msg = clip(body.msg);
  const upstreamStatus = `code ${textOf(body.code) || 'missing'}`;
  const failed = (kind: ProviderErrorKind): NormalizedStatus => ({
    state: 'failed',
    upstreamStatus,
    error: { kind, message: msg || `KIE Veo task failed (${code})`, upstreamCode: String(code) },
  });
  switch (code) {
    case 200:
      return succeededOrMissing(upstreamStatus, firstUrl(body.data.info?.resultUrls ?? body.data.response?.resultUrls));
    case 400:
      return failed(looksLikePolicy(msg) ? 'policy' : 'invalid_input');
    case 422:
      return failed('policy');
    case 500:
    case 501:
      return failed('generation_failed');
    default:
      return { state: 'unknown', upstreamStatus };
  }
}

// ---------------------------------------------------------------------------------------------
// References

const extByMime: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/webp': '.webp',
  'image/gif': '.gif',
  'video/mp4': '.mp4',
  'video/quicktime': '.mov',
  'video/webm': '.webm',
  'audio/mpeg': '.mp3',
  'audio/wav': '.wav',
  'audio/x-wav': '.wav',
  'audio/mp4': '.m4a',
  'audio/aac': '.aac',
};

/** The bytes of a file: or data: reference, with a content type and a unique upload file name. */
async function referenceFile(ref: ProviderReference): Promise<{ bytes: Buffer; mimeType: string; fileName: string }> {
  let bytes: Buffer;
  let mimeType = ref.mimeType;
  let ext = '';
  if (/^data:/i.test(ref.url)) {
    const comma = ref.url.indexOf(',');
    if (comma < 0) throw new ProviderError(PROVIDER, 'invalid_input', 'malformed data: reference');
    const meta = ref.url.slice(5, comma);
    const payload = ref.url.slice(comma + 1);
    bytes = /;base64$/i.test(meta) ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
    mimeType ??= meta.split(';')[0] || undefined;
  } else if (/^file:/i.test(ref.url)) {
    let file: string;
    try {
      file = fileURLToPath(ref.url);
    } catch {
      throw new ProviderError(PROVIDER, 'invalid_input', `bad file:// reference: ${clip(ref.url, 100)}`);
    }
    try {
      bytes = await readFile(file);
    } catch {
      throw new ProviderError(PROVIDER, 'invalid_input', `reference file not found: ${path.basename(file)}`);
    }
    ext = path.extname(file).toLowerCase();
  } else {
    throw new ProviderError(PROVIDER, 'invalid_input', `KIE cannot fetch this reference URL scheme: ${clip(ref.url, 60)}`);
  }
  mimeType ??= 'application/octet-stream';
  // unique names: KIE overwrites an upload that reuses a file name
  return { bytes, mimeType, fileName: `${randomUUID()}${ext || extByMime[mimeType] || ''}` };
}

// ---------------------------------------------------------------------------------------------

/** The KIE video provider: Veo 3.1 through its own endpoints, Kling, Seedance and Sora 2 through the jobs API. */
export function createKieProvider(opts: KieProviderOptions): VideoProvider {
  const apiKey = opts.apiKey?.trim() || undefined;
  const hmacKey = opts.webhookHmacKey || undefined;
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const uploadUrl = (opts.uploadUrl || opts.baseUrl).replace(/\/+$/, '');
  const now = opts.now ?? Date.now;

  const requireKey = (): string => {
    if (!apiKey) throw new ProviderError(PROVIDER, 'auth_config', MISSING_KEY);
    return apiKey;
  };
  const call = (url: string, init: RequestInit, creates = false) =>
    providerFetch(PROVIDER, url, init, { timeoutMs: opts.timeoutMs, creates, fetch: opts.fetch });
  const auth = (key: string) => ({ authorization: `Bearer ${key}`, accept: 'application/json' });

  /** http(s) references go as they are; file: and data: ones are uploaded and their download URL used. */
  async function referenceUrl(ref: ProviderReference, key: string): Promise<string> {
    if (/^https?:\/\//i.test(ref.url)) return ref.url;
    const file = await referenceFile(ref);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.mimeType }), file.fileName);
    form.append('uploadPath', UPLOAD_PATH);
    form.append('fileName', file.fileName);
    const res = await call(`${uploadUrl}/api/file-stream-upload`, { method: 'POST', headers: auth(key), body: form });
    const data = (await readData(res, 'upload')) as { downloadUrl?: unknown } | null | undefined;
    const url = data?.downloadUrl;
    if (typeof url !== 'string' || !/^https?:\/\//i.test(url)) {
      throw new ProviderError(PROVIDER, 'retryable', `kie upload answered without a downloadUrl (${file.fileName})`);
    }
    return url;
  }

  async function referenceUrls(family: Family, refs: ProviderReference[], key: string): Promise<ReferenceUrls> {
    const refused = refs.find((r) => !acceptedKinds[family].includes(r.kind));
    if (refused) throw new ProviderError(PROVIDER, 'invalid_input', `KIE ${family} models take no ${refused.kind} references`);
    const roleOrder = { first_frame: 0, last_frame: 1, reference: 2 } as const;
    const ordered = [...refs].sort((a, b) => roleOrder[a.role] - roleOrder[b.role]);
    const resolved = await Promise.all(ordered.map(async (r) => ({ kind: r.kind, url: await referenceUrl(r, key) })));
    const byKind: ReferenceUrls = { image: [], video: [], audio: [] };
    for (const { kind, url } of resolved) byKind[kind].push(url);
    return byKind;
  }

  return {
    id: PROVIDER,
    available: Boolean(apiKey),
    ...(apiKey ? {} : { unavailableReason: MISSING_KEY }),
    supportsCallbacks: true,
    supportsCancel: false,
    idempotentSubmit: false,
    callbackKey: (upstreamId) => upstreamId,
    upstreamIdFor: (callbackKey) => callbackKey,

    async submit(request) {
      const key = requireKey();
      const family = familyOf(request.upstreamModel);
      if (!family) throw new ProviderError(PROVIDER, 'invalid_input', `no KIE input mapping for model ${clip(request.upstreamModel, 80)}`);
      const refs = await referenceUrls(family, request.references, key);
      const [url, body, api] =
        family === 'veo'
          ? [`${baseUrl}/api/v1/veo/generate`, veoBody(request, refs), 'veo' as const]
          : [
              `${baseUrl}/api/v1/jobs/createTask`,
              { model: request.upstreamModel, callBackUrl: request.callbackUrl, input: jobInput(family, request, refs) },
              'job' as const,
            ];
      const res = await call(url, { method: 'POST', headers: { ...auth(key), 'content-type': 'application/json' }, body: JSON.stringify(body) }, true);
      const data = (await readData(res, 'submit', true)) as { taskId?: unknown } | null | undefined;
      const taskId = data?.taskId;
      if (typeof taskId !== 'string' || !taskId) {
        // KIE said yes, so a task may exist, but we cannot tell which: reconcile, don't resubmit
        throw new ProviderError(PROVIDER, 'retryable', 'kie submit answered success without a taskId', {
          upstreamCode: String(res.status),
          maybeAccepted: true,
        });
      }
      return { upstreamId: `${api}:${taskId}` };
    },

    async poll(upstreamId) {
      const key = requireKey();
      const { api, taskId } = parseUpstreamId(upstreamId);
      const url = api === 'veo' ? `${baseUrl}/api/v1/veo/record-info` : `${baseUrl}/api/v1/jobs/recordInfo`;
      const res = await call(`${url}?taskId=${encodeURIComponent(taskId)}`, { method: 'GET', headers: auth(key) });
      const data = await readData(res, `status of ${taskId}`);
      if (!data || typeof data !== 'object') return { state: 'unknown', upstreamStatus: 'no data' };
      return api === 'veo' ? veoStatus(data) : jobStatus(data);
    },

    async cancel() {
      requireKey();
      throw new ProviderError(PROVIDER, 'invalid_input', 'KIE cannot cancel tasks');
    },

    /**
     * Checks X-Webhook-Timestamp (±300 s) and X-Webhook-Signature, then normalizes the body.
     * Jobs callbacks (their `data` has `state`) become `job:<taskId>`, the others `veo:<taskId>`.
     */
    async verifyCallback(rawBody, headers): Promise<CallbackVerdict> {
      try {
        if (!apiKey) return { ok: false, reason: MISSING_KEY };
        if (!hmacKey) return { ok: false, reason: MISSING_HMAC };
        let parsed: unknown;
        try {
          parsed = JSON.parse(rawBody.toString('utf8'));
        } catch {
          return { ok: false, reason: 'callback body is not JSON' };
        }
        const body = (parsed && typeof parsed === 'object' ? parsed : {}) as { code?: unknown; msg?: unknown; data?: unknown };
        const data = body.data && typeof body.data === 'object' ? (body.data as Record<string, unknown>) : undefined;
        if (!data) return { ok: false, reason: 'callback has no data object' };
        const taskId = data.taskId ?? data.task_id;
        if (typeof taskId !== 'string' || !taskId) return { ok: false, reason: 'callback has no task id' };

        const timestamp = header(headers, 'x-webhook-timestamp');
        const signature = header(headers, 'x-webhook-signature');
        if (!timestamp || !signature) return { ok: false, reason: 'missing X-Webhook-Timestamp or X-Webhook-Signature' };
        if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'bad webhook timestamp' };
        if (Math.abs(now() / 1000 - Number(timestamp)) > WEBHOOK_TOLERANCE_S) return { ok: false, reason: 'webhook timestamp outside the 300 s window' };
        const expected = Buffer.from(createHmac('sha256', hmacKey).update(`${taskId}.${timestamp}`).digest('base64'));
        const given = Buffer.from(signature);
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'webhook signature does not match' };

        const isJob = data.state !== undefined;
        return {
          ok: true,
          event: {
            upstreamId: `${isJob ? 'job' : 'veo'}:${taskId}`,
            status: isJob ? jobStatus(data) : veoCallbackStatus({ code: body.code, msg: body.msg, data }),
          },
        };
      } catch (err) {
        return { ok: false, reason: `kie callback could not be verified: ${clip(err instanceof Error ? err.message : err, 120)}` };
      }
    },

    async close() {
      // nothing held: every call is a one-off fetch
    },
  };
}
