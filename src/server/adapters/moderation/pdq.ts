/* eslint-disable @typescript-eslint/no-non-null-assertion -- a numeric kernel over typed arrays whose loops bound every index; `?? 0` on each read would turn an indexing bug into a silent zero */
/**
 * PDQ, Meta's perceptual image hash (ThreatExchange, "The TMK+PDQF video-hashing algorithm and the
 * PDQ image similarity algorithm", 2019): the hash industry hash-sharing programmes deliver, so a
 * list from them can be matched here. A TypeScript implementation of the published algorithm (no
 * maintained npm package exists; see docs/decisions/0015-moderation-classifiers.md):
 *
 * 1. luminance Y = 0.299 R + 0.587 G + 0.114 B, as floats;
 * 2. blur with a "Jarosz" tent filter (two passes of a box filter along rows then columns, each
 *    window about half of 1/64 of the side) and decimate to 64×64 by sampling cell centres;
 * 3. a 2-D DCT keeping coefficients 1..16 in each direction (the DC term is dropped): 16×16;
 * 4. one bit per coefficient: set when it is above the median of the 256.
 *
 * The quality (0..100) measures how much gradient the 64×64 image has: a flat or featureless image
 * hashes to noise, and ThreatExchange advises not to match hashes whose quality is under 50.
 *
 * Hex form, as the reference tools print it: 64 hex digits, the 256-bit number whose bit k is
 * coefficient k = 16·row + column (bit 255 first). Two hashes are compared by Hamming distance:
 * unrelated images average 128; 31 or less is the reference's match threshold.
 */

export const PDQ_BITS = 256;
/** the distance at or under which the reference tools call two hashes a match */
export const PDQ_DEFAULT_THRESHOLD = 31;
/** under this quality a hash is not trusted for matching (ThreatExchange's advice) */
export const PDQ_MIN_QUALITY = 50;
/** images larger than this on either side are first resized to it by the image library, as the reference hasher does */
export const PDQ_DOWNSAMPLE_SIDE = 512;

export interface PdqResult {
  /** 32 bytes, big-endian: byte 0 holds bits 255..248 */
  hash: Uint8Array;
  quality: number;
}

const MIN_SIDE = 5;

/** DCT-II basis rows 1..16 over 64 samples, scaled by sqrt(2/64). */
const dctMatrix = (() => {
  const m = new Float64Array(16 * 64);
  const scale = Math.sqrt(2 / 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) m[i * 64 + j] = scale * Math.cos((Math.PI / 128) * (i + 1) * (2 * j + 1));
  }
  return m;
})();

/** Luminance from interleaved pixels (1 channel: grey; 3 or 4: RGB[A], alpha ignored). */
export function lumaFromPixels(pixels: Uint8Array, width: number, height: number, channels: number): Float32Array {
  const n = width * height;
  const out = new Float32Array(n);
  if (channels === 1 || channels === 2) {
    for (let p = 0; p < n; p++) out[p] = pixels[p * channels]!;
    return out;
  }
  for (let p = 0, o = 0; p < n; p++, o += channels) out[p] = 0.299 * pixels[o]! + 0.587 * pixels[o + 1]! + 0.114 * pixels[o + 2]!;
  return out;
}

/**
 * Box filter along one line of `length` values (`stride` apart): output o is the mean of inputs
 * [o - (window - half), o + half - 1] clipped to the line, half = ⌊(window + 2) / 2⌋ (the reference's
 * centring: window 7 reaches 3 back and 3 ahead, window 8 reaches 3 back and 4 ahead).
 */
function boxLine(src: Float32Array, dst: Float32Array, start: number, length: number, stride: number, window: number, prefix: Float64Array) {
  const half = Math.floor((window + 2) / 2);
  const back = window - half;
  const ahead = half - 1;
  prefix[0] = 0;
  for (let i = 0; i < length; i++) prefix[i + 1] = prefix[i]! + src[start + i * stride]!;
  for (let o = 0; o < length; o++) {
    const lo = Math.max(0, o - back);
    const hi = Math.min(length - 1, o + ahead);
    dst[start + o * stride] = (prefix[hi + 1]! - prefix[lo]!) / (hi - lo + 1);
  }
}

function jaroszWindow(oldSide: number, newSide: number): number {
  return Math.floor((oldSide + 2 * newSide - 1) / (2 * newSide));
}

/** Two tent passes (box along rows, then along columns, twice), in place in `a` using `b` as scratch. */
function jaroszFilter(a: Float32Array, b: Float32Array, rows: number, cols: number) {
  const alongRows = jaroszWindow(cols, 64);
  const alongCols = jaroszWindow(rows, 64);
  const prefix = new Float64Array(Math.max(rows, cols) + 1);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < rows; i++) boxLine(a, b, i * cols, cols, 1, alongRows, prefix);
    for (let j = 0; j < cols; j++) boxLine(b, a, j, rows, cols, alongCols, prefix);
  }
}

function decimateTo64(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const si = Math.floor(((i + 0.5) * rows) / 64);
    for (let j = 0; j < 64; j++) out[i * 64 + j] = src[si * cols + Math.floor(((j + 0.5) * cols) / 64)]!;
  }
  return out;
}

function quality64(a: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < 63; i++) for (let j = 0; j < 64; j++) sum += Math.abs(Math.trunc(((a[i * 64 + j]! - a[(i + 1) * 64 + j]!) * 100) / 255));
  for (let i = 0; i < 64; i++) for (let j = 0; j < 63; j++) sum += Math.abs(Math.trunc(((a[i * 64 + j]! - a[i * 64 + j + 1]!) * 100) / 255));
  return Math.min(100, Math.floor(sum / 90));
}

/** B = D·A·Dᵀ for the 16×64 basis D: the 16×16 low (non-DC) frequencies of the 64×64 image. */
function dct16(a: Float32Array): Float64Array {
  const t = new Float64Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s += dctMatrix[i * 64 + k]! * a[k * 64 + j]!;
      t[i * 64 + j] = s;
    }
  }
  const out = new Float64Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s += t[i * 64 + k]! * dctMatrix[j * 64 + k]!;
      out[i * 16 + j] = s;
    }
  }
  return out;
}

/**
 * The PDQ hash of a luminance image (rows × cols floats, row-major; the array is overwritten).
 * Images under 5 pixels on a side hash to all zeros with quality 0, as in the reference.
 */
export function pdqFromLuma(luma: Float32Array, rows: number, cols: number): PdqResult {
  const hash = new Uint8Array(32);
  if (rows < MIN_SIDE || cols < MIN_SIDE) return { hash, quality: 0 };
  let small: Float32Array;
  if (rows === 64 && cols === 64) small = luma;
  else {
    jaroszFilter(luma, new Float32Array(rows * cols), rows, cols);
    small = decimateTo64(luma, rows, cols);
  }
  const quality = quality64(small);
  const coefficients = dct16(small);
  // the lower median (the 128th smallest), as the reference's Torben median returns for 256 values
  const median = Float64Array.from(coefficients).sort()[127]!;
  for (let k = 0; k < 256; k++) {
    if (coefficients[k]! > median) hash[31 - (k >> 3)]! |= 1 << (k & 7);
  }
  return { hash, quality };
}

export const pdqToHex = (hash: Uint8Array): string => Buffer.from(hash).toString('hex');

/** 64 hex digits to 32 bytes, or undefined when it is not one. */
export function pdqFromHex(hex: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
