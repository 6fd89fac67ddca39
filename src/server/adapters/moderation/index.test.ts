import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAiModeration, type FakeOpenAiModeration } from '../../../../tests/fakes/openai-moderation';
import { closeAll } from '../../../../tests/helpers/close';
import { createTextClassifiers } from './index';

describe('createTextClassifiers', () => {
  let fake: FakeOpenAiModeration;
  beforeAll(async () => {
    fake = await startFakeOpenAiModeration();
  });
  afterAll(() => closeAll(fake));

  it('has the built-in rules alone without an OpenAI key', () => {
    expect(createTextClassifiers().map((c) => c.name)).toEqual(['builtin-rules']);
    expect(createTextClassifiers({ openaiApiKey: '' }).map((c) => c.name)).toEqual(['builtin-rules']);
  });

  it('adds OpenAI after the rules when a key is set, pointed at the base URL given', async () => {
    const classifiers = createTextClassifiers({ openaiApiKey: fake.apiKey, openaiBaseUrl: fake.url });
    expect(classifiers.map((c) => c.name)).toEqual(['builtin-rules', 'openai']);
    const before = fake.requests.length;
    await classifiers[1]!.classifyText({ field: 'prompt', text: 'a lighthouse in a storm' });
    expect(fake.requests.length).toBe(before + 1);
  });

  it("applies the operator's list edits to the built-in rules", async () => {
    const [rules] = createTextClassifiers({ extraTerms: { sexual: { en: ['spicy clip'] } }, removedTerms: { sexual: { '*': ['nude'] } } });
    expect((await rules!.classifyText({ field: 'prompt', text: 'a spicy clip' })).scores).toEqual({ sexual: 1 });
    expect((await rules!.classifyText({ field: 'prompt', text: 'a nude' })).scores).toEqual({});
  });

  it('refuses malformed edits', () => {
    expect(() => createTextClassifiers({ extraTerms: { sexual: { en: ['a * b'] } } })).toThrow(/moderation rules/);
  });
});
