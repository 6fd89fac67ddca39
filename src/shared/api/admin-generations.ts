import { z } from 'zod';
import { adminDateBound } from './admin-orders';
import { ledgerEntryView } from './credits';
import { failureCodes } from './generations';
import { safeText } from './text';

/**
 * The console's generations section (issue 18): look tasks up, see everything about one (its
 * routes and attempts, the callbacks it received, the credits it held), cancel it, or release the
 * credits of a task stuck past its deadline. Both actions are in the audit log.
 */

const emptyAsAbsent = (v: unknown) => (v === '' ? undefined : v);

export const adminGenerationStatuses = ['queued', 'submitting', 'running', 'finalizing', 'succeeded', 'failed', 'canceled', 'blocked', 'under_review'] as const;
export type AdminGenerationStatus = (typeof adminGenerationStatuses)[number];

/** Statuses a task leaves by itself (the others are final, or wait for a moderator: under review). */
export const activeGenerationStatuses = ['queued', 'submitting', 'running', 'finalizing'] as const satisfies readonly AdminGenerationStatus[];

export const ADMIN_GENERATION_REASON_MAX = 2000;

export const adminGenerationsQuery = z.object({
  /** one task by its id */
  id: z.preprocess(emptyAsAbsent, safeText().trim().max(100).optional()),
  /** the user's id or email (any letter case) */
  user: z.preprocess(emptyAsAbsent, safeText().trim().max(320).optional()),
  model: z.preprocess(emptyAsAbsent, safeText().trim().max(100).optional()),
  provider: z.preprocess(emptyAsAbsent, safeText().trim().max(40).optional()),
  status: z.preprocess(emptyAsAbsent, z.enum(adminGenerationStatuses).optional()),
  /** made at or after */
  from: z.preprocess(emptyAsAbsent, adminDateBound.optional()),
  /** made before (a day: up to the end of that day) */
  to: z.preprocess(emptyAsAbsent, adminDateBound.optional()),
  /** `1`: only tasks past their deadline that have not ended (which should never happen) */
  stuck: z.preprocess(emptyAsAbsent, z.enum(['1', '0', 'true', 'false']).optional()),
  /** the previous page's nextCursor */
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type AdminGenerationsQuery = z.infer<typeof adminGenerationsQuery>;

export const adminGenerationRow = z.object({
  id: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  deadlineAt: z.string(),
  status: z.enum(adminGenerationStatuses),
  model: z.string(),
  provider: z.string().nullable(),
  /** credits held at submit, captured on success */
  priceCredits: z.number().int(),
  failureCode: z.enum(failureCodes).nullable(),
  /** past its deadline and not ended: should never happen */
  stuck: z.boolean(),
  /** the first words of the prompt */
  promptStart: z.string(),
  user: z.object({ id: z.string(), email: z.string() }),
});
export type AdminGenerationRow = z.infer<typeof adminGenerationRow>;

export const adminGenerationList = z.object({ generations: z.array(adminGenerationRow), nextCursor: z.string().nullable() });
export type AdminGenerationList = z.infer<typeof adminGenerationList>;

export const adminGenerationIdParams = z.object({ id: z.string().min(1).max(100) });

/** A route the router tried before the one that accepted the task, and why it failed. */
export const adminRouteAttempt = z.object({
  provider: z.string(),
  upstreamModel: z.string(),
  failure: z.object({ kind: z.string(), message: z.string(), upstreamCode: z.string().nullable() }).nullable(),
});

export const adminGenerationCallback = z.object({
  id: z.number().int(),
  provider: z.string(),
  receivedAt: z.string(),
  /** what the callback said: queued, running, succeeded, failed, canceled, unknown */
  state: z.string().nullable(),
  /** what we did with it: applied, adopted (it named a task whose create answer was lost), ignored (nothing to change), error */
  outcome: z.string(),
  /** a short excerpt of the body (URLs without their query strings, secrets hidden) */
  detail: z.string().nullable(),
});
export type AdminGenerationCallback = z.infer<typeof adminGenerationCallback>;

export const adminGenerationFull = adminGenerationRow.extend({
  mode: z.string(),
  prompt: z.string(),
  negativePrompt: z.string().nullable(),
  durationSeconds: z.number(),
  resolution: z.string(),
  aspectRatio: z.string(),
  audio: z.boolean(),
  seed: z.number().int().nullable(),
  references: z.array(z.object({ kind: z.string(), role: z.string().nullable(), url: z.string().nullable(), mediaId: z.string().nullable() })),
  progress: z.number().int(),
  /** web, api, openai... */
  source: z.string(),
  apiKeyId: z.string().nullable(),
  remixedFrom: z.string().nullable(),
  upstreamModel: z.string().nullable(),
  upstreamId: z.string().nullable(),
  callbackKey: z.string().nullable(),
  /** the create call's answer was lost at this time: waiting for a callback to name the upstream task */
  outcomeUnknownSince: z.string().nullable(),
  routeAttempts: z.array(adminRouteAttempt),
  dispatchAttempts: z.number().int(),
  pollCount: z.number().int(),
  nextPollAt: z.string().nullable(),
  failureMessage: z.string().nullable(),
  /** the provider's own words, for operators only */
  failureDetail: z.string().nullable(),
  /** the held credits went back to the balance */
  refunded: z.boolean(),
  output: z
    .object({
      /** the console's link to the video (opens it; the page never loads it by itself) */
      videoUrl: z.string().nullable(),
      contentType: z.string().nullable(),
      durationSeconds: z.number().nullable(),
      width: z.number().int().nullable(),
      height: z.number().int().nullable(),
      codec: z.string().nullable(),
      sizeBytes: z.number().int().nullable(),
      sha256: z.string().nullable(),
    })
    .nullable(),
  deletedAt: z.string().nullable(),
  updatedAt: z.string(),
  startedAt: z.string().nullable(),
});
export type AdminGenerationFull = z.infer<typeof adminGenerationFull>;

export const adminGenerationDetail = z.object({
  generation: adminGenerationFull,
  user: z.object({ id: z.string(), email: z.string(), name: z.string(), status: z.string() }),
  /** the hold, and its capture or release */
  ledger: z.array(ledgerEntryView),
  callbacks: z.array(adminGenerationCallback),
  actions: z.object({
    /** queued, submitting or running: it can be canceled */
    cancel: z.boolean(),
    /** past its deadline and not ended: its credits can be released */
    release: z.boolean(),
  }),
});
export type AdminGenerationDetail = z.infer<typeof adminGenerationDetail>;

export const adminGenerationActionBody = z.strictObject({ reason: safeText().trim().min(3).max(ADMIN_GENERATION_REASON_MAX) });
export type AdminGenerationActionBody = z.infer<typeof adminGenerationActionBody>;

export const adminGenerationActionResult = z.object({
  generation: adminGenerationFull,
  /** whether the provider was told to stop (null: nothing was running upstream) */
  upstreamCanceled: z.boolean().nullable(),
});
export type AdminGenerationActionResult = z.infer<typeof adminGenerationActionResult>;
