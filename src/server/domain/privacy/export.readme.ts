import { normalizeLanguage, type Language } from '../../../shared/languages';

/**
 * The README.txt at the top of every data export, in the account's language: what each file is,
 * when the copy was made, and how many records of each kind it holds. Plain text (UTF-8), our own
 * words; nothing here may claim more than the archive holds.
 */

/** the files of an archive, in the order the README lists them, with the `contents` count each shows */
export const archiveFiles = [
  { file: 'profile.json', count: 'profile' },
  { file: 'sessions.json', count: 'sessions' },
  { file: 'devices.json', count: 'devices' },
  { file: 'generations.json', count: 'generations' },
  { file: 'references.json', count: 'references' },
  { file: 'orders.json', count: 'orders' },
  { file: 'subscriptions.json', count: 'subscriptions' },
  { file: 'ledger.json', count: 'ledger' },
  { file: 'api-keys.json', count: 'apiKeys' },
  { file: 'api-requests.json', count: 'apiRequests' },
  { file: 'webhook-endpoints.json', count: 'webhookEndpoints' },
  { file: 'webhook-deliveries.json', count: 'webhookDeliveries' },
  { file: 'consent.json', count: 'consent' },
  { file: 'moderation.json', count: 'moderation' },
  { file: 'privacy-requests.json', count: 'privacyRequests' },
  { file: 'media/creations/', count: 'creationFiles' },
  { file: 'media/references/', count: 'referenceFiles' },
  { file: 'media/profile-photo.*', count: 'profilePhoto' },
] as const;

export type ArchiveCountKey = (typeof archiveFiles)[number]['count'];
type FileText = Record<ArchiveCountKey, string>;

interface ReadmeText {
  title: string;
  account: string;
  made: string;
  intro: string[];
  filesHeading: string;
  records: string;
  files: FileText;
  notHeading: string;
  notIncluded: string[];
  keepSafe: string;
}

const en: ReadmeText = {
  title: 'Save Sora: a copy of your data',
  account: 'Account',
  made: 'Made on',
  intro: [
    'This archive holds the personal data of your Save Sora account on this server, as it was when the copy was made.',
    'The .json files are machine-readable: UTF-8 JSON, one record per line inside each list. Times are ISO 8601 in UTC. Amounts of money are whole numbers in the smallest unit of their currency (cents for US dollars). Credits are the platform credits of your account.',
  ],
  filesHeading: 'What each file holds',
  records: 'records',
  files: {
    profile: 'your profile: email, name, region, language, how you sign in, your credit balance, your referral code',
    sessions: 'your sign-in sessions: device type, browser, operating system, approximate region, IP address, when each started, was last used and ends',
    devices: 'the devices you have signed in from, with when we first and last saw each',
    generations:
      'your videos and every generation you asked for: prompt, negative prompt, settings, model, status, credits, times, and the names of their files in media/creations/',
    references: 'the reference files you uploaded or imported: name, type, size, checksum, and the name of each file in media/references/',
    orders: 'your orders: plan, amount and currency, payment provider and its reference, status, refunds, receipt number',
    subscriptions: 'your subscriptions: plan, provider, status and billing periods',
    ledger: 'every change to your credits: grants, purchases, holds, charges, releases, refunds, adjustments',
    apiKeys: 'your API keys: name, first characters, permissions and dates (never the key itself)',
    apiRequests: 'your API requests as our log keeps them: time, method, endpoint, response code, bytes in and out, duration',
    webhookEndpoints: 'your webhook endpoints: address, description, events and dates (never the signing secret)',
    webhookDeliveries: 'the webhook events we sent to your endpoints, with their content and delivery attempts',
    consent:
      'your choices: language, region, the minimum age you confirmed, product-update emails (opted in or not, since when), and the notices of policy changes you dismissed',
    moderation: 'decisions our moderators or our automatic checks took about your material or account: category, decision, dates, strikes, your appeals',
    privacyRequests: 'the privacy requests you sent us and their status',
    creationFiles: 'your finished videos (MP4) and their poster images (JPEG)',
    referenceFiles: 'the reference files themselves',
    profilePhoto: 'your profile photo, if you set one',
  },
  notHeading: 'What is not in this archive',
  notIncluded: [
    'Secrets: your password, sign-in session tokens, Google sign-in tokens, API keys and webhook signing secrets. We leave them out on purpose; passwords, session tokens and API keys are only kept as hashes.',
    'Creations and reference files you deleted.',
    'About moderation: who reported something, reviewers’ internal notes, evidence files, reviews that have not reached a decision, and anything the law does not allow us to disclose.',
    'Data about other people.',
  ],
  keepSafe: 'Keep this archive safe: anyone who has it can read your data.',
};

const es: ReadmeText = {
  title: 'Save Sora: una copia de tus datos',
  account: 'Cuenta',
  made: 'Fecha de la copia',
  intro: [
    'Este archivo contiene los datos personales de tu cuenta de Save Sora en este servidor, tal como estaban cuando se hizo la copia.',
    'Los archivos .json se pueden leer con un programa: JSON en UTF-8, un registro por línea dentro de cada lista. Las horas están en formato ISO 8601 y en UTC. Los importes son números enteros en la unidad más pequeña de su moneda (céntimos para el euro, centavos para el dólar). Los créditos son los créditos de la plataforma de tu cuenta.',
  ],
  filesHeading: 'Qué contiene cada archivo',
  records: 'registros',
  files: {
    profile: 'tu perfil: correo, nombre, región, idioma, cómo inicias sesión, tu saldo de créditos, tu código de invitación',
    sessions:
      'tus sesiones: tipo de dispositivo, navegador, sistema operativo, región aproximada, dirección IP, cuándo empezó cada una, cuándo se usó por última vez y cuándo termina',
    devices: 'los dispositivos desde los que iniciaste sesión, con la primera y la última vez que los vimos',
    generations:
      'tus videos y cada generación que pediste: prompt, prompt negativo, ajustes, modelo, estado, créditos, fechas y los nombres de sus archivos en media/creations/',
    references: 'los archivos de referencia que subiste o importaste: nombre, tipo, tamaño, suma de control y el nombre de cada archivo en media/references/',
    orders: 'tus pedidos: plan, importe y moneda, proveedor de pago y su referencia, estado, reembolsos, número de recibo',
    subscriptions: 'tus suscripciones: plan, proveedor, estado y periodos de facturación',
    ledger: 'cada cambio de tus créditos: regalos, compras, reservas, cargos, liberaciones, reembolsos, ajustes',
    apiKeys: 'tus claves de API: nombre, primeros caracteres, permisos y fechas (nunca la clave en sí)',
    apiRequests: 'tus peticiones a la API tal como las guarda nuestro registro: hora, método, ruta, código de respuesta, bytes enviados y recibidos, duración',
    webhookEndpoints: 'tus endpoints de webhook: dirección, descripción, eventos y fechas (nunca el secreto de firma)',
    webhookDeliveries: 'los eventos de webhook que enviamos a tus endpoints, con su contenido y sus intentos de entrega',
    consent:
      'tus elecciones: idioma, región, la edad mínima que confirmaste, los correos de novedades (si los aceptaste y desde cuándo) y los avisos de cambios de políticas que cerraste',
    moderation:
      'las decisiones que nuestros moderadores o nuestros controles automáticos tomaron sobre tu material o tu cuenta: categoría, decisión, fechas, faltas, tus apelaciones',
    privacyRequests: 'las solicitudes de privacidad que nos enviaste y su estado',
    creationFiles: 'tus videos terminados (MP4) y sus imágenes de portada (JPEG)',
    referenceFiles: 'los archivos de referencia en sí',
    profilePhoto: 'tu foto de perfil, si pusiste una',
  },
  notHeading: 'Qué no contiene este archivo',
  notIncluded: [
    'Secretos: tu contraseña, los tokens de tus sesiones, los tokens de inicio de sesión con Google, las claves de API y los secretos de firma de los webhooks. Los dejamos fuera a propósito; de las contraseñas, los tokens de sesión y las claves de API solo guardamos un hash.',
    'Las creaciones y los archivos de referencia que borraste.',
    'Sobre moderación: quién denunció algo, las notas internas de los revisores, los archivos de pruebas, las revisiones que aún no tienen decisión y lo que la ley no nos permite revelar.',
    'Datos de otras personas.',
  ],
  keepSafe: 'Guarda este archivo en un lugar seguro: quien lo tenga puede leer tus datos.',
};

const texts: Record<Language, ReadmeText> = { en, es };

/** The README of an archive made at `madeAt` for `email`, with the counts per kind. */
export function renderReadme(language: string, input: { email: string; madeAt: Date; contents: Partial<Record<ArchiveCountKey, number>> }): string {
  const lang = normalizeLanguage(language);
  const t = texts[lang];
  const nf = new Intl.NumberFormat(lang === 'es' ? 'es-ES' : 'en-US');
  const rule = (s: string, ch: string) => `${s}\n${ch.repeat(Array.from(s).length)}`;
  const width = Math.max(...archiveFiles.map((f) => f.file.length)) + 2;
  const lines = [
    rule(t.title, '='),
    '',
    `${t.account}: ${input.email}`,
    `${t.made}: ${input.madeAt.toISOString().replace('T', ' ').slice(0, 19)} UTC`,
    '',
    ...t.intro.flatMap((p) => [p, '']),
    rule(t.filesHeading, '-'),
    '',
    ...archiveFiles.map((f) => `${f.file.padEnd(width)}${t.files[f.count]} (${nf.format(input.contents[f.count] ?? 0)} ${t.records})`),
    '',
    rule(t.notHeading, '-'),
    '',
    ...t.notIncluded.map((s) => `- ${s}`),
    '',
    t.keepSafe,
    '',
  ];
  return lines.join('\r\n');
}
