import type { MediaKind, MediaView } from '../../shared/api/media';
import type { FieldIssue } from '../../shared/catalog/request-schema';
import { ApiError } from './api';

export type { MediaKind, MediaView };

/** A failed upload or import, with the per-field messages of a 400 when the server gave them. */
export class UploadError extends ApiError {
  constructor(
    code: string,
    message: string,
    status: number,
    retryAfter: number | undefined,
    readonly fields: FieldIssue[] = [],
  ) {
    super(code, message, status, retryAfter);
  }
}

/**
 * The media we have seen in this visit (uploads, imports, creations turned into references), by
 * id, so a reference handed to the studio by id can show its preview and name without asking again.
 */
const known = new Map<string, MediaView>();
export const rememberMedia = (m: MediaView) => void known.set(m.id, m);
export const knownMedia = (id: string): MediaView | undefined => known.get(id);

function errorFrom(status: number, statusText: string, text: string, retryHeader: string | null): UploadError {
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  const retryAfter = retryHeader && Number.isFinite(Number(retryHeader)) ? Number(retryHeader) : undefined;
  const error = (data as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error.code !== 'string') {
    return new UploadError(`http_${status}`, statusText || `Request failed with status ${status}.`, status, retryAfter);
  }
  const fields = Array.isArray(error.fields)
    ? (error.fields as unknown[]).filter(
        (f): f is FieldIssue => !!f && typeof (f as FieldIssue).field === 'string' && typeof (f as FieldIssue).message === 'string',
      )
    : [];
  return new UploadError(error.code, typeof error.message === 'string' ? error.message : '', status, retryAfter, fields);
}

export interface UploadHandle {
  promise: Promise<MediaView>;
  abort: () => void;
}

/**
 * POST /api/uploads (multipart, field `file`) with XMLHttpRequest, for upload progress. The
 * server's CSRF check wants our Origin on a cookie-authenticated POST; browsers send it on XHR.
 */
export function uploadFile(file: File, onProgress?: (fraction: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<MediaView>((resolve, reject) => {
    xhr.open('POST', '/api/uploads');
    xhr.withCredentials = true;
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          const media = JSON.parse(xhr.responseText) as MediaView;
          rememberMedia(media);
          resolve(media);
        } catch {
          reject(new UploadError('invalid_response', 'The server sent a response that is not JSON.', xhr.status, undefined));
        }
        return;
      }
      reject(errorFrom(xhr.status, xhr.statusText, xhr.responseText, xhr.getResponseHeader('retry-after')));
    };
    xhr.onerror = () => reject(new UploadError('network_error', 'Could not reach the server.', 0, undefined));
    xhr.onabort = () => reject(new DOMException('The upload was canceled.', 'AbortError'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}

async function postJson(path: string, body: Record<string, unknown>): Promise<MediaView> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new UploadError('network_error', 'Could not reach the server.', 0, undefined);
  }
  const text = await res.text();
  if (!res.ok) throw errorFrom(res.status, res.statusText, text, res.headers.get('retry-after'));
  try {
    const media = JSON.parse(text) as MediaView;
    rememberMedia(media);
    return media;
  } catch {
    throw new UploadError('invalid_response', 'The server sent a response that is not JSON.', res.status, undefined);
  }
}

/** POST /api/uploads/url: the server fetches a public http(s) URL and keeps it as a reference. */
export const importFromUrl = (url: string) => postJson('/api/uploads/url', { url });

/** POST /api/uploads/from-creation: a finished creation (its video, or a frame of it) as a reference. */
export const referenceFromCreation = (generationId: string, as: 'image' | 'video') => postJson('/api/uploads/from-creation', { generationId, as });

/** What kind of reference a file is, from its type (the server decides from the bytes). */
export function kindOfFile(file: Pick<File, 'type' | 'name'>): MediaKind | null {
  const type = file.type.toLowerCase();
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  const ext = file.name.toLowerCase().split('.').pop() ?? '';
  if (['jpg', 'jpeg', 'png', 'webp', 'gif'].includes(ext)) return 'image';
  if (['mp4', 'mov', 'webm', 'm4v'].includes(ext)) return 'video';
  if (['mp3', 'wav', 'm4a', 'aac', 'ogg'].includes(ext)) return 'audio';
  return null;
}

/** "10 MB", "1.5 GB", "512 KB", in the user's language. */
export function formatBytes(bytes: number, language: string): string {
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'] as const;
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return new Intl.NumberFormat(language, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: value < 10 && i > 0 ? 1 : 0 }).format(
    value,
  );
}
