import type { GenerationStatus } from '../../../../shared/api/generations';

/**
 * The OpenAI Videos API (`/v1/videos`) as a pure mapping onto our generations: request fields to a
 * `generationInput` body, a generation to OpenAI's `Video` object, and our errors to OpenAI's
 * error shape. No rules live here: prices, limits and idempotency are the generation
 * service's, exactly as for the web app.
 */

/** What the mapping needs of a catalog model. */
export interface ModelShape {
  id: string;
  name: string;
  durations: readonly number[];
  resolutions: readonly string[];
  aspectRatios: readonly string[];
}

/** What the mapping needs of a generation. */
export interface GenerationShape {
  id: string;
  modelId: string;
  prompt: string;
  status: GenerationStatus;
  progress: number;
  durationSeconds: number;
  resolution: string;
  aspectRatio: string;
  failureCode: string | null;
  /** the user-readable failure (failureMessage of messages.ts) */
  failureText: string | null;
  remixedFrom: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** OpenAI's `Video` (openai/resources/videos.d.ts). */
export interface OpenAIVideo {
  id: string;
  object: 'video';
  model: string;
  status: 'queued' | 'in_progress' | 'completed' | 'failed';
  progress: number;
  created_at: number;
  completed_at: number | null;
  expires_at: number | null;
  error: { code: string; message: string } | null;
  prompt: string | null;
  seconds: string;
  size: string;
  remixed_from_video_id: string | null;
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** OpenAI's default model when a request names none. */
export const DEFAULT_MODEL = 'sora-2';

/** `sora-2-2025-10-06` style snapshot names are the model itself here. */
export function modelIdOf(model: string | undefined): string {
  if (model === undefined || model === '') return DEFAULT_MODEL;
  return /^(sora-2(?:-pro)?)-\d{4}-\d{2}-\d{2}$/.exec(model)?.[1] ?? model;
}

export function videoStatus(status: GenerationStatus): OpenAIVideo['status'] {
  switch (status) {
    case 'queued':
    case 'submitting':
      return 'queued';
    case 'running':
    case 'finalizing':
    case 'under_review': // held for moderation review: not final, nothing to download yet
      return 'in_progress';
    case 'succeeded':
      return 'completed';
    default:
      return 'failed';
  }
}

/** height of each resolution, and width:height of each aspect ratio */
const HEIGHTS: Record<string, number> = { '480p': 480, '720p': 720, '1080p': 1080 };
const SIZES: Record<string, Record<string, string>> = {
  '480p': { '16:9': '854x480', '9:16': '480x854', '1:1': '480x480', '4:3': '640x480', '3:4': '480x640', '21:9': '1120x480' },
  '720p': { '16:9': '1280x720', '9:16': '720x1280', '1:1': '720x720', '4:3': '960x720', '3:4': '720x960', '21:9': '1680x720' },
  '1080p': { '16:9': '1920x1080', '9:16': '1080x1920', '1:1': '1080x1080', '4:3': '1440x1080', '3:4': '1080x1440', '21:9': '2520x1080' },
};
/** OpenAI's names for Sora 2 Pro's high resolution: they mean our 1080p */
const SORA_HIGH: Record<string, string> = { '16:9': '1792x1024', '9:16': '1024x1792' };
const isSora = (modelId: string) => modelId === 'sora-2' || modelId === 'sora-2-pro';

/** The "WxH" a model's resolution and aspect ratio are called (OpenAI's own names for the Sora models). */
export function sizeOf(modelId: string, resolution: string, aspectRatio: string): string {
  const high = SORA_HIGH[aspectRatio];
  if (isSora(modelId) && resolution === '1080p' && high) return high;
  const known = SIZES[resolution]?.[aspectRatio];
  if (known) return known;
  // not in the table: work it out from the height and the ratio
  const h = HEIGHTS[resolution] ?? (Number.parseInt(resolution, 10) || 720);
  const [a, b] = aspectRatio.split(':').map(Number);
  if (!a || !b) return `${h}x${h}`;
  const w = Math.round((h * a) / b / 2) * 2;
  return a >= b ? `${w}x${h}` : `${h}x${Math.round((h * b) / a / 2) * 2}`;
}

/** Every size a model can make, in the order of its resolutions then aspect ratios. */
export function sizesFor(model: ModelShape): string[] {
  return model.resolutions.flatMap((r) => model.aspectRatios.map((a) => sizeOf(model.id, r, a)));
}

/** "WxH" -> resolution and aspect ratio, for any model (null when it is no size we know). */
export function parseSizeName(size: string): { resolution: string; aspectRatio: string } | null {
  const m = /^\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*$/.exec(size);
  if (!m) return null;
  const name = `${Number(m[1])}x${Number(m[2])}`;
  for (const [aspectRatio, n] of Object.entries(SORA_HIGH)) if (n === name) return { resolution: '1080p', aspectRatio };
  for (const [resolution, byRatio] of Object.entries(SIZES)) {
    for (const [aspectRatio, n] of Object.entries(byRatio)) if (n === name) return { resolution, aspectRatio };
  }
  return null;
}

const list = (values: readonly string[]) => values.join(', ');

export class MappingError extends Error {
  constructor(
    readonly param: string,
    message: string,
    readonly allowed?: readonly string[],
  ) {
    super(message);
    this.name = 'MappingError';
  }
}

/** `seconds` ("8" or 8) -> the model's duration; absent -> the model's default (undefined). */
export function mapSeconds(model: ModelShape, seconds: unknown): number | undefined {
  if (seconds === undefined || seconds === null || seconds === '') return undefined;
  const allowed = model.durations.map(String);
  const text = typeof seconds === 'number' ? String(seconds) : typeof seconds === 'string' ? seconds.trim() : null;
  if (text === null || !/^\d{1,4}$/.test(text) || !model.durations.includes(Number(text))) {
    throw new MappingError(
      'seconds',
      `Invalid value for 'seconds': ${model.name} (${model.id}) makes videos of ${list(allowed)} seconds (got ${JSON.stringify(seconds)}).`,
      allowed,
    );
  }
  return Number(text);
}

/** `size` ("1280x720") -> the model's resolution and aspect ratio; absent -> the model's defaults. */
export function mapSize(model: ModelShape, size: unknown): { resolution: string; aspectRatio: string } | undefined {
  if (size === undefined || size === null || size === '') return undefined;
  const allowed = sizesFor(model);
  const parsed = typeof size === 'string' ? parseSizeName(size) : null;
  if (!parsed || !model.resolutions.includes(parsed.resolution) || !model.aspectRatios.includes(parsed.aspectRatio)) {
    throw new MappingError(
      'size',
      `Invalid value for 'size': ${model.name} (${model.id}) makes videos of size ${list(allowed)} (got ${JSON.stringify(size)}).`,
      allowed,
    );
  }
  return parsed;
}

export interface CreateVideoFields {
  model?: string | undefined;
  prompt: string;
  seconds?: unknown;
  size?: unknown;
}

/**
 * A create request -> the body of a generation (`generationInput`). `image` is the uploaded
 * input_reference: it makes an image-to-video generation that starts from that image.
 */
export function toGenerationInput(model: ModelShape, fields: CreateVideoFields, image?: { mediaId: string }): Record<string, unknown> {
  const duration = mapSeconds(model, fields.seconds);
  const size = mapSize(model, fields.size);
  return {
    model: model.id,
    prompt: fields.prompt,
    ...(duration !== undefined ? { duration } : {}),
    ...(size ? { resolution: size.resolution, aspectRatio: size.aspectRatio } : {}),
    ...(image ? { mode: 'image-to-video', references: [{ kind: 'image', mediaId: image.mediaId, role: 'first_frame' }] } : {}),
  };
}

/** A remix: the source's model and options with a new prompt. */
export function toRemixInput(
  source: {
    modelId: string;
    mode: string;
    durationSeconds: number;
    resolution: string;
    aspectRatio: string;
    audio: boolean;
    negativePrompt: string | null;
    seed: number | null;
    references: readonly { kind: string; role: string; mediaId?: string; url?: string }[];
  },
  prompt: string,
): Record<string, unknown> {
  return {
    model: source.modelId,
    prompt,
    mode: source.mode,
    duration: source.durationSeconds,
    resolution: source.resolution,
    aspectRatio: source.aspectRatio,
    audio: source.audio,
    ...(source.negativePrompt ? { negativePrompt: source.negativePrompt } : {}),
    ...(source.seed !== null ? { seed: source.seed } : {}),
    ...(source.references.length
      ? { references: source.references.map((r) => ({ kind: r.kind, role: r.role, ...(r.mediaId ? { mediaId: r.mediaId } : { url: r.url }) })) }
      : {}),
  };
}

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

export function toVideo(g: GenerationShape): OpenAIVideo {
  const status = videoStatus(g.status);
  return {
    id: g.id,
    object: 'video',
    model: g.modelId,
    status,
    progress: status === 'completed' ? 100 : Math.max(0, Math.min(100, Math.round(g.progress))),
    created_at: unix(g.createdAt),
    completed_at: (status === 'completed' || status === 'failed') && g.finishedAt ? unix(g.finishedAt) : null,
    // outputs are kept until their owner deletes them
    expires_at: null,
    error:
      status === 'failed'
        ? { code: g.failureCode ?? g.status, message: g.failureText ?? `The video ${g.status === 'canceled' ? 'was canceled' : 'failed'}.` }
        : null,
    prompt: g.prompt,
    seconds: String(g.durationSeconds),
    size: sizeOf(g.modelId, g.resolution, g.aspectRatio),
    remixed_from_video_id: g.remixedFrom,
  };
}

/** our request fields -> OpenAI's parameter names */
const PARAMS: Record<string, string> = {
  model: 'model',
  prompt: 'prompt',
  duration: 'seconds',
  resolution: 'size',
  aspectRatio: 'size',
  mode: 'input_reference',
  references: 'input_reference',
  audio: 'audio',
};

/** The OpenAI parameter a field issue is about (`references.0.mediaId` -> input_reference). */
export function paramOf(field: string | undefined): string | null {
  if (!field) return null;
  const [head = field] = field.split('.');
  return PARAMS[head] ?? head;
}

export function errorType(status: number, code?: string): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'insufficient_quota';
  if (status === 403) return 'permission_error';
  if (status === 429) return code === 'insufficient_quota' ? 'insufficient_quota' : 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function openAIError(status: number, message: string, opts: { code?: string | null; param?: string | null } = {}): OpenAIErrorBody {
  return { error: { message, type: errorType(status, opts.code ?? undefined), param: opts.param ?? null, code: opts.code ?? null } };
}
