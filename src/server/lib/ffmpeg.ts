import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Where ffmpeg, ffprobe and a font come from. Order: an explicit setting (FFMPEG_PATH /
 * FFPROBE_PATH), then a system binary on PATH (a distribution build is newer and faster), then the
 * static build that `npm install` brings (@ffmpeg-installer/ffmpeg, @ffprobe-installer/ffprobe), so
 * a fresh clone renders with no system packages. The npm ffmpeg has no fontconfig, so drawtext
 * always gets an explicit font file (DejaVu Sans from the dejavu-fonts-ttf package).
 */
const require = createRequire(import.meta.url);

function onPath(name: string): string | undefined {
  const result = spawnSync(name, ['-version'], { stdio: 'ignore', timeout: 10_000 });
  return result.status === 0 ? name : undefined;
}

function fromPackage(pkg: string): string | undefined {
  try {
    const p = (require(pkg) as { path: string }).path;
    return fs.existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

const cache = new Map<string, string>();

function resolveBinary(kind: 'ffmpeg' | 'ffprobe', explicit: string | undefined): string {
  const key = `${kind}:${explicit ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const found = explicit ?? onPath(kind) ?? fromPackage(kind === 'ffmpeg' ? '@ffmpeg-installer/ffmpeg' : '@ffprobe-installer/ffprobe');
  if (!found) {
    const setting = kind === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
    throw new Error(`${kind} was not found: install it, run npm install, or set ${setting}.`);
  }
  cache.set(key, found);
  return found;
}

/** The ffmpeg to run; `explicit` is the FFMPEG_PATH setting. */
export const ffmpegPath = (explicit?: string) => resolveBinary('ffmpeg', explicit);
/** The ffprobe to run; `explicit` is the FFPROBE_PATH setting. */
export const ffprobePath = (explicit?: string) => resolveBinary('ffprobe', explicit);

/** A TrueType font for drawtext: the npm DejaVu package, else a system DejaVu. */
export function fontFile(): string {
  const candidates: string[] = [];
  try {
    candidates.push(path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans-Bold.ttf'));
  } catch {
    /* package missing: fall through to system fonts */
  }
  candidates.push('/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf', '/usr/share/fonts/TTF/DejaVuSans-Bold.ttf');
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new Error('No DejaVu font found for video captions: run npm install.');
  return found;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * At most `limit` holders at a time; the others wait in the order they asked. A waiter whose
 * `signal` aborts leaves the line (rejected with the signal's reason) without ever holding a slot.
 */
export interface Semaphore {
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** holders now */
  readonly active: number;
  /** waiters now */
  readonly waiting: number;
  limit: number;
}

export function createSemaphore(limit: number): Semaphore {
  let max = Math.max(1, Math.floor(limit));
  let active = 0;
  const line: { start: () => void; abandon?: () => void }[] = [];
  const dispatch = () => {
    while (active < max) {
      const next = line.shift();
      if (!next) break;
      active++;
      next.start();
    }
  };
  const acquire = async (signal?: AbortSignal): Promise<void> => {
    signal?.throwIfAborted();
    if (active < max && line.length === 0) {
      active++;
      return;
    }
    // true once holding a slot, false when the signal aborted first (the waiter has left the line)
    const started = await new Promise<boolean>((resolve) => {
      const waiter: (typeof line)[number] = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        },
      };
      const onAbort = () => {
        const i = line.indexOf(waiter);
        if (i >= 0) line.splice(i, 1);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      line.push(waiter);
    });
    if (!started) {
      signal?.throwIfAborted(); // the signal's own reason, as for a signal aborted before the call
      throw new Error('left the line without an aborted signal');
    }
  };
  const release = () => {
    active--;
    dispatch();
  };
  return {
    async run(fn, signal) {
      await acquire(signal);
      try {
        return await fn();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get waiting() {
      return line.length;
    },
    get limit() {
      return max;
    },
    set limit(n: number) {
      max = Math.max(1, Math.floor(n));
      dispatch();
    },
  };
}

/**
 * The ffmpeg/ffprobe processes of media work in this process (uploads, URL imports, output
 * ingest: probe, remux, poster, preview, watermark): `MEDIA_CONCURRENCY` at once (default 2), the
 * rest wait in order. Each one can hold hundreds of MB and a core, so a burst of uploads queues
 * instead of exhausting the machine. The local renderer is not counted here: its renders are long
 * and already limited by LOCAL_RENDER_CONCURRENCY (its own queue); sharing one limit would make a
 * short upload probe wait behind minutes of rendering. So at most MEDIA_CONCURRENCY +
 * LOCAL_RENDER_CONCURRENCY ffmpeg processes run per process.
 */
export const mediaSlots: Semaphore = createSemaphore(2);

/** Set the MEDIA_CONCURRENCY limit (start-up). */
export function setMediaConcurrency(n: number): void {
  mediaSlots.limit = n;
}

/**
 * Run ffmpeg/ffprobe with arguments (no shell). Rejects with the last stderr lines on a non-zero
 * exit. `signal` kills the child (with `killSignal`) and rejects once it has exited;
 * `onStdoutLine` sees progress output as it comes.
 */
export function runTool(
  binary: string,
  args: string[],
  opts: {
    signal?: AbortSignal;
    timeoutMs?: number;
    onStdoutLine?: (line: string) => void;
    /** what `signal` sends the child (default SIGTERM: ffmpeg then flushes and finalizes its output) */
    killSignal?: NodeJS.Signals;
    /**
     * the limit this process waits its turn in (default `mediaSlots`); null for a caller that
     * bounds its own processes (the local renderer). `timeoutMs` counts from the start, not the wait.
     */
    slots?: Semaphore | null;
  } = {},
): Promise<RunResult> {
  const slots = opts.slots === undefined ? mediaSlots : opts.slots;
  if (!slots) return spawnTool(binary, args, opts);
  return slots.run(() => spawnTool(binary, args, opts), opts.signal);
}

function spawnTool(
  binary: string,
  args: string[],
  opts: { signal?: AbortSignal; timeoutMs?: number; onStdoutLine?: (line: string) => void; killSignal?: NodeJS.Signals },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal, killSignal: opts.killSignal });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (opts.onStdoutLine) {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) opts.onStdoutLine(line);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    let aborted: Error | undefined;
    child.on('error', (err) => {
      // on abort the child was just signalled: settle once it has really exited, so a caller that
      // awaits us (shutdown, cleanup of its output file) knows the process is gone
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        aborted = err;
        return;
      }
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (aborted) reject(aborted);
      else if (code === 0) resolve({ stdout, stderr });
      else {
        const tail = stderr.trim().split('\n').slice(-4).join(' | ');
        reject(new Error(`${path.basename(binary)} exited with ${String(code ?? signal)}: ${tail}`));
      }
    });
  });
}

export interface ProbeResult {
  durationSeconds: number;
  width: number;
  height: number;
  videoCodec: string;
  audioCodec?: string;
  formatName: string;
}

/** ffprobe a media file: duration, size and codecs. */
export async function probeMedia(file: string, opts: { ffprobe?: string } = {}): Promise<ProbeResult> {
  const { stdout } = await runTool(ffprobePath(opts.ffprobe), ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], {
    timeoutMs: 30_000,
  });
  const info = JSON.parse(stdout) as {
    format: { duration?: string; format_name: string };
    streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
  };
  const video = info.streams.find((s) => s.codec_type === 'video');
  const audio = info.streams.find((s) => s.codec_type === 'audio');
  return {
    durationSeconds: Number(info.format.duration ?? 0),
    width: video?.width ?? 0,
    height: video?.height ?? 0,
    videoCodec: video?.codec_name ?? '',
    audioCodec: audio?.codec_name,
    formatName: info.format.format_name,
  };
}
