import { z } from 'zod';
import { safeText, withoutControlCharacters } from './text';
import { generationList, generationStatuses } from './generations';

/** Reference files users upload (or import from a URL) and use in generations. */

export const mediaKinds = ['image', 'video', 'audio'] as const;
export type MediaKind = (typeof mediaKinds)[number];

export const mediaView = z.object({
  id: z.string(),
  kind: z.enum(mediaKinds),
  source: z.enum(['upload', 'url']),
  /** the file name the user gave, for display only */
  name: z.string().nullable(),
  /** decided from the bytes, e.g. image/jpeg */
  contentType: z.string(),
  sizeBytes: z.number().int(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  durationSeconds: z.number().nullable(),
  /** short-lived signed URL of the file (expires at `urlExpiresAt`) */
  url: z.string(),
  /** short-lived signed URL of a small JPEG preview (images and videos) */
  previewUrl: z.string().nullable(),
  urlExpiresAt: z.string(),
  createdAt: z.string(),
});
export type MediaView = z.infer<typeof mediaView>;

export const mediaList = z.object({ items: z.array(mediaView), nextCursor: z.string().nullable() });
export type MediaList = z.infer<typeof mediaList>;

export const mediaListQuery = z.object({
  cursor: safeText().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(30),
  kind: z.enum(mediaKinds).optional(),
});

/** POST /api/uploads/url: import a reference from a public http(s) URL. */
export const importUrlInput = z.strictObject({
  url: withoutControlCharacters(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048)),
});

/** POST /api/uploads/from-creation: one of your finished creations (its video, or its poster image) as a reference. */
export const fromCreationInput = z.strictObject({
  generationId: safeText().min(1).max(100),
  as: z.enum(['video', 'image']).default('video'),
});
export type FromCreationInput = z.input<typeof fromCreationInput>;

/** GET /api/creations: the user's generations (not deleted), newest first. */
export const creationsQuery = z.object({
  cursor: safeText().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(24),
  status: z.enum(generationStatuses).optional(),
  model: safeText().max(100).optional(),
  /** ISO date or date-time: created at or after */
  from: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  /** ISO date or date-time: created before (a date means the end of that day) */
  to: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  /** words to find in the prompt */
  q: safeText().trim().max(200).optional(),
});
export const creationList = generationList;

/** POST /api/creations/delete */
export const deleteCreationsInput = z.strictObject({ ids: z.array(safeText().max(100)).min(1).max(100) });
export const deleteCreationsResult = z.object({ deleted: z.array(z.string()), notFound: z.array(z.string()) });
export type DeleteCreationsResult = z.infer<typeof deleteCreationsResult>;

/** 409 body of a delete that names creations still being made (nothing was deleted). */
export const creationInProgressBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), ids: z.array(z.string()).optional() }),
});
