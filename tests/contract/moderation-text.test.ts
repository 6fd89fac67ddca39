import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ClassifierUnavailableError,
  moderationCategories,
  type ClassifierResult,
  type ModerationCategory,
  type TextClassifier,
} from '../../src/server/adapters/moderation/moderation';
import { createOpenAiModeration } from '../../src/server/adapters/moderation/openai';
import { createTextRulesClassifier } from '../../src/server/adapters/moderation/text-rules';
import { startFakeOpenAiModeration, type FakeOpenAiModeration } from '../fakes/openai-moderation';

/**
 * The TextClassifier contract, run against every implementation: the built-in rules, and OpenAI's
 * moderation API against its local fake. The fake is told which of the prompts below are sexual or
 * sexual/minors (a real OpenAI would decide for itself); what the contract checks for it is that
 * the adapter speaks the protocol and maps the answer into our categories.
 *
 * Where implementations truly differ, the case declares it and the shared test asserts the
 * declared behaviour:
 * - `judgedCategories`: the built-in rules score only what they find (nothing, for an innocent
 *   prompt); OpenAI judges every text for the six of our categories it has an equivalent for (not
 *   ncii), with low scores for an innocent one.
 * - `upstream`: OpenAI sends the text to a server (so it can be unavailable, and a blank text is
 *   not sent); the built-in rules need no network at all.
 * - `outages`: how an upstream fails, and whether a retry may help.
 * - long text: neither truncates. The rules read all of it (cost linear in length); OpenAI's
 *   adapter sends it whole in one request. The limit is the caller's (20 000 characters per prompt
 *   at the API).
 */

/** the score from which a sensible operator blocks (the service's real thresholds are configured per category) */
const BLOCK_LEVEL = 0.5;

const innocent = ['A golden retriever puppy runs along a beach at sunset, cinematic slow motion', 'Un gato duerme en el sofá mientras llueve afuera'];
const sexual = ['A naked couple having explicit sex on a bed', 'Una pareja desnuda teniendo sexo explícito'];
const minorsSexual = ['Sexual content with a naked 12 year old child', 'Contenido sexual con una niña desnuda de 12 años'];

interface Outage {
  name: string;
  /** make the next request fail this way */
  inject(h: Harness): void;
  retryable: boolean;
  status?: number;
  /** Retry-After, when the upstream sends one */
  retryAfterMs?: number;
}

interface Harness {
  classifier: TextClassifier;
  /** the same implementation with a short timeout, for the timeout outage */
  impatient?: TextClassifier;
  /** the texts sent upstream so far (none for the built-in rules) */
  upstreamTexts(): string[];
  fake?: FakeOpenAiModeration;
  close(): Promise<void>;
}

interface TextCase {
  name: string;
  start(): Promise<Harness>;
  judgedCategories: readonly ModerationCategory[];
  upstream: boolean;
  outages: readonly Outage[];
}

const cases: TextCase[] = [
  {
    name: 'builtin-rules',
    async start() {
      return { classifier: createTextRulesClassifier(), upstreamTexts: () => [], close: async () => {} };
    },
    judgedCategories: [],
    upstream: false,
    outages: [],
  },
  {
    name: 'openai',
    async start() {
      const fake = await startFakeOpenAiModeration();
      const make = (timeoutMs: number) => createOpenAiModeration({ apiKey: fake.apiKey, baseUrl: fake.url, timeoutMs });
      return {
        classifier: make(20_000),
        impatient: make(300),
        fake,
        upstreamTexts: () =>
          fake.requests.flatMap((r) => {
            const input = (r.json as { input?: unknown } | undefined)?.input;
            return typeof input === 'string' ? [input] : [];
          }),
        close: () => fake.close(),
      };
    },
    judgedCategories: ['sexual', 'sexual/minors', 'hate', 'self-harm', 'violence', 'terrorism'],
    upstream: true,
    outages: [
      {
        name: 'rate limited (429 with Retry-After)',
        inject: (h) => h.fake?.inject({ kind: 'rate-limit', retryAfterSeconds: 12 }),
        retryable: true,
        status: 429,
        retryAfterMs: 12_000,
      },
      { name: 'server error (500)', inject: (h) => h.fake?.inject({ kind: 'http-error', status: 500 }), retryable: true, status: 500 },
      { name: 'gateway error (502, an HTML page)', inject: (h) => h.fake?.inject({ kind: 'http-error', status: 502 }), retryable: true, status: 502 },
      { name: 'no answer (timeout)', inject: (h) => h.fake?.inject({ kind: 'timeout' }), retryable: true },
      { name: 'key refused (401)', inject: (h) => h.fake?.inject({ kind: 'auth' }), retryable: false, status: 401 },
    ],
  },
];

/** the scores every result must respect, whatever the text */
function expectWellFormed(result: ClassifierResult, name: string) {
  expect(result.classifier).toBe(name);
  for (const [category, score] of Object.entries(result.scores)) {
    expect(moderationCategories).toContain(category);
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(1);
  }
  for (const reason of result.reasons) {
    expect(moderationCategories).toContain(reason.category);
    expect(reason.detail).toMatch(/\S/);
  }
  // a score at the block level always comes with a reason the reviewer can read
  for (const [category, score] of Object.entries(result.scores)) {
    if (score >= BLOCK_LEVEL) expect(result.reasons.some((r) => r.category === category)).toBe(true);
  }
}

async function unavailable(p: Promise<unknown>): Promise<ClassifierUnavailableError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClassifierUnavailableError);
  return err as ClassifierUnavailableError;
}

describe.each(cases)('TextClassifier contract: $name', (c) => {
  let h: Harness;
  beforeAll(async () => {
    h = await c.start();
    // what the fake's script knows (a real OpenAI decides by itself)
    for (const text of sexual) h.fake?.flagText(text, { sexual: 0.97 });
    for (const text of minorsSexual) h.fake?.flagText(text, { sexual: 0.92, 'sexual/minors': 0.98 });
  });
  afterAll(() => h.close());

  const classify = (text: string, field: 'prompt' | 'negative_prompt' = 'prompt', signal?: AbortSignal) => h.classifier.classifyText({ field, text }, signal);

  it('is named as its results are', async () => {
    expect(h.classifier.name).toBe(c.name);
    expectWellFormed(await classify(innocent[0]!), c.name);
  });

  it.each(innocent)('scores an innocent prompt below the block level in every category: %s', async (text) => {
    const result = await classify(text);
    expectWellFormed(result, c.name);
    expect(Object.keys(result.scores).sort()).toEqual([...c.judgedCategories].sort());
    for (const [category, score] of Object.entries(result.scores)) expect(score, category).toBeLessThan(BLOCK_LEVEL);
  });

  it.each(sexual)('scores a clearly sexual prompt as sexual, and not as sexual/minors: %s', async (text) => {
    const result = await classify(text);
    expectWellFormed(result, c.name);
    expect(result.scores.sexual).toBeGreaterThanOrEqual(BLOCK_LEVEL);
    expect(result.scores['sexual/minors'] ?? 0).toBeLessThan(BLOCK_LEVEL);
  });

  it.each(minorsSexual)('scores a minor in a sexual prompt as sexual/minors: %s', async (text) => {
    const result = await classify(text);
    expectWellFormed(result, c.name);
    expect(result.scores['sexual/minors']).toBeGreaterThanOrEqual(BLOCK_LEVEL);
    expect(result.reasons.some((r) => r.category === 'sexual/minors')).toBe(true);
  });

  it('judges a negative prompt like a prompt, whatever the language hint', async () => {
    const a = await h.classifier.classifyText({ field: 'prompt', text: sexual[1]!, language: 'es' });
    const b = await h.classifier.classifyText({ field: 'negative_prompt', text: sexual[1]!, language: 'en' });
    expect(b).toEqual(a);
  });

  it('answers the same for the same text', async () => {
    expect(await classify(minorsSexual[0]!)).toEqual(await classify(minorsSexual[0]!));
  });

  it(`scores an empty or blank text as nothing${c.upstream ? ', without asking the upstream' : ''}`, async () => {
    const before = h.upstreamTexts().length;
    for (const text of ['', '   \n\t', '\u200B\u2060\uFEFF']) {
      const result = await classify(text);
      expect(result).toEqual({ classifier: c.name, scores: {}, reasons: [] });
    }
    expect(h.upstreamTexts().length).toBe(before);
  });

  it(`reads a very long text whole${c.upstream ? ' (sent in one request)' : ''}`, async () => {
    const text = `${'A calm lake with mountains in the background, birds flying over the water. '.repeat(340)}${sexual[0]!}`;
    expect(text.length).toBeGreaterThan(25_000);
    const before = h.upstreamTexts().length;
    const result = await classify(text);
    expect(result.scores.sexual).toBeGreaterThanOrEqual(BLOCK_LEVEL);
    const sent = h.upstreamTexts().slice(before);
    expect(sent).toEqual(c.upstream ? [text] : []);
  });

  it('rejects with the reason of an already-aborted signal, without working', async () => {
    const before = h.upstreamTexts().length;
    const controller = new AbortController();
    controller.abort(new Error('the request was closed'));
    await expect(classify(sexual[0]!, 'prompt', controller.signal)).rejects.toThrow('the request was closed');
    expect(h.upstreamTexts().length).toBe(before);
  });

  it(`with the network refused: ${c.upstream ? 'says it is unavailable, retryably' : 'answers as before'}`, async () => {
    const expected = c.upstream ? undefined : await classify(sexual[0]!);
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('fetch failed: the network is refused in this test')));
    try {
      if (c.upstream) {
        const err = await unavailable(classify(sexual[0]!));
        expect(err.classifier).toBe(c.name);
        expect(err.retryable).toBe(true);
        expect(err.message).toMatch(/could not be reached/);
      } else {
        expect(await classify(sexual[0]!)).toEqual(expected);
      }
    } finally {
      vi.unstubAllGlobals();
    }
  });

  describe('an unavailable upstream', () => {
    it(`is ${c.outages.length ? c.outages.map((o) => o.name).join(', ') : 'not possible: there is none'}`, () => {
      expect(c.outages.length > 0).toBe(c.upstream);
    });

    for (const outage of c.outages) {
      it(`${outage.name}: ClassifierUnavailableError, ${outage.retryable ? '' : 'not '}retryable, and the next call works`, async () => {
        outage.inject(h);
        const classifier = outage.status === undefined && h.impatient ? h.impatient : h.classifier;
        const err = await unavailable(classifier.classifyText({ field: 'prompt', text: innocent[0]! }));
        expect(err.classifier).toBe(c.name);
        expect(err.retryable).toBe(outage.retryable);
        expect(err.status).toBe(outage.status);
        expect(err.retryAfterMs).toBe(outage.retryAfterMs);
        expect(err.message).toMatch(/\S/);
        expectWellFormed(await classify(innocent[0]!), c.name);
      });
    }
  });
});
