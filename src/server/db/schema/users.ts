import { sql } from 'drizzle-orm';
import { boolean, check, customType, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * Users and their sign-in accounts. Shaped like Better Auth's core `user` / `account` models
 * (plural table names, camelCase properties) so the auth library can use these tables as they are.
 */
export const userRoles = ['user', 'support', 'moderator', 'admin'] as const;
export type UserRole = (typeof userRoles)[number];
export const userStatuses = ['active', 'suspended', 'terminated'] as const;
export type UserStatus = (typeof userStatuses)[number];

export const users = pgTable(
  'users',
  {
    id: text('id')
      .primaryKey()
      .default(sql`gen_random_uuid()::text`),
    email: text('email').notNull(),
    name: text('name').notNull().default(''),
    emailVerified: boolean('email_verified').notNull().default(false),
    image: text('image'),
    role: text('role', { enum: userRoles }).notNull().default('user'),
    status: text('status', { enum: userStatuses }).notNull().default('active'),
    /** why an operator suspended or terminated the account (shown to the user) */
    statusReason: text('status_reason'),
    /** set when a refund or dispute took back more credits than were left (for operators) */
    billingFlag: text('billing_flag'),
    /** ISO 3166-1 alpha-2 country the user chose (drives the age gate and defaults) */
    region: text('region'),
    /** preferred language: drives the UI and emails */
    language: text('language').notNull().default('en'),
    /** this user's own code to invite others */
    referralCode: text('referral_code')
      .notNull()
      .default(sql`substr(md5(random()::text || clock_timestamp()::text), 1, 10)`),
    /** the minimum age the user confirmed at sign-up (13, or 16 in the EEA/UK) */
    ageConfirmedMinimum: integer('age_confirmed_minimum'),
    signupUserAgent: text('signup_user_agent'),
    signupDeviceType: text('signup_device_type'),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
    /** an operator deleted the account while a legal hold kept some of it: the rest goes when the hold ends */
    deletionRequestedAt: timestamp('deletion_requested_at', { withTimezone: true }),
    /** when the user opted in to product-update mail (null: not opted in; transactional mail is always sent) */
    marketingOptInAt: timestamp('marketing_opt_in_at', { withTimezone: true }),
    /** the address canonicalised for abuse checks (case, Gmail dots and +tags): never shown or mailed */
    canonicalEmail: text('canonical_email'),
    /** set while the account may not generate (a dispute, a fraud rule): the reason, for operators */
    generationHold: text('generation_hold'),
    generationHoldAt: timestamp('generation_hold_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    uniqueIndex('users_referral_code_key').on(t.referralCode),
    index('users_created_at_idx').on(t.createdAt),
    index('users_canonical_email_idx').on(t.canonicalEmail),
    index('users_deletion_requested_idx')
      .on(t.deletionRequestedAt)
      .where(sql`deletion_requested_at is not null`),
    check('users_role_check', sql.raw(`role in (${userRoles.map((r) => `'${r}'`).join(', ')})`)),
    check('users_status_check', sql.raw(`status in (${userStatuses.map((r) => `'${r}'`).join(', ')})`)),
  ],
);

export const accounts = pgTable(
  'accounts',
  {
    id: text('id')
      .primaryKey()
      .default(sql`gen_random_uuid()::text`),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** 'credential' for email + password, 'google' for Google sign-in */
    providerId: text('provider_id').notNull(),
    /** the provider's id for the person (Google `sub`; the user id for credentials) */
    accountId: text('account_id').notNull(),
    /** salted hash only, never plaintext (see domain/users/password.ts) */
    password: text('password'),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    idToken: text('id_token'),
    accessTokenExpiresAt: timestamp('access_token_expires_at', { withTimezone: true }),
    refreshTokenExpiresAt: timestamp('refresh_token_expires_at', { withTimezone: true }),
    scope: text('scope'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('accounts_provider_account_key').on(t.providerId, t.accountId), index('accounts_user_idx').on(t.userId)],
);

/** Sign-in sessions (Better Auth's `session` model plus the device facts we show in Account). */
export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    token: text('token').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    deviceType: text('device_type'),
    browser: text('browser'),
    os: text('os'),
    region: text('region'),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** when the user last confirmed it was them in this session (the console's sensitive actions) */
    reauthenticatedAt: timestamp('reauthenticated_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('sessions_token_key').on(t.token),
    index('sessions_user_idx').on(t.userId),
    index('sessions_expires_idx').on(t.expiresAt),
    /** the dashboard's active users (migration 0011) */
    index('sessions_created_idx').on(t.createdAt, t.userId),
  ],
);

/** One-time tokens (email verification, password reset, OAuth state). */
export const verifications = pgTable(
  'verifications',
  {
    id: text('id').primaryKey(),
    identifier: text('identifier').notNull(),
    value: text('value').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('verifications_identifier_idx').on(t.identifier), index('verifications_expires_idx').on(t.expiresAt)],
);

/** Devices a user has signed in from, to alert on a new one. */
export const userDevices = pgTable(
  'user_devices',
  {
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.fingerprint] })],
);

/** Who invited whom (a user is referred at most once). */
export const referrals = pgTable(
  'referrals',
  {
    referredUserId: text('referred_user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    referrerUserId: text('referrer_user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    code: text('code').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('referrals_referrer_idx').on(t.referrerUserId)],
);

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/** Profile photos, normalized to a small WebP (no metadata) on upload. */
export const userAvatars = pgTable('user_avatars', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  content: bytea('content').notNull(),
  contentType: text('content_type').notNull(),
  etag: text('etag').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
