import type { ModerationCategory } from '../../adapters/moderation/moderation';

/**
 * What a user is told when screening refuses their input (422 `content_blocked`), in their
 * language (users.language; English otherwise). It names the input and the category in plain
 * words, never the matched term.
 */

export type BlockedInput = 'prompt' | 'negative_prompt' | 'reference';
type Lang = 'en' | 'es';

const categories: Record<Lang, Record<ModerationCategory, string>> = {
  en: {
    sexual: 'sexual content',
    'sexual/minors': 'sexual content involving minors',
    ncii: 'intimate imagery of a real person without their consent',
    violence: 'graphic violence',
    terrorism: 'terrorism or violent extremism',
    'self-harm': 'self-harm',
    hate: 'hateful content',
  },
  es: {
    sexual: 'contenido sexual',
    'sexual/minors': 'contenido sexual con menores',
    ncii: 'imágenes íntimas de una persona real sin su consentimiento',
    violence: 'violencia gráfica',
    terrorism: 'terrorismo o extremismo violento',
    'self-harm': 'autolesiones',
    hate: 'contenido de odio',
  },
};

const inputs: Record<Lang, Record<BlockedInput, string>> = {
  en: { prompt: 'Your prompt', negative_prompt: 'Your negative prompt', reference: 'This reference file' },
  es: { prompt: 'Tu prompt', negative_prompt: 'Tu prompt negativo', reference: 'Este archivo de referencia' },
};

const templates: Record<Lang, { field: string; message: string; several: string; unknown: string }> = {
  en: {
    field: '{input} was flagged for {category}.',
    message: '{input} was flagged for {category} and cannot be used. Nothing was charged. Change it and try again.',
    several: 'Your request was flagged ({list}) and cannot be used. Nothing was charged. Change it and try again.',
    unknown: 'content our rules do not allow',
  },
  es: {
    field: '{input} se marcó por {category}.',
    message: '{input} se marcó por {category} y no se puede usar. No se te cobró nada. Cámbialo y vuelve a intentarlo.',
    several: 'Tu solicitud se marcó ({list}) y no se puede usar. No se te cobró nada. Cámbiala y vuelve a intentarlo.',
    unknown: 'contenido que nuestras normas no permiten',
  },
};

const fill = (t: string, vars: Record<string, string>) => t.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '');

export const langOf = (language: string | null | undefined): Lang => (language?.toLowerCase().startsWith('es') ? 'es' : 'en');

export function categoryName(category: ModerationCategory | null, language?: string | null): string {
  const lang = langOf(language);
  return category ? categories[lang][category] : templates[lang].unknown;
}

/** The `error.fields` entry for one refused input. */
export function fieldMessage(input: BlockedInput, category: ModerationCategory | null, language?: string | null): string {
  const lang = langOf(language);
  return fill(templates[lang].field, { input: inputs[lang][input], category: categoryName(category, lang) });
}

/** The error's message: the input and the category, or every refused input when more than one. */
export function blockedMessage(blocked: readonly { input: BlockedInput; category: ModerationCategory | null }[], language?: string | null): string {
  const lang = langOf(language);
  const [first] = blocked;
  if (blocked.length === 1 && first) return fill(templates[lang].message, { input: inputs[lang][first.input], category: categoryName(first.category, lang) });
  const list = blocked.map((b) => `${inputs[lang][b.input].toLowerCase()}: ${categoryName(b.category, lang)}`).join('; ');
  return fill(templates[lang].several, { list });
}
