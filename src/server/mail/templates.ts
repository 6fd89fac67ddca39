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
  /** a data export is ready: the link to our download route (works until `expiresAt`) and the archive's size, written for the reader */
  'export-ready': { name: string; url: string; expiresAt: Date; size: string; supportEmail: string };
  /** the account will be deleted on `when` (or now, `immediate`): what goes, what stays (orders for `orderYears` years), how to cancel */
  'account-deletion-scheduled': { name: string; when: Date; immediate: boolean; accountUrl: string; orderYears: number; supportEmail: string };
  /** the scheduled deletion of the account was canceled on `when` */
  'account-deletion-canceled': { name: string; when: Date; supportEmail: string };
  /** the receipt of a privacy request (privacy policy 5, 6, 12): its reference and the date we answer by; never the sender's own text */
  'privacy-request-received': { name: string; reference: string; kind: string; createdAt: Date; dueAt: Date; supportEmail: string };
  /** a new privacy request, to SUPPORT_EMAIL: who wrote, about what, by when, and a link to it */
  'privacy-request-notice': { name: string; reference: string; kind: string; email: string; subjectEmail: string; message: string; dueAt: Date; url: string };
  /** a material change to a legal document (privacy policy 11), mailed to every account; the texts in the recipient's language */
  'policy-change': { name: string; documentTitle: string; version: string; summary: string; url: string };
  /** a change of ownership (privacy policy 4.5), mailed to every account; `effectiveDate` is YYYY-MM-DD, `message` the operator's own words */
  'business-transfer': { name: string; newOwner: string; effectiveDate: string; message: string; url?: string | null; accountUrl: string };
  /** a product update, only to accounts that opted in; always carries the one-click unsubscribe link (RFC 8058) */
  'product-update': { name: string; title: string; body: string; url?: string | null; buttonLabel?: string | null; unsubscribeUrl: string };
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
  'export-ready',
  'account-deletion-scheduled',
  'account-deletion-canceled',
  'privacy-request-received',
  'privacy-request-notice',
  'policy-change',
  'business-transfer',
  'product-update',
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
  /** a second heading under the first (an operator's own title) */
  subheading?: string;
  greeting: string;
  paragraphs: string[];
  details?: Array<[label: string, value: string]>;
  button?: { label: string; url: string };
  after: string[];
  /** why this mail came and how to stop it, above the footer (product updates: the unsubscribe link) */
  footerNote?: { text: string; linkLabel: string; url: string };
}

interface Helpers {
  /** fills `{placeholders}`; an unknown placeholder is a bug in the catalogue and throws */
  t: (template: string, values?: Record<string, string | number>) => string;
  date: (when: Date) => string;
  /** a calendar day (YYYY-MM-DD) in the locale's long format, e.g. "March 5, 2025" */
  day: (isoDay: string) => string;
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
  'policy-change': (c, v, { t }) => {
    const s = c['policy-change'];
    const document = text(v.documentTitle, 'policy-change', 'documentTitle');
    return {
      subject: t(s.subject, { document }),
      preheader: t(s.preheader),
      heading: t(s.heading, { document }),
      paragraphs: [
        t(s.intro, { document, version: text(v.version, 'policy-change', 'version') }),
        t(s.changed, { summary: text(v.summary, 'policy-change', 'summary') }),
        t(s.read),
      ],
      button: { label: t(s.button, { document }), url: httpUrl(v.url, 'policy-change') },
      after: [t(s.notice)],
    };
  },
  'business-transfer': (c, v, { t, day }) => {
    const s = c['business-transfer'];
    const newOwner = text(v.newOwner, 'business-transfer', 'newOwner');
    const date = day(text(v.effectiveDate, 'business-transfer', 'effectiveDate'));
    const more = v.url === undefined || v.url === null || v.url === '' ? [] : [t(s.more, { url: httpUrl(v.url, 'business-transfer') })];
    return {
      subject: t(s.subject),
      preheader: t(s.preheader),
      heading: t(s.heading),
      paragraphs: [t(s.intro, { date, newOwner }), ...paragraphsOf(text(v.message, 'business-transfer', 'message'))],
      details: [
        [t(s.newOwner), newOwner],
        [t(s.date), date],
      ],
      button: { label: t(s.button), url: httpUrl(v.accountUrl, 'business-transfer') },
      after: [...more, t(s.choices), t(s.notice)],
    };
  },
  'product-update': (c, v, { t }) => {
    const s = c['product-update'];
    const title = text(v.title, 'product-update', 'title');
    const label = text(v.buttonLabel, 'product-update', 'buttonLabel', true);
    const hasButton = v.url !== undefined && v.url !== null && v.url !== '';
    return {
      subject: t(s.subject, { title }),
      preheader: t(s.preheader),
      heading: t(s.heading),
      subheading: title,
      paragraphs: paragraphsOf(text(v.body, 'product-update', 'body')),
      ...(hasButton ? { button: { label: label || title, url: httpUrl(v.url, 'product-update') } } : {}),
      after: [],
      footerNote: { text: t(s.why), linkLabel: t(s.unsubscribe), url: httpUrl(v.unsubscribeUrl, 'product-update') },
    };
  },
  'privacy-request-received': (c, v, { t, date }) => {
    const s = c['privacy-request-received'];
    const reference = text(v.reference, 'privacy-request-received', 'reference');
    const due = date(v.dueAt);
    const supportEmail = text(v.supportEmail, 'privacy-request-received', 'supportEmail');
    return {
      subject: t(s.subject),
      preheader: t(s.preheader, { reference, due }),
      heading: t(s.heading),
      paragraphs: [t(s.intro, { due }), t(s.verify)],
      details: [
        [t(s.reference), reference],
        [t(s.kind), kindLabel(s.kinds, v.kind, 'privacy-request-received')],
        [t(s.received), date(v.createdAt)],
        [t(s.due), due],
      ],
      after: [t(s.keep, { reference, supportEmail }), t(s.notYou, { supportEmail })],
    };
  },
  'privacy-request-notice': (c, v, { t, date }) => {
    const s = c['privacy-request-notice'];
    const reference = text(v.reference, 'privacy-request-notice', 'reference');
    const kind = kindLabel(c['privacy-request-received'].kinds, v.kind, 'privacy-request-notice');
    const due = date(v.dueAt);
    const subjectEmail = text(v.subjectEmail, 'privacy-request-notice', 'subjectEmail', true);
    return {
      subject: t(s.subject),
      preheader: t(s.preheader, { kind, due }),
      heading: t(s.heading),
      paragraphs: [t(s.intro, { due }), t(s.message), ...text(v.message, 'privacy-request-notice', 'message').split(/\n\s*\n/)],
      details: [
        [t(s.reference), reference],
        [t(s.kind), kind],
        [t(s.from), text(v.email, 'privacy-request-notice', 'email')],
        ...(subjectEmail ? ([[t(s.about), subjectEmail]] as Array<[string, string]>) : []),
        [t(s.due), due],
      ],
      button: { label: t(s.button), url: httpUrl(v.url, 'privacy-request-notice') },
      after: [t(s.outro)],
    };
  },
  'account-deletion-scheduled': (c, v, { t, date }) => {
    const s = c['account-deletion-scheduled'];
    const when = date(v.when);
    const years = positiveInteger(v.orderYears, 'account-deletion-scheduled', 'orderYears');
    const supportEmail = text(v.supportEmail, 'account-deletion-scheduled', 'supportEmail');
    // vars may come from JSON: only a real `true` means at once
    const later = !((v.immediate as unknown) === true);
    return {
      subject: t(s.subject),
      preheader: later ? t(s.preheaderLater, { when }) : t(s.preheaderNow),
      heading: t(s.heading),
      paragraphs: [later ? t(s.introLater, { when }) : t(s.introNow), t(s.goes), t(s.stays, { years }), t(s.subscriptions), t(s.signedOut)],
      ...(later ? { button: { label: t(s.button), url: httpUrl(v.accountUrl, 'account-deletion-scheduled') } } : {}),
      after: later ? [t(s.cancel, { when }), t(s.notYouLater, { supportEmail })] : [t(s.notYouNow, { supportEmail })],
    };
  },
  'account-deletion-canceled': (c, v, { t, date }) => {
    const s = c['account-deletion-canceled'];
    return {
      subject: t(s.subject),
      preheader: t(s.preheader),
      heading: t(s.heading),
      paragraphs: [t(s.intro, { when: date(v.when) }), t(s.kept)],
      after: [t(s.notYou, { supportEmail: text(v.supportEmail, 'account-deletion-canceled', 'supportEmail') })],
    };
  },
  'export-ready': (c, v, { t, date }) => {
    const s = c['export-ready'];
    const expires = date(v.expiresAt);
    return {
      subject: t(s.subject),
      preheader: t(s.preheader, { expires }),
      heading: t(s.heading),
      paragraphs: [t(s.intro, { size: text(v.size, 'export-ready', 'size') }), t(s.expiry, { expires })],
      button: { label: t(s.button), url: httpUrl(v.url, 'export-ready') },
      after: [t(s.safe), t(s.notYou, { supportEmail: text(v.supportEmail, 'export-ready', 'supportEmail') })],
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
  const dayFormat = new Intl.DateTimeFormat(dateLocale, { dateStyle: 'long', timeZone: 'UTC' });
  const helpers: Helpers = {
    t: (template, values = {}) => interpolate(template, values, name),
    date: (when) => {
      if (!(when instanceof Date) || Number.isNaN(when.getTime())) throw new Error(`Mail template ${name} needs a valid date in "when".`);
      return `${dateFormat.format(when)} UTC`;
    },
    day: (isoDay) => {
      const when = /^\d{4}-\d{2}-\d{2}$/.test(isoDay) ? new Date(`${isoDay}T00:00:00Z`) : null;
      if (!when || Number.isNaN(when.getTime()) || when.toISOString().slice(0, 10) !== isoDay)
        throw new Error(`Mail template ${name} needs a calendar day as YYYY-MM-DD.`);
      return dayFormat.format(when);
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
  const blocks: string[] = [...(c.subheading ? [c.subheading] : []), c.greeting, ...c.paragraphs];
  if (c.details?.length) blocks.push(c.details.map(([label, value]) => `${label}: ${value}`).join('\n'));
  if (c.button) blocks.push(`${c.button.label}:\n${c.button.url}`);
  blocks.push(...c.after, cat.common.signature);
  if (c.footerNote) blocks.push(c.footerNote.text, `${c.footerNote.linkLabel}:\n${c.footerNote.url}`);
  blocks.push(cat.common.footer);
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
${c.subheading ? `<h2 style="margin:0 0 16px 0;font-size:20px;line-height:1.3;font-weight:700;color:#27272a;">${escapeHtml(c.subheading)}</h2>\n` : ''}${[p(c.greeting), ...c.paragraphs.map(p), details, button, ...c.after.map(p), p(cat.common.signature)].filter(Boolean).join('\n')}
</td></tr>
</table>
${
  c.footerNote
    ? `<p style="max-width:560px;margin:16px auto 0 auto;font-family:${FONT};font-size:12px;line-height:1.5;color:#52525b;">${escapeHtml(c.footerNote.text)} <a href="${escapeHtml(c.footerNote.url)}" target="_blank" rel="noopener" style="color:#4338ca;">${escapeHtml(c.footerNote.linkLabel)}</a></p>\n`
    : ''
}<p style="max-width:560px;margin:16px auto 0 auto;font-family:${FONT};font-size:12px;line-height:1.5;color:#52525b;">${escapeHtml(cat.common.footer)}</p>
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

/** Plain text split into paragraphs at blank lines (single line breaks stay inside a paragraph). */
function paragraphsOf(body: string): string[] {
  return body
    .split(/\r?\n\s*\r?\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** A privacy request kind's label from the catalogue (an unknown kind is a bug in the caller). */
function kindLabel(kinds: Record<string, string>, kind: unknown, template: string): string {
  const label = typeof kind === 'string' && Object.hasOwn(kinds, kind) ? kinds[kind] : undefined;
  if (label === undefined) throw new Error(`Mail template ${template} needs "kind" as a privacy request kind.`);
  return label;
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
