import { describe, expect, it } from 'vitest';
import type { ClassifierResult } from '../../adapters/moderation/moderation';
import { parseModerationActions, policyFromConfig, verdictOf } from './policy';

const policy = policyFromConfig({ MODERATION_ACTIONS: undefined, MODERATION_THRESHOLD: 0.5, MODERATION_IMAGE_THRESHOLD: 0.9 });
const result = (classifier: string, scores: ClassifierResult['scores']): ClassifierResult => ({ classifier, scores, reasons: [] });

describe('moderation policy', () => {
  it('reads MODERATION_ACTIONS over the defaults; sexual/minors stays block whatever is written', () => {
    const actions = parseModerationActions('violence=block, sexual=flag, sexual/minors=allow');
    expect(actions).toMatchObject({ violence: 'block', sexual: 'flag', 'sexual/minors': 'block', hate: 'flag', terrorism: 'block' });
    expect(() => parseModerationActions('gore=block')).toThrow(/unknown category "gore"/);
  });

  it('takes the strongest action over categories, from the threshold up', () => {
    expect(verdictOf(policy, [result('builtin-rules', { violence: 0.49 })], []).action).toBe('allow');
    const v = verdictOf(policy, [result('builtin-rules', { violence: 0.7 }), result('openai', { sexual: 0.6 })], []);
    expect(v).toMatchObject({ action: 'block', topCategory: 'violence', severity: 0.7 });
    expect(v.triggered.map((t) => [t.category, t.action])).toEqual([
      ['sexual', 'block'],
      ['violence', 'flag'],
    ]);
  });

  it('counts a hash match as a score of 1 for its list, and sexual/minors as the most severe', () => {
    const v = verdictOf(
      policy,
      [result('openai', { violence: 0.95 })],
      [{ list: 'csam', category: 'sexual/minors', kind: 'sha256', hash: 'a'.repeat(64), distance: 0 }],
    );
    expect(v).toMatchObject({ action: 'block', topCategory: 'sexual/minors', severity: 1 });
  });

  it('lowers a negative prompt one step: block to flag, flag to allow', () => {
    expect(verdictOf(policy, [result('builtin-rules', { sexual: 1 })], [], { negative: true }).action).toBe('flag');
    expect(verdictOf(policy, [result('builtin-rules', { hate: 1 })], [], { negative: true }).action).toBe('allow');
  });

  it('ignores the on-device image model under MODERATION_IMAGE_THRESHOLD (it gives abstract frames up to 0.62)', () => {
    expect(verdictOf(policy, [result('builtin-image', { sexual: 0.62 })], [])).toMatchObject({ action: 'allow', scores: {} });
    expect(verdictOf(policy, [result('builtin-image', { sexual: 0.93 })], [])).toMatchObject({ action: 'block', topCategory: 'sexual' });
    // other classifiers keep the general threshold
    expect(verdictOf(policy, [result('openai', { sexual: 0.62 })], []).action).toBe('block');
  });
});
