import type { GenerationMode } from '../../../../shared/catalog/vocabulary';
import type { ReferenceInput } from '../../../../shared/catalog/request-schema';
import type { StudioDraft } from '../../../lib/creations';
import { GenerationRequestError } from '../../../lib/generations';
import type { ModelView } from '../../../lib/models';
import type { Attachment } from '../references/model';

/** The composer's rules that need no React: its fields, their defaults per model, and where a server message goes. */

/** The fields of the form, in the order the eye meets them (the first one with an error gets the focus). */
export const fieldOrder = ['mode', 'references', 'prompt', 'negativePrompt', 'duration', 'resolution', 'aspectRatio', 'audio', 'seed'] as const;
export type FieldName = (typeof fieldOrder)[number];
export type FieldErrors = Partial<Record<FieldName, string>>;
const isFieldName = (f: string): f is FieldName => (fieldOrder as readonly string[]).includes(f);
/**
 * The form field a server message belongs to: `references.2.kind` is about the references; a
 * `content_blocked` answer names `prompt`, `negative_prompt` or `reference`.
 */
const fieldOfIssue = (f: string): string => (f.startsWith('reference') ? 'references' : f === 'negative_prompt' ? 'negativePrompt' : f);

/** The first field (in the order on screen) that has an error. */
export const firstFieldWithError = (errors: FieldErrors): FieldName | undefined => fieldOrder.find((f) => errors[f]);

/** The mode a model starts in: the draft's when it has it, else one that fits the references handed over. */
export function initialMode(m: ModelView | undefined, draft: StudioDraft | undefined): GenerationMode {
  if (!m) return 'text-to-video';
  if (draft?.mode && m.modes.includes(draft.mode)) return draft.mode;
  const refs = draft?.refs ?? [];
  if (refs.length) {
    const images = refs.filter((r) => r.kind === 'image').length;
    if (images === refs.length && images === 1 && m.modes.includes('image-to-video')) return 'image-to-video';
    if (images === refs.length && images === 2 && m.modes.includes('first-last-frame')) return 'first-last-frame';
    if (m.modes.includes('reference')) return 'reference';
    if (m.modes.includes('image-to-video')) return 'image-to-video';
  }
  return m.modes.includes('text-to-video') ? 'text-to-video' : (m.modes[0] ?? 'text-to-video');
}

/** A draft's model when this server can run it; else, for references, one that takes them. */
export function draftModelOf(models: ModelView[], draft: StudioDraft | undefined): ModelView | undefined {
  if (!draft) return undefined;
  const named = models.find((m) => m.available && m.id === draft.model);
  const kinds = new Set((draft.refs ?? []).map((r) => r.kind));
  const takes = (m: ModelView) => [...kinds].every((k) => !!m.references[k]);
  if (named && takes(named)) return named;
  return kinds.size ? (models.find((m) => m.available && takes(m)) ?? named) : named;
}

export interface Options {
  duration: number;
  resolution: string;
  aspectRatio: string;
  audio: boolean;
}

export const defaultsOf = (m: ModelView): Options => ({
  duration: m.defaultDuration,
  resolution: m.defaultResolution,
  aspectRatio: m.defaultAspectRatio,
  audio: m.defaultAudio,
});

/** The options a model starts with: the draft's where it has them, else the model's defaults. */
export const draftOptionsOf = (m: ModelView, draft: StudioDraft | undefined): Options => ({
  duration: draft?.duration ?? m.defaultDuration,
  resolution: draft?.resolution ?? m.defaultResolution,
  aspectRatio: draft?.aspectRatio ?? m.defaultAspectRatio,
  audio: draft?.audio ?? m.defaultAudio,
});

/** The choices, each one checked against the model (a refetched list may allow other values). */
export const checkedOptions = (m: ModelView, options: Options | null): Options => ({
  duration: options && m.durations.includes(options.duration) ? options.duration : m.defaultDuration,
  resolution: options && m.resolutions.includes(options.resolution) ? options.resolution : m.defaultResolution,
  aspectRatio: options && m.aspectRatios.includes(options.aspectRatio) ? options.aspectRatio : m.defaultAspectRatio,
  audio: options ? options.audio : m.defaultAudio,
});

export interface FormError {
  message: string;
  detail?: string;
  code: string;
}

/** What the request says about a reference that is ready: the uploaded file, or the URL it was given as. */
export function referenceInputOf(a: Attachment): ReferenceInput {
  if (a.mediaId) return { kind: a.kind, mediaId: a.mediaId };
  if (a.url) return { kind: a.kind, url: a.url };
  throw new Error(`reference ${a.name} has neither an upload nor a URL`);
}

/**
 * The server's per-field messages (zod issues of a 4xx): those about a field on screen go under it
 * (several for one field are joined), the others are returned to be shown by the button.
 */
export function serverFieldErrors(err: unknown, fieldShown: (field: FieldName) => boolean): { found: FieldErrors; others: string[] } {
  const found: FieldErrors = {};
  const others: string[] = [];
  if (err instanceof GenerationRequestError) {
    for (const issue of err.fields) {
      const field = fieldOfIssue(issue.field);
      if (isFieldName(field) && fieldShown(field)) found[field] = found[field] ? `${found[field]} ${issue.message}` : issue.message;
      else others.push(issue.message);
    }
  }
  return { found, others };
}
