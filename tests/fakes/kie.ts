import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { FailureQueue, type FakeFailure } from './failures';
import { sampleMp4 } from './media';
import { listenLocal } from './listen';
import { pendingWork } from './pending';

/**
 * A fake KIE (docs/provider-apis.md §1 in the shared docs): a real HTTP server on 127.0.0.1 that
 * serves the Veo 3.1 endpoints (`/api/v1/veo/generate`, `/api/v1/veo/record-info`), the market
 * jobs API (`/api/v1/jobs/createTask`, `/api/v1/jobs/recordInfo`), the file upload API
 * (`/api/file-stream-upload`, `/api/file-base64-upload`, `/api/file-url-upload`, files served at
 * `/files/<uploadPath>/<fileName>`) and result videos (real MP4s, with Range) at `/results/<taskId>.mp4`.
 *
 * Every answer is a `{code, msg, data}` envelope. Whether KIE signals errors with the HTTP status
 * or with HTTP 200 and the code in the body is UNCONFIRMED, so `errorStyle` picks one. Gateway
 * failures (`http-error` 502/504) always answer that HTTP status with an HTML page, as a proxy in
 * front of KIE would.
 *
 * Time line (stepMs each): jobs tasks go waiting -> queuing -> generating -> success|fail; Veo
 * tasks answer successFlag 0 for three steps, then 1 (or 2/3 when failed). Callbacks (when the
 * create body had `callBackUrl`) go out when the task ends, in the Veo shape `{code, msg,
 * data:{taskId, info:{resultUrls,...}}}` or the jobs shape `{code, msg, data:{taskId, state,
 * resultJson | failCode/failMsg, ...}}`; jobs tasks with `progressCallBackUrl` also get a
 * `generating` callback there (its payload is UNCONFIRMED upstream). Callbacks carry
 * X-Webhook-Timestamp / X-Webhook-Signature = base64(HMAC-SHA256(hmacKey, taskId + "." + ts))
 * while an HMAC key is set.
 *
 * Failures (tests/fakes/failures.ts) are taken once per create call, from a `[fake:kind]` prompt
 * marker or the injected queue:
 * - policy-after-accept: jobs end `fail` with failCode "400" and a content-policy failMsg; Veo ends
 *   successFlag 2 (errorCode 400), and its callback is code 400 with a policy message.
 * - fail: jobs end `fail` with failCode "500" "Internal server error"; Veo ends successFlag 3, and
 *   its callback is code 500.
 * - expired: accepted, then record lookups answer code 404 "task not found or expired"; no callback.
 * - never-finish: stays generating (successFlag 0); only the progress callback is sent.
 * - unknown-status: records answer state `mystery_state` / successFlag 7; no callback.
 * - duplicate-callbacks: the final callback is delivered twice (the second signed afresh).
 * - out-of-order-callbacks: the final callback, then a stale in-progress one signed 5 s earlier
 *   (jobs: state `generating`; Veo, which documents final callbacks only: the record-info shape
 *   with successFlag 0).
 * - bad-signature: callbacks are signed with the wrong key.
 */
export interface FakeKieOptions {
  /** the key clients must send as `Authorization: Bearer <apiKey>` (default 'kie-test-key') */
  apiKey?: string;
  /** webhook HMAC key used to sign callbacks (default 'kie-test-hmac') */
  hmacKey?: string;
  /** how errors are signalled: the HTTP status, or HTTP 200 with the code in the body (default) */
  errorStyle?: 'http-status' | 'body-code';
  /** time between status steps in ms (default 150) */
  stepMs?: number;
  port?: number;
  host?: string;
}

export interface FakeKieRequest {
  method: string;
  /** path without the query */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** raw body as UTF-8 ('' when none) */
  body: string;
}

export interface FakeKieCallback {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** the receiver's HTTP status, 0 when it could not be reached */
  status: number;
}

export interface FakeKieTask {
  taskId: string;
  api: 'veo' | 'jobs';
  model: string;
  /** the create body as received */
  body: Record<string, unknown>;
  failure?: FakeFailure;
  createdAt: number;
  callBackUrl?: string;
  progressCallBackUrl?: string;
  /** what the result video is rendered as */
  video: { aspectRatio: string; seconds: number; audio: boolean };
}

export interface FakeKieFile {
  data: Buffer;
  mimeType: string;
  uploadedAt: number;
}

export interface FakeKie {
  /** base URL of the API; the same server also serves the upload API and the files */
  url: string;
  apiKey: string;
  /** the current webhook HMAC key (undefined = callbacks go out unsigned) */
  readonly hmacKey: string | undefined;
  inject(f: FakeFailure, times?: number): void;
  clearInjections(): void;
  /** every request received, oldest first */
  requests: FakeKieRequest[];
  /** every callback POSTed, oldest first */
  callbacks: FakeKieCallback[];
  tasks: Map<string, FakeKieTask>;
  /** uploaded files by `<uploadPath>/<fileName>` */
  files: Map<string, FakeKieFile>;
  setHmacKey(k: string | undefined): void;
  /** resolves once every callback the fake has scheduled was delivered (and answered) */
  settled(): Promise<void>;
  close(): Promise<void>;
}

interface Task extends FakeKieTask {
  rendered?: Promise<{ file: string; size: number }>;
}

/** steps before the end: waiting, queuing, generating */
const FINAL_STEP = 3;
const VEO_MODELS = ['veo3', 'veo3_fast', 'veo3_lite'];
const VEO_TYPES = ['TEXT_2_VIDEO', 'FIRST_AND_LAST_FRAMES_2_VIDEO', 'REFERENCE_2_VIDEO'];
const POLICY_MSG = 'Your request was flagged by the content policy (moderation). Please revise the prompt.';
const INTERNAL_MSG = 'Internal server error';

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
const isUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\/\S+$/i.test(v);
const isUrlList = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every(isUrl);
const kieTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

/** A model's rules on its `input`: the first problem found, naming the field, or undefined. */
function validateJobInput(model: string, i: Record<string, unknown>): string | undefined {
  const oneOf = (field: string, allowed: readonly unknown[]) =>
    i[field] !== undefined && !allowed.includes(i[field]) ? `input.${field} must be one of ${allowed.join(', ')}` : undefined;
  const digits = (field: string, required: boolean) =>
    i[field] === undefined
      ? required
        ? `input.${field} is required`
        : undefined
      : typeof i[field] === 'string' && /^\d+$/.test(i[field])
        ? undefined
        : `input.${field} must be a string of digits, e.g. "5"`;
  const bool = (field: string) => (i[field] !== undefined && typeof i[field] !== 'boolean' ? `input.${field} must be a boolean` : undefined);
  const urls = (field: string, required: boolean) =>
    i[field] === undefined
      ? required
        ? `input.${field} is required`
        : undefined
      : isUrlList(i[field])
        ? undefined
        : `input.${field} must be a non-empty list of http(s) URLs`;
  const imageToVideo = /image-to-video/.test(model);
  if (model.startsWith('kling-')) {
    return digits('duration', true) ?? oneOf('aspect_ratio', ['1:1', '16:9', '9:16']) ?? bool('sound') ?? urls('image_urls', imageToVideo);
  }
  if (model.startsWith('bytedance/') || model.includes('seedance')) {
    return (
      digits('duration', false) ??
      oneOf('resolution', ['480p', '720p', '1080p']) ??
      oneOf('aspect_ratio', ['16:9', '9:16', '1:1', '4:3', '3:4', '21:9', 'adaptive']) ??
      bool('generate_audio') ??
      bool('camera_fixed') ??
      urls('image_urls', false) ??
      urls('video_urls', false) ??
      urls('audio_urls', false) ??
      (i.image_url !== undefined && !isUrl(i.image_url) ? 'input.image_url must be an http(s) URL' : undefined)
    );
  }
  if (model.startsWith('sora-2-')) {
    const pro = model.startsWith('sora-2-pro-');
    if (!pro && i.size !== undefined) return 'input.size is only for Sora 2 Pro models';
    return (
      oneOf('aspect_ratio', ['landscape', 'portrait']) ??
      digits('n_frames', false) ??
      oneOf('size', ['standard', 'high']) ??
      bool('remove_watermark') ??
      urls('image_urls', imageToVideo)
    );
  }
  return `model ${model} is not supported`;
}

function validateVeo(b: Record<string, unknown>): string | undefined {
  if (typeof b.prompt !== 'string' || !b.prompt.trim()) return 'prompt is required';
  if (b.model === undefined) return 'model is required';
  if (!VEO_MODELS.includes(b.model as string)) return `model must be one of ${VEO_MODELS.join(', ')}`;
  const aspect = b.aspect_ratio ?? b.aspectRatio;
  if (aspect !== undefined && !['16:9', '9:16', 'Auto'].includes(aspect as string)) return 'aspect_ratio must be 16:9, 9:16 or Auto';
  if (b.imageUrls !== undefined && !isUrlList(b.imageUrls)) return 'imageUrls must be a non-empty list of http(s) URLs';
  const images = (b.imageUrls as unknown[] | undefined)?.length ?? 0;
  const type = b.generationType ?? (images ? 'FIRST_AND_LAST_FRAMES_2_VIDEO' : 'TEXT_2_VIDEO');
  if (!VEO_TYPES.includes(type as string)) return `generationType must be one of ${VEO_TYPES.join(', ')}`;
  if (type === 'FIRST_AND_LAST_FRAMES_2_VIDEO' && (images < 1 || images > 2)) return 'imageUrls must hold 1 or 2 images for FIRST_AND_LAST_FRAMES_2_VIDEO';
  if (type === 'REFERENCE_2_VIDEO') {
    if (b.model === 'veo3') return 'REFERENCE_2_VIDEO needs model veo3_fast or veo3_lite';
    if (images < 1 || images > 3) return 'imageUrls must hold 1 to 3 images for REFERENCE_2_VIDEO';
    if (aspect === 'Auto') return 'aspect_ratio must be 16:9 or 9:16 for REFERENCE_2_VIDEO';
  }
  if (b.seeds !== undefined && !Number.isInteger(b.seeds)) return 'seeds must be an integer';
  if (b.callBackUrl !== undefined && !isUrl(b.callBackUrl)) return 'callBackUrl must be an http(s) URL';
  return undefined;
}

/** What the result video of a task looks like (aspect, length capped at 12 s, sound). */
function videoOf(api: 'veo' | 'jobs', model: string, b: Record<string, unknown>): FakeKieTask['video'] {
  const cap = (v: unknown, fallback: number) => Math.min(12, Math.max(1, Number(v) || fallback));
  const text = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback);
  if (api === 'veo') {
    const aspect = text(b.aspect_ratio ?? b.aspectRatio, '16:9');
    return { aspectRatio: aspect === 'Auto' ? '16:9' : aspect, seconds: 8, audio: true };
  }
  const i = b.input as Record<string, unknown>;
  if (model.startsWith('sora-2-')) return { aspectRatio: i.aspect_ratio === 'portrait' ? '9:16' : '16:9', seconds: cap(i.n_frames, 10), audio: true };
  if (model.startsWith('kling-')) return { aspectRatio: text(i.aspect_ratio, '16:9'), seconds: cap(i.duration, 5), audio: i.sound === true };
  return { aspectRatio: text(i.aspect_ratio, '16:9'), seconds: cap(i.duration, 5), audio: i.generate_audio !== false };
}

/** Frame size for an aspect ratio, short side 360 px (even sizes for H.264). */
function frameSize(aspectRatio: string): { width: number; height: number } {
  const m = /^(\d+):(\d+)$/.exec(aspectRatio);
  const [w, h] = m ? [Number(m[1]), Number(m[2])] : [16, 9];
  const long = Math.round((360 * Math.max(w, h)) / Math.min(w, h) / 2) * 2;
  return w >= h ? { width: long, height: 360 } : { width: 360, height: long };
}

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** A small multipart/form-data parser (enough for what fetch's FormData sends). */
function parseMultipart(body: Buffer, contentType: string): Part[] | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) return undefined;
  const boundary = Buffer.from(`--${m[1] ?? m[2] ?? ''}`);
  const separator = Buffer.concat([Buffer.from('\r\n'), boundary]);
  const parts: Part[] = [];
  let pos = body.indexOf(boundary);
  if (pos < 0) return undefined;
  pos += boundary.length;
  while (body.subarray(pos, pos + 2).toString() !== '--') {
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) return undefined;
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(separator, headerEnd + 4);
    if (next < 0) return undefined;
    const name = /\bname="([^"]*)"/i.exec(headers)?.[1];
    if (name !== undefined) {
      parts.push({
        name,
        filename: /\bfilename="([^"]*)"/i.exec(headers)?.[1],
        contentType: /^content-type:\s*([^\r\n;]+)/im.exec(headers)?.[1]?.trim(),
        data: body.subarray(headerEnd + 4, next),
      });
    }
    pos = next + separator.length;
  }
  return parts;
}

/** Start a fake KIE on 127.0.0.1 (a random port unless `port` is given). */
export async function startFakeKie(opts: FakeKieOptions = {}): Promise<FakeKie> {
  const apiKey = opts.apiKey ?? 'kie-test-key';
  let hmacKey: string | undefined = opts.hmacKey ?? 'kie-test-hmac';
  const errorStyle = opts.errorStyle ?? 'body-code';
  const stepMs = opts.stepMs ?? 150;
  const failures = new FailureQueue();
  const requests: FakeKieRequest[] = [];
  const callbacks: FakeKieCallback[] = [];
  const tasks = new Map<string, Task>();
  const files = new Map<string, FakeKieFile>();
  const pending = pendingWork();
  /** aborts outgoing fetches (callbacks, url uploads) on close */
  const closing = new AbortController();
  let base = '';

  const later = pending.later;

  // --- task state -------------------------------------------------------------------------------

  type Phase = 'waiting' | 'queuing' | 'generating' | 'success' | 'fail';

  /** The phase at `step` (default: now). */
  function phaseOf(t: Task, step = Math.floor((Date.now() - t.createdAt) / stepMs)): Phase {
    if (step < 1) return 'waiting';
    if (step < 2) return 'queuing';
    if (step < FINAL_STEP || t.failure?.kind === 'never-finish') return 'generating';
    return t.failure?.kind === 'policy-after-accept' || t.failure?.kind === 'fail' ? 'fail' : 'success';
  }

  const resultUrl = (t: Task) => `${base}/results/${t.taskId}.mp4`;
  const completeTime = (t: Task) => t.createdAt + FINAL_STEP * stepMs;
  const failCodeOf = (t: Task) => (t.failure?.kind === 'policy-after-accept' ? { code: 400, msg: POLICY_MSG } : { code: 500, msg: INTERNAL_MSG });

  /** recordInfo `data` of a jobs task in a phase. */
  function jobRecord(t: Task, phase: Phase) {
    const done = phase === 'success' || phase === 'fail';
    const generatingFor = Date.now() - t.createdAt - 2 * stepMs;
    return {
      taskId: t.taskId,
      model: t.model,
      state: t.failure?.kind === 'unknown-status' ? 'mystery_state' : phase,
      param: JSON.stringify(t.body),
      resultJson: phase === 'success' ? JSON.stringify({ resultUrls: [resultUrl(t)] }) : '',
      failCode: phase === 'fail' ? String(failCodeOf(t).code) : '',
      failMsg: phase === 'fail' ? failCodeOf(t).msg : '',
      // `progress` is UNCONFIRMED upstream; the adapter uses it when it is a number
      ...(phase === 'generating' ? { progress: Math.max(0, Math.min(99, Math.floor((generatingFor / stepMs) * 100))) } : {}),
      consumeCredits: phase === 'success' ? 30 : 0,
      remainedCredits: 9970,
      costTime: done ? completeTime(t) - t.createdAt : null,
      completeTime: done ? completeTime(t) : null,
      createTime: t.createdAt,
      updateTime: done ? completeTime(t) : Date.now(),
    };
  }

  /** record-info `data` of a Veo task in a phase. */
  function veoRecord(t: Task, phase: Phase) {
    const done = phase === 'success' || phase === 'fail';
    const policy = t.failure?.kind === 'policy-after-accept';
    const successFlag = t.failure?.kind === 'unknown-status' ? 7 : phase === 'success' ? 1 : phase === 'fail' ? (policy ? 2 : 3) : 0;
    return {
      taskId: t.taskId,
      paramJson: JSON.stringify(t.body),
      completeTime: done ? kieTime(completeTime(t)) : null,
      createTime: kieTime(t.createdAt),
      response:
        phase === 'success'
          ? { taskId: t.taskId, resultUrls: [resultUrl(t)], originUrls: t.video.aspectRatio === '16:9' ? null : [resultUrl(t)], resolution: '720p' }
          : null,
      successFlag,
      errorCode: phase === 'fail' ? failCodeOf(t).code : null,
      errorMessage: phase === 'fail' ? failCodeOf(t).msg : '',
      fallbackFlag: false,
    };
  }

  // --- callbacks --------------------------------------------------------------------------------

  const sign = (key: string, taskId: string, timestamp: number) => createHmac('sha256', key).update(`${taskId}.${timestamp}`).digest('base64');

  async function deliver(url: string, taskId: string, payload: unknown, o: { ageSeconds?: number; wrongKey?: boolean } = {}) {
    const body = JSON.stringify(payload);
    const timestamp = Math.floor(Date.now() / 1000) - (o.ageSeconds ?? 0);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (hmacKey !== undefined || o.wrongKey) {
      headers['x-webhook-timestamp'] = String(timestamp);
      headers['x-webhook-signature'] = sign(o.wrongKey ? `${hmacKey ?? ''}-not-the-key` : hmacKey!, taskId, timestamp);
    }
    let status = 0;
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.any([closing.signal, AbortSignal.timeout(15_000)]) });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch {
      status = 0;
    }
    callbacks.push({ url, headers, body, status });
  }

  /** The final callback body (Veo or jobs shape). */
  function finalCallback(t: Task) {
    const phase = phaseOf(t, FINAL_STEP);
    if (t.api === 'jobs') {
      return phase === 'success'
        ? { code: 200, msg: 'Playground task completed successfully.', data: jobRecord(t, phase) }
        : { code: 501, msg: 'Playground task failed.', data: jobRecord(t, phase) };
    }
    const common = { taskId: t.taskId, fallbackFlag: false, promptJson: JSON.stringify(t.body) };
    if (phase === 'success') {
      const info = { resultUrls: [resultUrl(t)], originUrls: t.video.aspectRatio === '16:9' ? [] : [resultUrl(t)], resolution: '720p' };
      return { code: 200, msg: 'Veo3.1 video generated successfully.', data: { ...common, info } };
    }
    const { code, msg } = failCodeOf(t);
    return { code, msg, data: { ...common, info: null } };
  }

  async function sendFinal(t: Task) {
    if (!t.callBackUrl) return;
    const final = finalCallback(t);
    const wrongKey = t.failure?.kind === 'bad-signature';
    await deliver(t.callBackUrl, t.taskId, final, { wrongKey });
    if (t.failure?.kind === 'duplicate-callbacks') await deliver(t.callBackUrl, t.taskId, final);
    if (t.failure?.kind === 'out-of-order-callbacks') {
      const stale =
        t.api === 'jobs'
          ? { code: 200, msg: 'Playground task is generating.', data: jobRecord(t, 'generating') }
          : { code: 200, msg: 'success', data: veoRecord(t, 'generating') };
      await deliver(t.callBackUrl, t.taskId, stale, { ageSeconds: 5 });
    }
  }

  function scheduleCallbacks(t: Task) {
    const kind = t.failure?.kind;
    const wrongKey = kind === 'bad-signature';
    if (t.api === 'jobs' && t.progressCallBackUrl && kind !== 'expired' && kind !== 'unknown-status') {
      const url = t.progressCallBackUrl;
      later(2 * stepMs + 5, () => deliver(url, t.taskId, { code: 200, msg: 'Playground task is generating.', data: jobRecord(t, 'generating') }, { wrongKey }));
    }
    if (t.callBackUrl && kind !== 'expired' && kind !== 'never-finish' && kind !== 'unknown-status') {
      later(FINAL_STEP * stepMs + 5, () => sendFinal(t));
    }
  }

  // --- HTTP helpers -----------------------------------------------------------------------------

  // responders return the response, so that a handler can answer and stop in one `return json(...)`
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  /** An error envelope, as an HTTP status or as HTTP 200 with the code in the body. */
  const kieError = (res: http.ServerResponse, code: number, msg: string, headers: Record<string, string> = {}) =>
    json(res, errorStyle === 'http-status' ? code : 200, { code, msg, data: null }, headers);
  const ok = (res: http.ServerResponse, data: unknown) => json(res, 200, { code: 200, msg: 'success', data });
  const authorized = (req: http.IncomingMessage) => req.headers.authorization === `Bearer ${apiKey}`;
  const unauthorized = (res: http.ServerResponse) => kieError(res, 401, 'You do not have access permissions. Check your API key.');

  function parseJson(raw: Buffer): Record<string, unknown> | undefined {
    try {
      const v: unknown = JSON.parse(raw.toString('utf8'));
      return isObject(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  // --- create / record --------------------------------------------------------------------------

  function create(api: 'veo' | 'jobs', req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
    if (!authorized(req)) return unauthorized(res);
    const body = parseJson(raw);
    if (!body) return kieError(res, 422, 'The request body must be a JSON object');
    const input = isObject(body.input) ? body.input : undefined;
    const failure = failures.take(api === 'veo' ? body.prompt : input?.prompt);
    switch (failure?.kind) {
      case 'auth':
        return unauthorized(res);
      case 'http-error':
        if (failure.status === 502 || failure.status === 504) {
          const text = `${failure.status} ${http.STATUS_CODES[failure.status] ?? ''}`;
          return void res
            .writeHead(failure.status, { 'content-type': 'text/html' })
            .end(`<html><head><title>${text}</title></head><body><h1>${text}</h1></body></html>`);
        }
        return kieError(res, failure.status, failure.status === 503 ? 'Service temporarily unavailable' : INTERNAL_MSG);
      case 'rate-limit':
        return kieError(res, 429, 'Too many requests, please slow down', { 'retry-after': String(failure.retryAfterSeconds ?? 1) });
      case 'timeout':
        return; // body read, never answered, nothing created
      case 'invalid-input':
        return kieError(res, 422, 'prompt: this prompt cannot be used with this model');
    }
    let problem: string | undefined;
    if (api === 'veo') problem = validateVeo(body);
    else if (typeof body.model !== 'string' || !body.model) problem = 'model is required';
    else if (!input) problem = 'input is required';
    else if (typeof input.prompt !== 'string' || !input.prompt.trim()) problem = 'input.prompt is required';
    else if (body.callBackUrl !== undefined && !isUrl(body.callBackUrl)) problem = 'callBackUrl must be an http(s) URL';
    else if (body.progressCallBackUrl !== undefined && !isUrl(body.progressCallBackUrl)) problem = 'progressCallBackUrl must be an http(s) URL';
    else problem = validateJobInput(body.model, input);
    if (problem) return kieError(res, 422, problem);

    const model = String(body.model);
    const t: Task = {
      taskId: `${api === 'veo' ? 'veo_task_' : 'task_'}${randomBytes(10).toString('hex')}`,
      api,
      model,
      body,
      failure,
      createdAt: Date.now(),
      callBackUrl: typeof body.callBackUrl === 'string' ? body.callBackUrl : undefined,
      progressCallBackUrl: typeof body.progressCallBackUrl === 'string' ? body.progressCallBackUrl : undefined,
      video: videoOf(api, model, body),
    };
    tasks.set(t.taskId, t);
    scheduleCallbacks(t);
    if (failure?.kind === 'accept-then-timeout') return; // created, never answered
    const answer = () => ok(res, { taskId: t.taskId });
    if (failure?.kind === 'delay') later(failure.ms, answer);
    else answer();
  }

  function record(api: 'veo' | 'jobs', req: http.IncomingMessage, res: http.ServerResponse, url: URL) {
    if (!authorized(req)) return unauthorized(res);
    const taskId = url.searchParams.get('taskId');
    if (!taskId) return kieError(res, 422, 'taskId is required');
    const t = tasks.get(taskId);
    if (!t || t.api !== api || t.failure?.kind === 'expired') return kieError(res, 404, 'task not found or expired');
    const phase = phaseOf(t);
    return ok(res, api === 'veo' ? veoRecord(t, phase) : jobRecord(t, phase));
  }

  // --- uploads ----------------------------------------------------------------------------------

  function store(res: http.ServerResponse, data: Buffer, uploadPath: unknown, fileName: unknown, mimeType: string | undefined) {
    if (typeof uploadPath !== 'string' || !uploadPath.trim()) return kieError(res, 422, 'uploadPath is required');
    const dir = uploadPath.replace(/^\/+|\/+$/g, '');
    const name = typeof fileName === 'string' && fileName.trim() ? fileName.trim() : `${randomBytes(8).toString('hex')}.bin`;
    if (!/^[\w.-]+$/.test(name) || !/^[\w./-]+$/.test(dir) || dir.split('/').includes('..'))
      return kieError(res, 422, 'fileName or uploadPath has characters that cannot be used');
    const filePath = `${dir}/${name}`;
    const file: FakeKieFile = { data, mimeType: mimeType || 'application/octet-stream', uploadedAt: Date.now() };
    files.set(filePath, file); // reusing a name overwrites, as KIE documents
    return json(res, 200, {
      success: true,
      code: 200,
      msg: 'File uploaded successfully',
      data: {
        fileName: name,
        filePath,
        downloadUrl: `${base}/files/${filePath}`,
        fileSize: data.length,
        mimeType: file.mimeType,
        uploadedAt: new Date(file.uploadedAt).toISOString(),
      },
    });
  }

  function decodeBase64(value: string): { data: Buffer; mimeType?: string } {
    const m = /^data:([^;,]*)(?:;[^,]*)?,(.*)$/s.exec(value);
    return m ? { data: Buffer.from(m[2]!, 'base64'), mimeType: m[1] || undefined } : { data: Buffer.from(value, 'base64') };
  }

  async function upload(kind: string, req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
    if (!authorized(req)) return unauthorized(res);
    if (kind === 'file-stream-upload') {
      const parts = parseMultipart(raw, req.headers['content-type'] ?? '');
      if (!parts) return kieError(res, 422, 'the body must be multipart/form-data');
      const field = (name: string) => parts.find((p) => p.name === name && p.filename === undefined)?.data.toString('utf8');
      const file = parts.find((p) => p.name === 'file');
      if (!file) return kieError(res, 422, 'file is required');
      return store(res, file.data, field('uploadPath'), field('fileName') ?? file.filename, file.contentType);
    }
    const body = parseJson(raw);
    if (!body) return kieError(res, 422, 'The request body must be a JSON object');
    if (kind === 'file-base64-upload') {
      if (typeof body.base64Data !== 'string' || !body.base64Data) return kieError(res, 422, 'base64Data is required');
      const { data, mimeType } = decodeBase64(body.base64Data);
      return store(res, data, body.uploadPath, body.fileName, mimeType);
    }
    // file-url-upload: only local URLs, so the fake never reaches the internet
    let src: URL;
    try {
      src = new URL(typeof body.fileUrl === 'string' ? body.fileUrl : '');
    } catch {
      return kieError(res, 422, 'fileUrl is required');
    }
    if (src.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(src.hostname))
      return kieError(res, 422, 'fileUrl must be an http://127.0.0.1 or http://localhost URL (fake)');
    let fetched: Response;
    try {
      fetched = await fetch(src, { signal: AbortSignal.any([closing.signal, AbortSignal.timeout(10_000)]) });
    } catch {
      return kieError(res, 500, 'could not download fileUrl');
    }
    if (!fetched.ok) return kieError(res, 422, `could not download fileUrl (HTTP ${fetched.status})`);
    const data = Buffer.from(await fetched.arrayBuffer());
    const name = body.fileName ?? src.pathname.split('/').pop();
    return store(res, data, body.uploadPath, name, fetched.headers.get('content-type')?.split(';')[0] ?? undefined);
  }

  // --- downloads --------------------------------------------------------------------------------

  async function serveResult(req: http.IncomingMessage, res: http.ServerResponse, taskId: string) {
    const t = tasks.get(taskId);
    if (!t || t.failure?.kind === 'unknown-status' || t.failure?.kind === 'expired' || phaseOf(t) !== 'success')
      return json(res, 404, { code: 404, msg: 'file not found' });
    t.rendered ??= sampleMp4({ ...frameSize(t.video.aspectRatio), seconds: t.video.seconds, audio: t.video.audio, label: 'fake kie' }).then((file) => ({
      file,
      size: fs.statSync(file).size,
    }));
    const { file, size } = await t.rendered;
    const headers = { 'content-type': 'video/mp4', 'accept-ranges': 'bytes' };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2])) {
      const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
      const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size || start > end) return void res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
      if (req.method === 'HEAD') return void res.end();
      return void fs.createReadStream(file, { start, end }).pipe(res);
    }
    res.writeHead(200, { ...headers, 'content-length': String(size) });
    if (req.method === 'HEAD') return void res.end();
    return void fs.createReadStream(file).pipe(res);
  }

  function serveFile(res: http.ServerResponse, filePath: string) {
    const f = files.get(filePath);
    if (!f) return json(res, 404, { code: 404, msg: 'file not found' });
    res.writeHead(200, { 'content-type': f.mimeType, 'content-length': String(f.data.length) }).end(f.data);
  }

  // --- routing ----------------------------------------------------------------------------------

  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, raw: Buffer) {
    const method = req.method ?? 'GET';
    const p = url.pathname;
    const get = method === 'GET' || method === 'HEAD';
    if (method === 'POST' && p === '/api/v1/veo/generate') return create('veo', req, res, raw);
    if (method === 'POST' && p === '/api/v1/jobs/createTask') return create('jobs', req, res, raw);
    if (get && p === '/api/v1/veo/record-info') return record('veo', req, res, url);
    if (get && p === '/api/v1/jobs/recordInfo') return record('jobs', req, res, url);
    // the account's credit balance (docs.kie.ai common-api/get-account-credits)
    if (get && p === '/api/v1/chat/credit') return authorized(req) ? json(res, 200, { code: 200, msg: 'success', data: 1000 }) : unauthorized(res);
    const uploadKind = /^\/api\/(file-stream-upload|file-base64-upload|file-url-upload)$/.exec(p)?.[1];
    if (method === 'POST' && uploadKind) return upload(uploadKind, req, res, raw);
    const result = /^\/results\/([\w-]+)\.mp4$/.exec(p);
    if (get && result) return serveResult(req, res, result[1]!);
    if (get && p.startsWith('/files/')) return serveFile(res, decodeURIComponent(p.slice('/files/'.length)));
    return json(res, 404, { code: 404, msg: `no route for ${method} ${p}`, data: null });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 60_000_000) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', base);
      const raw = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: raw.toString('utf8'),
      });
      route(req, res, url, raw).catch((err: unknown) => {
        if (res.headersSent) return void res.end();
        json(res, 500, { code: 500, msg: err instanceof Error ? err.message : String(err), data: null });
      });
    });
  });

  base = await listenLocal(server, opts);

  return {
    url: base,
    apiKey,
    get hmacKey() {
      return hmacKey;
    },
    inject: (f, times = 1) => failures.push(f, times),
    clearInjections: () => failures.clear(),
    requests,
    callbacks,
    tasks,
    files,
    setHmacKey(k) {
      hmacKey = k;
    },
    settled: pending.settled,
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing.abort();
        pending.close();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // also the hanging `timeout` / `accept-then-timeout` sockets
      }),
  };
}
