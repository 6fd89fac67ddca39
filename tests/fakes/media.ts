import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ffmpegPath, fontFile, runTool } from '../../src/server/lib/ffmpeg';

/**
 * Real MP4 files for the fake upstream servers to hand out as results. Rendered once with ffmpeg
 * (H.264, yuv420p, faststart, optional AAC tone) and cached on disk by their parameters, so a
 * fake's "result URL" serves a file a browser can play and ffprobe can read.
 */
export interface SampleVideoOptions {
  width: number;
  height: number;
  seconds: number;
  audio?: boolean;
  /** drawn on the video, e.g. the fake's name */
  label?: string;
}

const cacheDir = path.join(os.tmpdir(), 'savesora-fake-media');
const inflight = new Map<string, Promise<string>>();

export function sampleMp4(opts: SampleVideoOptions): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify(opts)).digest('hex').slice(0, 16);
  const file = path.join(cacheDir, `${key}.mp4`);
  if (fs.existsSync(file)) return Promise.resolve(file);
  let job = inflight.get(key);
  if (!job) {
    job = render(opts, file).finally(() => inflight.delete(key));
    inflight.set(key, job);
  }
  return job;
}

async function render(opts: SampleVideoOptions, file: string): Promise<string> {
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp.mp4`;
  const label = (opts.label ?? 'fake upstream').replace(/[^A-Za-z0-9 ._-]/g, '');
  const size = `${opts.width}x${opts.height}`;
  const args = ['-y', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=24:duration=${opts.seconds}`];
  if (opts.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:duration=${opts.seconds}`);
  args.push(
    '-vf',
    `drawtext=fontfile=${fontFile()}:text='${label}':fontsize=${Math.max(12, Math.round(opts.height / 12))}:fontcolor=white:box=1:boxcolor=black@0.5:x=(w-tw)/2:y=h-th-20`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
  );
  if (opts.audio) args.push('-c:a', 'aac', '-b:a', '64k', '-shortest');
  args.push('-t', String(opts.seconds), tmp);
  await runTool(ffmpegPath(), args, { timeoutMs: 120_000 });
  fs.renameSync(tmp, file);
  return file;
}
