/**
 * The moderation ports (issue 16). Three kinds of classifier screen what passes through the service:
 *
 * - `TextClassifier`: prompts and negative prompts (built-in rules, OpenAI's moderation API);
 * - `MediaClassifier`: images, and frames sampled from videos (a built-in on-device model, OpenAI);
 * - `HashMatcher`: files against operator-imported lists of known-bad hashes (SHA-256, perceptual).
 *
 * Every classifier answers in the same vocabulary: a score from 0 to 1 for each category it has an
 * opinion on, plus the reasons a person reviewing the case can read. What to *do* with a score
 * (allow, flag for review, block) is the moderation service's rule, configured per category; an
 * adapter never decides.
 */

/** The categories every classifier maps its own labels onto. */
export const moderationCategories = [
  'sexual',
  /** child sexual abuse material: always blocked, and reported (NCMEC) once a moderator confirms it */
  'sexual/minors',
  /** non-consensual intimate imagery */
  'ncii',
  'violence',
  /** terrorism and violent extremism */
  'terrorism',
  'self-harm',
  'hate',
] as const;
export type ModerationCategory = (typeof moderationCategories)[number];

export type ModerationAction = 'allow' | 'flag' | 'block';

/** Scores from 0 (certainly not) to 1 (certainly), only for the categories the classifier judged. */
export type CategoryScores = Partial<Record<ModerationCategory, number>>;

/** Why a classifier scored what it did, for the reviewer (never shown to the user verbatim). */
export interface ModerationReason {
  category: ModerationCategory;
  /** e.g. `term "…" (es)`, `combination: minor + sexual`, `openai: sexual/minors 0.93`, `nsfwjs: Porn 0.97` */
  detail: string;
}

export interface ClassifierResult {
  /** the implementation's name, e.g. `builtin-rules`, `openai`, `builtin-image` */
  classifier: string;
  scores: CategoryScores;
  reasons: ModerationReason[];
}

export interface TextInput {
  /** which input this is, so a block can name it */
  field: 'prompt' | 'negative_prompt';
  text: string;
  /** BCP 47 language of the user, when known; rules for every language are applied regardless */
  language?: string;
}

export interface TextClassifier {
  readonly name: string;
  classifyText(input: TextInput, signal?: AbortSignal): Promise<ClassifierResult>;
}

/** An image as bytes. Video is classified as frames sampled from it (the pipeline samples them). */
export interface ImageInput {
  bytes: Uint8Array;
  /** `image/jpeg`, `image/png`, `image/webp` */
  mime: string;
}

export interface MediaClassifier {
  readonly name: string;
  classifyImage(image: ImageInput, signal?: AbortSignal): Promise<ClassifierResult>;
  /** releases models, sockets */
  close?(): Promise<void>;
}

export type HashKind = 'sha256' | 'pdq' | 'phash';

export interface HashMatch {
  /** the operator's name for the imported list */
  list: string;
  /** what the list is about (a CSAM list is `sexual/minors`) */
  category: ModerationCategory;
  kind: HashKind;
  /** the list's entry that matched, hex */
  hash: string;
  /** Hamming distance for perceptual hashes, 0 for exact ones */
  distance: number;
  /** the entry's label in the list, when it has one (e.g. the programme's id for it) */
  label?: string;
}

export interface HashMatcher {
  readonly name: string;
  /** hashes of the file, as stored with a case (so a later list can be checked against them) */
  hashesOf(image: ImageInput): Promise<Partial<Record<HashKind, string>>>;
  match(image: ImageInput): Promise<HashMatch[]>;
}

/** A classifier that could not answer (network, quota, a broken file): the pipeline decides whether to fail open or closed. */
export class ClassifierUnavailableError extends Error {
  /** the upstream's HTTP status, when it answered */
  readonly status?: number;
  /** how long the upstream asked us to wait (Retry-After), as information for whoever schedules the retry */
  readonly retryAfterMs?: number;
  constructor(
    readonly classifier: string,
    message: string,
    readonly retryable: boolean,
    opts: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ClassifierUnavailableError';
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}
