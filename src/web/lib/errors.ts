import type { TFunction } from 'i18next';
import { ApiError } from './api';

/**
 * What to tell the user about a failed request. The server's message is written for people, in
 * English: English visitors see it as is; other languages get our translation of the code when we
 * have one, else the server's message. Rate limits always say how long to wait.
 */
export function errorText(err: unknown, t: TFunction, language: string): string {
  if (!(err instanceof ApiError)) return t('errors.unexpected');
  if (err.code === 'network_error') return t('errors.network');
  if (err.status === 429) {
    const minutes = Math.max(1, Math.ceil((err.retryAfter ?? 60) / 60));
    return t('errors.rateLimited', { count: minutes });
  }
  const key = `errors.codes.${err.code}`;
  if (!language.startsWith('en')) {
    const translated = t(key as never, { defaultValue: '' }) as string;
    if (translated) return translated;
  }
  if (err.message) return err.message;
  const translated = t(key as never, { defaultValue: '' }) as string;
  return translated || t('errors.unexpected');
}

/** Which form field an error code belongs to, so it can be shown next to that field. */
export function fieldOf<F extends string>(err: unknown, fields: Partial<Record<string, F>>): F | undefined {
  return err instanceof ApiError ? fields[err.code] : undefined;
}
