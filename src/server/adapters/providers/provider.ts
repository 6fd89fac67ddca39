/**
 * The port every video provider adapter implements (local renderer, KIE, FAL, ...).
 *
 * The generation service never speaks a provider's protocol: it hands the adapter a
 * `ProviderRequest` (already validated against the model's schema and mapped to one route),
 * and gets back an upstream id, normalized statuses and a normalized output location.
 * One contract suite (tests/contract/providers.test.ts) runs against every implementation.
 */

/** Provider ids; a route in the catalog names one of these. */
export const providerIds = ['local', 'kie', 'fal'] as const;
export type ProviderId = (typeof providerIds)[number];

export {
  generationModes,
  referenceKinds,
  referenceRoles,
  type GenerationMode,
  type ReferenceKind,
  type ReferenceRole,
} from '../../../shared/catalog/vocabulary';
import type { GenerationMode, ReferenceKind, ReferenceRole } from '../../../shared/catalog/vocabulary';

export interface ProviderReference {
  kind: ReferenceKind;
  role: ReferenceRole;
  /**
   * Where the upstream can fetch it: an http(s) URL (a signed URL of ours, or a provider upload)
   * or, for the local renderer only, a file:// URL.
   */
  url: string;
  mimeType?: string;
}

/** A validated request, mapped to one route of its model. */
export interface ProviderRequest {
  /** our catalog id, e.g. `sora-2` */
  modelId: string;
  /** the upstream's model id for this route and mode, e.g. `sora-2-text-to-video`, `veo3_fast` */
  upstreamModel: string;
  mode: GenerationMode;
  prompt: string;
  negativePrompt?: string;
  durationSeconds: number;
  /** e.g. `480p`, `720p`, `1080p` */
  resolution: string;
  /** e.g. `16:9`, `9:16`, `1:1` */
  aspectRatio: string;
  /** generate a soundtrack (ignored by models that always or never make audio) */
  audio: boolean;
  seed?: number;
  /** in the order the user gave them; `@image1` is the first image, `@video1` the first video... */
  references: ProviderReference[];
  /**
   * Where the upstream should POST progress/completion (our webhook URL). Adapters without
   * callbacks ignore it; callers still poll as a fallback.
   */
  callbackUrl?: string;
}

/** Where the finished video can be fetched from. */
export interface ProviderOutput {
  /** http(s) URL for upstream results; file:// URL for the local renderer */
  videoUrl: string;
  /** a poster/thumbnail the upstream made, when it gives one */
  thumbnailUrl?: string;
  contentType?: string;
}

/**
 * Normalized task status. Every upstream value maps to one of these; values we do not know map
 * to `unknown`, which is never success (the caller keeps polling until its deadline).
 */
export type NormalizedStatus =
  | { state: 'queued'; upstreamStatus: string; queuePosition?: number }
  | { state: 'running'; upstreamStatus: string; progress?: number }
  | { state: 'succeeded'; upstreamStatus: string; output: ProviderOutput }
  | { state: 'failed'; upstreamStatus: string; error: ProviderFailure }
  | { state: 'canceled'; upstreamStatus: string }
  | { state: 'unknown'; upstreamStatus: string };

export type ProviderState = NormalizedStatus['state'];

/** Final = no further status change will come from upstream. */
export const isFinalState = (s: ProviderState) => s === 'succeeded' || s === 'failed' || s === 'canceled';

/**
 * Error classes, shared by thrown errors (submit/poll/cancel) and upstream task failures:
 * - `retryable`: 5xx, 429, network trouble, timeouts. Worth trying again (or another route).
 * - `policy`: the upstream refused the content (moderation), including "accepted, then rejected".
 * - `invalid_input`: the request itself is wrong for this upstream (bad field, unreachable image).
 * - `auth_config`: our key, balance or settings are wrong; an operator must act.
 * - `not_found`: the upstream does not know the task id.
 * - `generation_failed`: the upstream tried and failed for its own reasons (not retryable as is).
 */
export const providerErrorKinds = ['retryable', 'policy', 'invalid_input', 'auth_config', 'not_found', 'generation_failed'] as const;
export type ProviderErrorKind = (typeof providerErrorKinds)[number];

export interface ProviderFailure {
  kind: ProviderErrorKind;
  /** short text for operators and logs (upstream's message, trimmed); never shown raw to users */
  message: string;
  /** upstream code when there is one (`failCode`, HTTP status, ...) */
  upstreamCode?: string;
}

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly provider: ProviderId;
  readonly upstreamCode?: string;
  /** for 429/503 with Retry-After */
  readonly retryAfterMs?: number;
  /**
   * True when the request may have reached the upstream and been accepted (e.g. the connection
   * dropped or timed out after the body was sent). A submit with `maybeAccepted` must never be
   * sent to another route or resubmitted blindly: the task is reconciled first.
   */
  readonly maybeAccepted: boolean;

  constructor(
    provider: ProviderId,
    kind: ProviderErrorKind,
    message: string,
    opts: { upstreamCode?: string; retryAfterMs?: number; maybeAccepted?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProviderError';
    this.provider = provider;
    this.kind = kind;
    this.upstreamCode = opts.upstreamCode;
    this.retryAfterMs = opts.retryAfterMs;
    this.maybeAccepted = opts.maybeAccepted ?? false;
  }

  toFailure(): ProviderFailure {
    return { kind: this.kind, message: this.message, upstreamCode: this.upstreamCode };
  }
}

/** A verified callback, normalized. */
export interface CallbackEvent {
  upstreamId: string;
  status: NormalizedStatus;
}

export type CallbackVerdict = { ok: true; event: CallbackEvent } | { ok: false; reason: string };

export interface SubmitResult {
  upstreamId: string;
}

export interface VideoProvider {
  readonly id: ProviderId;
  /** false when a required setting (API key) is missing: routes to it are skipped */
  readonly available: boolean;
  /** why it is unavailable, for operators (`KIE_API_KEY is not set`) */
  readonly unavailableReason?: string;
  /** whether the provider pushes callbacks (the caller still polls as a fallback) */
  readonly supportsCallbacks: boolean;
  readonly supportsCancel: boolean;
  /**
   * Submitting twice with the same idempotency key yields the same task (no duplicate upstream
   * work), so a submit interrupted by a crash can simply be repeated.
   */
  readonly idempotentSubmit: boolean;

  /**
   * Create the upstream task. `idempotencyKey` is stable for one of our tasks: adapters pass it
   * upstream where the API supports it, and the local renderer derives its task id from it, so a
   * retried submit never creates a second task where the upstream allows us to prevent it.
   * Throws ProviderError. When it throws with `maybeAccepted`, the upstream may hold a task we have
   * no id for (KIE and FAL have neither idempotency keys nor a way to list tasks): never resubmit
   * such a task blindly; wait for a callback that names it, or end it after its deadline.
   */
  submit(request: ProviderRequest, idempotencyKey: string): Promise<SubmitResult>;

  /** Current status. Throws ProviderError (retryable for transport trouble, not_found...). */
  poll(upstreamId: string): Promise<NormalizedStatus>;

  /**
   * Verify a callback on its raw body and headers, then normalize it. Never throws: a bad
   * signature, stale timestamp or unparseable body is `{ok:false, reason}`.
   */
  verifyCallback(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): Promise<CallbackVerdict>;

  /**
   * The id a verified callback reports for this task (`CallbackEvent.upstreamId`). Usually the
   * upstream id itself; fal webhooks carry only the bare request id. Store it with the task to
   * find the task a callback is about.
   */
  callbackKey(upstreamId: string): string;

  /** The inverse of callbackKey: the upstream id of a task a callback names (to adopt a task whose create call's answer was lost). */
  upstreamIdFor(callbackKey: string, upstreamModel: string): string;

  /** Cancel where supported (throws ProviderError `invalid_input` when not cancellable). */
  cancel(upstreamId: string): Promise<void>;

  /**
   * Providers that work in this process (the local renderer) announce that a task has ended, so
   * the tracker polls it at once rather than at its next scheduled check. Returns the unsubscribe.
   */
  onTaskEnded?(listener: (upstreamId: string) => void): () => void;

  /** Release sockets, timers, child processes. */
  close(): Promise<void>;
}
