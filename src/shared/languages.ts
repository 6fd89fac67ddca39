/**
 * The languages Save Sora's UI and emails are offered in: one list for the server, the API
 * schemas and the web app. Adding one also needs its catalogues (src/web/i18n/locales,
 * src/server/mail/locales).
 */
export const supportedLanguages = ['en', 'es'] as const;
export type Language = (typeof supportedLanguages)[number];

export function isSupportedLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (supportedLanguages as readonly string[]).includes(value);
}

/** `es-MX` -> `es`; anything we do not offer -> `en`. */
export function normalizeLanguage(tag: unknown): Language {
  const base = typeof tag === 'string' ? tag.trim().toLowerCase().split(/[-_]/)[0] : '';
  return isSupportedLanguage(base) ? base : 'en';
}
