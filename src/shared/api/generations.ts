import { z } from 'zod';
import { safeText } from './text';
import { generationModes, referenceKinds, referenceRoles } from '../catalog/vocabulary';

/** Generations (tasks): what the API answers and the studio shows. */

export const generationStatuses = ['queued', 'submitting', 'running', 'finalizing', 'succeeded', 'failed', 'canceled', 'blocked', 'under_review'] as const;
export type GenerationStatus = (typeof generationStatuses)[number];
export const finalStatuses: readonly GenerationStatus[] = ['succeeded', 'failed', 'canceled', 'blocked'];
export const isFinalStatus = (s: GenerationStatus) => finalStatuses.includes(s);

/**
 * Why a generation did not succeed. The API also gives an English `message`; the web app shows its
 * own translation of the code (`generation.failure.<code>`).
 */
export const failureCodes = [
  'policy', // the provider refused the prompt or a reference under its content policy
  'invalid_input', // the provider could not use the request (e.g. an unreachable reference)
  'generation_failed', // the provider tried and failed
  'provider_unavailable', // no provider could take the task
  'deadline', // it did not finish in time
  'lost', // we lost contact with the provider while creating the task
  'canceled', // canceled by the user before it started
  'content_removed', // a moderator removed the output after review (issue 16): charged, not refunded
] as const;
export type FailureCode = (typeof failureCodes)[number];

export const generationView = z.object({
  id: z.string(),
  model: z.string(),
  mode: z.enum(generationModes),
  prompt: z.string(),
  negativePrompt: z.string().nullable(),
  durationSeconds: z.number(),
  resolution: z.string(),
  aspectRatio: z.string(),
  audio: z.boolean(),
  seed: z.number().int().nullable(),
  references: z.array(z.object({ kind: z.enum(referenceKinds), role: z.enum(referenceRoles), url: z.string().optional(), mediaId: z.string().optional() })),
  status: z.enum(generationStatuses),
  /** 0-100 while it renders; 100 when it succeeded */
  progress: z.number().int().min(0).max(100),
  /** credits charged on success (held until then) */
  price: z.number().int(),
  failure: z
    .object({
      code: z.enum(failureCodes),
      message: z.string(),
      /** the held credits went back to the balance */
      refunded: z.boolean(),
    })
    .nullable(),
  output: z
    .object({
      /** plays or downloads it (add `?download=1`): answers with a redirect to a short-lived signed URL */
      videoUrl: z.string(),
      thumbnailUrl: z.string().nullable(),
      /** a few seconds, small and silent, for hover previews */
      previewUrl: z.string().nullable(),
      durationSeconds: z.number().nullable(),
      width: z.number().int().nullable(),
      height: z.number().int().nullable(),
      codec: z.string().nullable(),
      sizeBytes: z.number().int().nullable(),
      /** sha256 of the stored file */
      sha256: z.string().nullable(),
    })
    .nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** it ends (and is refunded) by then at the latest */
  deadlineAt: z.string(),
});
export type GenerationView = z.infer<typeof generationView>;

export const generationList = z.object({
  items: z.array(generationView),
  /** pass as `cursor` for the next (older) page; null on the last page */
  nextCursor: z.string().nullable(),
});
export type GenerationList = z.infer<typeof generationList>;

export const generationListQuery = z.object({
  cursor: safeText().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  status: z.enum(generationStatuses).optional(),
  model: safeText().max(100).optional(),
});

/** 402 body: not enough credits for this generation. */
export const insufficientCreditsBody = z.object({
  error: z.object({
    code: z.literal('insufficient_credits'),
    message: z.string(),
    balance: z.number().int(),
    price: z.number().int(),
  }),
});
