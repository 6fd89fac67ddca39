import { timingSafeEqual } from 'node:crypto';
import { PaymentProviderError, type PaymentProviderId } from './payment';
import { clip, readBody, textOf } from '../../lib/upstream-text';

/** What the fetch-based payment adapters (Creem, NOWPayments) share: JSON calls, headers, digests. */

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

export { clip, textOf };

/** A header's single value, whatever the case of its name. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== lower) continue;
    return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/** Constant-time comparison of two hex digests (false on any shape mismatch). */
export function hexEqual(expectedHex: string, givenHex: string): boolean {
  const given = givenHex.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(given) || given.length !== expectedHex.length) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(given, 'hex'));
}

/**
 * One JSON call with `x-api-key` auth and a timeout. Network failures, timeouts, 408/425/429 and
 * 5xx are retryable PaymentProviderErrors; other refusals are not. Answers the parsed body
 * (undefined when it is empty or not JSON) and the text.
 */
export async function callJson(
  provider: PaymentProviderId,
  name: string,
  opts: { url: string; method: 'GET' | 'POST'; apiKey: string; body?: unknown; timeoutMs: number; detail: (parsed: Obj) => unknown },
): Promise<{ status: number; data: unknown; text: string }> {
  let res: Response;
  try {
    res = await fetch(opts.url, {
      method: opts.method,
      headers: { 'x-api-key': opts.apiKey, accept: 'application/json', ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
    throw new PaymentProviderError(
      provider,
      timedOut ? `${name} did not answer within ${opts.timeoutMs} ms` : `${name} could not be reached (${(err as Error).message})`,
      {
        retryable: true,
        cause: err,
      },
    );
  }
  const { text, json: data } = await readBody(res);
  if (!res.ok) {
    const detail = isObj(data) ? opts.detail(data) : text;
    throw new PaymentProviderError(provider, `${name} answered HTTP ${res.status}: ${clip(detail) || res.statusText}`, {
      status: res.status,
      retryable: res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500,
    });
  }
  return { status: res.status, data, text };
}
