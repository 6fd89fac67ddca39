import { clip, parseJsonLoose, retryAfterMs } from '../../lib/upstream-text';
import { systemClock, type Clock } from '../clock';
import {
  ClassifierUnavailableError,
  type CategoryScores,
  type ClassifierResult,
  type ImageInput,
  type MediaClassifier,
  type ModerationCategory,
  type ModerationReason,
  type TextClassifier,
  type TextInput,
} from './moderation';

/**
 * OpenAI's moderation API as a remote classifier (docs/provider-apis.md §8 in the shared docs):
 * `POST {baseUrl}/v1/moderations` with `Authorization: Bearer <key>` and `{model, input}`. Text
 * goes as a string; an image as a one-part multi-modal input with a base64 `data:` URL (nothing is
 * fetched by OpenAI from us). The model defaults to `omni-moderation-latest`, the only family that
 * takes images. Free of charge; rate-limited per account.
 *
 * Categories, OpenAI's -> ours (the highest score wins when several map onto one of ours):
 * - sexual -> sexual; sexual/minors -> sexual/minors (OpenAI judges it on text only: on an image
 *   it is not judged, and our result leaves it out rather than reporting a meaningless 0);
 * - hate, hate/threatening -> hate;
 * - self-harm, self-harm/intent, self-harm/instructions -> self-harm;
 * - violence, violence/graphic -> violence; harassment/threatening (a threat to hurt someone) ->
 *   violence as well;
 * - illicit/violent (planning violent wrongdoing, getting weapons, making bombs) -> terrorism: it is
 *   the nearest OpenAI has to violent extremism. It also scores weapon-buying advice that is not
 *   extremism, so an operator may want a higher threshold for terrorism than for the rest. Plain
 *   violence is *not* counted as terrorism (a fight scene is not extremism).
 * - no equivalent, left out of our scores: harassment (insults at a person), illicit (non-violent
 *   wrongdoing). And we get nothing for ncii: OpenAI has no category for intimate imagery shown
 *   without consent; that comes from the built-in rules and from reviewers.
 * Only categories OpenAI says it applied to the input (`category_applied_input_types`) are
 * reported, so every score in our result is an opinion, not a default.
 *
 * Errors are ClassifierUnavailableError: retryable for network failures, timeouts, 408, 409, 429
 * and 5xx; not for 400 (a malformed or undecodable image), 401 (bad key), 403 (region), 404. A
 * `Retry-After` (or OpenAI's `retry-after-ms`) is reported as `retryAfterMs`, for the queue to
 * use; the adapter itself never waits. An empty text (nothing but spaces or invisible characters)
 * is not sent: it scores nothing. A long text is sent whole: the limit is the caller's (prompts are
 * at most 20 000 characters at the API).
 *
 * Requests go out with the global fetch, not lib/safe-post.ts: that helper is for URLs users give
 * us (it resolves and pins addresses against SSRF and keeps only the first KB of the answer, with
 * no headers), whereas this base URL is the operator's configuration and the answer is read whole.
 */
export const OPENAI_MODERATION_NAME = 'openai';

export const openAiModerationCategories = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;
export type OpenAiModerationCategory = (typeof openAiModerationCategories)[number];

/** Which of our categories each OpenAI category counts towards (null: none). */
export const openAiCategoryMap: Readonly<Record<OpenAiModerationCategory, ModerationCategory | null>> = {
  harassment: null,
  'harassment/threatening': 'violence',
  hate: 'hate',
  'hate/threatening': 'hate',
  illicit: null,
  'illicit/violent': 'terrorism',
  'self-harm': 'self-harm',
  'self-harm/intent': 'self-harm',
  'self-harm/instructions': 'self-harm',
  sexual: 'sexual',
  'sexual/minors': 'sexual/minors',
  violence: 'violence',
  'violence/graphic': 'violence',
};

/** The categories the omni models judge on images (the SDK's types); the others are text only. */
export const openAiImageCategories: readonly OpenAiModerationCategory[] = [
  'self-harm',
  'self-harm/intent',
  'self-harm/instructions',
  'sexual',
  'violence',
  'violence/graphic',
];

export interface OpenAiModerationOptions {
  apiKey: string;
  /** default https://api.openai.com (a trailing /v1 is accepted) */
  baseUrl?: string;
  /** default omni-moderation-latest; a text-moderation-* model refuses images */
  model?: string;
  /** per request, ms (default 10 000) */
  timeoutMs?: number;
  /** to turn a Retry-After date into a delay (default the system clock) */
  clock?: Pick<Clock, 'nowMs'>;
}

export type OpenAiModerationClassifier = TextClassifier & MediaClassifier;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCategory = (v: string): v is OpenAiModerationCategory => (openAiModerationCategories as readonly string[]).includes(v);

/** Nothing a model could read: spaces and invisible characters only. */
const BLANK = /^[\s\p{Default_Ignorable_Code_Point}\p{Cf}]*$/u;
const IMAGE_MIMES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

/** Retry-After in ms: OpenAI's own `retry-after-ms` when present, else the standard `Retry-After`. */
export function openAiRetryAfterMs(headers: Headers, nowMs: number): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  return retryAfterMs(headers.get('retry-after'), nowMs);
}

export interface OpenAiResult {
  flagged: boolean;
  categories: Obj;
  scores: Partial<Record<OpenAiModerationCategory, number>>;
  applied?: Partial<Record<OpenAiModerationCategory, string[]>>;
}

function parseResults(data: unknown): OpenAiResult[] | undefined {
  if (!isObj(data) || !Array.isArray(data.results) || data.results.length === 0) return undefined;
  const out: OpenAiResult[] = [];
  for (const r of data.results) {
    if (!isObj(r) || !isObj(r.category_scores)) return undefined;
    const scores: OpenAiResult['scores'] = {};
    for (const [k, v] of Object.entries(r.category_scores)) {
      if (isCategory(k) && typeof v === 'number' && Number.isFinite(v)) scores[k] = Math.min(1, Math.max(0, v));
    }
    let applied: OpenAiResult['applied'];
    if (isObj(r.category_applied_input_types)) {
      applied = {};
      for (const [k, v] of Object.entries(r.category_applied_input_types)) {
        if (isCategory(k) && Array.isArray(v)) applied[k] = v.filter((x): x is string => typeof x === 'string');
      }
    }
    out.push({ flagged: r.flagged === true, categories: isObj(r.categories) ? r.categories : {}, scores, ...(applied ? { applied } : {}) });
  }
  return out;
}

/** OpenAI's answer in our vocabulary (exported for tests). */
export function resultFromOpenAi(results: readonly OpenAiResult[], kind: 'text' | 'image', model: string): ClassifierResult {
  // per category of ours: the highest OpenAI score, and which OpenAI category gave it
  const best = new Map<ModerationCategory, { from: OpenAiModerationCategory; score: number; flagged: boolean; types: string[] }>();
  for (const r of results) {
    for (const category of openAiModerationCategories) {
      const ours = openAiCategoryMap[category];
      const score = r.scores[category];
      if (!ours || score === undefined) continue;
      const types = r.applied?.[category] ?? (kind === 'image' && !openAiImageCategories.includes(category) ? [] : [kind]);
      if (types.length === 0) continue; // not judged on this input
      const current = best.get(ours);
      if (!current || score > current.score) best.set(ours, { from: category, score, flagged: r.categories[category] === true, types });
    }
  }
  const scores: CategoryScores = {};
  const reasons: ModerationReason[] = [];
  for (const [category, b] of best) {
    scores[category] = b.score;
    reasons.push({ category, detail: `openai ${model}: ${b.from} ${b.score.toFixed(3)}${b.flagged ? ' (flagged)' : ''} on ${b.types.join('+')}` });
  }
  return { classifier: OPENAI_MODERATION_NAME, scores, reasons };
}

export function createOpenAiModeration(opts: OpenAiModerationOptions): OpenAiModerationClassifier {
  const base = (opts.baseUrl ?? 'https://api.openai.com').replace(/\/+$/, '').replace(/\/v1$/, '');
  const url = `${base}/v1/moderations`;
  const model = opts.model ?? 'omni-moderation-latest';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const clock = opts.clock ?? systemClock;
  const unavailable = (message: string, retryable: boolean, extra: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) =>
    new ClassifierUnavailableError(OPENAI_MODERATION_NAME, `openai moderation: ${message}`, retryable, extra);

  async function moderate(input: unknown, signal: AbortSignal | undefined): Promise<OpenAiResult[]> {
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ model, input }),
        signal: both,
      });
      text = await res.text();
    } catch (err) {
      // the caller gave up: its reason, not ours
      signal?.throwIfAborted();
      if (timeout.aborted) throw unavailable(`no answer within ${timeoutMs} ms`, true, { cause: err });
      throw unavailable(`could not be reached (${(err as Error).message})`, true, { cause: err });
    }
    const data = parseJsonLoose(text);
    if (!res.ok) {
      const message = isObj(data) && isObj(data.error) ? clip(data.error.message) : clip(text);
      const wait = openAiRetryAfterMs(res.headers, clock.nowMs());
      const retryable = res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500;
      const after = wait === undefined ? '' : ` (retry after ${Math.ceil(wait / 1000)} s)`;
      throw unavailable(`HTTP ${res.status}: ${message || res.statusText}${after}`, retryable, {
        status: res.status,
        ...(wait === undefined ? {} : { retryAfterMs: wait }),
      });
    }
    const results = parseResults(data);
    if (!results) throw unavailable(`answered HTTP ${res.status} without results (${clip(text, 120)})`, true, { status: res.status });
    return results;
  }

  return {
    name: OPENAI_MODERATION_NAME,
    async classifyText(input: TextInput, signal?: AbortSignal) {
      signal?.throwIfAborted();
      if (BLANK.test(input.text)) return { classifier: OPENAI_MODERATION_NAME, scores: {}, reasons: [] };
      return resultFromOpenAi(await moderate(input.text, signal), 'text', model);
    },
    async classifyImage(image: ImageInput, signal?: AbortSignal) {
      signal?.throwIfAborted();
      if (!IMAGE_MIMES.includes(image.mime)) {
        throw unavailable(`takes images (${IMAGE_MIMES.join(', ')}), not ${image.mime}: sample frames from a video`, false);
      }
      if (!model.startsWith('omni-')) throw unavailable(`the model ${model} takes no images (use an omni-moderation model)`, false);
      const dataUrl = `data:${image.mime};base64,${Buffer.from(image.bytes).toString('base64')}`;
      return resultFromOpenAi(await moderate([{ type: 'image_url', image_url: { url: dataUrl } }], signal), 'image', model);
    },
    async close() {
      // nothing held: fetch's connections close when idle
    },
  };
}
