import { z } from 'zod';
import type { Database } from '../../db/client';
import { userRoles, type UserRole, type UserStatus } from '../../db/schema';
import { AppError } from '../../errors';
import { deleteUserSessions } from '../auth/auth.repo';
import { credits } from '../credits/credits';
import { hashPassword } from './password';
import { assertPasswordAllowed } from './password-policy';
import {
  findUserByEmail,
  insertCredentialAccount,
  insertUser,
  listUserSummaries,
  setRoleByEmail,
  setStatusByEmail,
  type UserRow,
  type UserSummaryRow,
} from './users.repo';

export const createUserInput = z.object({
  email: z
    .email({ message: 'must be a valid email address' })
    .max(254)
    .transform((e) => e.trim()),
  /** length and the rest: the password policy (password-policy.ts), with its own error codes */
  password: z.string(),
  name: z.string().trim().max(100).default(''),
  role: z.enum(userRoles).default('user'),
  credits: z.number().int().min(0).max(100_000_000).default(0),
  /** operator-created accounts are trusted to own their address */
  emailVerified: z.boolean().default(true),
});
export type CreateUserInput = z.input<typeof createUserInput>;

export type UserSummary = UserSummaryRow;

export interface UsersServiceDeps {
  database: Database;
  /** scrypt's cost for new passwords (PASSWORD_HASH_LOG_N); OWASP's by default */
  passwordHashLogN?: number;
}

export function createUsersService({ database, passwordHashLogN }: UsersServiceDeps) {
  /** the operators' view of a user that was just changed */
  async function summaryOf(userId: string): Promise<UserSummary> {
    const [summary] = await listUserSummaries(database, { limit: 1, offset: 0, ids: [userId] });
    if (!summary) throw new AppError('not_found', 'That user no longer exists.', 404);
    return summary;
  }

  return {
    /** Creates a user with an email + password account and optional starting credits, atomically. */
    async create(input: CreateUserInput): Promise<UserSummary> {
      const parsed = createUserInput.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new AppError('invalid_input', `${issue?.path.join('.') || 'input'} ${issue?.message ?? 'is not valid'}`, 400);
      }
      const u = parsed.data;
      assertPasswordAllowed(u.password, { email: u.email, name: u.name });
      const passwordHash = await hashPassword(u.password, passwordHashLogN);
      return database.transaction(async (tx) => {
        const row = await insertUser(tx, { email: u.email, name: u.name, role: u.role, emailVerified: u.emailVerified });
        if (!row) throw new AppError('email_taken', `A user with the email ${u.email} already exists.`, 409);
        const id = row.id;
        await insertCredentialAccount(tx, id, passwordHash);
        await credits.ensureAccount(tx, id);
        if (u.credits > 0)
          await credits.grant(tx, { userId: id, credits: u.credits, reason: 'Granted by an operator at account creation', source: 'operator' });
        return { id, email: u.email, name: u.name, role: u.role, status: 'active' as const, credits: u.credits, createdAt: row.createdAt };
      });
    },

    /** The user with this email (in any letter case), or null. */
    async findByEmail(email: string): Promise<UserRow | null> {
      return (await findUserByEmail(database, email)) ?? null;
    },

    /** Operators: change a user's role. */
    async setRole(email: string, role: UserRole): Promise<UserSummary> {
      const id = await setRoleByEmail(database, email, role);
      if (id === null) throw new AppError('not_found', `No user with the email ${email}.`, 404);
      return summaryOf(id);
    },

    /**
     * Operators: suspend, terminate or reactivate an account. Anything but active ends every
     * session at once; sign-in and generation are refused with the reason.
     */
    async setStatus(email: string, status: UserStatus, reason?: string): Promise<UserSummary> {
      const id = await database.transaction(async (tx) => {
        const userId = await setStatusByEmail(tx, email, status, status === 'active' ? null : (reason ?? null));
        if (userId === null) throw new AppError('not_found', `No user with the email ${email}.`, 404);
        if (status !== 'active') await deleteUserSessions(tx, userId);
        return userId;
      });
      return summaryOf(id);
    },

    async list(opts: { limit?: number; offset?: number; ids?: string[] } = {}): Promise<UserSummary[]> {
      return listUserSummaries(database, { limit: opts.limit ?? 1000, offset: opts.offset ?? 0, ids: opts.ids });
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
