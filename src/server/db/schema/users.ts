import { sql } from 'drizzle-orm';
import { boolean, check, index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

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
    id: text('id').primaryKey().default(sql`gen_random_uuid()::text`),
    email: text('email').notNull(),
    name: text('name').notNull().default(''),
    emailVerified: boolean('email_verified').notNull().default(false),
    image: text('image'),
    role: text('role', { enum: userRoles }).notNull().default('user'),
    status: text('status', { enum: userStatuses }).notNull().default('active'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    index('users_created_at_idx').on(t.createdAt),
    check('users_role_check', sql.raw(`role in (${userRoles.map((r) => `'${r}'`).join(', ')})`)),
    check('users_status_check', sql.raw(`status in (${userStatuses.map((r) => `'${r}'`).join(', ')})`)),
  ],
);

export const accounts = pgTable(
  'accounts',
  {
    id: text('id').primaryKey().default(sql`gen_random_uuid()::text`),
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
