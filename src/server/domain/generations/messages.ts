import type { ProviderErrorKind } from '../../adapters/providers/provider';
import type { FailureCode } from '../../../shared/api/generations';

/** What a failure means for the user (English for the API; the web app translates by code). */
export const failureMessages: Record<FailureCode, string> = {
  policy: 'The provider refused this request under its content policy.',
  invalid_input: 'The provider could not use this request.',
  generation_failed: 'The provider could not generate this video.',
  provider_unavailable: 'No provider could take this video right now.',
  deadline: 'The video took too long to generate.',
  lost: 'We lost contact with the provider while starting this video.',
  canceled: 'Canceled before it started.',
  content_removed: 'This video was removed after review because it breaks our content rules.',
};

export function failureMessage(code: FailureCode, refundedCredits: number | null): string {
  const base = failureMessages[code];
  if (refundedCredits === null) return base;
  return `${base} Your ${refundedCredits} credit${refundedCredits === 1 ? ' was' : 's were'} returned.`;
}

/** Upstream error kinds -> failure codes shown to users. */
export function failureCodeFor(kind: ProviderErrorKind): FailureCode {
  switch (kind) {
    case 'policy':
      return 'policy';
    case 'invalid_input':
      return 'invalid_input';
    case 'retryable':
    case 'auth_config':
      return 'provider_unavailable';
    case 'not_found':
    case 'generation_failed':
      return 'generation_failed';
  }
}
