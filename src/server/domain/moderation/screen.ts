import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Logger } from 'pino';
import { createBuiltinImageClassifier } from '../../adapters/moderation/builtin-image';
import { ImageDecodeError } from '../../adapters/moderation/decode';
import { FrameSamplingError, sampleFrames } from '../../adapters/moderation/frames';
import { HashListMatcher } from '../../adapters/moderation/hash-matcher';
import { createOpenAiModeration, createTextClassifiers } from '../../adapters/moderation/index';
import {
  ClassifierUnavailableError,
  type ClassifierResult,
  type HashMatch,
  type ImageInput,
  type MediaClassifier,
  type ModerationCategory,
  type TextClassifier,
  type TextInput,
} from '../../adapters/moderation/moderation';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { listsVersion, listTermEdits, loadHashLists } from './lists.repo';
import { overridesOf } from './lists.service';
import { policyFromConfig, verdictOf, type ModerationPolicy, type Verdict } from './policy';

/**
 * Runs the classifiers over one input and applies the policy (policy.ts):
 * - text: the built-in rules (with the operator's term edits), then OpenAI's moderation API when
 *   OPENAI_MODERATION_API_KEY is set;
 * - images: the built-in image model when MODERATION_IMAGE_CLASSIFIER=builtin, OpenAI when
 *   configured, and the imported hash lists (SHA-256 of the bytes, PDQ of the picture);
 * - videos: MODERATION_VIDEO_FRAMES frames sampled through the video (frames.ts), each screened as
 *   an image, and the SHA-256 of the whole file against the lists.
 *
 * Failing open, on the remote classifier only: OpenAI unavailable is logged, and the built-in rules
 * and model have still run. The built-in model failing on a file (it does not decode) is not a
 * block either: logged, and the hash lists still judge its bytes.
 *
 * The lists (term edits, hash lists) are read from the database when first needed and again
 * whenever their fingerprint changes (listsVersion: one small query a screening), so an edit made
 * in another process applies here too; `reload()` applies one at once.
 */

export interface MediaVerdict extends Verdict {
  /** the file's hashes, kept with the evidence so later lists can be checked against them */
  hashes: { sha256?: string; pdq?: string };
}

export interface Screener {
  readonly policy: ModerationPolicy;
  text(input: TextInput): Promise<Verdict>;
  /** `alsoSha256`: more byte hashes of the same upload (the file as sent, before re-encoding) */
  image(image: ImageInput, opts?: { alsoSha256?: readonly string[] }): Promise<MediaVerdict>;
  /** a video file on this machine */
  video(file: string): Promise<MediaVerdict>;
  /** read the lists again now (after an edit in this process) */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export type ScreenerConfig = Pick<
  Config,
  | 'MODERATION_ACTIONS'
  | 'MODERATION_THRESHOLD'
  | 'MODERATION_IMAGE_THRESHOLD'
  | 'MODERATION_IMAGE_CLASSIFIER'
  | 'MODERATION_VIDEO_FRAMES'
  | 'OPENAI_MODERATION_API_KEY'
  | 'OPENAI_MODERATION_BASE_URL'
  | 'FFMPEG_PATH'
  | 'FFPROBE_PATH'
>;

export interface ScreenerDeps {
  database: Database;
  config: ScreenerConfig;
  logger: Logger;
  /** replaces the configured image classifiers (benchmarks) */
  mediaClassifiers?: MediaClassifier[];
}

/** the longest side of a sampled frame: what the image model (224 px) and PDQ (≤512 px) read */
const FRAME_MAX_SIDE = 512;

interface Loaded {
  version: string;
  text: TextClassifier[];
  /** one matcher per PDQ threshold in use (each list keeps its own) */
  matchers: HashListMatcher[];
}

export function createScreener(deps: ScreenerDeps): Screener {
  const { database, config, logger } = deps;
  const policy = policyFromConfig(config);
  const openai = config.OPENAI_MODERATION_API_KEY
    ? createOpenAiModeration({ apiKey: config.OPENAI_MODERATION_API_KEY, baseUrl: config.OPENAI_MODERATION_BASE_URL })
    : null;
  let builtinImage: MediaClassifier | null = null;
  const media = (): MediaClassifier[] => {
    if (deps.mediaClassifiers) return deps.mediaClassifiers;
    const out: MediaClassifier[] = [];
    if (config.MODERATION_IMAGE_CLASSIFIER === 'builtin') out.push((builtinImage ??= createBuiltinImageClassifier()));
    if (openai) out.push(openai);
    return out;
  };
  // the hasher: PDQ and SHA-256 do not depend on any list
  const hasher = new HashListMatcher();
  let loaded: Loaded | null = null;
  let loading: Promise<Loaded> | null = null;

  async function load(version: string): Promise<Loaded> {
    let text: TextClassifier[];
    try {
      text = createTextClassifiers(overridesOf(await listTermEdits(database)));
    } catch (err) {
      // an edit the rules refuse was saved by an older version: the built-in lists still apply
      logger.error({ err }, 'moderation: the saved term edits do not compile; screening with the built-in lists');
      text = createTextClassifiers();
    }
    if (openai) text.push(openai);
    const byThreshold = new Map<number, HashListMatcher>();
    for (const { list, entries } of await loadHashLists(database)) {
      if (!entries.length) continue;
      let matcher = byThreshold.get(list.pdqThreshold);
      if (!matcher) byThreshold.set(list.pdqThreshold, (matcher = new HashListMatcher({ pdqThreshold: list.pdqThreshold })));
      matcher.importList({
        name: list.name,
        category: list.category as ModerationCategory,
        format: 'csv',
        content: entries.map((e) => `${e.hash},${e.kind}${e.label ? `,"${e.label.replace(/"/g, '""')}"` : ''}`).join('\n'),
      });
    }
    return { version, text, matchers: [...byThreshold.values()] };
  }

  async function current(): Promise<Loaded> {
    const version = await listsVersion(database);
    if (loaded?.version === version) return loaded;
    loading ??= load(version).finally(() => {
      loading = null;
    });
    loaded = await loading;
    return loaded;
  }

  /** a remote classifier that could not answer, or a file the model could not read: logged, not a verdict */
  function skipped(err: unknown, what: string): null {
    if (err instanceof ClassifierUnavailableError || err instanceof ImageDecodeError) {
      logger.warn(
        { classifier: err instanceof ClassifierUnavailableError ? err.classifier : 'decode', err: err.message },
        `moderation: ${what} not classified`,
      );
      return null;
    }
    throw err;
  }

  async function classifyImage(image: ImageInput, l: Loaded, alsoSha256: readonly string[] = []) {
    const results: ClassifierResult[] = [];
    for (const c of media()) {
      const r = await c.classifyImage(image).catch((err: unknown) => skipped(err, `an image (${c.name})`));
      if (r) results.push(r);
    }
    let hashes: { sha256: string; pdq?: string; pdqQuality?: number };
    try {
      hashes = await hasher.hashesWithQuality(image);
    } catch (err) {
      skipped(err, 'an image (pdq)');
      hashes = { sha256: createHash('sha256').update(image.bytes).digest('hex') };
    }
    const matches: HashMatch[] = [];
    for (const m of l.matchers) {
      matches.push(...m.matchHashes(hashes));
      for (const sha256 of alsoSha256) matches.push(...m.matchHashes({ sha256 }));
    }
    return { results, matches: dedupe(matches), hashes };
  }

  return {
    policy,
    async text(input) {
      const l = await current();
      const results: ClassifierResult[] = [];
      for (const c of l.text) {
        const r = await c.classifyText(input).catch((err: unknown) => skipped(err, `the ${input.field} (${c.name})`));
        if (r) results.push(r);
      }
      return verdictOf(policy, results, [], { negative: input.field === 'negative_prompt' });
    },
    async image(image, opts = {}) {
      const l = await current();
      const { results, matches, hashes } = await classifyImage(image, l, opts.alsoSha256);
      return { ...verdictOf(policy, results, matches), hashes: { sha256: hashes.sha256, ...(hashes.pdq ? { pdq: hashes.pdq } : {}) } };
    },
    async video(file) {
      const l = await current();
      const sha256 = await fileSha256(file);
      const results: ClassifierResult[] = [];
      const matches: HashMatch[] = l.matchers.flatMap((m) => m.matchHashes({ sha256 }));
      let pdq: string | undefined;
      let frames: Awaited<ReturnType<typeof sampleFrames>> = [];
      try {
        frames = await sampleFrames(file, {
          count: config.MODERATION_VIDEO_FRAMES,
          maxSide: FRAME_MAX_SIDE,
          ...(config.FFMPEG_PATH ? { ffmpeg: config.FFMPEG_PATH } : {}),
          ...(config.FFPROBE_PATH ? { ffprobe: config.FFPROBE_PATH } : {}),
        });
      } catch (err) {
        // a video ffmpeg cannot read is no verdict: its bytes still meet the lists
        logger.warn(
          { err: err instanceof FrameSamplingError ? err.message : err },
          'moderation: no frames could be sampled from a video; its bytes were checked against the lists only',
        );
      }
      for (const frame of frames) {
        const one = await classifyImage(frame, l);
        results.push(...one.results);
        matches.push(...one.matches);
        pdq ??= one.hashes.pdq;
      }
      return { ...verdictOf(policy, results, dedupe(matches)), hashes: { sha256, ...(pdq ? { pdq } : {}) } };
    },
    async reload() {
      loaded = null;
      await current();
    },
    async close() {
      await builtinImage?.close?.();
      builtinImage = null;
    },
  };
}

function dedupe(matches: HashMatch[]): HashMatch[] {
  const seen = new Set<string>();
  return matches.filter((m) => {
    const key = `${m.list}|${m.kind}|${m.hash}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
