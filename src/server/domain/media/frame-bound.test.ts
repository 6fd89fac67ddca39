import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../catalog/catalog-data';
import { fitsBound, frameIssue, largestOutputFrame, shortSideOf, UHD_FRAME, videoFrameBound } from './frame-bound';

describe('video reference frame bound', () => {
  it('is 4K UHD in either orientation for the built-in catalog, which outputs at most 1080p', () => {
    expect(largestOutputFrame(builtinCatalog)).toEqual({ long: 2520, short: 1080, pixels: 2520 * 1080 });
    expect(videoFrameBound(builtinCatalog)).toEqual({ long: 3840, short: 2160, pixels: 3840 * 2160 });
  });

  it('grows with a model that outputs more than 4K', () => {
    expect(videoFrameBound([{ resolutions: ['720p', '4320p'], aspectRatios: ['16:9'] }])).toEqual({ long: 7680, short: 4320, pixels: 7680 * 4320 });
    expect(shortSideOf('4k')).toBe(2160);
    expect(shortSideOf('weird')).toBeNull();
  });

  it('accepts 4K landscape and portrait, refuses anything larger on any side or in pixels', () => {
    for (const [w, h] of [
      [3840, 2160],
      [2160, 3840],
      [1920, 1080],
      [2160, 2160],
      [320, 240],
    ] as const)
      expect(fitsBound({ width: w, height: h }, UHD_FRAME), `${w}x${h}`).toBe(true);
    for (const [w, h] of [
      [3841, 2160],
      [2160, 3841],
      [2200, 2200],
      [12000, 12000],
      [4096, 2160],
      [8000, 100],
    ] as const)
      expect(fitsBound({ width: w, height: h }, UHD_FRAME), `${w}x${h}`).toBe(false);
  });

  it('says why, naming the stream that is too large; a stream without a size is refused', () => {
    expect(
      frameIssue(
        [
          { width: 640, height: 360 },
          { width: 12000, height: 12000 },
        ],
        UHD_FRAME,
      ),
    ).toBe('Video references can be at most 3840x2160 or 2160x3840 (got 12000x12000).');
    expect(frameIssue([{ width: 640, height: 360 }, null], UHD_FRAME)).toMatch(/no frame size/);
    expect(frameIssue([{ width: 2160, height: 3840 }], UHD_FRAME)).toBeNull();
    expect(frameIssue([], UHD_FRAME)).toBeNull();
  });
});
