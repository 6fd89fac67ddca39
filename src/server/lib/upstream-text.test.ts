import { describe, expect, it } from 'vitest';
import { clip, parseJsonLoose, retryAfterMs, textOf } from './upstream-text';

describe('upstream text', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads Retry-After as delay-seconds or as an HTTP date against the given time, capped', () => {
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs(' 0.5 ', now)).toBe(500);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:42 GMT', now)).toBe(42_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('Thursday, 01-Jan-26 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('999999', now)).toBe(3_600_000);
    expect(retryAfterMs('120', now, 60_000)).toBe(60_000);
    expect(retryAfterMs('-3', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('parses JSON bodies and leaves anything else undefined', () => {
    expect(parseJsonLoose('{"error":{"message":"x"}}')).toEqual({ error: { message: 'x' } });
    expect(parseJsonLoose('<html>502 Bad Gateway</html>')).toBeUndefined();
    expect(parseJsonLoose('')).toBeUndefined();
  });

  it('turns any upstream value into clipped single-line text', () => {
    expect(textOf({ a: 1 })).toBe('{ a: 1 }');
    expect(textOf(null)).toBe('');
    expect(clip('a\n  b', 10)).toBe('a b');
    expect(clip('x'.repeat(500)).length).toBe(300);
  });
});
