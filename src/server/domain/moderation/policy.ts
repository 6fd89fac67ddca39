import {
  moderationCategories,
  type CategoryScores,
  type ClassifierResult,
  type HashMatch,
  type ModerationAction,
  type ModerationCategory,
  type ModerationReason,
} from '../../adapters/moderation/moderation';
import { BUILTIN_IMAGE_NAME } from '../../adapters/moderation/builtin-image';

/**
 * The moderation policy (issue 16): what a classifier's scores mean for the request. Classifiers
 * only score (0-1 per category); this decides, with the operator's MODERATION_ACTIONS and
 * MODERATION_THRESHOLD:
 *
 * - a category whose score reaches the threshold takes its configured action (allow, flag for
 *   review, block); under the threshold it is allowed. `sexual/minors` is always block;
 * - an input's action is the strongest over its categories and every classifier that judged it;
 * - a hash-list match counts as its list's category at score 1;
 * - a negative prompt's action is lowered one step (block -> flag, flag -> allow): it lists what
 *   the user wants kept out ("no nudity, no children" asks for neither).
 */

export const defaultActions: Readonly<Record<ModerationCategory, ModerationAction>> = {
  'sexual/minors': 'block',
  sexual: 'block',
  ncii: 'block',
  terrorism: 'block',
  violence: 'flag',
  'self-harm': 'flag',
  hate: 'flag',
};

export interface ModerationPolicy {
  actions: Readonly<Record<ModerationCategory, ModerationAction>>;
  /** 0.01-1: a score at or above it triggers the category's action */
  threshold: number;
  /**
   * per classifier, the score from which its opinion counts at all (MODERATION_IMAGE_THRESHOLD for
   * the on-device image model, which gives harmless abstract frames up to 0.62; ADR 16)
   */
  classifierThresholds?: Readonly<Record<string, number>>;
}

const rank: Record<ModerationAction, number> = { allow: 0, flag: 1, block: 2 };
export const strongest = (a: ModerationAction, b: ModerationAction): ModerationAction => (rank[b] > rank[a] ? b : a);
export const lowerOneStep = (a: ModerationAction): ModerationAction => (a === 'block' ? 'flag' : 'allow');

/**
 * MODERATION_ACTIONS (`sexual=flag, violence=block`) over the defaults. An unknown category or
 * action throws, naming it (the config schema checks the shape; this checks the names).
 */
export function parseModerationActions(raw: string | undefined): Record<ModerationCategory, ModerationAction> {
  const actions: Record<ModerationCategory, ModerationAction> = { ...defaultActions };
  if (!raw?.trim()) return actions;
  for (const part of raw.split(',')) {
    const [name = '', value = ''] = part.split('=').map((s) => s.trim());
    if (!(moderationCategories as readonly string[]).includes(name)) {
      throw new Error(`MODERATION_ACTIONS names an unknown category "${name}"; the categories are ${moderationCategories.join(', ')}`);
    }
    if (value !== 'allow' && value !== 'flag' && value !== 'block') throw new Error(`MODERATION_ACTIONS: ${name} must be allow, flag or block, not "${value}"`);
    actions[name as ModerationCategory] = value;
  }
  // CSAM is never merely flagged or allowed, whatever the operator wrote
  actions['sexual/minors'] = 'block';
  return actions;
}

export function policyFromConfig(config: {
  MODERATION_ACTIONS?: string | undefined;
  MODERATION_THRESHOLD: number;
  MODERATION_IMAGE_THRESHOLD: number;
}): ModerationPolicy {
  return {
    actions: parseModerationActions(config.MODERATION_ACTIONS),
    threshold: config.MODERATION_THRESHOLD,
    classifierThresholds: { [BUILTIN_IMAGE_NAME]: config.MODERATION_IMAGE_THRESHOLD },
  };
}

/** The decision about one input, with what it rests on (kept as the case's evidence of classification). */
export interface Verdict {
  action: ModerationAction;
  /** the highest score over categories that triggered an action (sexual/minors: 1); 0 when allowed */
  severity: number;
  /** the category of that score, null when allowed */
  topCategory: ModerationCategory | null;
  /** every category that reached the threshold, with its action */
  triggered: { category: ModerationCategory; score: number; action: ModerationAction }[];
  /** the highest score per category over all classifiers and matches */
  scores: CategoryScores;
  results: ClassifierResult[];
  matches: HashMatch[];
}

/** What the policy makes of the classifiers' results and the hash matches for one input. */
export function verdictOf(
  policy: ModerationPolicy,
  results: readonly ClassifierResult[],
  matches: readonly HashMatch[],
  opts: { negative?: boolean } = {},
): Verdict {
  const scores: CategoryScores = {};
  const raise = (category: ModerationCategory, score: number) => {
    if (!(score <= 1)) score = 1;
    scores[category] = Math.max(scores[category] ?? 0, score);
  };
  for (const r of results) {
    const floor = policy.classifierThresholds?.[r.classifier] ?? 0;
    for (const [category, score] of Object.entries(r.scores) as [ModerationCategory, number][]) if (score >= floor) raise(category, score);
  }
  for (const m of matches) raise(m.category, 1);
  const triggered: Verdict['triggered'] = [];
  for (const category of moderationCategories) {
    const score = scores[category];
    if (score === undefined || score < policy.threshold) continue;
    let action = category === 'sexual/minors' ? 'block' : policy.actions[category];
    if (opts.negative) action = lowerOneStep(action);
    if (action !== 'allow') triggered.push({ category, score, action });
  }
  const severityOf = (t: Verdict['triggered'][number]) => (t.category === 'sexual/minors' ? 1 : t.score);
  let action: ModerationAction = 'allow';
  let top: Verdict['triggered'][number] | null = null;
  for (const t of triggered) {
    action = strongest(action, t.action);
    if (!top || severityOf(t) > severityOf(top) || (severityOf(t) === severityOf(top) && rank[t.action] > rank[top.action])) top = t;
  }
  const severity = top ? severityOf(top) : 0;
  return { action, severity, topCategory: top?.category ?? null, triggered, scores, results: [...results], matches: [...matches] };
}

/** The reviewer's reasons of a verdict: every classifier's, and one per hash match. */
export function reasonsOf(verdict: Verdict): ModerationReason[] {
  return [
    ...verdict.results.flatMap((r) => r.reasons),
    ...verdict.matches.map((m) => ({
      category: m.category,
      detail: `hash list "${m.list}": ${m.kind} ${m.hash}${m.distance ? ` at distance ${m.distance}` : ''}${m.label ? ` (${m.label})` : ''}`,
    })),
  ];
}
