import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeMedia } from '../../../lib/ffmpeg';
import type { RenderReferenceFile } from '../local-render';
import { ProviderError, type ProviderReference } from '../provider';
import { localError } from './common';

/**
 * The request's image references, made into local, checked image files for the renderer: file://
 * URLs inside the allowed folders (on real paths), data: URLs, and http(s) downloads, each bounded
 * in size and checked to be a decodable image.
 */

const DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 15_000;
/** local files and data: URLs get a more generous cap (our own storage), still bounded */
const FILE_MAX_BYTES = 50 * 1024 * 1024;

/** Is `file` (an absolute, normalized path) `root` or inside it? */
function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

const imageSignatures: { mime: string; test: (b: Buffer) => boolean }[] = [
  { mime: 'image/png', test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: 'image/jpeg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/gif', test: (b) => b.subarray(0, 4).toString('latin1') === 'GIF8' },
  { mime: 'image/webp', test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { mime: 'image/bmp', test: (b) => b.subarray(0, 2).toString('latin1') === 'BM' },
];

/** Turn the request's image references into local, checked image files. */
export async function resolveReferences(
  refs: ProviderReference[],
  workDir: string,
  signal: AbortSignal,
  allowedRoots: string[],
): Promise<RenderReferenceFile[]> {
  const out: RenderReferenceFile[] = [];
  let imageNo = 0;
  for (const [n, ref] of refs.entries()) {
    // the preview only uses images (first/last frame, background); other kinds are ignored
    if (ref.kind !== 'image') continue;
    imageNo++;
    const label = `reference @image${imageNo}`;
    const file = await fetchReference(ref.url, path.join(workDir, `ref${n}`), label, signal, allowedRoots);
    await checkImage(file, label);
    out.push({ kind: ref.kind, role: ref.role, path: file });
  }
  return out;
}

/**
 * The real path of a local reference, when it lies in one of the allowed folders (compared on real
 * paths: a symlink or `..` cannot lead out of them). Throws invalid_input otherwise.
 */
async function allowedFile(file: string, label: string, allowedRoots: string[]): Promise<string> {
  const roots = await Promise.all(allowedRoots.map((r) => fs.realpath(r).catch(() => r)));
  const notAllowed = () => localError('invalid_input', `${label} is not in an allowed folder`);
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    // say "missing" only for a path in an allowed folder: nothing is revealed about the others
    const lexical = path.resolve(file);
    if ([...roots, ...allowedRoots].some((r) => isInside(r, lexical))) throw localError('invalid_input', `${label} is missing or unreadable`);
    throw notAllowed();
  }
  if (!roots.some((r) => isInside(r, real))) throw notAllowed();
  return real;
}

async function fetchReference(url: string, target: string, label: string, signal: AbortSignal, allowedRoots: string[]): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw localError('invalid_input', `${label} has an invalid URL`);
  }
  switch (parsed.protocol) {
    case 'file:': {
      let named: string;
      try {
        named = fileURLToPath(parsed);
      } catch {
        throw localError('invalid_input', `${label} has an invalid file URL`);
      }
      // the checked real path is what ffmpeg opens, not the name (which could be a symlink)
      const file = await allowedFile(named, label, allowedRoots);
      let stat;
      try {
        stat = await fs.stat(file);
        await fs.access(file, fs.constants.R_OK);
      } catch {
        throw localError('invalid_input', `${label} is missing or unreadable`);
      }
      if (!stat.isFile()) throw localError('invalid_input', `${label} is not a file`);
      if (stat.size > FILE_MAX_BYTES) throw localError('invalid_input', `${label} is larger than ${FILE_MAX_BYTES / 1024 / 1024} MB`);
      return file;
    }
    case 'data:': {
      const m = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(url);
      if (!m) throw localError('invalid_input', `${label} is a malformed data: URL`);
      let bytes: Buffer;
      try {
        bytes = m[2] ? Buffer.from(m[3] ?? '', 'base64') : Buffer.from(decodeURIComponent(m[3] ?? ''), 'latin1');
      } catch {
        throw localError('invalid_input', `${label} is a malformed data: URL`);
      }
      if (bytes.length === 0) throw localError('invalid_input', `${label} is empty`);
      if (bytes.length > DOWNLOAD_MAX_BYTES) throw localError('invalid_input', `${label} is larger than ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB`);
      await fs.writeFile(target, bytes);
      return target;
    }
    case 'http:':
    case 'https:':
      return download(parsed.href, target, label, signal);
    default:
      throw localError('invalid_input', `${label} uses an unsupported URL scheme (${parsed.protocol})`);
  }
}

async function download(url: string, target: string, label: string, signal: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  const both = AbortSignal.any([signal, timeout]);
  let res: Response;
  try {
    res = await fetch(url, { signal: both, redirect: 'follow' });
  } catch (e) {
    signal.throwIfAborted();
    const why = timeout.aborted ? `timed out after ${DOWNLOAD_TIMEOUT_MS / 1000} s` : `failed (${(e as Error).message})`;
    throw localError('invalid_input', `${label} could not be downloaded: ${why}`, e);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw localError('invalid_input', `${label} could not be downloaded: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > DOWNLOAD_MAX_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw localError('invalid_input', `${label} is larger than ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > DOWNLOAD_MAX_BYTES) {
          await res.body.cancel().catch(() => undefined);
          throw localError('invalid_input', `${label} is larger than ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB`);
        }
        chunks.push(Buffer.from(chunk));
      }
    }
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    signal.throwIfAborted();
    const why = timeout.aborted ? `timed out after ${DOWNLOAD_TIMEOUT_MS / 1000} s` : `failed (${(e as Error).message})`;
    throw localError('invalid_input', `${label} could not be downloaded: ${why}`, e);
  }
  if (size === 0) throw localError('invalid_input', `${label} is empty`);
  await fs.writeFile(target, Buffer.concat(chunks, size));
  return target;
}

/** A known image signature, and ffprobe can decode it to a picture. */
async function checkImage(file: string, label: string): Promise<void> {
  let head: Buffer;
  try {
    const fh = await fs.open(file, 'r');
    try {
      head = Buffer.alloc(16);
      const { bytesRead } = await fh.read(head, 0, 16, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    throw localError('invalid_input', `${label} is missing or unreadable`);
  }
  if (!imageSignatures.some((s) => s.test(head))) {
    throw localError('invalid_input', `${label} is not an image (PNG, JPEG, WebP, GIF or BMP)`);
  }
  try {
    const info = await probeMedia(file);
    if (!(info.width > 0 && info.height > 0)) throw new Error('no picture');
  } catch {
    throw localError('invalid_input', `${label} is not a readable image`);
  }
}
