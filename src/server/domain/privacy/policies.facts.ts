import type { Config } from '../../config';
import type { Language } from '../../../shared/languages';
import type { EffectiveModel } from '../catalog/catalog.service';

/**
 * What the legal documents say about this installation, from its settings: the `{{placeholders}}`
 * a document may use, filled in when a page is served (the stored text keeps the placeholders, so
 * a changed setting shows on every version at once).
 *
 * Scalars: operatorName, supportEmail, publicUrl, hostingLocation, moderationChecks (the automated
 * checks switched on here) and every retention period (see `scalarPlaceholders`). Blocks, written
 * as Markdown lists in the reader's language:
 * `{{serviceProviders}}` (each outside service this server is set up to use: who it is, what it
 * receives and where that data is sent), `{{modelList}}` (the video models offered and who makes
 * them) and `{{thirdPartyNames}}` (the companies named, for the statement that we are not
 * affiliated with them).
 */

type Words = Record<Language, string>;

interface Party {
  name: Words;
  /** the company's website, for its own privacy policy */
  site: string;
  role: Words;
  receives: Words;
  /** the addresses this server sends the data to, from the settings */
  hosts: string[];
  /** companies named (for the non-affiliation statement) */
  companies: string[];
}

const w = (en: string, es: string): Words => ({ en, es });
const same = (name: string): Words => ({ en: name, es: name });

/** `https://user:pass@host:port/path` -> `host` (credentials, port and path never shown). */
function hostOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).hostname || null;
  } catch {
    return null;
  }
}

/** Hosts of the operator's own infrastructure are named only when they are public names (not localhost, not a private address). */
function publicHost(host: string | null): string | null {
  if (!host) return null;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal') || !h.includes('.')) return null;
  if (/^(10|127)\.|^192\.168\.|^172\.(1[6-9]|2\d|3[01])\.|^169\.254\.|^0\./.test(h)) return null;
  if (h.includes(':')) return /^(fc|fd|fe80|::1)/.test(h) ? null : h;
  return h;
}

/** Escape text for inline Markdown (operator-provided names and places). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+!<>|~]/g, (c) => `\\${c}`).replace(/\s+/g, ' ');
}

/** A URL setting as a safe Markdown link target (percent-encoded), without a trailing slash. */
function safeUrl(url: string): string {
  try {
    return new URL(url).href.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

/** `a, b and c` (or, with `or`, the list a negative sentence takes: `a, b or c` / `a, b ni c`). */
const joinList = (items: string[], language: Language, or = false) => {
  const and = or ? (language === 'es' ? 'ni' : 'or') : language === 'es' ? 'y' : 'and';
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${and} ${items.at(-1) ?? ''}`;
};

const modelProviderNames: Record<'kie' | 'fal', { name: string; site: string; company: string }> = {
  kie: { name: 'KIE', site: 'kie.ai', company: 'KIE' },
  fal: { name: 'fal', site: 'fal.ai', company: 'fal' },
};

/** The outside services this server is set up to use. */
export function serviceParties(config: Config, models: readonly EffectiveModel[]): Party[] {
  const parties: Party[] = [];
  const offered = models.filter((m) => m.available);
  // video model providers: those with a working route of a model on offer
  for (const provider of ['kie', 'fal'] as const) {
    const served = offered.filter((m) => m.routes.some((r) => r.provider === provider && r.available));
    if (!served.length) continue;
    const info = modelProviderNames[provider];
    const names = served.map((m) => `${m.name} (${m.vendor})`);
    const hosts = provider === 'kie' ? [hostOf(config.KIE_BASE_URL), hostOf(config.KIE_UPLOAD_URL)] : [hostOf(config.FAL_QUEUE_URL)];
    parties.push({
      name: same(info.name),
      site: info.site,
      role: w(`video generation for ${joinList(names, 'en')}`, `generación de vídeo para ${joinList(names, 'es')}`),
      receives: w(
        'the prompt, negative prompt, settings and reference files of each generation sent to it (never your name, email address or account details)',
        'el prompt, el prompt negativo, los ajustes y los archivos de referencia de cada generación que se le envía (nunca tu nombre, tu correo ni los datos de tu cuenta)',
      ),
      hosts: hosts.filter((h): h is string => Boolean(h)),
      companies: [info.company, ...new Set(served.map((m) => m.vendor))],
    });
  }
  if (config.STRIPE_SECRET_KEY) {
    parties.push({
      name: same('Stripe'),
      site: 'stripe.com',
      role: w('card payments and subscriptions', 'pagos con tarjeta y suscripciones'),
      receives: w(
        'the amount, currency, order number and the email address you pay with; you enter your card details on Stripe’s own page',
        'el importe, la moneda, el número de pedido y el correo con el que pagas; los datos de tu tarjeta los introduces en la propia página de Stripe',
      ),
      hosts: [hostOf(config.STRIPE_API_BASE ?? 'https://api.stripe.com')].filter((h): h is string => Boolean(h)),
      companies: ['Stripe'],
    });
  }
  if (config.CREEM_API_KEY) {
    parties.push({
      name: same('Creem'),
      site: 'creem.io',
      role: w('card payments and subscriptions', 'pagos con tarjeta y suscripciones'),
      receives: w(
        'the amount, order number and the email address you pay with; you enter your card details on Creem’s own page',
        'el importe, el número de pedido y el correo con el que pagas; los datos de tu tarjeta los introduces en la propia página de Creem',
      ),
      hosts: [hostOf(config.CREEM_API_BASE)].filter((h): h is string => Boolean(h)),
      companies: ['Creem'],
    });
  }
  if (config.NOWPAYMENTS_API_KEY) {
    parties.push({
      name: same('NOWPayments'),
      site: 'nowpayments.io',
      role: w('cryptocurrency payments', 'pagos con criptomonedas'),
      receives: w(
        'the amount, currency and order number; you pay from your own wallet on NOWPayments’ page, and we never see its keys',
        'el importe, la moneda y el número de pedido; pagas desde tu propio monedero en la página de NOWPayments y nunca vemos sus claves',
      ),
      hosts: [hostOf(config.NOWPAYMENTS_API_BASE)].filter((h): h is string => Boolean(h)),
      companies: ['NOWPayments'],
    });
  }
  if (config.GOOGLE_CLIENT_ID && config.GOOGLE_CLIENT_SECRET) {
    parties.push({
      name: same('Google'),
      site: 'google.com',
      role: w('“Continue with Google” sign-in, when you choose it', 'el acceso con «Continuar con Google», cuando lo eliges'),
      receives: w(
        'your sign-in request; Google tells us your email address, name, profile photo and Google account id',
        'tu solicitud de acceso; Google nos comunica tu correo, tu nombre, tu foto de perfil y el identificador de tu cuenta de Google',
      ),
      hosts: [hostOf(config.GOOGLE_DISCOVERY_URL)].filter((h): h is string => Boolean(h)),
      companies: ['Google'],
    });
  }
  if (config.OPENAI_MODERATION_API_KEY) {
    parties.push({
      name: same('OpenAI'),
      site: 'openai.com',
      role: w(
        'a second opinion on content safety (its moderation service)',
        'una segunda opinión sobre la seguridad del contenido (su servicio de moderación)',
      ),
      receives: w(
        'the text of prompts and the images checked (reference images and frames of videos), without your account details',
        'el texto de los prompts y las imágenes revisadas (imágenes de referencia y fotogramas de vídeos), sin los datos de tu cuenta',
      ),
      hosts: [hostOf(config.OPENAI_MODERATION_BASE_URL)].filter((h): h is string => Boolean(h)),
      companies: ['OpenAI'],
    });
  }
  if (config.BOT_CHALLENGE === 'turnstile') {
    parties.push({
      name: same('Cloudflare Turnstile'),
      site: 'cloudflare.com',
      role: w(
        'the check that tells people from bots on the sign-up, sign-in and password-reset pages',
        'la comprobación que distingue personas de bots en las páginas de registro, acceso y restablecimiento de contraseña',
      ),
      receives: w(
        'your IP address and what your browser shows its check on those pages; we send it the check’s answer and your IP address',
        'tu dirección IP y lo que tu navegador muestra a su comprobación en esas páginas; le enviamos la respuesta de la comprobación y tu dirección IP',
      ),
      hosts: [...new Set([hostOf(config.TURNSTILE_VERIFY_URL), 'challenges.cloudflare.com'])].filter((h): h is string => Boolean(h)),
      companies: ['Cloudflare'],
    });
  }
  if (config.NCMEC_USERNAME && config.NCMEC_PASSWORD) {
    parties.push({
      name: same('NCMEC CyberTipline'),
      site: 'missingkids.org',
      role: w('reports of child sexual abuse material, which US law requires', 'los informes de material de abuso sexual infantil que exige la ley de EE. UU.'),
      receives: w(
        'only when such material is confirmed: the material, the account’s email address and name, and the IP addresses it signed in from',
        'solo cuando se confirma ese material: el material, el correo y el nombre de la cuenta y las direcciones IP desde las que inició sesión',
      ),
      hosts: [
        hostOf(config.NCMEC_BASE_URL ?? (config.NCMEC_ENVIRONMENT === 'production' ? 'https://report.cybertip.org' : 'https://exttest.cybertip.org')),
      ].filter((h): h is string => Boolean(h)),
      companies: [],
    });
  }
  if (config.S3_BUCKET || config.STORAGE_DRIVER === 's3') {
    const endpoint = hostOf(config.S3_ENDPOINT);
    const r2 = endpoint?.endsWith('.r2.cloudflarestorage.com');
    const aws = !config.S3_ENDPOINT;
    const region = config.S3_REGION && config.S3_REGION !== 'auto' ? config.S3_REGION : null;
    const host = aws ? (region ? `s3.${region}.amazonaws.com` : 's3.amazonaws.com') : publicHost(endpoint);
    parties.push({
      name: r2 ? same('Cloudflare R2') : aws ? same('Amazon S3') : w('File storage', 'Almacenamiento de archivos'),
      site: r2 ? 'cloudflare.com' : aws ? 'aws.amazon.com' : '',
      role: w(
        `storage of uploaded references and generated videos${region ? ` (region ${region})` : ''}`,
        `almacenamiento de las referencias subidas y los vídeos generados${region ? ` (región ${region})` : ''}`,
      ),
      receives: w(
        'your reference files, generated videos, their posters and data exports',
        'tus archivos de referencia, los vídeos generados, sus miniaturas y las exportaciones de datos',
      ),
      hosts: host ? [host] : [],
      companies: r2 ? ['Cloudflare'] : aws ? ['Amazon Web Services'] : [],
    });
  }
  if (config.SMTP_URL) {
    const host = publicHost(hostOf(config.SMTP_URL));
    parties.push({
      name: w('Mail delivery', 'Envío de correo'),
      site: '',
      role: w('sending the emails this service sends you', 'enviar los correos que este servicio te manda'),
      receives: w('your email address, your name and the content of each email', 'tu dirección de correo, tu nombre y el contenido de cada correo'),
      hosts: host ? [host] : [],
      companies: [],
    });
  }
  if (config.REDIS_URL) {
    const host = publicHost(hostOf(config.REDIS_URL));
    parties.push({
      name: same('Redis'),
      site: '',
      role: w('counters that limit how often requests may be made', 'contadores que limitan la frecuencia de las solicitudes'),
      receives: w(
        'IP addresses and account ids, as keys of short-lived counters',
        'direcciones IP e identificadores de cuenta, como claves de contadores de corta duración',
      ),
      hosts: host ? [host] : [],
      companies: [],
    });
  }
  return parties;
}

function serviceProvidersBlock(parties: Party[], config: Config, language: Language): string {
  const es = language === 'es';
  if (!parties.length) {
    return es
      ? '- Este servidor no usa ahora ningún servicio externo: los vídeos los hace el generador local del propio servidor y todo se guarda en él.'
      : '- This server uses no outside service at present: videos are made by the local renderer on the server itself, and everything is kept on it.';
  }
  const lines = parties.map((p) => {
    const name = escapeMarkdown(p.name[language]);
    const site = p.site ? ` (${p.site})` : '';
    const where = p.hosts.length
      ? es
        ? ` Los datos se envían a: ${p.hosts.map((h) => `\`${h}\``).join(', ')}.`
        : ` Data is sent to: ${p.hosts.map((h) => `\`${h}\``).join(', ')}.`
      : es
        ? ' Lo gestiona el operador o un proveedor que el operador ha contratado.'
        : ' Run by the operator or by a provider the operator has hired.';
    return `- **${name}**${site}: ${p.role[language]}. ${es ? 'Recibe' : 'Receives'} ${p.receives[language]}.${where}`;
  });
  const local =
    config.LOCAL_PROVIDER &&
    (es
      ? '- **Generador local**: el modelo «Local preview» se genera en este mismo servidor; no sale nada de él.'
      : '- **Local renderer**: the “Local preview” model is rendered on this server itself; nothing leaves it.');
  return [...lines, ...(local ? [local] : [])].join('\n');
}

function modelListBlock(models: readonly EffectiveModel[], language: Language): string {
  const offered = models.filter((m) => m.available);
  if (!offered.length) return language === 'es' ? '- Ahora mismo no se ofrece ningún modelo.' : '- No model is offered at the moment.';
  return offered
    .map((m) => {
      const providers = [...new Set(m.routes.filter((r) => r.available).map((r) => (r.provider === 'local' ? null : modelProviderNames[r.provider].name)))];
      const through = providers.filter((p): p is string => Boolean(p));
      const via = through.length ? (language === 'es' ? `, a través de ${joinList(through, 'es')}` : `, through ${joinList(through, 'en')}`) : '';
      const maker = m.vendor === 'Save Sora' ? (language === 'es' ? 'este servidor' : 'this server') : m.vendor;
      return `- ${escapeMarkdown(m.name)} (${escapeMarkdown(maker)}${via})`;
    })
    .join('\n');
}

/** How prompts, references and outputs are checked here (the image classifier and OpenAI are settings). */
function moderationChecks(config: Config, language: Language): string {
  const es = language === 'es';
  const checks = [
    es ? 'listas de palabras y frases prohibidas' : 'lists of forbidden words and phrases',
    es
      ? 'la comparación con las listas de imágenes ilegales conocidas que carga el operador'
      : 'comparison with the lists of known illegal images the operator loads',
  ];
  if (config.MODERATION_IMAGE_CLASSIFIER === 'builtin')
    checks.push(es ? 'un clasificador de imágenes que funciona en este mismo servidor' : 'an image classifier that runs on this server itself');
  if (config.OPENAI_MODERATION_API_KEY) checks.push(es ? 'el servicio de moderación de OpenAI (sección 4.3)' : 'OpenAI’s moderation service (section 4.3)');
  return joinList(checks, language);
}

/** Every `{{name}}` value for `language`. */
export function legalPlaceholders(config: Config, models: readonly EffectiveModel[], language: Language): Record<string, string> {
  const parties = serviceParties(config, models);
  const companies = [...new Set(parties.flatMap((p) => p.companies))];
  const es = language === 'es';
  return {
    operatorName: escapeMarkdown(config.SELLER_NAME),
    supportEmail: config.SUPPORT_EMAIL,
    publicUrl: safeUrl(config.PUBLIC_URL),
    hostingLocation: config.HOSTING_LOCATION
      ? escapeMarkdown(config.HOSTING_LOCATION)
      : es
        ? 'el lugar que elige el operador (aún no lo ha indicado; pregúntalo en la dirección de contacto)'
        : 'a place the operator chooses (not stated yet; ask at the contact address)',
    ...scalarPlaceholders(config),
    moderationChecks: moderationChecks(config, language),
    serviceProviders: serviceProvidersBlock(parties, config, language),
    modelList: modelListBlock(models, language),
    thirdPartyNames: companies.length
      ? joinList(companies.map(escapeMarkdown), language, true)
      : es
        ? 'ninguna de las empresas cuyos servicios o modelos se nombran en este sitio'
        : 'any of the companies whose services or models are named on this site',
  };
}

/** The numbers of the retention schedule and the account rules, as the settings have them. */
export function scalarPlaceholders(config: Config): Record<string, string> {
  return {
    sessionIdleDays: String(config.SESSION_IDLE_DAYS),
    sessionAbsoluteDays: String(config.SESSION_ABSOLUTE_DAYS),
    apiLogRetentionDays: String(config.API_LOG_RETENTION_DAYS),
    exportLinkDays: String(config.EXPORT_LINK_DAYS),
    deletionGraceDays: String(config.ACCOUNT_DELETION_GRACE_DAYS),
    mediaPurgeDays: String(config.MEDIA_PURGE_DAYS),
    orderRetentionYears: String(config.ORDER_RETENTION_YEARS),
    webhookDeliveryRetentionDays: String(config.WEBHOOK_DELIVERY_RETENTION_DAYS),
    paymentEventRetentionDays: String(config.PAYMENT_EVENT_RETENTION_DAYS),
    deviceRetentionDays: String(config.DEVICE_RETENTION_DAYS),
    abuseSignalRetentionDays: String(config.ABUSE_SIGNAL_RETENTION_DAYS),
    mailOutboxRetentionDays: String(config.MAIL_OUTBOX_RETENTION_DAYS),
    privacyRequestDueDays: String(config.PRIVACY_REQUEST_DUE_DAYS),
    privacyRequestRetentionDays: String(config.PRIVACY_REQUEST_RETENTION_DAYS),
    ncmecPreserveDays: String(config.NCMEC_PRESERVE_DAYS),
    strikesToSuspend: String(config.MODERATION_STRIKES_TO_SUSPEND),
    signupFreeCredits: String(config.SIGNUP_FREE_CREDITS),
  };
}

/** Fill `{{name}}` placeholders; an unknown name stays as written (so an operator sees the typo on the page). */
export function fillPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? (values[name] ?? whole) : whole));
}
