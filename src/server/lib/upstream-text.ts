import { inspect } from 'node:util';

/** An upstream value as text: a string as it is, nothing as '', an object inspected (not "[object Object]"). */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return inspect(value, { depth: 4, breakLength: Infinity });
}

/** Upstream text trimmed for logs and records (never echoed raw to users). */
export const clip = (text: unknown, max = 300) => textOf(text).replace(/\s+/g, ' ').trim().slice(0, max);

/** An upstream body as JSON when it is JSON, else undefined (error bodies are often HTML or plain text). */
export function parseJsonLoose(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A response's body as text and, when it is JSON, parsed; a body that cannot be read is ''. */
export async function readBody(res: Response): Promise<{ text: string; json: unknown }> {
  const text = await res.text().catch(() => '');
  return { text, json: parseJsonLoose(text) };
}

/**
 * `Retry-After` (RFC 9110: delay-seconds, or an HTTP date compared with `nowMs`) as a delay in ms,
 * at most `maxMs`; undefined when absent or unreadable.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number, maxMs = 3_600_000): number | undefined {
  const raw = header?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.min(Math.round(Number(raw) * 1000), maxMs);
  // an HTTP date names its weekday and month (Date.parse alone would take '-3' as a year)
  const at = /^[A-Za-z]{3,9},? /.test(raw) ? Date.parse(raw) : NaN;
  return Number.isFinite(at) ? Math.max(0, Math.min(at - nowMs, maxMs)) : undefined;
}
