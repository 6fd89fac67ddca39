import { normalizeLanguage, supportedLanguages, type Language } from '../../shared/languages';
import { en, type MailCatalogue } from './locales/en';
import { es } from './locales/es';

/**
 * Transactional mail: one function turns a template name, a locale and the template's variables
 * into a subject, a plain-text body and an HTML body. All words come from the catalogues in
 * ./locales; every variable is HTML-escaped in the HTML body, and links must be http(s).
 */

/** Mail goes out in every UI language: the Record type below makes a missing catalogue a compile error. */
export const supportedMailLocales = supportedLanguages;
export type MailLocale = Language;

export const mailCatalogues: Readonly<Record<MailLocale, MailCatalogue>> = { en, es };

/** The variables of each template. `renderEmail<'verify-email'>(…)` checks them. */
export interface MailTemplateVars {
  'verify-email': { name: string; url: string };
  'reset-password': { name: string; url: string; expiresInMinutes: number };
  'password-changed': { name: string; when: Date; supportEmail: string };
  'new-sign-in': { name: string; when: Date; device: string; browser: string; region: string; ip: string };
  /** sent to the OLD address */
  'email-changed': { name: string; oldEmail: string; newEmail: string; when: Date; supportEmail: string };
  /** someone tried to create an account with an address that already has one */
  'signup-existing': { name: string; signInUrl: string; resetUrl: string };
  /** an order was paid: what was bought, the credits added, the receipt */
  'order-confirmation': { name: string; planName: string; credits: number; amount: string; receiptNumber: string; when: Date; receiptUrl: string };
}
export type MailTemplateName = keyof MailTemplateVars;
export const mailTemplateNames = [
  'verify-email',
  'reset-password',
  'password-changed',
  'new-sign-in',
  'email-changed',
  'signup-existing',
  'order-confirmation',
] as const satisfies readonly MailTemplateName[];

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export const PRODUCT_NAME = 'Save Sora';

/** `es-MX` → `es`; anything unknown → `en`. */
export const resolveMailLocale = (locale: string | null | undefined): MailLocale => normalizeLanguage(locale);

/** What a template says, before it is laid out as text and HTML (every string is plain text). */
interface Content {
  subject: string;
  preheader: string;
  heading: string;
  greeting: string;
  paragraphs: string[];
  details?: Array<[label: string, value: string]>;
  button?: { label: string; url: string };
  after: string[];
}

interface Helpers {
  /** fills `{placeholders}`; an unknown placeholder is a bug in the catalogue and throws */
  t: (template: string, values?: Record<string, string | number>) => string;
  date: (when: Date) => string;
}

type Builders = { [N in MailTemplateName]: (c: MailCatalogue, v: MailTemplateVars[N], h: Helpers) => Omit<Content, 'greeting'> };

const builders: Builders = {
  'verify-email': (c, v, { t }) => ({
    subject: t(c['verify-email'].subject),
    preheader: t(c['verify-email'].preheader),
    heading: t(c['verify-email'].heading),
    paragraphs: [t(c['verify-email'].intro)],
    button: { label: t(c['verify-email'].button), url: httpUrl(v.url, 'verify-email') },
    after: [t(c['verify-email'].outro)],
  }),
  'reset-password': (c, v, { t }) => {
    const minutes = positiveInteger(v.expiresInMinutes, 'reset-password', 'expiresInMinutes');
    const s = c['reset-password'];
    return {
      subject: t(s.subject),
      preheader: t(s.preheader, { minutes }),
      heading: t(s.heading),
      paragraphs: [t(s.intro), t(s.expiry, { minutes })],
      button: { label: t(s.button), url: httpUrl(v.url, 'reset-password') },
      after: [t(s.outro)],
    };
  },
  'password-changed': (c, v, { t, date }) => {
    const s = c['password-changed'];
    return {
      subject: t(s.subject),
      preheader: t(s.preheader),
      heading: t(s.heading),
      paragraphs: [t(s.intro, { when: date(v.when) }), t(s.ok)],
      after: [t(s.notYou, { supportEmail: text(v.supportEmail, 'password-changed', 'supportEmail') })],
    };
  },
  'new-sign-in': (c, v, { t, date }) => {
    const s = c['new-sign-in'];
    const device = text(v.device, 'new-sign-in', 'device', true);
    return {
      subject: t(s.subject),
      preheader: t(s.preheader),
      heading: t(s.heading),
      paragraphs: [t(s.intro)],
      details: [
        [t(s.when), date(v.when)],
        [t(s.device), (c.devices as Record<string, string>)[device] ?? (device || '—')],
        [t(s.browser), text(v.browser, 'new-sign-in', 'browser', true) || '—'],
        [t(s.region), text(v.region, 'new-sign-in', 'region', true) || '—'],
        [t(s.ip), text(v.ip, 'new-sign-in', 'ip', true) || '—'],
      ],
      after: [t(s.ok), t(s.notYou)],
    };
  },
  'email-changed': (c, v, { t, date }) => {
    const s = c['email-changed'];
    const newEmail = text(v.newEmail, 'email-changed', 'newEmail');
    return {
      subject: t(s.subject),
      preheader: t(s.preheader),
      heading: t(s.heading),
      paragraphs: [t(s.intro, { when: date(v.when), oldEmail: text(v.oldEmail, 'email-changed', 'oldEmail'), newEmail }), t(s.info, { newEmail })],
      after: [t(s.notYou, { supportEmail: text(v.supportEmail, 'email-changed', 'supportEmail') })],
    };
  },
  'signup-existing': (c, v, { t }) => {
    const s = c['signup-existing'];
    return {
      subject: t(s.subject),
      preheader: t(s.preheader),
      heading: t(s.heading),
      paragraphs: [t(s.intro), t(s.signIn)],
      button: { label: t(s.button), url: httpUrl(v.signInUrl, 'signup-existing') },
      after: [t(s.forgot, { resetUrl: httpUrl(v.resetUrl, 'signup-existing') }), t(s.notYou)],
    };
  },
  'order-confirmation': (c, v, { t, date }) => {
    const s = c['order-confirmation'];
    const credits = positiveInteger(v.credits, 'order-confirmation', 'credits');
    const planName = text(v.planName, 'order-confirmation', 'planName');
    return {
      subject: t(s.subject),
      preheader: t(s.preheader, { credits }),
      heading: t(s.heading),
      paragraphs: [t(s.intro, { credits, planName })],
      details: [
        [t(s.receipt), text(v.receiptNumber, 'order-confirmation', 'receiptNumber')],
        [t(s.when), date(v.when)],
        [t(s.plan), planName],
        [t(s.amount), text(v.amount, 'order-confirmation', 'amount')],
      ],
      button: { label: t(s.button), url: httpUrl(v.receiptUrl, 'order-confirmation') },
      after: [t(s.outro)],
    };
  },
};

/**
 * Renders a mail in the given locale (`es-MX` uses `es`, an unknown one `en`). Dates are written
 * in UTC, e.g. "March 5, 2025 at 2:30 PM UTC". Throws on an unknown template, a link that is not
 * http(s), or a missing variable.
 */
export function renderEmail<N extends MailTemplateName>(name: N, locale: string, vars: MailTemplateVars[N]): RenderedEmail {
  const build = builders[name] as ((c: MailCatalogue, v: MailTemplateVars[N], h: Helpers) => Omit<Content, 'greeting'>) | undefined;
  if (!Object.hasOwn(builders, name) || !build) throw new Error(`Unknown mail template ${JSON.stringify(name)}.`);
  // vars may come from a queued job's JSON, not from typed code
  const given: unknown = vars;
  if (!given || typeof given !== 'object') throw new Error(`Mail template ${name} needs its variables.`);
  const lang = resolveMailLocale(locale);
  const catalogue = mailCatalogues[lang];
  const dateLocale = dateLocaleFor(locale, lang);
  const dateFormat = new Intl.DateTimeFormat(dateLocale, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });
  const helpers: Helpers = {
    t: (template, values = {}) => interpolate(template, values, name),
    date: (when) => {
      if (!(when instanceof Date) || Number.isNaN(when.getTime())) throw new Error(`Mail template ${name} needs a valid date in "when".`);
      return `${dateFormat.format(when)} UTC`;
    },
  };
  const who = typeof vars.name === 'string' ? vars.name.trim() : '';
  const content: Content = {
    ...build(catalogue, vars, helpers),
    greeting: who ? interpolate(catalogue.common.greeting, { name: who }, name) : catalogue.common.greetingNoName,
  };
  return { subject: content.subject, text: renderText(content, catalogue), html: renderHtml(content, catalogue, lang) };
}

// --- layout ----------------------------------------------------------------------------------

function renderText(c: Content, cat: MailCatalogue): string {
  const blocks: string[] = [c.greeting, ...c.paragraphs];
  if (c.details?.length) blocks.push(c.details.map(([label, value]) => `${label}: ${value}`).join('\n'));
  if (c.button) blocks.push(`${c.button.label}:\n${c.button.url}`);
  blocks.push(...c.after, cat.common.signature, cat.common.footer);
  return `${blocks.join('\n\n')}\n`;
}

const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";
const P = 'margin:0 0 16px 0;';

function renderHtml(c: Content, cat: MailCatalogue, lang: MailLocale): string {
  const p = (s: string) => `<p style="${P}">${escapeHtml(s)}</p>`;
  const details = c.details?.length
    ? `<table cellpadding="0" cellspacing="0" border="0" style="margin:0 0 16px 0;border-collapse:collapse;width:100%;font-size:15px;">${c.details
        .map(
          ([label, value]) =>
            `<tr><th scope="row" align="left" style="padding:6px 12px 6px 0;color:#52525b;font-weight:600;vertical-align:top;white-space:nowrap;">${escapeHtml(label)}</th><td style="padding:6px 0;color:#18181b;word-break:break-word;">${escapeHtml(value)}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const button = c.button
    ? `<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 24px 0;"><tr><td align="center" bgcolor="#4338ca" style="border-radius:8px;background-color:#4338ca;"><a href="${escapeHtml(c.button.url)}" target="_blank" rel="noopener" style="display:inline-block;padding:14px 28px;font-family:${FONT};font-size:16px;font-weight:700;line-height:1.2;color:#ffffff;text-decoration:none;border-radius:8px;">${escapeHtml(c.button.label)}</a></td></tr></table>` +
      `<p style="margin:0 0 16px 0;font-size:14px;color:#52525b;">${escapeHtml(cat.common.linkHint)}<br><a href="${escapeHtml(c.button.url)}" target="_blank" rel="noopener" style="color:#4338ca;word-break:break-all;">${escapeHtml(c.button.url)}</a></p>`
    : '';
  return `<!doctype html>
<html lang="${lang}" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(c.subject)}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f5;">
<div style="display:none;max-height:0;overflow:hidden;">${escapeHtml(c.preheader)}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f5;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background-color:#ffffff;border-radius:12px;">
<tr><td style="padding:28px 32px 0 32px;font-family:${FONT};font-size:18px;font-weight:800;letter-spacing:-0.01em;color:#4338ca;">${PRODUCT_NAME}</td></tr>
<tr><td style="padding:12px 32px 16px 32px;font-family:${FONT};font-size:16px;line-height:1.5;color:#27272a;">
<h1 style="margin:0 0 16px 0;font-size:24px;line-height:1.25;font-weight:700;color:#18181b;">${escapeHtml(c.heading)}</h1>
${[p(c.greeting), ...c.paragraphs.map(p), details, button, ...c.after.map(p), p(cat.common.signature)].filter(Boolean).join('\n')}
</td></tr>
</table>
<p style="max-width:560px;margin:16px auto 0 auto;font-family:${FONT};font-size:12px;line-height:1.5;color:#52525b;">${escapeHtml(cat.common.footer)}</p>
</td></tr>
</table>
</body>
</html>
`;
}

// --- helpers ---------------------------------------------------------------------------------

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function interpolate(template: string, values: Record<string, string | number>, name: string): string {
  return template.replace(/\{(\w+)\}/g, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`Mail template ${name}: no value for {${key}}.`);
    return String(value);
  });
}

function httpUrl(value: unknown, template: string): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new Error(`Mail template ${template}: "url" must be an absolute http(s) URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`Mail template ${template}: "url" must be an http(s) URL, not ${url.protocol}.`);
  }
  return String(value).trim();
}

function text(value: unknown, template: string, key: string, optional = false): string {
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number') return String(value);
  if (optional && (value === null || value === undefined)) return '';
  throw new Error(`Mail template ${template} needs "${key}" as text.`);
}

function positiveInteger(value: unknown, template: string, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new Error(`Mail template ${template} needs "${key}" as a positive whole number.`);
  return value;
}

/** The caller's own tag (es-MX) for date formats when it is valid and of the same language. */
function dateLocaleFor(requested: string, lang: MailLocale): string {
  try {
    const [tag] = Intl.DateTimeFormat.supportedLocalesOf(requested);
    if (tag && resolveMailLocale(tag) === lang) return tag;
  } catch {
    // not a valid BCP 47 tag
  }
  return lang;
}
