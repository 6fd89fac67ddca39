import fs from 'node:fs/promises';
import { ffprobePath, runTool } from '../../lib/ffmpeg';

/**
 * What a file really is, decided from its bytes (never from its name or declared type).
 *
 * `sniffBytes` reads magic numbers: JPEG, PNG, WebP, GIF (images); MP4/MOV/M4A (ISO `ftyp`),
 * WebM/Matroska (EBML), MP3 (ID3 or an MPEG audio frame), WAV (RIFF/WAVE), AAC (ADTS). Anything
 * else is refused with a message naming what it looks like (a program, an archive, a document,
 * text). `sniffFile` then confirms video and audio candidates with ffprobe (real streams, a
 * duration) and decides video vs audio from the streams (an MP4 with only sound is audio).
 */

export type MediaKind = 'image' | 'video' | 'audio';

export interface Candidate {
  kind: MediaKind;
  /** the container as found: jpeg png webp gif mp4 mov m4a webm matroska mp3 wav aac */
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'mp4' | 'mov' | 'm4a' | 'webm' | 'matroska' | 'mp3' | 'wav' | 'aac';
}

/** An image (the image decoder confirms it later), or video or audio with its ffprobe facts. */
export type SniffedMedia = (Candidate & { kind: 'image'; probe?: undefined }) | (Candidate & { kind: 'video' | 'audio'; probe: StreamFacts });

export interface StreamFacts {
  durationSeconds: number;
  /** display size (rotation applied) */
  width: number | null;
  height: number | null;
  videoCodec: string | null;
  audioCodec: string | null;
  formatName: string;
  /**
   * the size of every video stream from the headers (the main one as displayed, then the others,
   * cover pictures included), null where the header has none: what a decoder would have to
   * allocate, known before anything decodes
   */
  frames: ({ width: number; height: number } | null)[];
}

/** The file is not a media file we accept; the message is for the user. */
export class MediaRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MediaRejected';
  }
}

const ACCEPTED = 'Upload a JPEG, PNG, WebP or GIF image, an MP4, MOV or WebM video, or an MP3, WAV, AAC or M4A audio file.';

const ascii = (b: Buffer, start: number, end: number) => b.subarray(start, end).toString('latin1');
const startsWith = (b: Buffer, bytes: number[], offset = 0) => bytes.every((x, i) => b[offset + i] === x);

/** How many leading bytes `sniffBytes` wants. */
export const SNIFF_BYTES = 4096;

/** Classify by magic numbers; throws MediaRejected for anything we do not accept. */
export function sniffBytes(head: Buffer): Candidate {
  if (head.length < 4) throw new MediaRejected(`The file is empty or too short to be an image, video or audio file. ${ACCEPTED}`);
  // images
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: 'image', format: 'jpeg' };
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', format: 'png' };
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return { kind: 'image', format: 'gif' };
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return { kind: 'image', format: 'webp' };
  // audio in RIFF
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WAVE') return { kind: 'audio', format: 'wav' };
  // ISO base media (MP4, MOV, M4A): [size]ftyp[brand]
  if (ascii(head, 4, 8) === 'ftyp') {
    const brand = ascii(head, 8, 12);
    if (/^M4[ABP] $/.test(brand)) return { kind: 'audio', format: 'm4a' };
    if (brand === 'qt  ') return { kind: 'video', format: 'mov' };
    if (/^(avif|avis|heic|heix|hevc|heim|heis|mif1|msf1|crx )$/.test(brand)) {
      throw new MediaRejected(`HEIC/AVIF images are not accepted. ${ACCEPTED}`);
    }
    return { kind: 'video', format: 'mp4' };
  }
  // QuickTime files without ftyp start with moov/mdat/wide/free atoms
  if (/^(moov|mdat|wide|free|skip)$/.test(ascii(head, 4, 8))) return { kind: 'video', format: 'mov' };
  // EBML (WebM, Matroska)
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    return { kind: 'video', format: head.subarray(0, 64).includes('webm', 0, 'latin1') ? 'webm' : 'matroska' };
  }
  if (ascii(head, 0, 3) === 'ID3') return { kind: 'audio', format: 'mp3' };
  const second = head.readUInt8(1); // (at least 4 bytes, checked above)
  if (head[0] === 0xff && (second & 0xf6) === 0xf0) return { kind: 'audio', format: 'aac' }; // ADTS: sync + layer 00
  if (head[0] === 0xff && (second & 0xe0) === 0xe0 && ((second >> 1) & 3) !== 0) return { kind: 'audio', format: 'mp3' };
  throw new MediaRejected(`${describeUnsupported(head)} ${ACCEPTED}`);
}

function describeUnsupported(head: Buffer): string {
  if (startsWith(head, [0x7f, 0x45, 0x4c, 0x46])) return 'This file is an executable program (ELF), not a media file.';
  if (ascii(head, 0, 2) === 'MZ') return 'This file is an executable program (Windows), not a media file.';
  if (startsWith(head, [0xcf, 0xfa, 0xed, 0xfe]) || startsWith(head, [0xca, 0xfe, 0xba, 0xbe]))
    return 'This file is an executable program (macOS), not a media file.';
  if (ascii(head, 0, 2) === '#!') return 'This file is a script, not a media file.';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06]))
    return 'This file is a ZIP archive (or an Office document), not a media file.';
  if (startsWith(head, [0x1f, 0x8b]) || ascii(head, 0, 6) === '7z\xbc\xaf\x27\x1c' || ascii(head, 0, 4) === 'Rar!')
    return 'This file is a compressed archive, not a media file.';
  if (ascii(head, 0, 5) === '%PDF-') return 'This file is a PDF document, not a media file.';
  const text = ascii(head, 0, Math.min(head.length, 512))
    .replace(/^\uFEFF|^\xef\xbb\xbf/, '')
    .trimStart()
    .toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return 'SVG images are not accepted (they can carry scripts).';
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<?xml') || text.startsWith('<'))
    return 'This file is an HTML or XML document, not a media file.';
  if (looksLikeText(head)) return 'This file is text, not a media file.';
  return 'This file is not a supported image, video or audio file.';
}

function looksLikeText(head: Buffer): boolean {
  const sample = head.subarray(0, 512);
  let printable = 0;
  for (const byte of sample) if (byte === 9 || byte === 10 || byte === 13 || (byte >= 32 && byte < 127) || byte >= 0xc2) printable++;
  return printable / sample.length > 0.95;
}

export async function readHead(file: string, bytes = SNIFF_BYTES): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  duration?: string;
  disposition?: { attached_pic?: number };
  tags?: { rotate?: string };
  side_data_list?: { rotation?: number }[];
}

/** ffprobe a file: its real streams, display size and duration. Throws MediaRejected when ffprobe cannot read it. */
export async function probeStreams(file: string, opts: { ffprobe?: string } = {}): Promise<StreamFacts> {
  let stdout: string;
  try {
    ({ stdout } = await runTool(ffprobePath(opts.ffprobe), ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], {
      timeoutMs: 30_000,
    }));
  } catch {
    throw new MediaRejected('This file could not be read as audio or video: it may be damaged or incomplete.');
  }
  const info = JSON.parse(stdout) as { format?: { duration?: string; format_name?: string }; streams?: FfprobeStream[] };
  const streams = info.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');
  let duration = Number(info.format?.duration ?? NaN);
  if (!Number.isFinite(duration)) duration = Math.max(0, ...streams.map((s) => Number(s.duration ?? 0)).filter(Number.isFinite));
  let width = video?.width ?? null;
  let height = video?.height ?? null;
  const rotation = Number(video?.tags?.rotate ?? video?.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0);
  if (Math.abs(rotation) % 180 === 90) [width, height] = [height, width];
  const sizeOf = (w: number | null | undefined, h: number | null | undefined) => (w && h ? { width: w, height: h } : null);
  const frames = [
    ...(video ? [sizeOf(width, height)] : []),
    ...streams.filter((s) => s.codec_type === 'video' && s !== video).map((s) => sizeOf(s.width, s.height)),
  ];
  return {
    durationSeconds: Number.isFinite(duration) ? duration : 0,
    width,
    height,
    videoCodec: video?.codec_name ?? null,
    audioCodec: audio?.codec_name ?? null,
    formatName: info.format?.format_name ?? '',
    frames,
  };
}

/**
 * Sniff a file on disk: magic numbers, then ffprobe for video and audio candidates. Images are
 * confirmed later by the image decoder (sharp), which refuses anything that does not decode.
 */
export async function sniffFile(file: string, opts: { ffprobe?: string } = {}): Promise<SniffedMedia> {
  const candidate = sniffBytes(await readHead(file));
  if (candidate.kind === 'image') return { kind: 'image', format: candidate.format };
  const probe = await probeStreams(file, opts);
  if (!(probe.durationSeconds > 0)) throw new MediaRejected('This file has no playable duration: it may be damaged or incomplete.');
  if (candidate.kind === 'video') {
    if (probe.videoCodec) return { kind: 'video', format: candidate.format, probe };
    if (probe.audioCodec) {
      // a video container holding only sound
      const format = candidate.format === 'webm' || candidate.format === 'matroska' ? candidate.format : 'm4a';
      return { kind: 'audio', format, probe };
    }
    throw new MediaRejected('This file holds no video or audio stream.');
  }
  if (!probe.audioCodec) throw new MediaRejected('This file holds no audio stream.');
  if (probe.videoCodec && candidate.format === 'm4a') return { kind: 'video', format: 'mp4', probe };
  return { kind: candidate.kind, format: candidate.format, probe };
}
