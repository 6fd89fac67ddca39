import type { TextClassifier } from './moderation';
import { createOpenAiModeration } from './openai';
import { createTextRulesClassifier, type TermOverrides } from './text-rules';

export * from './moderation';
export { normalizeForModeration } from './normalize';
export { createOpenAiModeration, OPENAI_MODERATION_NAME, type OpenAiModerationClassifier, type OpenAiModerationOptions } from './openai';
export { BUILTIN_RULES_NAME, createRuleMatcher, createTextRulesClassifier, type RuleHit, type TermOverrides, type TextRulesOptions } from './text-rules';

export interface TextClassifierOptions {
  /** OPENAI_MODERATION_API_KEY: with it, OpenAI's moderation API is asked too */
  openaiApiKey?: string;
  /** default https://api.openai.com */
  openaiBaseUrl?: string;
  /** per request (default 10 000 ms) */
  openaiTimeoutMs?: number;
  /** the operator's additions to the built-in lists, per list and language */
  extraTerms?: TermOverrides;
  /** the operator's removals from the built-in lists, per list and language (`*`: every language) */
  removedTerms?: TermOverrides;
}

/**
 * The text classifiers this server runs, in order: the built-in rules always (no network, never
 * unavailable), then OpenAI's moderation API when a key is set. Throws when the operator's list
 * edits are malformed, naming the entry.
 */
export function createTextClassifiers(options: TextClassifierOptions = {}): TextClassifier[] {
  const classifiers: TextClassifier[] = [
    createTextRulesClassifier({
      ...(options.extraTerms ? { extraTerms: options.extraTerms } : {}),
      ...(options.removedTerms ? { removedTerms: options.removedTerms } : {}),
    }),
  ];
  if (options.openaiApiKey) {
    classifiers.push(
      createOpenAiModeration({
        apiKey: options.openaiApiKey,
        ...(options.openaiBaseUrl ? { baseUrl: options.openaiBaseUrl } : {}),
        ...(options.openaiTimeoutMs ? { timeoutMs: options.openaiTimeoutMs } : {}),
      }),
    );
  }
  return classifiers;
}
