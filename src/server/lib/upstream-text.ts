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
