import type { MediaKind, MediaView } from '../../../../shared/api/media';
import type { GenerationMode } from '../../../../shared/catalog/vocabulary';
import type { ModelView } from '../../../lib/models';

/** One reference in the composer: being uploaded, ready (a media id or URL), or failed. */
export interface Attachment {
  key: string;
  kind: MediaKind;
  /** the file name, the URL, or the creation it came from */
  name: string;
  state: 'uploading' | 'ready' | 'failed';
  /** 0-1 while uploading; null when the progress is not known */
  progress: number | null;
  media?: MediaView;
  mediaId?: string;
  url?: string;
  error?: string;
  abort?: () => void;
}

export interface KindLimit {
  max: number;
  maxBytes: number;
  mimeTypes: string[];
}

export interface ReferenceSlots {
  /** the kinds this model takes in this mode, with their limits */
  kinds: Partial<Record<MediaKind, KindLimit>>;
  /** at most this many in all */
  total: number;
  /** at least this many (image-to-video 1, first-last-frame 2, reference 1) */
  min: number;
}

/** What the chosen model takes as references in the chosen mode. */
export function slotsFor(model: ModelView, mode: GenerationMode): ReferenceSlots {
  const image = model.references.image;
  if (mode === 'text-to-video') return { kinds: {}, total: 0, min: 0 };
  if (mode === 'image-to-video') return { kinds: image ? { image: { ...image, max: 1 } } : {}, total: 1, min: 1 };
  if (mode === 'first-last-frame') return { kinds: image ? { image: { ...image, max: 2 } } : {}, total: 2, min: 2 };
  return { kinds: { ...model.references }, total: model.maxReferences, min: 1 };
}

/** Each kind this model takes now, with its limit. */
export const kindLimits = (slots: ReferenceSlots) => Object.entries(slots.kinds) as Array<[MediaKind, KindLimit]>;

export const acceptsReferences = (slots: ReferenceSlots) => Object.keys(slots.kinds).length > 0 && slots.total > 0;

/** `@image1`, `@image2`, `@video1`…: each reference's name, numbered in order within its kind. */
export function tokensOf(attachments: readonly Attachment[]): Map<string, string> {
  const counts: Record<string, number> = {};
  const out = new Map<string, string>();
  for (const a of attachments) {
    const n = (counts[a.kind] ?? 0) + 1;
    counts[a.kind] = n;
    out.set(a.key, `@${a.kind}${n}`);
  }
  return out;
}

let nextKey = 1;
export const newAttachmentKey = () => `ref-${Date.now().toString(36)}-${nextKey++}`;
