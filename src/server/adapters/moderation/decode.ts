import sharp from 'sharp';
import type { ImageInput } from './moderation';

/**
 * Still images to raw pixels for the on-device classifiers and hashes, with sharp (libvips): the
 * image library the server already uses for avatars. It decodes JPEG, PNG, WebP and GIF in
 * process on libuv's thread pool, so the event loop stays free, and costs a few ms where spawning
 * ffmpeg for one image costs tens of ms (ffmpeg stays the tool for video: frames.ts).
 */

/** decoding refuses images above this many pixels (a decompression bomb is small on disk) */
export const MAX_INPUT_PIXELS = 64_000_000;

export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * RGB pixels, alpha composited on white, EXIF orientation not applied (as the reference PDQ hasher
 * and the model's training images saw them). `resize` scales to exactly that size (aspect not kept,
 * as the model expects); `maxSide` scales to maxSide × maxSide only when a side is larger (what the
 * reference PDQ hasher does before its own filter).
 */
export async function decodeRgb(image: ImageInput, opts: { resize?: { width: number; height: number }; maxSide?: number } = {}): Promise<RawImage> {
  if (image.bytes.length === 0) throw new ImageDecodeError('the image is empty');
  try {
    let pipeline = sharp(image.bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', animated: false });
    const meta = await pipeline.metadata();
    if (!meta.width || !meta.height) throw new ImageDecodeError('the image has no dimensions');
    pipeline = pipeline.flatten({ background: '#ffffff' }).toColourspace('srgb');
    if (opts.resize) pipeline = pipeline.resize(opts.resize.width, opts.resize.height, { fit: 'fill' });
    else if (opts.maxSide && (meta.width > opts.maxSide || meta.height > opts.maxSide)) {
      pipeline = pipeline.resize(opts.maxSide, opts.maxSide, { fit: 'fill' });
    }
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    throw new ImageDecodeError(`the image could not be decoded (${image.mime}): ${err instanceof Error ? err.message : String(err)}`);
  }
}
