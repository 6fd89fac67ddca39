import type { z } from 'zod';
import type { ConnectionTestId, SettingGroupId } from '../../../shared/api/admin-settings';
import { configSchema, redactUrl, type Config } from '../../config';

/**
 * The settings an admin may see and set in the console (issue 18). Each is an environment variable
 * of config.ts, validated by the same zod schema; the environment wins where it sets one.
 *
 * `apply` says honestly when a change takes effect:
 * - `live`: every web and worker process applies it within a second. Either an adapter is rebuilt
 *   (`reloads`: the KIE or fal provider, the payment registry, the mailer), or the services read
 *   the value from the shared config object at the moment they use it (checked for each one).
 * - `restart`: a service took the value when it was built (the generation limits, the moderation
 *   policy, route health); the stored value is used from the next start.
 * Storage is shown only (`readOnly`): switching the object store would leave the existing files in
 * the old one, so it stays an environment setting applied at start-up.
 */
export type ConfigKey = keyof typeof configSchema.shape & keyof Config;

/** what a live change rebuilds */
export type Reloads = 'kie' | 'fal' | 'payments' | 'mail';

export interface DeclaredSetting {
  key: ConfigKey;
  group: SettingGroupId;
  input: 'text' | 'url' | 'secret' | 'number' | 'boolean' | 'select';
  options?: readonly string[];
  secret: boolean;
  apply: 'live' | 'restart';
  readOnly: boolean;
  reloads?: Reloads;
  schema: z.ZodType;
}

type Opts = Partial<Pick<DeclaredSetting, 'input' | 'options' | 'secret' | 'reloads' | 'readOnly'>>;

function setting(key: ConfigKey, group: SettingGroupId, apply: 'live' | 'restart', opts: Opts = {}): DeclaredSetting {
  const secret = opts.secret ?? opts.input === 'secret';
  return {
    key,
    group,
    apply,
    input: opts.input ?? (secret ? 'secret' : 'text'),
    ...(opts.options ? { options: opts.options } : {}),
    secret,
    readOnly: opts.readOnly ?? false,
    ...(opts.reloads ? { reloads: opts.reloads } : {}),
    schema: configSchema.shape[key] as z.ZodType,
  };
}

const secret = { input: 'secret' } as const;
const url = { input: 'url' } as const;
const num = { input: 'number' } as const;
const bool = { input: 'boolean', options: ['true', 'false'] } as const;
const shown = { readOnly: true } as const;

export const declaredSettings: readonly DeclaredSetting[] = [
  // KIE (its adapter is rebuilt)
  setting('KIE_API_KEY', 'kie', 'live', { ...secret, reloads: 'kie' }),
  setting('KIE_BASE_URL', 'kie', 'live', { ...url, reloads: 'kie' }),
  setting('KIE_UPLOAD_URL', 'kie', 'live', { ...url, reloads: 'kie' }),
  setting('KIE_WEBHOOK_HMAC_KEY', 'kie', 'live', { ...secret, reloads: 'kie' }),
  setting('KIE_MAX_CONCURRENCY', 'kie', 'live', { ...num, reloads: 'kie' }),
  setting('KIE_RATE_PER_MINUTE', 'kie', 'live', { ...num, reloads: 'kie' }),
  // fal
  setting('FAL_KEY', 'fal', 'live', { ...secret, reloads: 'fal' }),
  setting('FAL_QUEUE_URL', 'fal', 'live', { ...url, reloads: 'fal' }),
  setting('FAL_JWKS_URL', 'fal', 'live', { ...url, reloads: 'fal' }),
  setting('FAL_MAX_CONCURRENCY', 'fal', 'live', { ...num, reloads: 'fal' }),
  setting('FAL_RATE_PER_MINUTE', 'fal', 'live', { ...num, reloads: 'fal' }),
  // every provider: the local renderer keeps renders in this process, the router and the engine took these when built
  setting('LOCAL_PROVIDER', 'providers', 'restart', bool),
  setting('PROVIDER_TIMEOUT_MS', 'providers', 'restart', num),
  setting('ROUTE_FAILURE_THRESHOLD', 'providers', 'restart', num),
  setting('ROUTE_COOLDOWN_SECONDS', 'providers', 'restart', num),
  // payments (the registry is rebuilt; the two options are read when used)
  setting('STRIPE_SECRET_KEY', 'stripe', 'live', { ...secret, reloads: 'payments' }),
  setting('STRIPE_WEBHOOK_SECRET', 'stripe', 'live', { ...secret, reloads: 'payments' }),
  setting('STRIPE_API_BASE', 'stripe', 'live', { ...url, reloads: 'payments' }),
  setting('CREEM_API_KEY', 'creem', 'live', { ...secret, reloads: 'payments' }),
  setting('CREEM_WEBHOOK_SECRET', 'creem', 'live', { ...secret, reloads: 'payments' }),
  setting('CREEM_API_BASE', 'creem', 'live', { ...url, reloads: 'payments' }),
  setting('CREEM_CHECKOUTS_ENABLED', 'creem', 'live', { ...bool, reloads: 'payments' }),
  setting('NOWPAYMENTS_API_KEY', 'nowpayments', 'live', { ...secret, reloads: 'payments' }),
  setting('NOWPAYMENTS_IPN_SECRET', 'nowpayments', 'live', { ...secret, reloads: 'payments' }),
  setting('NOWPAYMENTS_API_BASE', 'nowpayments', 'live', { ...url, reloads: 'payments' }),
  setting('NOWPAYMENTS_PARTIAL_PAYMENTS', 'nowpayments', 'live', { input: 'select', options: ['none', 'pro_rata'] }),
  // mail (the SMTP URL holds the password: write-only, shown without it)
  setting('SMTP_URL', 'mail', 'live', { ...secret, reloads: 'mail' }),
  setting('MAIL_FROM', 'mail', 'live', { reloads: 'mail' }),
  setting('SUPPORT_EMAIL', 'mail', 'live'),
  // moderation: the policy and the OpenAI client are built with the screener
  setting('MODERATION_ACTIONS', 'moderation', 'restart'),
  setting('MODERATION_THRESHOLD', 'moderation', 'restart', num),
  setting('MODERATION_IMAGE_THRESHOLD', 'moderation', 'restart', num),
  setting('MODERATION_IMAGE_CLASSIFIER', 'moderation', 'live', { input: 'select', options: ['builtin', 'off'] }),
  setting('MODERATION_VIDEO_FRAMES', 'moderation', 'live', num),
  setting('MODERATION_STRIKES_TO_SUSPEND', 'moderation', 'live', num),
  setting('CONTENT_REPORTS_PER_HOUR', 'moderation', 'live', num),
  setting('OPENAI_MODERATION_API_KEY', 'moderation', 'restart', secret),
  setting('OPENAI_MODERATION_BASE_URL', 'moderation', 'restart', url),
  // credits
  setting('SIGNUP_FREE_CREDITS', 'credits', 'live', num),
  // limits
  setting('UPLOADS_PER_HOUR', 'limits', 'live', num),
  setting('SIGNUP_RATE_PER_HOUR', 'limits', 'live', num),
  setting('API_RATE_PER_MINUTE', 'limits', 'live', num),
  setting('API_USER_RATE_PER_MINUTE', 'limits', 'live', num),
  setting('PRIVACY_REQUESTS_PER_HOUR', 'limits', 'live', num),
  setting('GENERATION_MAX_IN_FLIGHT', 'limits', 'restart', num),
  setting('API_KEY_MAX_IN_FLIGHT', 'limits', 'restart', num),
  // abuse and fraud (issue 19)
  setting('BOT_CHALLENGE', 'abuse', 'restart', { input: 'select', options: ['altcha', 'turnstile', 'off'] }),
  setting('MULTI_ACCOUNT_ACTION', 'abuse', 'live', { input: 'select', options: ['block', 'review', 'off'] }),
  setting('FREE_CREDITS_MATCH_WINDOW_DAYS', 'abuse', 'live', num),
  setting('ABUSE_SIGNAL_RETENTION_DAYS', 'abuse', 'live', num),
  setting('RISK_IP_LINK_DAYS', 'abuse', 'live', num),
  setting('PAYMENT_FAILURES_PER_HOUR', 'abuse', 'live', num),
  setting('ACCOUNTS_PER_CARD', 'abuse', 'live', num),
  setting('PAYMENT_VELOCITY_ACTION', 'abuse', 'live', { input: 'select', options: ['block', 'flag'] }),
  setting('ALTCHA_COST', 'abuse', 'live', num),
  setting('BOT_CHALLENGE_AFTER_FAILURES', 'abuse', 'live', num),
  setting('ALTCHA_HMAC_KEY', 'abuse', 'restart', secret),
  setting('TURNSTILE_SITE_KEY', 'abuse', 'restart'),
  setting('TURNSTILE_SECRET_KEY', 'abuse', 'restart', secret),
  setting('TURNSTILE_VERIFY_URL', 'abuse', 'restart', url),
  // storage: shown, set in the environment
  setting('STORAGE_DRIVER', 'storage', 'restart', { ...shown, input: 'select', options: ['disk', 's3'] }),
  setting('STORAGE_DIR', 'storage', 'restart', shown),
  setting('S3_BUCKET', 'storage', 'restart', shown),
  setting('S3_REGION', 'storage', 'restart', shown),
  setting('S3_ENDPOINT', 'storage', 'restart', { ...shown, ...url }),
  setting('S3_PUBLIC_ENDPOINT', 'storage', 'restart', { ...shown, ...url }),
  setting('S3_FORCE_PATH_STYLE', 'storage', 'restart', { ...shown, ...bool }),
  setting('S3_ACCESS_KEY_ID', 'storage', 'restart', { ...shown, ...secret }),
  setting('S3_SECRET_ACCESS_KEY', 'storage', 'restart', { ...shown, ...secret }),
];

export const settingByKey: ReadonlyMap<string, DeclaredSetting> = new Map(declaredSettings.map((s) => [s.key, s]));

/** The groups in display order, with the connection each one's "test" button checks. */
export const settingGroups: readonly { id: SettingGroupId; test: ConnectionTestId | null }[] = [
  { id: 'kie', test: 'kie' },
  { id: 'fal', test: 'fal' },
  { id: 'providers', test: null },
  { id: 'stripe', test: 'stripe' },
  { id: 'creem', test: 'creem' },
  { id: 'nowpayments', test: 'nowpayments' },
  { id: 'mail', test: 'smtp' },
  { id: 'moderation', test: null },
  { id: 'credits', test: null },
  { id: 'limits', test: null },
  { id: 'abuse', test: null },
  { id: 'storage', test: null },
];

/** A parsed value as the environment would write it (`true`, `20`, `usd,eur`); null when unset. */
export function asText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** The setting's default, parsed (undefined for a setting without one). */
export function defaultOf(s: DeclaredSetting): unknown {
  const r = s.schema.safeParse(undefined);
  return r.success ? r.data : undefined;
}

/** Parses a value as the environment would give it; the message names what is wrong. */
export function parseSetting(s: DeclaredSetting, raw: string): { ok: true; value: unknown } | { ok: false; message: string } {
  const r = s.schema.safeParse(raw.trim());
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, message: r.error.issues[0]?.message ?? 'is invalid' };
}

/** What a secret's row may show: the last four characters of a long key, or an SMTP URL without its password. */
export function secretHint(s: DeclaredSetting, value: string | null): string | null {
  if (!value) return null;
  if (s.key === 'SMTP_URL') return redactUrl(value);
  return value.length >= 16 ? `…${value.slice(-4)}` : null;
}
