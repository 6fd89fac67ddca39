import { ProviderError, type ProviderErrorKind, type ProviderId } from './provider';
import { clip, readBody, retryAfterMs, textOf } from '../../lib/upstream-text';

/**
 * HTTP plumbing shared by the upstream adapters: one fetch wrapper that turns transport trouble
 * into classified ProviderErrors, and one mapping from HTTP status codes to error kinds.
 */

export type FetchLike = typeof fetch;

/** Connection never established: the upstream cannot have seen the request. */
const beforeSendCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface ProviderFetchOptions {
  timeoutMs: number;
  /**
   * A create call: when the request may have been sent before the failure (timeout, reset), the
   * error carries `maybeAccepted` so the caller reconciles instead of resubmitting elsewhere.
   */
  creates?: boolean;
  fetch?: FetchLike;
}

/** fetch() with a timeout; transport failures become retryable ProviderErrors. */
export async function providerFetch(provider: ProviderId, url: string, init: RequestInit, opts: ProviderFetchOptions): Promise<Response> {
  const doFetch = opts.fetch ?? fetch;
  try {
    return await doFetch(url, { ...init, signal: AbortSignal.timeout(opts.timeoutMs) });
  } catch (err) {
    const code = errorCode(err);
    const name = (err as Error).name;
    const timedOut = name === 'TimeoutError' || name === 'AbortError';
    const neverSent = code !== undefined && beforeSendCodes.has(code);
    const what = timedOut ? `timed out after ${opts.timeoutMs} ms` : `network error (${code ?? (err as Error).message})`;
    throw new ProviderError(provider, 'retryable', `${provider} ${what}`, {
      maybeAccepted: Boolean(opts.creates) && !neverSent,
      upstreamCode: code,
      cause: err,
    });
  }
}

/**
 * Error kind for an HTTP-style status (also used for KIE's in-body `code`).
 * 408/425/429/5xx retryable; 401/402/403 need an operator; 404/410 unknown task; 400/413/422 bad input.
 */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retryable';
  if (status === 401 || status === 402 || status === 403) return 'auth_config';
  if (status === 404 || status === 410) return 'not_found';
  return 'invalid_input';
}

const policyWords =
  /(content[ _-]?polic|policy|moderat|safety|unsafe|nsfw|prohibit|violat|sensitive|inappropriate|flagged|blocked|rejected by flow|not allowed)/i;

/** Whether an upstream failure message describes a content-policy refusal. */
export const looksLikePolicy = (text: string | undefined | null) => Boolean(text && policyWords.test(text));

/** `retryAfterMs(header, nowMs)`: an HTTP date is the upstream's wall clock, so callers compare it with `Date.now()` */
export { clip, readBody, retryAfterMs, textOf };

/** A request header by lower-case name from a Node/Fastify headers object (first value, trimmed). */
export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== name) continue;
    const value = Array.isArray(v) ? v[0] : v;
    if (typeof value === 'string') return value.trim();
  }
  return undefined;
}
