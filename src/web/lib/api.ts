import type { ErrorBody } from '../../shared/api/errors';
import { clientFingerprint, FINGERPRINT_HEADER, wantsFingerprint } from './device';

/** A failed API call: the server's `{"error":{"code","message"}}`, or a network/parse failure. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** stable machine-readable code, e.g. `not_found`; `network_error` / `invalid_response` for client-side failures */
    readonly code: string,
    message: string,
    /** HTTP status; 0 when the request never got an answer */
    readonly status: number,
    /** seconds to wait before trying again, from a 429's Retry-After header */
    readonly retryAfter?: number,
    /** the whole `error` object of the answer (extra members such as `appealToken`), when there was one */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

function retryAfterSeconds(res: Response): number | undefined {
  const value = res.headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.round((date - Date.now()) / 1000));
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = value.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

export interface ApiFetchInit extends Omit<RequestInit, 'body'> {
  /** a plain object is sent as JSON; anything else (FormData, Blob, string) as is */
  body?: BodyInit | Record<string, unknown> | unknown[] | null;
}

function isJsonBody(body: ApiFetchInit['body']): body is Record<string, unknown> | unknown[] {
  if (body === null || body === undefined || typeof body !== 'object') return false;
  if (Array.isArray(body)) return true;
  const proto: unknown = Object.getPrototypeOf(body);
  return proto === Object.prototype || proto === null;
}

/**
 * Call the Save Sora server. Sends cookies of this origin, parses a JSON answer, and throws
 * `ApiError` for any non-2xx answer or network failure. A 204 resolves to `undefined`.
 */
export async function apiFetch<T>(path: string, init: ApiFetchInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (!headers.has('accept')) headers.set('accept', 'application/json');
  let body: BodyInit | null | undefined;
  if (isJsonBody(init.body)) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.body);
  } else {
    body = init.body;
  }

  // sign-up and sign-in carry the browser fingerprint (issue 19, lib/device.ts)
  if (wantsFingerprint(path, init.method)) {
    const fingerprint = await clientFingerprint();
    if (fingerprint) headers.set(FINGERPRINT_HEADER, fingerprint);
  }

  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, body, credentials: 'same-origin' });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError('network_error', 'Could not reach the server.', 0);
  }

  if (res.status === 204 || res.status === 205) return undefined as T;

  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError('invalid_response', 'The server sent a response that is not JSON.', res.status);
    }
  }

  if (!res.ok) {
    const retryAfter = retryAfterSeconds(res);
    if (isErrorBody(data)) throw new ApiError(data.error.code, data.error.message, res.status, retryAfter, data.error);
    throw new ApiError(`http_${res.status}`, res.statusText || `Request failed with status ${res.status}.`, res.status, retryAfter);
  }
  return data as T;
}
