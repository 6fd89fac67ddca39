import type { CatalogEntry } from '../catalog/catalog-data';

/**
 * How large a video reference's frames may be, checked from ffprobe's header facts before
 * anything decodes a frame (the poster step decodes one: a 12000x12000 MJPEG frame alone needs
 * hundreds of MB, from a file of a few KB).
 *
 * The bound is a frame in either orientation: long side, short side and pixel count. It is the
 * largest frame any model of the catalog outputs (resolution x aspect ratio: 1080p at 21:9 is
 * 2520x1080 today), but never less than 4K UHD (3840x2160), so everyday phone and camera footage
 * (4K) is accepted even though no model outputs 4K yet; a model that outputs more raises it.
 */
export interface FrameBound {
  long: number;
  short: number;
  pixels: number;
}

export interface Frame {
  width: number;
  height: number;
}

/** 4K UHD: the least the bound ever is */
export const UHD_FRAME: FrameBound = { long: 3840, short: 2160, pixels: 3840 * 2160 };

/** "1080p" -> 1080, "4k" -> 2160; null for a name we cannot read */
export function shortSideOf(resolution: string): number | null {
  const r = resolution.trim().toLowerCase();
  const p = /^(\d{3,4})p$/.exec(r);
  if (p) return Number(p[1]);
  const k = /^(\d{1,2})k$/.exec(r);
  if (k) return Number(k[1]) === 4 ? 2160 : Number(k[1]) === 8 ? 4320 : null;
  return null;
}

/** "21:9" -> 21/9 (at least 1: orientation does not matter); null for a name we cannot read */
function ratioOf(aspectRatio: string): number | null {
  const m = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(aspectRatio.trim());
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[2]);
  if (!(a > 0 && b > 0)) return null;
  return Math.max(a, b) / Math.min(a, b);
}

/** The largest frame the catalog outputs, as long side, short side and pixels (each the largest found). */
export function largestOutputFrame(entries: readonly Partial<Pick<CatalogEntry, 'resolutions' | 'aspectRatios'>>[]): FrameBound {
  const out: FrameBound = { long: 0, short: 0, pixels: 0 };
  for (const entry of entries) {
    for (const resolution of entry.resolutions ?? []) {
      const short = shortSideOf(resolution);
      if (!short) continue;
      for (const aspectRatio of entry.aspectRatios?.length ? entry.aspectRatios : ['1:1']) {
        const ratio = ratioOf(aspectRatio);
        if (!ratio) continue;
        const long = Math.round(short * ratio);
        out.long = Math.max(out.long, long);
        out.short = Math.max(out.short, short);
        out.pixels = Math.max(out.pixels, long * short);
      }
    }
  }
  return out;
}

/** The bound for video references: the catalog's largest output frame, at least 4K UHD. */
export function videoFrameBound(entries: readonly Partial<Pick<CatalogEntry, 'resolutions' | 'aspectRatios'>>[]): FrameBound {
  const largest = largestOutputFrame(entries);
  return {
    long: Math.max(UHD_FRAME.long, largest.long),
    short: Math.max(UHD_FRAME.short, largest.short),
    pixels: Math.max(UHD_FRAME.pixels, largest.pixels),
  };
}

export const fitsBound = (frame: Frame, bound: FrameBound) =>
  Math.max(frame.width, frame.height) <= bound.long && Math.min(frame.width, frame.height) <= bound.short && frame.width * frame.height <= bound.pixels;

/**
 * Why a video's frames do not fit the bound, as a sentence for the user, or null when they fit.
 * `frames` are the sizes of every video stream ffprobe found (a stream without a size cannot be
 * bounded before decoding, so it is refused too).
 */
export function frameIssue(frames: readonly (Frame | null)[], bound: FrameBound): string | null {
  if (frames.length === 0) return null;
  if (frames.some((f) => !f || !(f.width > 0) || !(f.height > 0))) return 'This video has no frame size in its header: it may be damaged.';
  const over = (frames as Frame[]).find((f) => !fitsBound(f, bound));
  if (!over) return null;
  return `Video references can be at most ${bound.long}x${bound.short} or ${bound.short}x${bound.long} (got ${over.width}x${over.height}).`;
}
