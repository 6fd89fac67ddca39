import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ImageInput } from '../../src/server/adapters/moderation/moderation';
import { ffmpegPath, runTool } from '../../src/server/lib/ffmpeg';

/**
 * Synthetic test images for the moderation suites, drawn by ffmpeg's generators (test patterns,
 * fractals, solid colours, gradients): nothing explicit is ever stored in the repository.
 */

const mimeOf = { png: 'image/png', jpg: 'image/jpeg', webp: 'image/webp' } as const;
export type ImageExt = keyof typeof mimeOf;

let dir: string | undefined;
let seq = 0;

async function workDir() {
  dir ??= await fs.mkdtemp(path.join(os.tmpdir(), 'savesora-moderation-images-'));
  return dir;
}

function encoderArgs(ext: ImageExt, quality?: number): string[] {
  if (ext === 'jpg') return ['-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', String(quality ?? 3)];
  if (ext === 'webp') return ['-c:v', 'libwebp', '-quality', String(quality ?? 75)];
  return ['-c:v', 'png'];
}

async function run(inputArgs: string[], ext: ImageExt, opts: { vf?: string; quality?: number }): Promise<ImageInput & { file: string }> {
  const file = path.join(await workDir(), `${seq++}.${ext}`);
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...inputArgs, '-frames:v', '1'];
  if (opts.vf) args.push('-vf', opts.vf);
  args.push(...encoderArgs(ext, opts.quality), '-f', 'image2', file);
  await runTool(ffmpegPath(), args, { timeoutMs: 60_000 });
  return { file, bytes: new Uint8Array(await fs.readFile(file)), mime: mimeOf[ext] };
}

/** An image from an ffmpeg lavfi source, e.g. `testsrc2=size=640x480`, `mandelbrot=size=320x240`, `color=c=blue:size=64x64`. */
export function generatedImage(source: string, ext: ImageExt = 'png', opts: { vf?: string; quality?: number } = {}) {
  return run(['-f', 'lavfi', '-i', source], ext, opts);
}

/** The same picture re-encoded (another format, quality, size: `vf: 'scale=320:240'`). */
export function reencodedImage(from: { file: string }, ext: ImageExt, opts: { vf?: string; quality?: number } = {}) {
  return run(['-i', from.file], ext, opts);
}

/** A short H.264 video from a lavfi source, e.g. `testsrc2=size=1280x720:rate=24:duration=10`. */
export async function generatedVideo(source: string): Promise<string> {
  const file = path.join(await workDir(), `${seq++}.mp4`);
  await runTool(
    ffmpegPath(),
    ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', source, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', file],
    { timeoutMs: 120_000 },
  );
  return file;
}

export async function removeGeneratedImages() {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
  dir = undefined;
}
