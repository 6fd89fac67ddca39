import { z } from 'zod';
import { generationModes, lifecycleStates, referenceKinds } from '../catalog/vocabulary';

/** GET /api/models: the catalog as the web app and API users need it. */

const referenceLimit = z.object({
  max: z.number().int(),
  mimeTypes: z.array(z.string()),
  maxBytes: z.number().int(),
  minSeconds: z.number().optional(),
  maxSeconds: z.number().optional(),
});

export const priceRuleSchema = z.object({
  perSecond: z.record(z.string(), z.number()).describe('credits per second of video, by resolution'),
  audioPerSecond: z.number().optional().describe('extra credits per second when audio is requested'),
  perReference: z.number().optional().describe('extra credits per reference file'),
  minimum: z.number().optional().describe('the least one generation costs'),
});

export const modelView = z.object({
  id: z.string(),
  name: z.string(),
  vendor: z.string(),
  summaryKey: z.string().describe('i18n key of a one-line description'),
  modes: z.array(z.enum(generationModes)),
  durations: z.array(z.number()),
  defaultDuration: z.number(),
  resolutions: z.array(z.string()),
  defaultResolution: z.string(),
  aspectRatios: z.array(z.string()),
  defaultAspectRatio: z.string(),
  audio: z.enum(['optional', 'always', 'never']),
  defaultAudio: z.boolean(),
  promptMaxLength: z.number().int(),
  negativePrompt: z.boolean(),
  seed: z.boolean(),
  references: z.partialRecord(z.enum(referenceKinds), referenceLimit),
  maxReferences: z.number().int(),
  price: priceRuleSchema,
  lifecycle: z.object({
    state: z.enum(lifecycleStates),
    replacement: z.string().optional(),
    sunsetDate: z.string().optional(),
    note: z.string().optional(),
  }),
  available: z.boolean().describe('false when the model is turned off, retired, or no provider for it is configured'),
  unavailableReason: z.enum(['disabled', 'retired', 'no_provider']).optional(),
  deadlineSeconds: z.number().int().describe('a generation that has not finished by then is ended and refunded'),
});
export type ModelView = z.infer<typeof modelView>;

export const modelsResponse = z.object({ models: z.array(modelView) });

export const quoteResponse = z.object({
  model: z.string(),
  credits: z.number().int().describe('what the generation would cost'),
  breakdown: z.array(z.object({ label: z.enum(['video', 'audio', 'references', 'minimum']), credits: z.number() })),
  request: z
    .object({
      mode: z.enum(generationModes),
      durationSeconds: z.number(),
      resolution: z.string(),
      aspectRatio: z.string(),
      audio: z.boolean(),
    })
    .describe('the request with every default filled in'),
});
