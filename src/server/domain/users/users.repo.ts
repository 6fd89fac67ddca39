import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { canonicalEmail } from '../abuse/email';
import { accounts, creditBalances, referrals, userAvatars, userDevices, users, verifications, type UserRole, type UserStatus } from '../../db/schema';

/** SQL for users and what hangs off them: sign-in accounts, photos, devices, referrals, email-change tokens. */

export type UserRow = typeof users.$inferSelect;
export type UserContact = Pick<UserRow, 'email' | 'name' | 'language'>;
export type UserSummaryRow = Pick<UserRow, 'id' | 'email' | 'name' | 'role' | 'status' | 'createdAt'> & { credits: number };
export type AvatarRow = Pick<typeof userAvatars.$inferSelect, 'content' | 'contentType' | 'etag'>;

const emailIs = (email: string) => sql`lower(${users.email}) = lower(${email})`;

/** A unique-constraint violation, as the driver raised it or wrapped by Drizzle. */
function isUniqueViolation(err: unknown): boolean {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

/** A user with their spendable credits and the providers they sign in with (sorted), or undefined. */
export async function findUserWithCredits(
  db: DbHandle,
  userId: string,
): Promise<{ user: UserRow; credits: number | null; providers: string[] | null } | undefined> {
  const [row] = await db.db
    .select({
      user: users,
      credits: creditBalances.balance,
      providers: sql<
        string[] | null
      >`(select array_agg(${accounts.providerId} order by ${accounts.providerId}) from ${accounts} where ${accounts.userId} = ${users.id})`,
    })
    .from(users)
    .leftJoin(creditBalances, eq(creditBalances.userId, users.id))
    .where(eq(users.id, userId));
  return row;
}

export async function findUserByEmail(db: DbHandle, email: string): Promise<UserRow | undefined> {
  const [row] = await db.db.select().from(users).where(emailIs(email));
  return row;
}

export async function findUserContact(db: DbHandle, userId: string): Promise<UserContact | undefined> {
  const [row] = await db.db.select({ email: users.email, name: users.name, language: users.language }).from(users).where(eq(users.id, userId));
  return row;
}

/** The contact details of a user whose email is about to change, locked until the transaction ends. */
export async function lockUserContact(tx: DbHandle, userId: string): Promise<UserContact | undefined> {
  const [row] = await tx.db.select({ email: users.email, name: users.name, language: users.language }).from(users).where(eq(users.id, userId)).for('update');
  return row;
}

export async function findUserStatus(db: DbHandle, userId: string): Promise<Pick<UserRow, 'status' | 'statusReason'> | undefined> {
  const [row] = await db.db.select({ status: users.status, statusReason: users.statusReason }).from(users).where(eq(users.id, userId));
  return row;
}

export async function isEmailUsedByAnother(db: DbHandle, email: string, userId: string): Promise<boolean> {
  const rows = await db.db
    .select({ id: users.id })
    .from(users)
    .where(and(emailIs(email), ne(users.id, userId)));
  return rows.length > 0;
}

/** Operators' list, oldest first; `ids` narrows it to those users. */
export async function listUserSummaries(db: DbHandle, opts: { limit: number; offset: number; ids?: string[] | undefined }): Promise<UserSummaryRow[]> {
  return db.db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      role: users.role,
      status: users.status,
      credits: sql<number>`coalesce(${creditBalances.balance}, 0)`.mapWith(Number),
      createdAt: users.createdAt,
    })
    .from(users)
    .leftJoin(creditBalances, eq(creditBalances.userId, users.id))
    .where(opts.ids ? inArray(users.id, opts.ids) : undefined)
    .orderBy(users.createdAt, users.id)
    .limit(opts.limit)
    .offset(opts.offset);
}

/** Inserts a user; null when another user already has the email (in any letter case). */
export async function insertUser(
  tx: DbHandle,
  u: Pick<typeof users.$inferInsert, 'email' | 'name' | 'role' | 'emailVerified'>,
): Promise<Pick<UserRow, 'id' | 'createdAt'> | null> {
  try {
    const [row] = await tx.db
      .insert(users)
      .values({ email: u.email, name: u.name, role: u.role, emailVerified: u.emailVerified })
      .returning({ id: users.id, createdAt: users.createdAt });
    if (!row) throw new Error('the user insert returned no row');
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) return null;
    throw err;
  }
}

/** The email + password sign-in account (Better Auth's 'credential' provider, keyed by the user id). */
export async function insertCredentialAccount(tx: DbHandle, userId: string, passwordHash: string): Promise<void> {
  await tx.db.insert(accounts).values({ userId, providerId: 'credential', accountId: userId, password: passwordHash });
}

export async function findPasswordHash(db: DbHandle, userId: string): Promise<string | null> {
  const [row] = await db.db
    .select({ password: accounts.password })
    .from(accounts)
    .where(and(eq(accounts.userId, userId), eq(accounts.providerId, 'credential')));
  return row?.password ?? null;
}

/** Changes only the fields given. */
export async function updateProfileFields(
  db: DbHandle,
  userId: string,
  patch: { name?: string | undefined; region?: string | undefined; language?: string | undefined },
): Promise<void> {
  await db.db
    .update(users)
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.region !== undefined ? { region: patch.region } : {}),
      ...(patch.language !== undefined ? { language: patch.language } : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(users.id, userId));
}

export async function setUserImage(db: DbHandle, userId: string, image: string | null): Promise<void> {
  await db.db
    .update(users)
    .set({ image, updatedAt: sql`now()` })
    .where(eq(users.id, userId));
}

/** Sets a confirmed new email; false when another user has it already. */
export async function setVerifiedEmail(tx: DbHandle, userId: string, email: string): Promise<boolean> {
  try {
    await tx.db
      .update(users)
      // (the canonical form for abuse checks follows the address, issue 19)
      .set({ email, canonicalEmail: canonicalEmail(email), emailVerified: true, updatedAt: sql`now()` })
      .where(eq(users.id, userId));
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

/** The id of the user whose role changed, or null when no user has that email. */
export async function setRoleByEmail(db: DbHandle, email: string, role: UserRole): Promise<string | null> {
  const [row] = await db.db
    .update(users)
    .set({ role, updatedAt: sql`now()` })
    .where(emailIs(email))
    .returning({ id: users.id });
  return row?.id ?? null;
}

/** The id of the user whose status changed, or null when no user has that email. */
export async function setStatusByEmail(tx: DbHandle, email: string, status: UserStatus, reason: string | null): Promise<string | null> {
  const [row] = await tx.db
    .update(users)
    .set({ status, statusReason: reason, updatedAt: sql`now()` })
    .where(emailIs(email))
    .returning({ id: users.id });
  return row?.id ?? null;
}

export async function recordSignIn(db: DbHandle, userId: string): Promise<void> {
  await db.db
    .update(users)
    .set({ lastSignInAt: sql`now()` })
    .where(eq(users.id, userId));
}

export async function countUserDevices(db: DbHandle, userId: string): Promise<number> {
  const [row] = await db.db
    .select({ n: sql<number>`count(*)::int` })
    .from(userDevices)
    .where(eq(userDevices.userId, userId));
  return row?.n ?? 0;
}

/** Records a sign-in from a device; true when the device is new for this user. */
export async function upsertUserDevice(db: DbHandle, userId: string, fingerprint: string): Promise<boolean> {
  const [row] = await db.db
    .insert(userDevices)
    .values({ userId, fingerprint })
    .onConflictDoUpdate({ target: [userDevices.userId, userDevices.fingerprint], set: { lastSeenAt: sql`now()` } })
    // xmax is 0 on a row this statement inserted, and set on one it updated
    .returning({ inserted: sql<boolean>`(xmax = 0)` });
  return row?.inserted === true;
}

/** Records who invited a new user, when the code is another user's referral code (once per user). */
export async function insertReferral(db: DbHandle, referredUserId: string, code: string): Promise<void> {
  await db.db.execute(
    sql`insert into ${referrals} (referred_user_id, referrer_user_id, code)
        select ${referredUserId}, ${users.id}, ${users.referralCode} from ${users} where ${users.referralCode} = ${code} and ${users.id} <> ${referredUserId}
        on conflict do nothing`,
  );
}

export async function upsertAvatar(tx: DbHandle, userId: string, avatar: { content: Buffer; contentType: string; etag: string }): Promise<void> {
  await tx.db
    .insert(userAvatars)
    .values({ userId, ...avatar })
    .onConflictDoUpdate({
      target: userAvatars.userId,
      set: { content: sql`excluded.content`, contentType: sql`excluded.content_type`, etag: sql`excluded.etag`, updatedAt: sql`now()` },
    });
}

export async function deleteAvatar(tx: DbHandle, userId: string): Promise<void> {
  await tx.db.delete(userAvatars).where(eq(userAvatars.userId, userId));
}

export async function findAvatar(db: DbHandle, userId: string): Promise<AvatarRow | undefined> {
  const [row] = await db.db
    .select({ content: userAvatars.content, contentType: userAvatars.contentType, etag: userAvatars.etag })
    .from(userAvatars)
    .where(eq(userAvatars.userId, userId));
  return row;
}

/** A one-time token record (by the hash of its token) that expires after `ttlMinutes`. */
export async function insertVerification(db: DbHandle, identifier: string, value: string, ttlMinutes: number): Promise<void> {
  await db.db.insert(verifications).values({
    id: sql`gen_random_uuid()::text`,
    identifier,
    value,
    expiresAt: sql`now() + make_interval(mins => ${ttlMinutes})`,
  });
}

/** Deletes an unexpired one-time token and returns its value, or null when there is none. */
export async function takeVerification(tx: DbHandle, identifier: string): Promise<string | null> {
  const [row] = await tx.db
    .delete(verifications)
    .where(and(eq(verifications.identifier, identifier), sql`${verifications.expiresAt} > now()`))
    .returning({ value: verifications.value });
  return row?.value ?? null;
}
