import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hammingDistance, HammingIndex } from './hash-index';

/** What the index must return: a scan over every entry. */
function scan(hashes: Uint8Array[], query: Uint8Array, d: number) {
  return hashes.flatMap((h, entry) => {
    const distance = hammingDistance(h, query);
    return distance <= d ? [{ entry, distance }] : [];
  });
}
const sorted = (r: { entry: number; distance: number }[]) => [...r].sort((a, b) => a.entry - b.entry);

/** `base` with the bits at `positions` flipped (each position once). */
function flip(base: Uint8Array, positions: number[]): Uint8Array {
  const out = base.slice();
  for (const p of new Set(positions)) out[p >> 3]! ^= 1 << (p & 7);
  return out;
}

describe('HammingIndex (multi-index hashing)', () => {
  it('finds exactly what a scan finds, for 256-bit hashes near and far, at every threshold', () => {
    const hash = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(
        fc.array(hash, { minLength: 1, maxLength: 40 }),
        fc.nat(39),
        fc.array(fc.nat(255), { maxLength: 70 }),
        fc.integer({ min: 0, max: 64 }),
        (hashes, pick, flips, d) => {
          const index = new HammingIndex(hashes, 32);
          // a query near one of the entries (its bits flipped), so matches happen at all thresholds
          const query = flip(hashes[pick % hashes.length]!, flips);
          expect(sorted(index.search(query, d))).toEqual(sorted(scan(hashes, query, d)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('works for 64-bit hashes too, and for an empty index', () => {
    const hashes = [new Uint8Array(8), Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 255]), Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 3])];
    const index = new HammingIndex(hashes, 8);
    expect(sorted(index.search(new Uint8Array(8), 3))).toEqual([
      { entry: 0, distance: 0 },
      { entry: 2, distance: 3 },
    ]);
    expect(new HammingIndex([], 32).search(new Uint8Array(32), 31)).toEqual([]);
  });

  it('finds a hash among 100k within the PDQ threshold, and reports each entry once', () => {
    let seed = 42;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    const hashes = Array.from({ length: 100_000 }, () => Uint8Array.from({ length: 32 }, rnd));
    const index = new HammingIndex(hashes, 32);
    const target = 77_777;
    // 31 bits off, spread over the chunks: every 16-bit chunk differs in one or two bits
    const query = flip(
      hashes[target]!,
      Array.from({ length: 31 }, (_, i) => (i * 8 + (i % 3)) % 256),
    );
    const found = index.search(query, 31);
    expect(found).toEqual([{ entry: target, distance: hammingDistance(hashes[target]!, query) }]);
    expect(found[0]!.distance).toBeLessThanOrEqual(31);
    expect(index.search(query, 20)).toEqual([]);
  });

  it('refuses hashes of the wrong width', () => {
    expect(() => new HammingIndex([new Uint8Array(31)], 32)).toThrow(/expected 32/);
    expect(() => new HammingIndex([], 6)).toThrow(/multiple of 32 bits/);
    expect(() => new HammingIndex([], 32).search(new Uint8Array(8), 3)).toThrow(/expected 32/);
  });
});
