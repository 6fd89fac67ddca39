import { describe, expect, it } from 'vitest';
import { hammingDistance } from './hash-index';
import { lumaFromPixels, pdqFromHex, pdqFromLuma, pdqToHex } from './pdq';

/** A textured luminance image (deterministic pseudo-random blobs), rows × cols. */
function textured(rows: number, cols: number, seed = 7): Float32Array {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  const blobs = Array.from({ length: 12 }, () => ({ y: rnd() * rows, x: rnd() * cols, r: 5 + rnd() * rows * 0.3, v: rnd() * 200 }));
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let v = 20;
      for (const b of blobs) if ((i - b.y) ** 2 + (j - b.x) ** 2 < b.r ** 2) v += b.v / 3;
      out[i * cols + j] = Math.min(255, v);
    }
  }
  return out;
}
const hashOf = (luma: Float32Array, rows: number, cols: number) => pdqFromLuma(luma.slice(), rows, cols);
const popcount = (h: Uint8Array) => hammingDistance(h, new Uint8Array(h.length));

describe('PDQ', () => {
  it('sets exactly half of the 256 bits (above the median), and rates a textured image high', () => {
    const { hash, quality } = hashOf(textured(300, 400), 300, 400);
    expect(hash).toHaveLength(32);
    expect(popcount(hash)).toBe(128);
    expect(quality).toBeGreaterThanOrEqual(50);
  });

  it('ignores brightness and contrast (the DC term is dropped, bits compare against the median)', () => {
    const base = textured(240, 320);
    const h = hashOf(base, 240, 320).hash;
    expect(
      pdqToHex(
        hashOf(
          base.map((v) => v * 0.5 + 40),
          240,
          320,
        ).hash,
      ),
    ).toBe(pdqToHex(h));
  });

  it('gives the complement for the photographic negative: distance 256', () => {
    const base = textured(240, 320, 11);
    const negative = base.map((v) => 255 - v);
    expect(hammingDistance(hashOf(base, 240, 320).hash, hashOf(negative, 240, 320).hash)).toBe(256);
  });

  it('stays close under small noise and far from another picture', () => {
    const base = textured(240, 320, 3);
    let s = 1;
    const noisy = base.map((v) => Math.max(0, Math.min(255, v + (((s = (Math.imul(s, 48271) + 1) >>> 0) % 13) - 6))));
    const h = hashOf(base, 240, 320).hash;
    expect(hammingDistance(h, hashOf(noisy, 240, 320).hash)).toBeLessThanOrEqual(16);
    expect(hammingDistance(h, hashOf(textured(240, 320, 99), 240, 320).hash)).toBeGreaterThan(64);
  });

  it('rates a flat image 0 and hashes images under 5 pixels on a side to zeros', () => {
    expect(hashOf(new Float32Array(100 * 100).fill(128), 100, 100).quality).toBe(0);
    expect(pdqFromLuma(new Float32Array(4 * 50).fill(9), 4, 50)).toEqual({ hash: new Uint8Array(32), quality: 0 });
  });

  it('hashes a 64×64 image as it is (no filter): the same picture at 256×256 lands close', () => {
    const big = textured(256, 256, 5);
    // the 64×64 version: 4×4 block means
    const small = new Float32Array(64 * 64);
    for (let i = 0; i < 256; i++) for (let j = 0; j < 256; j++) small[(i >> 2) * 64 + (j >> 2)]! += big[i * 256 + j]! / 16;
    const h = hashOf(small, 64, 64).hash;
    expect(popcount(h)).toBe(128);
    expect(hammingDistance(h, hashOf(big, 256, 256).hash)).toBeLessThanOrEqual(31);
  });

  it('writes and reads 64 hex digits, refusing anything else', () => {
    const { hash } = hashOf(textured(128, 128), 128, 128);
    const hex = pdqToHex(hash);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(pdqFromHex(hex)).toEqual(hash);
    expect(pdqFromHex(hex.toUpperCase())).toEqual(hash);
    expect(pdqFromHex(hex.slice(1))).toBeUndefined();
    expect(pdqFromHex(`${hex.slice(1)}z`)).toBeUndefined();
  });

  it('reads luminance from grey, grey+alpha, RGB and RGBA pixels with the Rec. 601 weights', () => {
    expect(Array.from(lumaFromPixels(Uint8Array.from([10, 200]), 2, 1, 1))).toEqual([10, 200]);
    expect(Array.from(lumaFromPixels(Uint8Array.from([10, 0, 200, 255]), 2, 1, 2))).toEqual([10, 200]);
    const rgb = lumaFromPixels(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]), 3, 1, 3);
    expect(Array.from(rgb).map((v) => v.toFixed(3))).toEqual(['76.245', '149.685', '29.070']);
    expect(Array.from(lumaFromPixels(Uint8Array.from([255, 0, 0, 9]), 1, 1, 4)).map((v) => v.toFixed(3))).toEqual(['76.245']);
  });
});
