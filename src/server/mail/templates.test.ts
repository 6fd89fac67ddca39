import { describe, expect, it } from 'vitest';
import { en } from './locales/en';
import { es } from './locales/es';
import {
  mailCatalogues,
  mailTemplateNames,
  renderEmail,
  resolveMailLocale,
  supportedMailLocales,
  type MailTemplateName,
  type MailTemplateVars,
} from './templates';

const when = new Date('2025-03-05T23:30:00Z');
const utc = (locale: string) => `${new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(when)} UTC`;

const samples: { [N in MailTemplateName]: MailTemplateVars[N] } = {
  'verify-email': { name: 'Ada', url: 'https://savesora.test/api/auth/verify-email?token=abc&callbackURL=%2Faccount' },
  'reset-password': { name: 'Ada', url: 'https://savesora.test/reset-password/tok123?callbackURL=%2Freset', expiresInMinutes: 60 },
  'password-changed': { name: 'Ada', when, supportEmail: 'support@savesora.test' },
  'new-sign-in': { name: 'Ada', when, device: 'mobile', browser: 'Mobile Safari', region: 'FR', ip: '198.51.100.7' },
  'email-changed': { name: 'Ada', oldEmail: 'old@example.com', newEmail: 'new@example.com', when, supportEmail: 'support@savesora.test' },
  'signup-existing': { name: 'Ada', signInUrl: 'https://savesora.test/sign-in', resetUrl: 'https://savesora.test/forgot-password' },
  'order-confirmation': {
    name: 'Ada',
    planName: 'Creator',
    credits: 5000,
    amount: '$45.00',
    receiptNumber: 'SS-2025-000042',
    when,
    receiptUrl: 'https://savesora.test/api/billing/orders/o1/receipt',
  },
  'export-ready': {
    name: 'Ada',
    url: 'https://savesora.test/api/exports/0b7c/download?token=abc',
    expiresAt: when,
    size: '12.5 MB',
    supportEmail: 'support@savesora.test',
  },
  'account-deletion-scheduled': {
    name: 'Ada',
    when,
    immediate: false,
    accountUrl: 'https://savesora.test/account',
    orderYears: 10,
    supportEmail: 'support@savesora.test',
  },
  'account-deletion-canceled': { name: 'Ada', when, supportEmail: 'support@savesora.test' },
  'policy-change': {
    name: 'Ada',
    documentTitle: 'Privacy Policy',
    version: '2026-12-07',
    summary: 'We now keep logs for 30 days.',
    url: 'https://savesora.test/legal/privacy',
  },
  'business-transfer': {
    name: 'Ada',
    newOwner: 'Acme Media Inc.',
    effectiveDate: '2027-03-01',
    message: 'Acme keeps the service running.\n\nNothing changes in how you sign in.',
    url: 'https://acme.test/savesora',
    accountUrl: 'https://savesora.test/account',
  },
  'product-update': {
    name: 'Ada',
    title: 'Longer videos',
    body: 'Videos can now be 20 seconds long.\n\nTry it in the studio.',
    url: 'https://savesora.test/studio',
    buttonLabel: 'Open the studio',
    unsubscribeUrl: 'https://savesora.test/api/unsubscribe/abc.def',
  },
  'privacy-request-received': { name: 'Ada', reference: 'PR-7K2M9Q4X1B', kind: 'export', createdAt: when, dueAt: when, supportEmail: 'support@savesora.test' },
  'privacy-request-notice': {
    name: 'Ada',
    reference: 'PR-7K2M9Q4X1B',
    kind: 'child',
    email: 'parent@example.com',
    subjectEmail: 'kid@example.com',
    message: 'My son is 12.\n\nHe signed up last week.',
    dueAt: when,
    url: 'https://savesora.test/operator/privacy-requests/PR-7K2M9Q4X1B',
  },
};
/** A catalogue text as a pattern: its `{placeholders}` match any filled-in value. */
const filledIn = (template: string, whole = false) => {
  const body = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '.+');
  return new RegExp(whole ? `^${body}$` : body);
};
const render = <N extends MailTemplateName>(name: N, locale: string, vars: Partial<MailTemplateVars[N]> = {}) =>
  renderEmail(name, locale, { ...samples[name], ...vars });

/** Visible text of an HTML body, entities decoded (good enough for our own markup). */
const visible = (html: string) =>
  html
    .replace(/<(title|style)[^>]*>[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

/** The markup skeleton: every tag with its attribute names (values dropped). */
const tags = (html: string) =>
  [...html.matchAll(/<\/?([a-z0-9!]+)((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*>/gi)].map((m) => `${m[1] ?? ''}${(m[2] ?? '').replace(/="[^"]*"/g, '')}`);

describe('renderEmail', () => {
  it('renders verify-email in English: subject, greeting, button link, URL written out, footer', () => {
    const { url } = samples['verify-email'];
    const m = render('verify-email', 'en');
    expect(m.subject).toBe('Verify your email for Save Sora');
    expect(m.text.startsWith('Hi Ada,\n\n')).toBe(true);
    expect(m.text.split('\n')).toContain(url); // the link on a line of its own
    expect(m.text).toContain(en.common.footer);
    expect(m.html).toMatch(/^<!doctype html>\n<html lang="en"/);
    expect(m.html).toContain('<title>Verify your email for Save Sora</title>');
    expect(m.html).toMatch(/<h1[^>]*>Verify your email<\/h1>/);
    expect(m.html).toContain('>Save Sora</td>');
    const escapedUrl = url.replace(/&/g, '&amp;');
    // the button and the written-out link both point at the URL
    expect(m.html.match(new RegExp(`<a href="${escapedUrl.replace(/[?]/g, '\\?')}"`, 'g'))).toHaveLength(2);
    expect(m.html).toContain(`>${escapedUrl}</a>`);
    expect(m.html).toMatch(/<a [^>]*style="display:inline-block;[^"]*background|<td[^>]*background-color:#4338ca[^>]*><a href=/);
    expect(visible(m.html)).toContain('Verify email');
    expect(visible(m.html)).toContain('You receive this because an account on Save Sora uses this address.');
  });

  it('renders every template in Spanish from the Spanish catalogue', () => {
    for (const name of mailTemplateNames) {
      const m = render(name, 'es');
      expect(m.subject, name).toMatch(filledIn(es[name].subject, true));
      expect(m.html, name).toContain('<html lang="es"');
      expect(m.text, name).toContain('Hola, Ada:');
      expect(m.text, name).toContain(es.common.footer);
      expect(m.text, name).toContain(es.common.signature);
      expect(visible(m.html), name).toMatch(filledIn(es[name].heading));
      expect(m.text, name).not.toContain(en.common.footer);
    }
    const reset = render('reset-password', 'es');
    expect(reset.subject).toMatch(/contraseña/);
    expect(reset.text).toContain('El enlace funciona durante 60 minutos y una sola vez.');
    expect(reset.text.split('\n')).toContain(samples['reset-password'].url);
  });

  it('renders every template in English with its facts', () => {
    const reset = render('reset-password', 'en', { expiresInMinutes: 30 });
    expect(reset.subject).toBe('Reset your Save Sora password');
    expect(reset.text).toContain('The link works for 30 minutes, and only once.');

    const changed = render('password-changed', 'en');
    expect(changed.subject).toBe('Your Save Sora password was changed');
    expect(changed.text).toContain(`was changed on ${utc('en')}.`);
    expect(changed.text).toContain('reset your password right away and contact us at support@savesora.test');

    const signIn = render('new-sign-in', 'en');
    expect(signIn.subject).toBe('New sign-in to your Save Sora account');
    for (const line of [`When: ${utc('en')}`, 'Device: Phone', 'Browser: Mobile Safari', 'Region: FR', 'IP address: 198.51.100.7'])
      expect(signIn.text).toContain(line);
    expect(visible(signIn.html)).toContain('IP address 198.51.100.7');

    const email = render('email-changed', 'en');
    expect(email.subject).toMatch(/email address/);
    expect(email.text).toContain('changed from old@example.com to new@example.com');
    expect(email.text).toContain('support@savesora.test');
  });

  it('writes dates in UTC with the locale’s long format', () => {
    expect(utc('en')).toMatch(/^March 5, 2025.*11:30.*PM UTC$/);
    expect(utc('es')).toMatch(/^5 de marzo de 2025.*23:30 UTC$/);
    expect(render('password-changed', 'en').text).toContain(utc('en'));
    expect(render('password-changed', 'es').text).toContain(utc('es'));
    expect(render('email-changed', 'es').text).toContain(`El ${utc('es')}, el correo electrónico`);
  });

  it('falls back to English for unknown locales and uses the language of a regional one', () => {
    for (const locale of ['fr', 'de-DE', '', 'xx-invalid-tag-!!']) {
      expect(render('verify-email', locale)).toEqual(render('verify-email', 'en'));
    }
    expect(render('verify-email', 'es-MX').subject).toBe(es['verify-email'].subject);
    expect(render('verify-email', 'ES').subject).toBe(es['verify-email'].subject);
    expect(render('verify-email', 'es_AR').html).toContain('<html lang="es"');
    expect(resolveMailLocale('es-419')).toBe('es');
    expect(resolveMailLocale('en-GB')).toBe('en');
    expect(resolveMailLocale(undefined)).toBe('en');
    expect(resolveMailLocale('pt-BR')).toBe('en');
  });

  it('translates the device type of a sign-in, and shows other values as given', () => {
    expect(render('new-sign-in', 'en', { device: 'desktop' }).text).toContain('Device: Computer');
    expect(render('new-sign-in', 'es', { device: 'tablet' }).text).toContain('Dispositivo: Tableta');
    expect(render('new-sign-in', 'en', { device: 'smart fridge' }).text).toContain('Device: smart fridge');
    expect(render('new-sign-in', 'en', { browser: '' }).text).toContain('Browser: —');
  });

  it('greets without a name when there is none', () => {
    expect(render('password-changed', 'en', { name: '  ' }).text.startsWith('Hi,\n')).toBe(true);
    expect(render('password-changed', 'es', { name: '' }).text.startsWith('Hola:\n')).toBe(true);
  });

  it('HTML-escapes every variable in the HTML body, and keeps them as typed in the text', () => {
    const evil = '<script>alert("x")</script>';
    const m = render('verify-email', 'en', { name: evil });
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;,');
    expect(m.text).toContain(`Hi ${evil},`);

    expect(tags(m.html).length).toBeGreaterThan(20);
    expect(tags(m.html)).toContain('a href target rel style');

    const img = `"><img src=x onerror=alert(1)>'`;
    const all: Array<[MailTemplateName, Record<string, unknown>]> = [
      ['verify-email', { name: img, url: `https://savesora.test/verify?t=${img}` }],
      ['reset-password', { name: img, url: `https://savesora.test/reset?t=${img}` }],
      ['password-changed', { name: img, supportEmail: img }],
      ['new-sign-in', { name: img, device: img, browser: img, region: img, ip: img }],
      ['email-changed', { name: img, oldEmail: img, newEmail: img, supportEmail: img }],
    ];
    for (const [name, vars] of all) {
      for (const locale of supportedMailLocales) {
        const out = render(name, locale, vars as never);
        expect(out.html, `${name}/${locale}`).not.toMatch(/<img/i);
        // the same elements and attributes as with harmless values: nothing was injected
        expect(tags(out.html), `${name}/${locale}`).toEqual(tags(render(name, locale).html));
        expect(out.html, `${name}/${locale}`).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&#39;');
        expect(out.text, `${name}/${locale}`).toContain(img);
      }
    }
  });

  it('accepts only http(s) links', () => {
    for (const url of [
      'javascript:alert(1)',
      'data:text/html,<b>x</b>',
      'ftp://savesora.test/x',
      'mailto:a@example.com',
      '/relative/path',
      '//savesora.test/x',
      'not a url',
      '',
    ]) {
      expect(() => render('verify-email', 'en', { url }), url).toThrow(/http\(s\)/);
      expect(() => render('reset-password', 'es', { url }), url).toThrow(/http\(s\)/);
    }
    expect(render('verify-email', 'en', { url: 'http://localhost:3000/verify?t=1' }).text).toContain('http://localhost:3000/verify?t=1');
    expect(render('verify-email', 'en', { url: 'HTTPS://SAVESORA.TEST/v' }).text).toContain('HTTPS://SAVESORA.TEST/v');
  });

  it('refuses missing or wrong variables and unknown templates', () => {
    // @ts-expect-error verify-email needs a url
    expect(() => renderEmail('verify-email', 'en', { name: 'Ada' })).toThrow(/url/);
    // @ts-expect-error expiresInMinutes is a number
    expect(() => renderEmail('reset-password', 'en', { name: 'Ada', url: 'https://x.test/r', expiresInMinutes: '60' })).toThrow(/expiresInMinutes/);
    expect(() => render('reset-password', 'en', { expiresInMinutes: 0 })).toThrow(/expiresInMinutes/);
    expect(() => render('password-changed', 'en', { when: new Date('nope') })).toThrow(/date/);
    // @ts-expect-error when is a Date
    expect(() => renderEmail('password-changed', 'en', { name: 'Ada', when: '2025-01-01', supportEmail: 's@x.test' })).toThrow(/date/);
    // @ts-expect-error supportEmail is required
    expect(() => renderEmail('email-changed', 'en', { name: 'Ada', oldEmail: 'a@x.test', newEmail: 'b@x.test', when })).toThrow(/supportEmail/);
    // @ts-expect-error not a template
    expect(() => renderEmail('welcome', 'en', { name: 'Ada' })).toThrow(/Unknown mail template/);
    // @ts-expect-error not a template (inherited property)
    expect(() => renderEmail('toString', 'en', {})).toThrow(/Unknown mail template/);
  });

  it('leaves no placeholder unfilled in any template and language', () => {
    for (const name of mailTemplateNames) {
      for (const locale of supportedMailLocales) {
        const m = render(name, locale);
        for (const part of [m.subject, m.text, m.html]) expect(part, `${name}/${locale}`).not.toMatch(/\{\w+\}/);
      }
    }
  });
});

describe('mail catalogues', () => {
  const leaves = (o: object, prefix = ''): Array<[string, unknown]> =>
    Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? leaves(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]]));
  const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  const reference = new Map(leaves(en));

  it('has a catalogue for every supported locale and a section for every template', () => {
    expect(Object.keys(mailCatalogues).sort()).toEqual([...supportedMailLocales].sort());
    for (const locale of supportedMailLocales) {
      for (const name of mailTemplateNames) expect(mailCatalogues[locale][name], `${locale}/${name}`).toBeDefined();
    }
  });

  it('every locale has exactly the English keys, each a non-empty string with the same placeholders', () => {
    for (const locale of supportedMailLocales) {
      const entries = new Map(leaves(mailCatalogues[locale]));
      expect([...entries.keys()].sort(), locale).toEqual([...reference.keys()].sort());
      for (const [key, value] of entries) {
        expect(typeof value, `${locale}:${key}`).toBe('string');
        expect((value as string).trim(), `${locale}:${key}`).not.toBe('');
        expect(placeholders(value as string), `${locale}:${key}`).toEqual(placeholders(reference.get(key) as string));
      }
    }
  });

  it('Spanish is translated, not copied', () => {
    const same = leaves(es).filter(([key, value]) => reference.get(key) === value);
    expect(same).toEqual([]);
  });

  it('names the product and keeps the footer wording', () => {
    expect(en.common.footer).toBe('You receive this because an account on Save Sora uses this address.');
    for (const locale of supportedMailLocales) {
      for (const name of mailTemplateNames) expect(mailCatalogues[locale][name].subject, `${locale}/${name}`).toContain('Save Sora');
    }
  });
});
