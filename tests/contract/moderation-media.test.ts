import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../src/server/adapters/clock';
import { createBuiltinImageClassifier, nsfwClasses, resultFromProbabilities, SEXY_WEIGHT } from '../../src/server/adapters/moderation/builtin-image';
import { sampleFrames } from '../../src/server/adapters/moderation/frames';
import { ClassifierUnavailableError, moderationCategories, type ImageInput, type MediaClassifier } from '../../src/server/adapters/moderation/moderation';
import { createOpenAiModeration } from '../../src/server/adapters/moderation/openai';
import { startFakeOpenAiModeration, type FakeOpenAiModeration } from '../fakes/openai-moderation';
import { generatedImage, generatedVideo, reencodedImage, removeGeneratedImages } from './moderation-images';

/**
 * The MediaClassifier contract, run against every implementation in `cases` (each one adds itself
 * there with how to start it). Images are synthetic (ffmpeg test patterns, fractals, colours): what
 * can honestly be asserted on them is the shape of an answer, that harmless pictures score low, that
 * answers are stable, and that a broken file is a clear error. Whether explicit material scores high
 * needs explicit material, which this repository does not hold.
 */
interface MediaCase {
  name: string;
  /** the classifier, and whatever it needs (a fake server), ready to use */
  start(): Promise<{ classifier: MediaClassifier; stop(): Promise<void> }>;
  /** the categories this implementation judges on every image */
  categories: readonly (typeof moderationCategories)[number][];
  /** the score under which a harmless synthetic image must stay, per category */
  harmlessBelow: number;
}

const cases: MediaCase[] = [
  {
    name: 'builtin-image',
    start: async () => {
      const classifier = createBuiltinImageClassifier();
      return { classifier, stop: () => classifier.close() };
    },
    categories: ['sexual'],
    harmlessBelow: 0.2,
  },
  {
    // OpenAI's moderation API against its local fake (which scores what a test scripts, and a small baseline otherwise)
    name: 'openai',
    start: async () => {
      const fake = await startFakeOpenAiModeration();
      const classifier = createOpenAiModeration({ apiKey: fake.apiKey, baseUrl: fake.url, timeoutMs: 20_000 });
      return { classifier, stop: () => fake.close() };
    },
    // what omni-moderation judges on images; sexual/minors, hate and the rest are text only
    categories: ['sexual', 'self-harm', 'violence'],
    harmlessBelow: 0.2,
  },
];

let harmless: (ImageInput & { file: string })[] = [];
let corrupt: ImageInput;
// held for the whole file, so the default model loads once (seconds on a busy machine) for every test here
let builtin: ReturnType<typeof createBuiltinImageClassifier>;

beforeAll(async () => {
  builtin = createBuiltinImageClassifier();
  const pattern = await generatedImage('testsrc2=size=640x480', 'png');
  harmless = [
    pattern,
    await reencodedImage(pattern, 'jpg', { vf: 'scale=320:240', quality: 8 }),
    await reencodedImage(pattern, 'webp'),
    await generatedImage('mandelbrot=size=480x360', 'jpg'),
    await generatedImage('color=c=0x2050c0:size=256x256', 'png'),
    await generatedImage('color=c=0x20a040:size=300x200', 'jpg', { vf: "geq=r='X/W*255':g='Y/H*255':b=128" }),
  ];
  // a JPEG whose data stops after the header: a truncated upload
  corrupt = { bytes: harmless[1]!.bytes.slice(0, 200), mime: 'image/jpeg' };
});
afterAll(async () => {
  await builtin.close();
  await removeGeneratedImages();
});

describe.each(cases)('MediaClassifier contract: $name', (c) => {
  let classifier: MediaClassifier;
  let started: Awaited<ReturnType<MediaCase['start']>>;
  beforeAll(async () => {
    started = await c.start();
    classifier = started.classifier;
  });
  afterAll(() => started.stop());

  it('names itself in every result, with scores from 0 to 1 for the categories it judges and reasons a reviewer can read', async () => {
    const result = await classifier.classifyImage(harmless[0]!);
    expect(result.classifier).toBe(classifier.name);
    expect(Object.keys(result.scores).sort()).toEqual([...c.categories].sort());
    for (const [category, score] of Object.entries(result.scores)) {
      expect(moderationCategories).toContain(category);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
    expect(result.reasons.length).toBeGreaterThan(0);
    for (const reason of result.reasons) {
      expect(moderationCategories).toContain(reason.category);
      expect(reason.detail).toMatch(/\S/);
    }
  });

  it('scores harmless synthetic pictures (patterns, fractal, flat colour, gradient) low in PNG, JPEG and WebP', async () => {
    for (const image of harmless) {
      const result = await classifier.classifyImage(image);
      for (const category of c.categories) expect(result.scores[category], `${category} for ${image.mime}`).toBeLessThan(c.harmlessBelow);
    }
  });

  it('answers the same for the same image', async () => {
    const a = await classifier.classifyImage(harmless[3]!);
    const b = await classifier.classifyImage({ bytes: harmless[3]!.bytes.slice(), mime: harmless[3]!.mime });
    expect(b).toEqual(a);
  });

  it('says a file that is not a decodable image is unavailable, not retryable, and naming the problem', async () => {
    const err = await classifier.classifyImage(corrupt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClassifierUnavailableError);
    expect((err as ClassifierUnavailableError).classifier).toBe(classifier.name);
    expect((err as ClassifierUnavailableError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/decod|image|invalid/i);
  });

  it('does not start work for an already-aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('the upload was canceled'));
    await expect(classifier.classifyImage(harmless[0]!, controller.signal)).rejects.toThrow('the upload was canceled');
  });
});

describe('builtin-image: the on-device model', () => {
  const classifier = () => builtin;

  it('loads from node_modules with the network refused, once for all classifiers of a model, and stops it when the last one closes', async () => {
    const attempts: string[] = [];
    vi.stubGlobal('fetch', (input: unknown) => {
      attempts.push(String(input));
      throw new Error('no network in this test');
    });
    // a model no other test loads, so this is a fresh load from disk
    const a = createBuiltinImageClassifier({ model: 'MobileNetV2Mid' });
    const b = createBuiltinImageClassifier({ model: 'MobileNetV2Mid' });
    try {
      const info = await a.warm();
      // the worker refuses any network use and counts attempts: none were made
      expect(info).toMatchObject({ model: 'MobileNetV2Mid', backend: 'wasm', networkAttemptsBlocked: 0 });
      // the same load, not a second one
      expect(await b.warm()).toBe(info);
      await a.close();
      await expect(a.classifyImage(harmless[0]!)).rejects.toBeInstanceOf(ClassifierUnavailableError);
      // b still works on the shared model
      const result = await b.classifyImage(harmless[0]!);
      expect(result.scores.sexual).toBeLessThan(0.2);
      await b.close();
      // after the last close the model is gone: a new classifier loads it again
      const c = createBuiltinImageClassifier({ model: 'MobileNetV2Mid' });
      try {
        expect(await c.warm()).not.toBe(info);
      } finally {
        await c.close();
      }
      expect(attempts).toEqual([]);
    } finally {
      vi.unstubAllGlobals();
      await a.close();
      await b.close();
    }
  });

  it('gives up on a model that does not load in time, as retryable, and starts afresh on the next image', async () => {
    const clock = new FakeClock();
    // a classifier on its own clock has its own worker
    const slow = createBuiltinImageClassifier({ clock, loadTimeoutMs: 5_000 });
    try {
      const loading = slow.warm();
      await clock.waitForSleepers(1);
      await clock.advance(5_000);
      const err = await loading.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClassifierUnavailableError);
      expect(err).toMatchObject({ retryable: true, message: 'the model did not load within 5000 ms' });
      // the next call starts a new worker (it waits on a new timer)
      const again = slow.warm();
      await clock.waitForSleepers(1);
      expect(clock.pending).toBe(1);
      await slow.close();
      await expect(again).rejects.toBeInstanceOf(ClassifierUnavailableError);
    } finally {
      await slow.close();
    }
  });

  it('gives the five probabilities of the model, summing to 1, and maps them onto sexual = Porn + Hentai + ½ Sexy', async () => {
    const p = await classifier().probabilities(harmless[4]!);
    expect(Object.keys(p).sort()).toEqual([...nsfwClasses].sort());
    expect(Object.values(p).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    const result = await classifier().classifyImage(harmless[4]!);
    expect(result.scores.sexual).toBeCloseTo(p.Porn + p.Hentai + SEXY_WEIGHT * p.Sexy, 6);
    expect(result.reasons[0]!.detail).toMatch(/^nsfwjs MobileNetV2: (Drawing|Hentai|Neutral|Porn|Sexy) \d\.\d{3}, /);
  });

  it('maps explicit, suggestive and safe probabilities as documented, with no opinion on other categories', () => {
    const explicit = resultFromProbabilities({ Porn: 0.6, Hentai: 0.3, Sexy: 0.08, Drawing: 0.01, Neutral: 0.01 }, 'MobileNetV2');
    expect(explicit.scores.sexual).toBeCloseTo(0.94, 6);
    const suggestive = resultFromProbabilities({ Porn: 0, Hentai: 0, Sexy: 1, Drawing: 0, Neutral: 0 }, 'MobileNetV2');
    expect(suggestive.scores.sexual).toBe(0.5);
    const safe = resultFromProbabilities({ Porn: 0, Hentai: 0, Sexy: 0, Drawing: 0.5, Neutral: 0.5 }, 'MobileNetV2');
    expect(safe.scores).toEqual({ sexual: 0 });
    expect(explicit.reasons[0]!.detail).toBe('nsfwjs MobileNetV2: Porn 0.600, Hentai 0.300, Sexy 0.080, Drawing 0.010, Neutral 0.010');
  });

  it('refuses a video and points to frame sampling', async () => {
    const err = await classifier()
      .classifyImage({ bytes: new Uint8Array(16), mime: 'video/mp4' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClassifierUnavailableError);
    expect((err as Error).message).toMatch(/sample frames/);
  });

  it('classifies frames sampled from a video', async () => {
    const video = await generatedVideo('testsrc2=size=640x360:rate=24:duration=3');
    const frames = await sampleFrames(video, { count: 3, maxSide: 320 });
    expect(frames).toHaveLength(3);
    for (const frame of frames) expect((await classifier().classifyImage(frame)).scores.sexual).toBeLessThan(0.2);
  });
});

describe('openai: the remote classifier against its fake', () => {
  let fake: FakeOpenAiModeration;
  let classifier: MediaClassifier;
  beforeAll(async () => {
    fake = await startFakeOpenAiModeration();
    classifier = createOpenAiModeration({ apiKey: fake.apiKey, baseUrl: fake.url, timeoutMs: 20_000 });
  });
  afterAll(() => fake.close());

  it('sends the image itself, as a base64 data URL of its type (JPEG, PNG, WebP)', async () => {
    fake.reset();
    for (const image of harmless.slice(0, 3)) await classifier.classifyImage(image);
    const urls = fake.requests.map((r) => (r.json as { input: { image_url: { url: string } }[] }).input[0]!.image_url.url);
    expect(urls).toEqual(harmless.slice(0, 3).map((image) => `data:${image.mime};base64,${Buffer.from(image.bytes).toString('base64')}`));
  });

  it('scores an image OpenAI flags (here: scripted in the fake) at its score, with a reason', async () => {
    fake.flagImage(harmless[3]!.bytes, { sexual: 0.97, 'violence/graphic': 0.6 });
    const result = await classifier.classifyImage(harmless[3]!);
    expect(result.scores.sexual).toBe(0.97);
    expect(result.scores.violence).toBe(0.6);
    expect(result.reasons).toContainEqual({ category: 'sexual', detail: 'openai omni-moderation-latest: sexual 0.970 (flagged) on image' });
  });

  it('has no opinion on sexual/minors for an image (OpenAI judges it on text only): the category is absent, not 0', async () => {
    fake.flagImage(harmless[4]!.bytes, { sexual: 0.9, 'sexual/minors': 0.99 });
    const result = await classifier.classifyImage(harmless[4]!);
    expect(result.scores.sexual).toBe(0.9);
    expect('sexual/minors' in result.scores).toBe(false);
  });

  const outages = [
    { name: 'rate limited', failure: { kind: 'rate-limit', retryAfterSeconds: 5 }, retryable: true, status: 429, retryAfterMs: 5000 },
    { name: 'a server error', failure: { kind: 'http-error', status: 503 }, retryable: true, status: 503 },
    { name: 'a refused key', failure: { kind: 'auth' }, retryable: false, status: 401 },
  ] as const;
  it.each(outages)('$name: ClassifierUnavailableError, retryable: $retryable', async ({ failure, retryable, status, ...rest }) => {
    fake.inject(failure);
    const err = await classifier.classifyImage(harmless[0]!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClassifierUnavailableError);
    expect(err).toMatchObject({ classifier: 'openai', retryable, status, retryAfterMs: 'retryAfterMs' in rest ? rest.retryAfterMs : undefined });
  });

  it('no answer in time: retryable', async () => {
    const impatient = createOpenAiModeration({ apiKey: fake.apiKey, baseUrl: fake.url, timeoutMs: 300 });
    fake.inject({ kind: 'timeout' });
    const err = await impatient.classifyImage(harmless[0]!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClassifierUnavailableError);
    expect(err).toMatchObject({ retryable: true });
  });
});
