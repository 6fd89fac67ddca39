/* eslint-disable @typescript-eslint/no-non-null-assertion -- a numeric kernel over typed arrays whose loops bound every index; `?? 0` on each read would turn an indexing bug into a silent zero */
/**
 * A nearest-neighbour index for fixed-width binary hashes under Hamming distance: multi-index
 * hashing (Norouzi et al., "Fast Search in Hamming Space with Multi-Index Hashing", 2012), the
 * scheme ThreatExchange's PDQ index uses.
 *
 * Each hash is cut into 16-bit chunks, and each chunk position has a table from chunk value to the
 * entries having it. If two b-bit hashes differ in at most d bits, then by the pigeonhole principle
 * at least one of their m = b/16 chunks differs in at most ⌊d/m⌋ bits. So a query looks up, in each
 * table, its own chunk value and every value within ⌊d/m⌋ bits of it, and checks the full distance
 * of those candidates only. For PDQ (256 bits, 16 chunks) and d = 31 that is 16 × 17 buckets instead
 * of a scan over every entry, and it finds exactly what a scan would.
 *
 * Tables are built once per set of entries (arrays of offsets and ids, no per-entry objects), so
 * 100k hashes take a few MB and a rebuild takes milliseconds.
 */

const popcount32 = (x: number) => {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
};

/** Every 16-bit mask with at most r bits set, fewest bits first. */
function masksWithin(r: number): Uint16Array {
  const out: number[] = [];
  for (let bits = 0; bits <= r; bits++) for (let m = 0; m < 1 << 16; m++) if (popcount32(m) === bits) out.push(m);
  return Uint16Array.from(out);
}
const maskCache = new Map<number, Uint16Array>();
const masks = (r: number) => {
  let m = maskCache.get(r);
  if (!m) maskCache.set(r, (m = masksWithin(r)));
  return m;
};

export class HammingIndex {
  /** entries' hashes, `words` 32-bit words each (word 0 = bytes 0..3, big-endian) */
  private readonly hashes: Uint32Array;
  private readonly words: number;
  private readonly chunks: number;
  /** per chunk position: bucket start offsets (65537 each) into `ids` */
  private readonly starts: Uint32Array[];
  private readonly ids: Uint32Array[];
  private stamp = 0;
  private readonly seen: Uint32Array;

  /** @param hashes every entry's hash, `bytes` long each (a multiple of 4) */
  constructor(
    hashes: readonly Uint8Array[],
    readonly bytes: number,
  ) {
    if (bytes % 4 !== 0 || bytes === 0) throw new Error('hash width must be a positive multiple of 32 bits');
    this.words = bytes / 4;
    this.chunks = bytes / 2;
    const n = hashes.length;
    this.hashes = new Uint32Array(n * this.words);
    hashes.forEach((h, i) => {
      if (h.length !== bytes) throw new Error(`hash ${i} has ${h.length} bytes, expected ${bytes}`);
      this.hashes.set(packWords(h), i * this.words);
    });
    this.seen = new Uint32Array(n);
    this.starts = [];
    this.ids = [];
    for (let c = 0; c < this.chunks; c++) {
      const counts = new Uint32Array(65537);
      for (let i = 0; i < n; i++) counts[this.chunkOf(i, c) + 1]!++;
      for (let v = 0; v < 65536; v++) counts[v + 1]! += counts[v]!;
      const ids = new Uint32Array(n);
      const fill = counts.slice(0, 65536);
      for (let i = 0; i < n; i++) ids[fill[this.chunkOf(i, c)]!++] = i;
      this.starts.push(counts);
      this.ids.push(ids);
    }
  }

  get size(): number {
    return this.seen.length;
  }

  private chunkOf(entry: number, chunk: number): number {
    const w = this.hashes[entry * this.words + (chunk >> 1)]!;
    return chunk & 1 ? w & 0xffff : w >>> 16;
  }

  private distanceTo(entry: number, query: Uint32Array, limit: number): number {
    let d = 0;
    const base = entry * this.words;
    for (let w = 0; w < this.words && d <= limit; w++) d += popcount32((this.hashes[base + w]! ^ query[w]!) >>> 0);
    return d;
  }

  /** Entries within `maxDistance` bits of `query`, each once, with their distance (unordered). */
  search(query: Uint8Array, maxDistance: number): { entry: number; distance: number }[] {
    if (query.length !== this.bytes) throw new Error(`query has ${query.length} bytes, expected ${this.bytes}`);
    const q = packWords(query);
    const found: { entry: number; distance: number }[] = [];
    if (this.size === 0 || maxDistance < 0) return found;
    // a fresh stamp marks the entries this search has already checked
    if (++this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 1;
    }
    const probe = masks(Math.floor(maxDistance / this.chunks));
    for (let c = 0; c < this.chunks; c++) {
      const w = q[c >> 1]!;
      const value = c & 1 ? w & 0xffff : w >>> 16;
      const starts = this.starts[c]!;
      const ids = this.ids[c]!;
      for (const m of probe) {
        const bucket = value ^ m;
        for (let k = starts[bucket]!, end = starts[bucket + 1]!; k < end; k++) {
          const entry = ids[k]!;
          if (this.seen[entry] === this.stamp) continue;
          this.seen[entry] = this.stamp;
          const distance = this.distanceTo(entry, q, maxDistance);
          if (distance <= maxDistance) found.push({ entry, distance });
        }
      }
    }
    return found;
  }
}

function packWords(h: Uint8Array): Uint32Array {
  const out = new Uint32Array(h.length / 4);
  for (let w = 0; w < out.length; w++) out[w] = ((h[4 * w]! << 24) | (h[4 * w + 1]! << 16) | (h[4 * w + 2]! << 8) | h[4 * w + 3]!) >>> 0;
  return out;
}

/** Hamming distance between two hashes of the same width. */
export function hammingDistance(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error('hashes of different widths');
  let d = 0;
  for (let i = 0; i < a.length; i++) d += popcount32(a[i]! ^ b[i]!);
  return d;
}
