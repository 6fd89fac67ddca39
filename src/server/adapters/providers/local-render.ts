import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fontFile, runTool } from '../../lib/ffmpeg';
import type { ProviderRequest, ReferenceKind, ReferenceRole } from './provider';

/**
 * The local renderer's ffmpeg recipe: a real H.264/AAC MP4 "preview" at exactly the requested
 * duration and size, so the whole product (queue, storage, player, downloads) works with no
 * upstream keys. It is not a generative model: it draws the prompt over a slowly moving gradient,
 * or over the first-frame image (slow zoom), crossfading to the last-frame image when one is given.
 *
 * Written for the 2018 static ffmpeg that `npm install` brings (no xfade, no fontconfig): the
 * background is a tiny `geq` gradient upscaled (cheap and smooth), text is drawn with one
 * `drawtext` per line from text files (no escaping of user text), the font is passed explicitly.
 */

export interface RenderReferenceFile {
  kind: ReferenceKind;
  role: ReferenceRole;
  /** a local, readable, already validated file */
  path: string;
}

export interface RenderPreviewOptions {
  request: ProviderRequest;
  /** where the MP4 is written (the caller renames it into place) */
  outFile: string;
  /** where the JPEG poster (first frame) is written */
  posterFile: string;
  /** the ffmpeg binary */
  ffmpeg: string;
  signal?: AbortSignal;
  /** 0-100 while encoding */
  onProgress?: (pct: number) => void;
  referenceFiles: RenderReferenceFile[];
}

export const PREVIEW_FPS = 24;
/** The longest render the local renderer accepts, in seconds. */
export const PREVIEW_MAX_SECONDS = 120;

const shortSides: Record<string, number> = { '360p': 360, '480p': 480, '540p': 540, '720p': 720, '1080p': 1080, '1440p': 1440, '2160p': 2160, '4k': 2160 };

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * Output size for a resolution (`720p`: the short side) and an aspect ratio (`16:9`).
 * Throws a plain Error with a user-facing reason when either is not understood.
 */
export function previewDimensions(resolution: string, aspectRatio: string): { width: number; height: number } {
  const short = shortSides[resolution.trim().toLowerCase()];
  if (!short) throw new Error(`unsupported resolution "${resolution}" (use 480p, 720p or 1080p)`);
  const m = /^\s*(\d{1,3}(?:\.\d{1,3})?)\s*:\s*(\d{1,3}(?:\.\d{1,3})?)\s*$/.exec(aspectRatio);
  const aw = m ? Number(m[1]) : NaN;
  const ah = m ? Number(m[2]) : NaN;
  if (!(aw > 0 && ah > 0) || aw / ah > 4 || ah / aw > 4) throw new Error(`unsupported aspect ratio "${aspectRatio}" (e.g. 16:9, 9:16, 1:1)`);
  return aw >= ah ? { width: even((short * aw) / ah), height: short } : { width: short, height: even((short * ah) / aw) };
}

/** Validates the parts of a request the renderer depends on; throws a plain Error with the reason. */
export function checkRenderable(request: ProviderRequest): void {
  previewDimensions(request.resolution, request.aspectRatio);
  const d = request.durationSeconds;
  if (!Number.isFinite(d) || d <= 0 || d > PREVIEW_MAX_SECONDS) {
    throw new Error(`unsupported duration ${d} s (1 to ${PREVIEW_MAX_SECONDS} s)`);
  }
  if (Math.round(d * PREVIEW_FPS) < 1) throw new Error(`duration ${d} s is shorter than one frame`);
}

export interface PromptLayout {
  fontSize: number;
  lineHeight: number;
  lines: string[];
}

const MAX_LINES = 6;
/** DejaVu Sans Bold averages a little over 0.6 em per character; err on the wide side. */
const CHAR_EM = 0.64;

/** Word-wrap `text` to lines of at most `maxChars` characters (code points); long words are split. */
export function wrapText(text: string, maxChars: number): string[] {
  const words = text.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
  const lines: string[] = [];
  let line: string[] = [];
  for (const word of words) {
    let chars = Array.from(word);
    while (chars.length > maxChars) {
      if (line.length) {
        lines.push(line.join(''));
        line = [];
      }
      lines.push(chars.slice(0, maxChars).join(''));
      chars = chars.slice(maxChars);
    }
    if (!chars.length) continue;
    const current = Array.from(line.join('')).length;
    if (current === 0) line = chars;
    else if (current + 1 + chars.length <= maxChars) line = [...line, ' ', ...chars];
    else {
      lines.push(line.join(''));
      line = chars;
    }
  }
  if (line.length) lines.push(line.join(''));
  return lines;
}

/**
 * Pick a font size and wrap the prompt: the largest size (relative to the short side) at which it
 * fits in six lines; at the smallest size, the sixth line ends with an ellipsis.
 */
export function layoutPrompt(prompt: string, width: number, height: number): PromptLayout {
  // strip control characters; drawtext gets plain text through a file (expansion disabled)
  const text = prompt.replace(/\p{Cc}+/gu, ' ').trim();
  const short = Math.min(width, height);
  const divisors = [12, 14, 16, 19, 23];
  let best: PromptLayout = { fontSize: 0, lineHeight: 0, lines: [] };
  for (const div of divisors) {
    const fontSize = Math.max(12, Math.round(short / div));
    const maxChars = Math.max(8, Math.floor((width * 0.84) / (fontSize * CHAR_EM)));
    const lines = wrapText(text, maxChars);
    best = { fontSize, lineHeight: Math.round(fontSize * 1.3), lines };
    if (lines.length <= MAX_LINES) return best;
    if (div === divisors[divisors.length - 1]) {
      const kept = lines.slice(0, MAX_LINES);
      const last = Array.from(kept[MAX_LINES - 1] ?? '');
      const trimmed = last
        .slice(0, Math.max(1, maxChars - 1))
        .join('')
        .replace(/[\s.,;:!?-]+$/, '');
      kept[MAX_LINES - 1] = `${trimmed}…`;
      best = { ...best, lines: kept };
    }
  }
  return best;
}

/**
 * Escape a value for a filter option inside a filtergraph (both levels: the option parser's
 * `\ ' :` and the graph parser's `\ ' [ ] , ;`). Arguments go to ffmpeg without a shell.
 */
export function filterValue(value: string): string {
  const level1 = value.replace(/[\\':]/g, (c) => `\\${c}`);
  return level1.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

const filter = (name: string, options: Record<string, string | number>) =>
  `${name}=${Object.entries(options)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? String(v) : filterValue(v)}`)
    .join(':')}`;

/** A stable number in [0, 1) from text, to vary the palette between prompts. */
function unitHash(text: string, salt: string): number {
  const h = createHash('sha256').update(salt).update(text).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/** The moving background when there is no image: a hue-rotating gradient with a drifting soft light. */
function gradientExpr(seedText: string): { r: string; g: string; b: string } {
  const p0 = (unitHash(seedText, 'hue') * 2 * Math.PI).toFixed(3);
  const p1 = (unitHash(seedText, 'blob') * 2 * Math.PI).toFixed(3);
  const grad = '(X/W+Y/H)/2';
  const blob = `exp(-(pow(X-W*(0.5+0.3*sin(T*0.6+${p1})),2)+pow(Y-H*(0.5+0.25*cos(T*0.45+${p1})),2))/(2*pow(W*0.2,2)))`;
  const wave = (base: number, shift: number) => `${base}+45*sin(2*PI*T/12+${p0}+3*${grad}+${shift})+105*${blob}`;
  return { r: wave(70, 0), g: wave(70, 2.094), b: wave(90, 4.189) };
}

function pickImages(request: ProviderRequest, refs: RenderReferenceFile[]) {
  const images = refs.filter((r) => r.kind === 'image');
  const last = images.find((r) => r.role === 'last_frame');
  const first = images.find((r) => r.role === 'first_frame') ?? (request.mode === 'text-to-video' ? undefined : images.find((r) => r.role !== 'last_frame'));
  return { first, last };
}

/** The ffmpeg arguments for a render (exported for tests and debugging). */
export async function buildRenderArgs(opts: Pick<RenderPreviewOptions, 'request' | 'outFile' | 'referenceFiles'>, textDir: string): Promise<string[]> {
  const { request } = opts;
  checkRenderable(request);
  const { width: W, height: H } = previewDimensions(request.resolution, request.aspectRatio);
  const fps = PREVIEW_FPS;
  const frames = Math.max(1, Math.round(request.durationSeconds * fps));
  const seconds = frames / fps;
  const font = fontFile();
  const { first, last } = pickImages(request, opts.referenceFiles);

  const inputs: string[] = [];
  const graph: string[] = [];
  let nextInput = 0;
  const cover = `scale=${W}:${H}:force_original_aspect_ratio=increase:flags=bicubic,crop=${W}:${H},setsar=1`;

  // background
  if (first) {
    inputs.push('-i', first.path);
    const i = nextInput++;
    // render the zoom from a 2x frame so the 1-pixel steps of zoompan's crop do not shake
    const zoom = `1+0.08*on/${Math.max(1, frames - 1)}`;
    graph.push(
      `[${i}:v]trim=end_frame=1,scale=${W * 2}:${H * 2}:force_original_aspect_ratio=increase:flags=bicubic,crop=${W * 2}:${H * 2},setsar=1,` +
        `${filter('zoompan', { z: zoom, x: 'iw/2-(iw/zoom/2)', y: 'ih/2-(ih/zoom/2)', d: frames, s: `${W}x${H}`, fps })},` +
        `format=yuv420p[bg]`,
    );
  } else {
    const lw = W >= H ? 64 : Math.max(8, even((64 * W) / H));
    const lh = W >= H ? Math.max(8, even((64 * H) / W)) : 64;
    inputs.push('-f', 'lavfi', '-i', `color=c=black:s=${lw}x${lh}:r=${fps}:d=${seconds}`);
    const i = nextInput++;
    const g = gradientExpr(`${request.seed ?? ''}|${request.prompt}`);
    graph.push(`[${i}:v]format=gbrp,${filter('geq', g)},scale=${W}:${H}:flags=bicubic,format=yuv420p,setsar=1[bg]`);
  }

  // text: one drawtext per line (centered), from files so the prompt needs no escaping
  const layout = layoutPrompt(request.prompt, W, H);
  const textAlpha = first ? 'min(1,max(0,(t-0.25)/0.6))' : '1';
  const draw: string[] = [];
  const blockHeight = layout.lines.length * layout.lineHeight;
  const top = Math.round((H - blockHeight) / 2);
  for (const [n, line] of layout.lines.entries()) {
    const file = path.join(textDir, `line${n}.txt`);
    await fs.writeFile(file, line, 'utf8');
    const baseline = top + n * layout.lineHeight + Math.round(layout.lineHeight * 0.74);
    const opts: Record<string, string | number> = {
      fontfile: font,
      textfile: file,
      expansion: 'none',
      fontsize: layout.fontSize,
      fontcolor: 'white',
      shadowcolor: 'black@0.45',
      shadowx: Math.max(1, Math.round(layout.fontSize / 24)),
      shadowy: Math.max(1, Math.round(layout.fontSize / 24)),
      x: '(w-text_w)/2',
      y: `${baseline}-ascent`,
      alpha: textAlpha,
    };
    if (first) Object.assign(opts, { box: 1, boxcolor: 'black@0.35', boxborderw: Math.max(2, Math.round(layout.fontSize * 0.18)) });
    draw.push(filter('drawtext', opts));
  }
  const captionFile = path.join(textDir, 'caption.txt');
  await fs.writeFile(captionFile, 'Save Sora · local preview', 'utf8');
  const captionSize = Math.max(12, Math.round(Math.min(W, H) / 36));
  draw.push(
    filter('drawtext', {
      fontfile: font,
      textfile: captionFile,
      expansion: 'none',
      fontsize: captionSize,
      fontcolor: 'white@0.8',
      shadowcolor: 'black@0.4',
      shadowx: 1,
      shadowy: 1,
      x: '(w-text_w)/2',
      y: `h-${Math.round(captionSize * 1.6)}-ascent`,
      alpha: textAlpha,
    }),
  );
  graph.push(`[bg]${draw.join(',')}[txt]`);

  // last frame: crossfade to it over the last second (or half the video when shorter)
  let videoOut = '[txt]';
  if (last) {
    inputs.push('-i', last.path);
    const i = nextInput++;
    const fadeFrames = Math.max(1, Math.min(fps, Math.floor(frames / 2)));
    const start = frames - fadeFrames;
    graph.push(
      `[${i}:v]trim=end_frame=1,${cover},format=yuva420p,loop=loop=${fadeFrames - 1}:size=1:start=0,` +
        `${filter('setpts', { expr: `(N+${start})/(${fps}*TB)` })},` +
        `fade=t=in:start_frame=0:nb_frames=${Math.max(1, fadeFrames - 1)}:alpha=1[last]`,
    );
    graph.push(`[txt][last]overlay=eof_action=repeat:format=yuv420[lastov]`);
    videoOut = '[lastov]';
  }
  graph.push(`${videoOut}format=yuv420p[vout]`);

  // audio: a soft A-major chord (sine sources are table-driven, so cheap) with a slow swell
  if (request.audio) {
    const notes = [220, 329.63, 440];
    const first = nextInput;
    for (const f of notes) {
      inputs.push('-f', 'lavfi', '-i', `sine=f=${f}:r=48000:d=${seconds}`);
      nextInput++;
    }
    const fadeIn = Math.min(0.5, seconds / 4);
    const fadeOut = Math.min(0.8, seconds / 3);
    graph.push(
      `${notes.map((_, k) => `[${first + k}:a]`).join('')}amix=inputs=${notes.length}:weights=1 0.6 0.35,` +
        `${filter('volume', { volume: '1.6*(0.75+0.25*sin(2*PI*0.2*t))', eval: 'frame' })},` +
        `afade=t=in:st=0:d=${fadeIn},afade=t=out:st=${(seconds - fadeOut).toFixed(3)}:d=${fadeOut}[aout]`,
    );
  }

  const args = ['-y', '-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', ...inputs];
  args.push('-filter_complex', graph.join(';'), '-map', '[vout]');
  if (request.audio) args.push('-map', '[aout]');
  args.push(
    '-c:v',
    'libx264',
    '-preset',
    // gradients and text: ultrafast halves the render time (measured: 3.7 s -> 1.7 s for 6 s of 1080p)
    // for a somewhat larger file; quality is the same to the eye
    'ultrafast',
    '-crf',
    '22',
    '-pix_fmt',
    'yuv420p',
    '-r',
    String(fps),
    '-g',
    String(fps * 2),
    '-frames:v',
    String(frames),
  );
  if (request.audio) args.push('-c:a', 'aac', '-b:a', '96k', '-ar', '48000');
  args.push('-t', seconds.toFixed(3), '-movflags', '+faststart', '-f', 'mp4', opts.outFile);
  return args;
}

/** Reads ffmpeg `-progress` lines into a 0-99 percentage (100 is reported when the file is done). */
export function progressParser(totalSeconds: number, onProgress: (pct: number) => void): (line: string) => void {
  let last = -1;
  return (line) => {
    const eq = line.indexOf('=');
    if (eq < 0) return;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    let seconds: number | undefined;
    // out_time_ms is in microseconds too (an old ffmpeg naming mistake)
    if (key === 'out_time_us' || key === 'out_time_ms') seconds = Number(value) / 1e6;
    else if (key === 'out_time') {
      const m = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(value);
      if (m) seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    }
    if (seconds === undefined || !Number.isFinite(seconds) || totalSeconds <= 0) return;
    const pct = Math.max(0, Math.min(99, Math.floor((seconds / totalSeconds) * 100)));
    if (pct !== last) {
      last = pct;
      onProgress(pct);
    }
  };
}

/**
 * Render the preview MP4 and its poster (the first frame, JPEG). Throws on ffmpeg failure or
 * abort; leaves partial files for the caller to clean up (it writes to temporary names).
 */
export async function renderPreview(opts: RenderPreviewOptions): Promise<void> {
  const textDir = await fs.mkdtemp(path.join(path.dirname(opts.outFile), '.text-'));
  try {
    const args = await buildRenderArgs(opts, textDir);
    const frames = Math.max(1, Math.round(opts.request.durationSeconds * PREVIEW_FPS));
    const onLine = opts.onProgress ? progressParser(frames / PREVIEW_FPS, opts.onProgress) : undefined;
    // on abort the partial file is discarded: no need to let ffmpeg flush x264's lookahead first
    // not in the media limit: renders are bounded by the renderer's own queue (LOCAL_RENDER_CONCURRENCY)
    await runTool(opts.ffmpeg, args, { signal: opts.signal, killSignal: 'SIGKILL', onStdoutLine: onLine, slots: null });
    opts.signal?.throwIfAborted();
    await runTool(
      opts.ffmpeg,
      [
        '-y',
        '-hide_banner',
        '-nostdin',
        '-loglevel',
        'error',
        '-i',
        opts.outFile,
        '-map',
        '0:v:0',
        '-frames:v',
        '1',
        '-q:v',
        '3',
        '-f',
        'image2',
        '-c:v',
        'mjpeg',
        opts.posterFile,
      ],
      { signal: opts.signal, killSignal: 'SIGKILL', timeoutMs: 60_000, slots: null },
    );
  } finally {
    await fs.rm(textDir, { recursive: true, force: true });
  }
}
