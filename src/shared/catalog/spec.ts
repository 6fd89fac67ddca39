import type { GenerationMode, LifecycleState, ReferenceKind } from './vocabulary';

/**
 * What a video model accepts and costs: the part of the catalog that the server, the web app and
 * API users all need. Routes (which upstream serves a model) are server-only and live in
 * src/server/domain/catalog/catalog-data.ts.
 */

export interface ReferenceLimit {
  /** most references of this kind in one request */
  max: number;
  /** accepted content types (checked by content when the file is uploaded) */
  mimeTypes: string[];
  /** largest file in bytes */
  maxBytes: number;
  /** shortest / longest clip in seconds (video, audio) */
  minSeconds?: number;
  maxSeconds?: number;
}

/**
 * Price in credits: seconds x per-second rate of the resolution tier, plus extras, rounded up,
 * never below `minimum`.
 */
export interface PriceRule {
  /** credits per second of video, by resolution (every offered resolution has a rate) */
  perSecond: Record<string, number>;
  /** extra credits per second when the model generates audio on request */
  audioPerSecond?: number;
  /** extra credits per reference file (image, video or audio) */
  perReference?: number;
  /** the least one generation costs */
  minimum?: number;
}

export interface ModelLifecycle {
  state: LifecycleState;
  /** the model users should move to (deprecated or retired models) */
  replacement?: string;
  /** when the upstream stops (or stopped) serving it, YYYY-MM-DD */
  sunsetDate?: string;
  /** operator's note shown with the state */
  note?: string;
}

export interface ModelSpec {
  /** stable id, used by the API */
  id: string;
  /** product name, never translated */
  name: string;
  vendor: string;
  /** i18n key of a one-line description */
  summaryKey: string;
  modes: GenerationMode[];
  /** allowed lengths in seconds */
  durations: number[];
  defaultDuration: number;
  resolutions: string[];
  defaultResolution: string;
  aspectRatios: string[];
  defaultAspectRatio: string;
  /** `optional`: the user chooses; `always`: the model always makes sound; `never`: silent */
  audio: 'optional' | 'always' | 'never';
  defaultAudio: boolean;
  promptMaxLength: number;
  negativePrompt: boolean;
  seed: boolean;
  /** per-kind limits; a kind that is absent is not accepted */
  references: Partial<Record<ReferenceKind, ReferenceLimit>>;
  /** most reference files of all kinds together */
  maxReferences: number;
  price: PriceRule;
  lifecycle: ModelLifecycle;
  /** after this many seconds a task is reconciled and ended */
  deadlineSeconds: number;
}

export interface PriceInput {
  durationSeconds: number;
  resolution: string;
  audio: boolean;
  referenceCount: number;
}

export interface PriceQuote {
  credits: number;
  breakdown: { label: 'video' | 'audio' | 'references' | 'minimum'; credits: number }[];
}

/** The price of one generation under a rule. Pure, shared by the server (the charge) and the web (the preview). */
export function quotePrice(rule: PriceRule, spec: Pick<ModelSpec, 'audio'>, input: PriceInput): PriceQuote {
  const rate = rule.perSecond[input.resolution];
  if (rate === undefined) throw new Error(`no price for resolution ${input.resolution}`);
  const breakdown: PriceQuote['breakdown'] = [{ label: 'video', credits: input.durationSeconds * rate }];
  if (spec.audio === 'optional' && input.audio && rule.audioPerSecond) {
    breakdown.push({ label: 'audio', credits: input.durationSeconds * rule.audioPerSecond });
  }
  if (input.referenceCount > 0 && rule.perReference) {
    breakdown.push({ label: 'references', credits: input.referenceCount * rule.perReference });
  }
  let credits = Math.ceil(breakdown.reduce((sum, b) => sum + b.credits, 0));
  if (rule.minimum !== undefined && credits < rule.minimum) {
    breakdown.push({ label: 'minimum', credits: rule.minimum - credits });
    credits = rule.minimum;
  }
  return { credits, breakdown };
}
