import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { isSupportedLanguage, supportedLanguages, type Language } from '../../shared/languages';
import { browserLanguages } from '../lib/navigator';
import en from './locales/en.json';

/**
 * Translations. One JSON catalogue per language in ./locales (`<code>.json`, namespace
 * "translation"). English is bundled as the fallback; every other language is split into its
 * own chunk by Vite and loaded only when chosen. To add a language: add `locales/<code>.json`,
 * add the code to `supportedLanguages` (src/shared/languages.ts) and its name under `language.names`
 * in every catalogue.
 */
export { isSupportedLanguage, supportedLanguages, type Language };
export const fallbackLanguage: Language = 'en';
export const LANGUAGE_STORAGE_KEY = 'savesora.lang';
export const defaultNS = 'translation';

type Catalogue = typeof en;

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    resources: { translation: Catalogue };
  }
}

// Lazy chunks for every catalogue except the bundled fallback.
const lazyCatalogues = import.meta.glob<Catalogue>(['./locales/*.json', '!./locales/en.json'], { import: 'default' });

function readStoredLanguage(): string | null {
  try {
    return localStorage.getItem(LANGUAGE_STORAGE_KEY);
  } catch {
    return null; // storage can be disabled (privacy modes); fall through to the browser's choice
  }
}

/** The stored choice, else the first browser language we support, else English. */
export function detectLanguage(): Language {
  const stored = readStoredLanguage();
  if (isSupportedLanguage(stored)) return stored;
  const preferred = typeof navigator === 'undefined' ? [] : browserLanguages();
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    if (isSupportedLanguage(base)) return base;
  }
  return fallbackLanguage;
}

async function ensureCatalogue(lng: Language): Promise<void> {
  if (i18n.hasResourceBundle(lng, defaultNS)) return;
  const load = lazyCatalogues[`./locales/${lng}.json`];
  if (!load) throw new Error(`No catalogue for language "${lng}"`);
  i18n.addResourceBundle(lng, defaultNS, await load(), true, true);
}

/** Switch the UI language, loading its catalogue first, and remember the choice. */
export async function changeLanguage(lng: Language): Promise<void> {
  await ensureCatalogue(lng);
  await i18n.changeLanguage(lng);
  try {
    localStorage.setItem(LANGUAGE_STORAGE_KEY, lng);
  } catch {
    /* not persisted; the choice still applies to this visit */
  }
}

function syncDocumentLanguage(lng: string) {
  if (typeof document === 'undefined') return;
  document.documentElement.lang = lng;
  document.documentElement.dir = i18n.dir(lng);
}

i18n.on('languageChanged', syncDocumentLanguage);

/** Initialise i18next; resolves once the detected language's catalogue is in place. */
export async function initI18n(): Promise<typeof i18n> {
  const lng = detectLanguage();
  await i18n.use(initReactI18next).init({
    resources: { en: { translation: en } },
    partialBundledLanguages: true,
    lng: fallbackLanguage,
    fallbackLng: fallbackLanguage,
    supportedLngs: [...supportedLanguages],
    defaultNS,
    ns: [defaultNS],
    initAsync: false,
    interpolation: { escapeValue: false }, // React escapes already
    returnNull: false,
    showSupportNotice: false, // keep the console clean
  });
  syncDocumentLanguage(fallbackLanguage);
  if (lng !== fallbackLanguage) {
    try {
      await ensureCatalogue(lng);
      await i18n.changeLanguage(lng);
    } catch {
      /* stay in English if a catalogue cannot load */
    }
  }
  return i18n;
}

export { i18n };
