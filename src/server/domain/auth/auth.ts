import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { betterAuth, type BetterAuthOptions } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { APIError } from 'better-auth/api';
import { genericOAuth } from 'better-auth/plugins';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Mailer } from '../../adapters/mail/mailer';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { accounts, sessions, users, verifications } from '../../db/schema';
import { normalizeLanguage } from '../../../shared/api/account';
import { sendTemplateMail } from '../../mail/send';
import { credits } from '../credits/credits';
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, verifyPassword } from '../users/password';
import { countUserDevices, findUserContact, findUserStatus, insertReferral, recordSignIn, upsertUserDevice } from '../users/users.repo';
import { isRegionCode, minimumAgeFor } from './age';
import { withHashedSessionTokens } from './session-token-hashing';
import { looksEncrypted } from './oauth-tokens';
import { symmetricEncrypt } from 'better-auth/crypto';
import { deviceFingerprint, parseUserAgent, regionFromHeaders } from './request-info';
import { createAccountAbuse } from '../abuse/eligibility.auth';

/** Header our HTTP layer sets to the client IP (as Fastify resolved it) before calling Better Auth. */
export const CLIENT_IP_HEADER = 'x-savesora-client-ip';
/** Signed cookie carrying a Google sign-up's age confirmation, region and referral code. */
export const SIGNUP_INTENT_COOKIE = 'savesora.signup_intent';

export interface SignupIntent {
  region: string;
  ageConfirmed: true;
  referralCode?: string | undefined;
  language?: string | undefined;
}

export interface AuthDeps {
  config: Config;
  database: Database;
  mailer: Mailer;
  logger: Logger;
  /** times the suspended-account appeal token (default: the system clock) */
  clock?: Clock;
}

export function signIntent(secret: string, intent: SignupIntent, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ ...intent, exp: now + 30 * 60_000 })).toString('base64url');
  const mac = createHmac('sha256', secret).update(`signup-intent.${payload}`).digest('base64url');
  return `${payload}.${mac}`;
}

export function readIntent(secret: string, value: string | undefined, now = Date.now()): SignupIntent | null {
  if (!value) return null;
  const [payload, mac] = value.split('.');
  if (!payload || !mac) return null;
  const want = createHmac('sha256', secret).update(`signup-intent.${payload}`).digest();
  const got = Buffer.from(mac, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  try {
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString()) as SignupIntent & { exp: number };
    return data.exp > now ? data : null;
  } catch {
    return null;
  }
}

/** How long the appeal token a suspended account's sign-in refusal carries stays valid. */
export const APPEAL_TOKEN_MS = 3600_000;

/**
 * The token that lets a suspended user appeal without a session (POST /api/appeals): an HMAC with
 * the session secret over the user id and an expiry one hour from `nowMs`.
 */
/** the cookie that carries a suspended account's appeal token when the refusal was a redirect (Google) */
export const APPEAL_COOKIE = 'savesora_appeal';

export function signAppealToken(secret: string, userId: string, nowMs: number): string {
  const payload = Buffer.from(JSON.stringify({ u: userId, exp: nowMs + APPEAL_TOKEN_MS })).toString('base64url');
  const mac = createHmac('sha256', secret).update(`suspension-appeal.${payload}`).digest('base64url');
  return `${payload}.${mac}`;
}

/** The user id an appeal token was made for, or null when it is forged, malformed or expired. */
export function readAppealToken(secret: string, token: string, nowMs: number): string | null {
  const [payload, mac, extra] = token.split('.');
  if (!payload || !mac || extra !== undefined) return null;
  const want = createHmac('sha256', secret).update(`suspension-appeal.${payload}`).digest();
  const got = Buffer.from(mac, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  try {
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { u?: unknown; exp?: unknown };
    return typeof data.u === 'string' && typeof data.exp === 'number' && data.exp > nowMs ? data.u : null;
  } catch {
    return null;
  }
}

function cookieValue(headers: Headers | undefined, name: string): string | undefined {
  const cookie = headers?.get('cookie');
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * Better Auth, configured for Save Sora: our tables, our password hashing (scrypt at OWASP
 * parameters), our mail templates, the age gate and referrals at sign-up, device facts on every
 * session, account status enforced at sign-in, and Google through OpenID Connect discovery.
 */
export function createAuth({ config, database, mailer, logger, clock = systemClock }: AuthDeps) {
  const https = config.PUBLIC_URL.startsWith('https://');
  const send = sendTemplateMail.bind(null, mailer);
  const languageOf = (user: unknown) => normalizeLanguage((user as { language?: string }).language);
  const google =
    config.GOOGLE_CLIENT_ID && config.GOOGLE_CLIENT_SECRET ? { clientId: config.GOOGLE_CLIENT_ID, clientSecret: config.GOOGLE_CLIENT_SECRET } : undefined;
  /**
   * What a sign-up said about age, region, referral and language: the request body for email
   * sign-ups, the signed cookie from POST /api/signup-intent for Google sign-ups (unchecked here).
   */
  const intentOf = (
    ctx: { path?: string; body?: unknown; headers?: Headers; request?: Request } | null | undefined,
  ): Partial<Record<keyof SignupIntent, unknown>> | null => {
    if (ctx?.path === '/sign-up/email') {
      const body = (ctx.body ?? {}) as Record<string, unknown>;
      return { region: body.region, ageConfirmed: body.ageConfirmed, referralCode: body.referralCode, language: body.language };
    }
    return readIntent(config.SESSION_SECRET, cookieValue(ctx?.request?.headers ?? ctx?.headers, SIGNUP_INTENT_COOKIE));
  };

  // issue 19: disposable mail, signals, free-credit eligibility, multi-account evasion
  const abuse = createAccountAbuse({ config, database, clock, logger, ipHeader: CLIENT_IP_HEADER });

  const sealIdToken = async (v: string | null | undefined) => (v && !looksEncrypted(v) ? symmetricEncrypt({ key: config.SESSION_SECRET, data: v }) : v);

  return betterAuth({
    appName: 'Save Sora',
    baseURL: config.PUBLIC_URL,
    basePath: '/api/auth',
    secret: config.SESSION_SECRET,
    trustedOrigins: [new URL(config.PUBLIC_URL).origin],
    telemetry: { enabled: false },
    // Our own limiter (shared by all processes, per IP and per account) guards these routes.
    rateLimit: { enabled: false },
    logger: {
      log: (level, message, ...args) => logger[level]({ args }, `auth: ${message}`),
    },
    // sessions.token holds only a hash of the cookie's token (see session-token-hashing.ts)
    database: (options: BetterAuthOptions) =>
      withHashedSessionTokens(
        drizzleAdapter(database.db, {
          provider: 'pg',
          schema: { user: users, account: accounts, session: sessions, verification: verifications },
        })(options),
      ),
    // password-reset tokens and OAuth state are stored as SHA-256 hashes, never as the link's token
    verification: { storeIdentifier: 'hashed' },
    user: {
      additionalFields: {
        role: { type: 'string', input: false, required: false },
        status: { type: 'string', input: false, required: false },
        region: { type: 'string', input: true, required: false },
        language: { type: 'string', input: true, required: false },
        ageConfirmedMinimum: { type: 'number', input: false, required: false },
        signupUserAgent: { type: 'string', input: false, required: false },
        signupDeviceType: { type: 'string', input: false, required: false },
      },
    },
    session: {
      expiresIn: config.SESSION_IDLE_DAYS * 86_400,
      // sliding expiry: a session used at least once a day stays alive up to the absolute limit
      updateAge: 86_400,
      additionalFields: {
        deviceType: { type: 'string', input: false, required: false },
        browser: { type: 'string', input: false, required: false },
        os: { type: 'string', input: false, required: false },
        region: { type: 'string', input: false, required: false },
      },
    },
    emailAndPassword: {
      enabled: true,
      minPasswordLength: PASSWORD_MIN_LENGTH,
      maxPasswordLength: PASSWORD_MAX_LENGTH,
      // No session at sign-up: the reply is the same whether or not the email is taken.
      autoSignIn: false,
      requireEmailVerification: false,
      password: { hash: (password) => hashPassword(password, config.PASSWORD_HASH_LOG_N), verify: ({ hash, password }) => verifyPassword(password, hash) },
      resetPasswordTokenExpiresIn: 3600,
      revokeSessionsOnPasswordReset: true,
      async sendResetPassword({ user, url }) {
        await send(user.email, 'reset-password', languageOf(user), { name: user.name || user.email, url, expiresInMinutes: 60 });
      },
      // Sign-up answers the same whether or not the address is taken; the owner of a taken address
      // hears about the attempt instead (and the work done is alike: a password hash and a mail).
      async onExistingUserSignUp({ user }) {
        await send(user.email, 'signup-existing', languageOf(user), {
          name: user.name || user.email,
          signInUrl: `${config.PUBLIC_URL}/sign-in`,
          resetUrl: `${config.PUBLIC_URL}/forgot-password`,
        });
      },
      async onPasswordReset({ user }) {
        await send(user.email, 'password-changed', languageOf(user), { name: user.name || user.email, when: new Date(), supportEmail: config.SUPPORT_EMAIL });
      },
    },
    emailVerification: {
      sendOnSignUp: true,
      autoSignInAfterVerification: true,
      expiresIn: 24 * 3600,
      async sendVerificationEmail({ user, url }) {
        await send(user.email, 'verify-email', languageOf(user), { name: user.name || user.email, url });
      },
    },
    account: {
      // Link a Google account to an existing email account only when Google says the email is verified.
      accountLinking: { enabled: true, trustedProviders: [], requireLocalEmailVerified: false },
      // Google's access, refresh and id tokens are encrypted with SESSION_SECRET at rest
      encryptOAuthTokens: true,
      // the OAuth state and PKCE verifier of a sign-in in progress live in an encrypted cookie, not
      // in the database
      storeStateStrategy: 'cookie',
    },
    advanced: {
      cookiePrefix: 'savesora',
      useSecureCookies: https,
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', secure: https },
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
      database: { generateId: () => randomUUID() },
    },
    databaseHooks: {
      // Better Auth encrypts access and refresh tokens (encryptOAuthTokens) but stores the id token
      // as it came; we seal it the same way (nothing here reads it back after sign-in)
      account: {
        create: { before: async (account) => ({ data: { ...account, idToken: await sealIdToken(account.idToken) } }) },
        update: { before: async (account) => ({ data: 'idToken' in account ? { ...account, idToken: await sealIdToken(account.idToken) } : account }) },
      },
      user: {
        create: {
          async before(user, ctx) {
            const headers = ctx?.request?.headers ?? ctx?.headers;
            const intent = intentOf(ctx);
            if (!intent || !isRegionCode(intent.region)) {
              throw new APIError('BAD_REQUEST', { code: 'REGION_REQUIRED', message: 'Choose your country or region to create an account.' });
            }
            if (intent.ageConfirmed !== true) {
              throw new APIError('BAD_REQUEST', {
                code: 'AGE_CONFIRMATION_REQUIRED',
                message: `You must confirm that you are at least ${minimumAgeFor(intent.region)} years old to use Save Sora.`,
              });
            }
            await abuse.beforeSignUp(user.email, headers);
            const ua = headers?.get('user-agent') ?? null;
            return {
              data: {
                ...user,
                region: intent.region,
                language: normalizeLanguage(intent.language ?? (user as { language?: string }).language ?? headers?.get('accept-language')),
                ageConfirmedMinimum: minimumAgeFor(intent.region),
                signupUserAgent: ua?.slice(0, 512) ?? null,
                signupDeviceType: parseUserAgent(ua).deviceType,
                // keep only what we store: role and status are never taken from input
                role: 'user',
                status: 'active',
              },
            };
          },
          async after(user, ctx) {
            const code = intentOf(ctx)?.referralCode;
            await credits.ensureAccount(database, user.id);
            // free credits come with the verified address (at once for a verified Google address), once per person
            await abuse.afterSignUp(user, ctx?.request?.headers ?? ctx?.headers);
            if (typeof code === 'string' && /^[A-Za-z0-9]{4,32}$/.test(code)) await insertReferral(database, user.id, code.toLowerCase());
          },
        },
        update: {
          // the address was verified (its link, or Google vouching for it when linking): decide the free credits
          async after(user, ctx) {
            if (user.emailVerified) await abuse.afterVerified(user.id, ctx?.path === '/verify-email' ? (ctx.request?.headers ?? ctx.headers) : undefined);
          },
        },
      },
      session: {
        create: {
          async before(session, ctx) {
            const u = await findUserStatus(database, session.userId);
            if (u && u.status !== 'active') {
              const reason = u.statusReason ? ` Reason: ${u.statusReason}` : '';
              const appealToken = u.status === 'suspended' ? signAppealToken(config.SESSION_SECRET, session.userId, clock.nowMs()) : null;
              // Google sign-in turns this refusal into a redirect that drops the body: the token also
              // goes in a cookie only POST /api/appeals receives (the sign-in page then offers the appeal)
              if (appealToken) {
                ctx?.setCookie(APPEAL_COOKIE, appealToken, {
                  httpOnly: true,
                  sameSite: 'lax',
                  secure: config.PUBLIC_URL.startsWith('https://'),
                  path: '/api/appeals',
                  maxAge: 3600,
                });
              }
              throw new APIError('FORBIDDEN', {
                code: u.status === 'suspended' ? 'ACCOUNT_SUSPENDED' : 'ACCOUNT_TERMINATED',
                message: `This account is ${u.status}.${reason} Contact ${config.SUPPORT_EMAIL} if you think this is a mistake.`,
                // a suspended user may appeal once from the sign-in page (POST /api/appeals)
                ...(appealToken ? { appealToken } : {}),
              });
            }
            const headers = ctx?.request?.headers ?? ctx?.headers;
            const device = parseUserAgent(session.userAgent ?? headers?.get('user-agent'));
            return {
              data: {
                ...session,
                deviceType: device.deviceType,
                browser: device.browser,
                os: device.os,
                region: config.TRUST_PROXY && headers ? regionFromHeaders(headers, config.REGION_HEADER) : null,
              },
            };
          },
          async after(session, ctx) {
            await abuse.afterSignIn(session.userId, ctx?.request?.headers ?? ctx?.headers);
            const s = session as typeof session & { deviceType: string; browser: string | null; os: string | null; region: string | null };
            const device = { deviceType: s.deviceType as 'desktop', browser: s.browser, os: s.os };
            const fp = deviceFingerprint(device);
            const knownDevices = await countUserDevices(database, s.userId);
            const isNewDevice = await upsertUserDevice(database, s.userId, fp);
            await recordSignIn(database, s.userId);
            if (isNewDevice && knownDevices > 0) {
              const u = await findUserContact(database, s.userId);
              if (u) {
                await send(u.email, 'new-sign-in', u.language, {
                  name: u.name || u.email,
                  when: new Date(),
                  device: s.deviceType,
                  browser: s.browser ?? '',
                  region: s.region ?? '',
                  ip: s.ipAddress ?? '',
                }).catch((err: unknown) => logger.error({ err }, 'could not send the new sign-in alert'));
              }
            }
          },
        },
      },
    },
    plugins: google
      ? [
          genericOAuth({
            config: [
              {
                providerId: 'google',
                clientId: google.clientId,
                clientSecret: google.clientSecret,
                discoveryUrl: config.GOOGLE_DISCOVERY_URL,
                scopes: ['openid', 'email', 'profile'],
                pkce: true,
                requireIdTokenVerification: true,
                mapProfileToUser: (p) => ({
                  name: typeof p.name === 'string' ? p.name : '',
                  image: typeof p.picture === 'string' ? p.picture : undefined,
                  emailVerified: p.email_verified === true,
                }),
              },
            ],
          }),
        ]
      : [],
  });
}

export type Auth = ReturnType<typeof createAuth>;

/**
 * Email and name of the account a password-reset token belongs to (for the password policy), or
 * null when the token is unknown or expired. Reads through Better Auth, which stores only the
 * token's hash.
 */
export async function resetTokenOwner(auth: Auth, token: string): Promise<{ email: string; name: string } | null> {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) return null;
  const context = await auth.$context;
  const v = await context.internalAdapter.findVerificationValue(`reset-password:${token}`);
  if (!v || new Date(v.expiresAt).getTime() < Date.now()) return null;
  const user = await context.internalAdapter.findUserById(v.value);
  return user ? { email: user.email, name: user.name } : null;
}
