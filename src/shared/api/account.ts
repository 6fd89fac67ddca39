import { z } from 'zod';
import { safeText } from './text';
import { supportedLanguages } from '../languages';

export { normalizeLanguage, supportedLanguages, type Language } from '../languages';
export const language = z.enum(supportedLanguages);

/** ISO 3166-1 alpha-2 country code, upper case */
export const regionCode = z.string().regex(/^[A-Z]{2}$/, { message: 'must be a two-letter country code' });

export const userRole = z.enum(['user', 'support', 'moderator', 'admin']);
export const userStatus = z.enum(['active', 'suspended', 'terminated']);

export const me = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  /** URL of the profile photo (our own /api/me/photo or the Google photo), or null */
  image: z.string().nullable(),
  emailVerified: z.boolean(),
  role: userRole,
  status: userStatus,
  region: z.string().nullable(),
  language,
  referralCode: z.string(),
  /** full URL to share: sign-up with this user's referral code */
  referralLink: z.string(),
  /** true when the account has an email + password credential */
  hasPassword: z.boolean(),
  /** sign-in methods linked to the account: 'credential', 'google' */
  providers: z.array(z.string()),
  credits: z.number().int(),
  createdAt: z.string(),
  /** GET /api/me only: a fresh install has no admin and this is its first account, which may claim the role (POST /api/setup/claim-admin) */
  canClaimAdmin: z.boolean().optional(),
});
export type Me = z.infer<typeof me>;

export const updateMe = z
  .object({
    name: safeText().trim().min(1).max(100).optional(),
    region: regionCode.optional(),
    language: language.optional(),
  })
  .strict();
export type UpdateMe = z.infer<typeof updateMe>;

export const sessionInfo = z.object({
  id: z.string(),
  current: z.boolean(),
  deviceType: z.string().nullable(),
  browser: z.string().nullable(),
  os: z.string().nullable(),
  region: z.string().nullable(),
  /** partly masked IP address */
  ip: z.string().nullable(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
});
export const sessionList = z.object({ sessions: z.array(sessionInfo) });
export type SessionInfo = z.infer<typeof sessionInfo>;

export const changePassword = z.object({
  currentPassword: z.string().min(1).max(128),
  newPassword: safeText().min(8, { message: 'must be at least 8 characters' }).max(128),
});

export const changeEmail = z.object({
  newEmail: z.email({ message: 'must be a valid email address' }).max(254),
  currentPassword: z.string().min(1).max(128),
});

/** Sent before "Continue with Google" on the sign-up page (the age gate for Google sign-ups). */
export const signupIntent = z.object({
  region: regionCode,
  ageConfirmed: z.literal(true, { message: 'must confirm the minimum age' }),
  referralCode: z
    .string()
    .regex(/^[A-Za-z0-9]{4,32}$/)
    .optional(),
  language: language.optional(),
});

export const authConfig = z.object({
  google: z.boolean(),
  languages: z.array(language),
  /** regions where the minimum age is 16 (EEA and UK); 13 elsewhere */
  sixteenPlusRegions: z.array(z.string()),
  passwordMinLength: z.number().int(),
  passwordMaxLength: z.number().int(),
  /** true when a dev mailbox page is available (no SMTP, not production) */
  devMailbox: z.boolean(),
});
export type AuthConfig = z.infer<typeof authConfig>;

export const mailboxEntry = z.object({
  id: z.string(),
  to: z.string(),
  subject: z.string(),
  date: z.string(),
});
export const mailboxList = z.object({ messages: z.array(mailboxEntry) });
export const mailboxMessage = mailboxEntry.extend({ text: z.string(), html: z.string() });
