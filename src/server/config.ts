import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PASSWORD_HASH_LOG_N } from './domain/users/password';
import { StartupError } from './errors';

/**
 * Every setting comes from the environment (and an optional `.env`, loaded by main.ts / the CLI
 * before this runs). Parsed once, validated with zod, and a bad value stops start-up with one line
 * that names the variable. Keep this table in sync with the README's configuration table.
 */
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }).transform((v) => v === 'true' || v === '1' || v === 'yes');

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `must be a whole number between ${min} and ${max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\/[^\s]+$/.test(v), { message: 'must be an http:// or https:// URL' })
  .transform((v) => v.replace(/\/+$/, ''));

const postgresUrl = z.string().refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v), { message: 'must be a postgres:// or postgresql:// URL' });

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  // this machine only by default (ADR 13); HOST=0.0.0.0 in a container or behind a proxy elsewhere
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: intIn(0, 65535).default(3000),
  PUBLIC_URL: z.url({ message: 'must be an absolute URL such as https://video.example.com' }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: intIn(1, 200).default(10),
  REDIS_URL: z
    .string()
    .refine((v) => /^rediss?:\/\/[^\s]+$/.test(v), { message: 'must be a redis:// or rediss:// URL' })
    .optional(),
  SESSION_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  SESSION_SECRET_PREVIOUS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((x) => x.length >= 32), { message: 'must be a comma-separated list of secrets of at least 32 characters each' })
    .optional()
    .transform((v) => v ?? []),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: bool.default(false),
  METRICS_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  WORKER_CONCURRENCY: intIn(1, 64).default(4),
  WORKER_POLL_INTERVAL_MS: intIn(50, 60_000).default(1000),
  SMTP_URL: z
    .string()
    .refine((v) => /^smtps?:\/\/[^\s]+$/.test(v), { message: 'must be an smtp:// or smtps:// URL' })
    .optional(),
  MAIL_FROM: z.string().min(3).default('Save Sora <no-reply@localhost>'),
  SUPPORT_EMAIL: z.email({ message: 'must be an email address' }).default('support@savesora.com'),
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  GOOGLE_DISCOVERY_URL: z.url({ message: 'must be an absolute URL' }).default('https://accounts.google.com/.well-known/openid-configuration'),
  // scrypt's cost (log2 N) for new password hashes; each hash records its own, so old ones verify
  PASSWORD_HASH_LOG_N: intIn(10, 22).default(PASSWORD_HASH_LOG_N),
  SESSION_IDLE_DAYS: intIn(1, 365).default(7),
  SESSION_ABSOLUTE_DAYS: intIn(1, 3650).default(30),
  REGION_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, { message: 'must be an HTTP header name' })
    .default('cf-ipcountry'),
  ROLE: z.enum(['all', 'web', 'worker'], { message: 'must be all, web or worker' }).default('all'),
  // Video providers. A provider without its key is unavailable; its routes are skipped.
  FFMPEG_PATH: z.string().min(1).optional(),
  FFPROBE_PATH: z.string().min(1).optional(),
  LOCAL_PROVIDER: bool.default(true),
  LOCAL_RENDER_CONCURRENCY: intIn(1, 16).default(1),
  KIE_API_KEY: z.string().min(1).optional(),
  KIE_BASE_URL: httpUrl.default('https://api.kie.ai'),
  KIE_UPLOAD_URL: httpUrl.default('https://kieai.redpandaai.co'),
  KIE_WEBHOOK_HMAC_KEY: z.string().min(1).optional(),
  KIE_MAX_CONCURRENCY: intIn(1, 1000).default(20),
  KIE_RATE_PER_MINUTE: intIn(1, 100_000).default(120),
  FAL_KEY: z.string().min(1).optional(),
  FAL_QUEUE_URL: httpUrl.default('https://queue.fal.run'),
  FAL_JWKS_URL: httpUrl.default('https://rest.fal.ai/.well-known/jwks.json'),
  FAL_MAX_CONCURRENCY: intIn(1, 1000).default(20),
  FAL_RATE_PER_MINUTE: intIn(1, 100_000).default(120),
  PROVIDER_TIMEOUT_MS: intIn(1000, 600_000).default(30_000),
  ROUTE_FAILURE_THRESHOLD: intIn(1, 1000).default(3),
  ROUTE_COOLDOWN_SECONDS: intIn(1, 86_400).default(120),
  // Object storage (references and generated videos)
  STORAGE_DRIVER: z.enum(['disk', 's3'], { message: 'must be disk or s3' }).optional(),
  STORAGE_DIR: z.string().min(1).optional(),
  FILES_SIGNING_SECRET: z.string().min(32, { message: 'must be at least 32 characters (comma-separate several to rotate)' }).optional(),
  S3_BUCKET: z.string().min(3).optional(),
  S3_REGION: z.string().min(1).default('auto'),
  S3_ENDPOINT: httpUrl.optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.default(false),
  S3_PUBLIC_ENDPOINT: httpUrl.optional(),
  // Media: provenance, uploads, deletion
  C2PA_CERT_PATH: z.string().min(1).optional(),
  C2PA_KEY_PATH: z.string().min(1).optional(),
  OUTPUT_WATERMARK: z.string().max(60).optional(),
  OUTPUT_MAX_BYTES: intIn(1024 * 1024, 20 * 1024 ** 3).default(2 * 1024 ** 3),
  MEDIA_CONCURRENCY: intIn(1, 64).default(2),
  REFERENCE_FETCH_TIMEOUT_MS: intIn(1000, 600_000).default(30_000),
  REFERENCE_FETCH_ALLOW_HOSTS: z.string().optional(),
  UPLOADS_PER_HOUR: intIn(1, 100_000).default(200),
  MEDIA_PURGE_DAYS: intIn(0, 3650).default(30),
  // Billing: payment providers, receipts
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  STRIPE_API_BASE: httpUrl.optional(),
  CREEM_API_KEY: z.string().min(1).optional(),
  CREEM_WEBHOOK_SECRET: z.string().min(1).optional(),
  CREEM_API_BASE: httpUrl.default('https://api.creem.io'),
  CREEM_CHECKOUTS_ENABLED: bool.default(true),
  NOWPAYMENTS_API_KEY: z.string().min(1).optional(),
  NOWPAYMENTS_IPN_SECRET: z.string().min(1).optional(),
  NOWPAYMENTS_API_BASE: httpUrl.default('https://api.nowpayments.io'),
  NOWPAYMENTS_PARTIAL_PAYMENTS: z.enum(['none', 'pro_rata'], { message: 'must be none or pro_rata' }).default('none'),
  BILLING_CURRENCIES: z
    .string()
    .regex(/^[a-z]{3}(,[a-z]{3})*$/, { message: 'must be lowercase currency codes separated by commas, e.g. usd,eur' })
    .default('usd,eur'),
  SELLER_NAME: z.string().min(1).default('Save Sora'),
  SELLER_ADDRESS: z.string().optional(),
  SELLER_TAX_ID: z.string().optional(),
  TAX_RATE_PERCENT: z.coerce.number({ message: 'must be a number' }).min(0).max(100).default(0),
  TAX_LABEL: z.string().min(1).max(20).default('VAT'),
  SIGNUP_RATE_PER_HOUR: intIn(1, 100_000).default(10),
  /**
   * the bot challenge on sign-up, password reset and sign-in after failures (issue 19): a self-hosted
   * proof of work (ALTCHA) by default, Cloudflare Turnstile when chosen, or none (private installs, tests)
   */
  BOT_CHALLENGE: z.enum(['altcha', 'turnstile', 'off']).default('altcha'),
  /** payment velocity: failed payments in an hour, per account, per card and per address, at which checkout is flagged or refused */
  PAYMENT_FAILURES_PER_HOUR: intIn(1, 1000).default(5),
  /** payment velocity: accounts one card may pay for within 30 days before the next is flagged or refused */
  ACCOUNTS_PER_CARD: intIn(1, 1000).default(3),
  /** what a payment velocity rule does: block (refuse the checkout) or flag (allow it, flag the account, open a case) */
  PAYMENT_VELOCITY_ACTION: z.enum(['block', 'flag'], { message: 'must be block or flag' }).default('block'),
  /** the HMAC secret ALTCHA challenges are signed with (default: derived from SESSION_SECRET) */
  ALTCHA_HMAC_KEY: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  /** PBKDF2 iterations per ALTCHA attempt; a challenge takes ~100-200 attempts (about 0.2 s in a desktop browser at 5000) */
  ALTCHA_COST: intIn(1, 1_000_000).default(5000),
  /** failed email sign-ins from one address within an hour after which sign-in needs the challenge */
  BOT_CHALLENGE_AFTER_FAILURES: intIn(0, 1000).default(3),
  /** Cloudflare Turnstile's site key (BOT_CHALLENGE=turnstile) */
  TURNSTILE_SITE_KEY: z.string().min(1).max(200).optional(),
  /** Cloudflare Turnstile's secret key (BOT_CHALLENGE=turnstile) */
  TURNSTILE_SECRET_KEY: z.string().min(1).max(200).optional(),
  /** where Turnstile tokens are validated (tests point it at a local fake) */
  TURNSTILE_VERIFY_URL: httpUrl.default('https://challenges.cloudflare.com/turnstile/v0/siteverify'),
  /**
   * a sign-up matching a suspended or terminated account's device, browser fingerprint or address: block
   * (refuse it), review (allow it without free credits and open a case) or off; a network-only match is always a review
   */
  MULTI_ACCOUNT_ACTION: z.enum(['block', 'review', 'off'], { message: 'must be block, review or off' }).default('review'),
  /** free credits are withheld when a device, browser, IP or network signal matches an account granted them within this many days (0: once per address only) */
  FREE_CREDITS_MATCH_WINDOW_DAYS: intIn(0, 365).default(30),
  /** account signals (IP, network, device, browser fingerprint, canonical email) not seen for this many days are deleted */
  ABUSE_SIGNAL_RETENTION_DAYS: intIn(30, 1095).default(365),
  // Developer API
  API_RATE_PER_MINUTE: intIn(1, 1_000_000).default(60),
  API_USER_RATE_PER_MINUTE: intIn(1, 1_000_000).default(120),
  API_KEY_MAX_IN_FLIGHT: intIn(1, 100_000).default(5),
  API_LOG_RETENTION_DAYS: intIn(30, 180).default(90),
  AUDIT_LOG_RETENTION_DAYS: intIn(30, 730).default(180),
  /** the console's risk view (issue 19): two accounts that used one IP address or /24 (/64) within this many days of each other are shown as (weakly) linked */
  RISK_IP_LINK_DAYS: intIn(1, 365).default(30),
  WEBHOOK_ALLOW_HOSTS: z.string().optional(),
  WEBHOOK_RETRY_BASE_SECONDS: intIn(1, 3600).default(5),
  // Trust & safety (issue 16, ADR 16)
  /** per category: allow, flag (review) or block, when a classifier's score reaches MODERATION_THRESHOLD */
  MODERATION_ACTIONS: z
    .string()
    .regex(/^\s*[a-z/-]+\s*=\s*(allow|flag|block)\s*(,\s*[a-z/-]+\s*=\s*(allow|flag|block)\s*)*$/, {
      message: 'must be a comma-separated list of category=allow|flag|block',
    })
    .optional(),
  MODERATION_THRESHOLD: z.coerce.number({ message: 'must be a number' }).min(0.01).max(1).default(0.5),
  /** the on-device image model's scores count only from here (it scores harmless abstract frames up to 0.62) */
  MODERATION_IMAGE_THRESHOLD: z.coerce.number({ message: 'must be a number' }).min(0.01).max(1).default(0.9),
  /** builtin: the on-device image model (nsfwjs); off: images and video frames are checked by hash lists and OpenAI only */
  MODERATION_IMAGE_CLASSIFIER: z.enum(['builtin', 'off'], { message: 'must be builtin or off' }).default('builtin'),
  /** frames sampled from each video checked */
  MODERATION_VIDEO_FRAMES: intIn(1, 32).default(5),
  MODERATION_STRIKES_TO_SUSPEND: intIn(1, 100).default(3),
  OPENAI_MODERATION_API_KEY: z.string().min(1).optional(),
  OPENAI_MODERATION_BASE_URL: httpUrl.default('https://api.openai.com'),
  /** reports from people (signed in or not), per IP address and hour */
  CONTENT_REPORTS_PER_HOUR: intIn(1, 10_000).default(10),
  /** NCMEC CyberTipline: without a username and password, CSAM escalations wait as unsent reports */
  NCMEC_USERNAME: z.string().min(1).optional(),
  NCMEC_PASSWORD: z.string().min(1).optional(),
  NCMEC_ENVIRONMENT: z.enum(['test', 'production'], { message: 'must be test or production' }).default('test'),
  /** overrides the host NCMEC_ENVIRONMENT names (local fakes) */
  NCMEC_BASE_URL: httpUrl.optional(),
  NCMEC_REPORTER_FIRST_NAME: z.string().min(1).optional(),
  NCMEC_REPORTER_LAST_NAME: z.string().min(1).optional(),
  NCMEC_REPORTER_EMAIL: z.email({ message: 'must be an email address' }).optional(),
  NCMEC_REPORTER_PHONE: z.string().min(1).optional(),
  /** days a CyberTipline report and its material are kept under a legal hold (US law: one year) */
  NCMEC_PRESERVE_DAYS: intIn(365, 3650).default(365),
  // Data rights and retention (issue 17)
  /** days an export's download link works (then the retention job removes the archive) */
  EXPORT_LINK_DAYS: intIn(1, 30).default(7),
  /** days between a user's deletion request and the deletion; signing in and confirming cancels it */
  ACCOUNT_DELETION_GRACE_DAYS: intIn(0, 90).default(14),
  /** days operators have to answer a privacy request */
  PRIVACY_REQUEST_DUE_DAYS: intIn(1, 90).default(30),
  /** privacy requests from the public form, per IP address (and per email address given) and hour */
  PRIVACY_REQUESTS_PER_HOUR: intIn(1, 10_000).default(5),
  /** closed privacy requests are deleted after this many days */
  PRIVACY_REQUEST_RETENTION_DAYS: intIn(365, 3650).default(1095),
  /** a folder of the operator's own legal documents (Markdown with front matter), published at start-up */
  LEGAL_DOCS_DIR: z.string().min(1).optional(),
  /** where this server and its database run (country or region), as the privacy policy states it */
  HOSTING_LOCATION: z.string().min(2).max(200).optional(),
  /** orders, receipts and the ledger rows behind them of deleted accounts: deleted after this many years (tax law: 5 to 10) */
  ORDER_RETENTION_YEARS: intIn(5, 10).default(10),
  /** customer webhook deliveries (their bodies and answers) */
  WEBHOOK_DELIVERY_RETENTION_DAYS: intIn(7, 180).default(30),
  /** payment providers' event notifications, once applied */
  PAYMENT_EVENT_RETENTION_DAYS: intIn(30, 3650).default(180),
  /** a sign-in device not seen for this long is forgotten */
  DEVICE_RETENTION_DAYS: intIn(30, 730).default(365),
  /** mail kept in the outbox folder (installs without SMTP) */
  MAIL_OUTBOX_RETENTION_DAYS: intIn(1, 180).default(30),
  // Credits and generations
  SIGNUP_FREE_CREDITS: intIn(0, 1_000_000).default(20),
  GENERATION_MAX_IN_FLIGHT: intIn(1, 100_000).default(10),
  GENERATION_POLL_CONCURRENCY: intIn(1, 1000).default(32),
  GENERATION_POLL_MAX_INTERVAL_SECONDS: intIn(2, 3600).default(30),
  GENERATION_UNKNOWN_OUTCOME_GRACE_SECONDS: intIn(1, 86_400).default(300),
});

type Parsed = z.infer<typeof configSchema>;

export interface Config extends Omit<Parsed, 'PUBLIC_URL' | 'SESSION_SECRET'> {
  PUBLIC_URL: string;
  SESSION_SECRET: string;
  /** absolute path of DATA_DIR */
  dataDir: string;
  /** embedded PGlite when DATABASE_URL is unset */
  embeddedDatabase: boolean;
  /** the settings the environment set: they win over the console's (domain/admin/settings.service.ts) */
  envKeys?: readonly string[];
}

/** Parse the environment. Throws StartupError naming the first bad variable. */
export function parseConfig(env: NodeJS.ProcessEnv): Omit<Config, 'SESSION_SECRET'> & { SESSION_SECRET?: string } {
  // Empty strings mean "unset" (a common result of `FOO= npm start` or a blank line in .env).
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const result = configSchema.safeParse(input);
  if (!result.success) {
    // zod reports at least one issue when parsing fails
    const issue = result.error.issues[0] ?? { path: [], message: 'invalid value' };
    const name = String(issue.path[0] ?? 'configuration');
    const got = input[name];
    const shown = got === undefined ? '' : ` (got ${JSON.stringify(redact(name, got))})`;
    throw new StartupError(`Invalid setting ${name}: ${issue.message}${shown}.`);
  }
  const c = result.data;
  if (Boolean(c.GOOGLE_CLIENT_ID) !== Boolean(c.GOOGLE_CLIENT_SECRET)) {
    const missing = c.GOOGLE_CLIENT_ID ? 'GOOGLE_CLIENT_SECRET' : 'GOOGLE_CLIENT_ID';
    throw new StartupError(`Invalid setting ${missing}: Google sign-in needs both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET.`);
  }
  if (c.PASSWORD_HASH_LOG_N < PASSWORD_HASH_LOG_N && c.NODE_ENV !== 'test') {
    // a cheaper hash only speeds up tests; anywhere else it speeds up guessing stolen hashes
    throw new StartupError(`Invalid setting PASSWORD_HASH_LOG_N: must be at least ${PASSWORD_HASH_LOG_N} (OWASP's minimum for scrypt) unless NODE_ENV=test.`);
  }
  if (c.BOT_CHALLENGE === 'turnstile' && (!c.TURNSTILE_SITE_KEY || !c.TURNSTILE_SECRET_KEY)) {
    const missing = c.TURNSTILE_SITE_KEY ? 'TURNSTILE_SECRET_KEY' : 'TURNSTILE_SITE_KEY';
    throw new StartupError(`Invalid setting ${missing}: BOT_CHALLENGE=turnstile needs both TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY.`);
  }
  if (c.SESSION_ABSOLUTE_DAYS < c.SESSION_IDLE_DAYS) {
    throw new StartupError('Invalid setting SESSION_ABSOLUTE_DAYS: must be at least SESSION_IDLE_DAYS.');
  }
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    ...c,
    PUBLIC_URL: (c.PUBLIC_URL ?? `http://localhost:${c.PORT || 3000}`).replace(/\/+$/, ''),
    dataDir,
    embeddedDatabase: !c.DATABASE_URL,
    envKeys: Object.keys(input),
  };
}

function redact(name: string, value: string): string {
  if (/SECRET|TOKEN|PASSWORD|KEY/.test(name)) return '***';
  if (name === 'DATABASE_URL' || name === 'SMTP_URL' || name === 'REDIS_URL') return redactUrl(value);
  return value;
}

/** postgres://user:pass@host/db -> postgres://user:***@host/db (also redis://:pass@host) */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

/**
 * Load the configuration and make sure DATA_DIR exists. When SESSION_SECRET is unset a random one
 * is generated once and persisted in DATA_DIR/secrets.json (mode 0600), so the embedded default
 * needs no set-up and sessions survive restarts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = parseConfig(env);
  try {
    fs.mkdirSync(parsed.dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StartupError(`Invalid setting DATA_DIR: cannot create ${parsed.dataDir} (${(err as Error).message}).`);
  }
  const SESSION_SECRET = parsed.SESSION_SECRET ?? persistedSecret(parsed.dataDir, 'sessionSecret');
  return { ...parsed, SESSION_SECRET };
}

function persistedSecret(dataDir: string, key: string): string {
  const file = path.join(dataDir, 'secrets.json');
  let secrets: Record<string, string> = {};
  try {
    secrets = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StartupError(`Cannot read ${file}: ${(err as Error).message}. Fix or delete the file.`);
    }
  }
  const existing = secrets[key];
  if (existing) return existing;
  secrets[key] = randomBytes(32).toString('base64url');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, file);
  return secrets[key];
}
