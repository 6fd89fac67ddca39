import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ffmpegPath, probeMedia, runTool } from '../../lib/ffmpeg';
import type { ImageInput } from './moderation';

/**
 * Frames sampled from a video, for the MediaClassifiers (which see still images only) and the hash
 * matcher. Frames are taken at the middle of `count` equal spans of the video (so never the black
 * first frame nor past the end), scaled down to `maxSide`, and encoded as JPEG (or PNG).
 *
 * Bounded in time and memory: a short video (every generated output) is decoded once, in one
 * ffmpeg process that stops after the last wanted frame; a long one is sampled by seeking
 * (`-ss` before `-i`: decoding starts at the keyframe before each time), at most
 * `FRAMES_PER_PROCESS` decoders per process. Seeking costs a decode from the previous keyframe
 * per frame, which for a clip with one keyframe every 10 s is more than decoding it all: the
 * benchmark measured both (bench/moderation.ts). Every process waits its turn in the media slots
 * (MEDIA_CONCURRENCY) and is killed after `timeoutMs`; what comes back is `count` small images.
 */

export interface SampledFrame extends ImageInput {
  /** where in the video the frame was taken */
  atSeconds: number;
}

export interface SampleFramesOptions {
  /** how many frames (1..64) */
  count: number;
  /** the longest side of a frame, in pixels (16..4096); smaller videos are not enlarged */
  maxSide: number;
  /** `jpeg` (default) or `png` */
  format?: 'jpeg' | 'png';
  signal?: AbortSignal;
  /** per ffmpeg process (default 60 s) */
  timeoutMs?: number;
  /**
   * `single-pass` decodes the video once up to the last wanted frame; `seek` starts a decoder at
   * each time (from the keyframe before it). `auto` (default): single-pass up to
   * SINGLE_PASS_MAX_SECONDS, seek beyond, where decoding everything would cost more than the seeks.
   */
  strategy?: 'auto' | 'single-pass' | 'seek';
  /** FFMPEG_PATH / FFPROBE_PATH settings */
  ffmpeg?: string;
  ffprobe?: string;
}

export class FrameSamplingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameSamplingError';
  }
}

/** Up to this duration a video is sampled in one decoding pass (generated outputs are seconds long). */
export const SINGLE_PASS_MAX_SECONDS = 120;

/** Inputs per ffmpeg process when seeking: each open input holds a decoder, so a process with many would hold a lot of memory on a 4K video. */
export const FRAMES_PER_PROCESS = 8;

/** The times (seconds) of `count` frames spread evenly through `duration`: the middle of each of `count` equal spans. */
export function frameTimes(durationSeconds: number, count: number): number[] {
  if (!(durationSeconds > 0) || !Number.isFinite(durationSeconds)) return [0];
  return Array.from({ length: count }, (_, i) => Math.round((((i + 0.5) * durationSeconds) / count) * 1000) / 1000);
}

export async function sampleFrames(file: string, opts: SampleFramesOptions): Promise<SampledFrame[]> {
  const { count, maxSide } = opts;
  if (!Number.isInteger(count) || count < 1 || count > 64) throw new RangeError(`count must be an integer from 1 to 64, not ${count}`);
  if (!Number.isInteger(maxSide) || maxSide < 16 || maxSide > 4096) throw new RangeError(`maxSide must be an integer from 16 to 4096, not ${maxSide}`);
  const format = opts.format ?? 'jpeg';
  opts.signal?.throwIfAborted();
  let duration: number;
  try {
    const probe = await probeMedia(file, { ffprobe: opts.ffprobe });
    if (!probe.width || !probe.height) throw new Error('it has no video stream');
    duration = probe.durationSeconds;
  } catch (err) {
    throw new FrameSamplingError(`frames could not be taken from ${path.basename(file)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const times = frameTimes(duration, count);
  const strategy = opts.strategy && opts.strategy !== 'auto' ? opts.strategy : duration <= SINGLE_PASS_MAX_SECONDS ? 'single-pass' : 'seek';
  const ext = format === 'png' ? 'png' : 'jpg';
  const mime = format === 'png' ? 'image/png' : 'image/jpeg';
  const scale = `scale='min(${maxSide},iw)':'min(${maxSide},ih)':force_original_aspect_ratio=decrease`;
  const encode = format === 'jpeg' ? ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '3'] : ['-c:v', 'png'];
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'savesora-frames-'));
  const ffmpeg = async (args: string[]) => {
    try {
      await runTool(ffmpegPath(opts.ffmpeg), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], {
        signal: opts.signal,
        timeoutMs: opts.timeoutMs ?? 60_000,
      });
    } catch (err) {
      opts.signal?.throwIfAborted();
      throw new FrameSamplingError(`frames could not be taken from ${path.basename(file)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  // a frame that could not be had (a seek past the last decodable frame) is skipped rather than failing the video
  const read = (out: string) => fs.readFile(out).catch(() => undefined);
  try {
    const frames: SampledFrame[] = [];
    if (strategy === 'single-pass') {
      // one decoder, one pass that stops after the last wanted frame: each wanted frame is the first at or after its time
      const select = times.map((t) => `gte(t,${t.toFixed(3)})*(isnan(prev_t)+lt(prev_t,${t.toFixed(3)}))`).join('+');
      const pattern = path.join(dir, `%d.${ext}`);
      await ffmpeg([
        '-i',
        file,
        '-map',
        '0:v:0',
        '-an',
        '-sn',
        '-dn',
        '-vf',
        `select='${select}',${scale}`,
        '-vsync',
        '0',
        '-frames:v',
        String(times.length),
        ...encode,
        '-f',
        'image2',
        pattern,
      ]);
      for (const [i, at] of times.entries()) {
        const bytes = await read(path.join(dir, `${i + 1}.${ext}`));
        if (bytes?.length) frames.push({ bytes: new Uint8Array(bytes), mime, atSeconds: at });
      }
    } else {
      for (let start = 0; start < times.length; start += FRAMES_PER_PROCESS) {
        const outputs = times.slice(start, start + FRAMES_PER_PROCESS).map((at, i) => ({ at, file: path.join(dir, `${start + i}.${ext}`) }));
        const args: string[] = [];
        // -ss before -i: seek to the keyframe before the time, then decode only up to it
        for (const out of outputs) args.push('-ss', out.at.toFixed(3), '-i', file);
        outputs.forEach((out, i) => args.push('-map', `${i}:v:0`, '-frames:v', '1', '-vf', scale, '-an', '-sn', '-dn', ...encode, '-f', 'image2', out.file));
        await ffmpeg(args);
        for (const out of outputs) {
          const bytes = await read(out.file);
          if (bytes?.length) frames.push({ bytes: new Uint8Array(bytes), mime, atSeconds: out.at });
        }
      }
    }
    if (frames.length === 0) throw new FrameSamplingError(`no frame could be taken from ${path.basename(file)}`);
    return frames;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
