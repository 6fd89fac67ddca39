import { z } from 'zod';
import type { Database } from '../../db/client';
import { userRoles, type UserRole, type UserStatus } from '../../db/schema';
import { AppError } from '../../errors';
import { applyLedgerEntry } from '../credits/credits.repo';
import { hashPassword } from './password';
import { assertPasswordAllowed } from './password-policy';

export const createUserInput = z.object({
  email: z.email({ message: 'must be a valid email address' }).max(254).transform((e) => e.trim()),
  /** length and the rest: the password policy (password-policy.ts), with its own error codes */
  password: z.string(),
  name: z.string().trim().max(100).default(''),
  role: z.enum(userRoles).default('user'),
  credits: z.number().int().min(0).max(100_000_000).default(0),
  /** operator-created accounts are trusted to own their address */
  emailVerified: z.boolean().default(true),
});
export type CreateUserInput = z.input<typeof createUserInput>;

export interface UserSummary {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  status: UserStatus;
  credits: number;
  createdAt: Date;
}

export interface UsersServiceDeps {
  database: Database;
}

export function createUsersService({ database }: UsersServiceDeps) {
  return {
    /** Creates a user with an email + password account and optional starting credits, atomically. */
    async create(input: CreateUserInput): Promise<UserSummary> {
      const parsed = createUserInput.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new AppError('invalid_input', `${issue.path.join('.') || 'input'} ${issue.message}`, 400);
      }
      const u = parsed.data;
      assertPasswordAllowed(u.password, { email: u.email, name: u.name });
      const passwordHash = await hashPassword(u.password);
      try {
        return await database.transaction(async (tx) => {
          const [row] = await tx.sql.query<{ id: string; created_at: Date | string }>(
            `insert into users (email, name, role, email_verified) values ($1, $2, $3, $4) returning id, created_at`,
            [u.email, u.name, u.role, u.emailVerified],
          );
          const id = row!.id;
          await tx.sql.query(`insert into accounts (user_id, provider_id, account_id, password) values ($1, 'credential', $1, $2)`, [
            id,
            passwordHash,
          ]);
          await tx.sql.query('insert into credit_balances (user_id) values ($1)', [id]);
          if (u.credits > 0) {
            await applyLedgerEntry(tx, { userId: id, kind: 'grant', amount: u.credits, reason: 'Granted by an operator at account creation', reference: 'cli' });
          }
          return { id, email: u.email, name: u.name, role: u.role, status: 'active' as const, credits: u.credits, createdAt: new Date(row!.created_at) };
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new AppError('email_taken', `A user with the email ${u.email} already exists.`, 409);
        throw err;
      }
    },

    /** Operators: change a user's role. */
    async setRole(email: string, role: UserRole): Promise<UserSummary> {
      const rows = await database.sql.query<{ id: string }>('update users set role = $2, updated_at = now() where lower(email) = lower($1) returning id', [email, role]);
      if (!rows.length) throw new AppError('not_found', `No user with the email ${email}.`, 404);
      return (await this.list({ ids: [rows[0]!.id] }))[0]!;
    },

    /**
     * Operators: suspend, terminate or reactivate an account. Anything but active ends every
     * session at once; sign-in and generation are refused with the reason.
     */
    async setStatus(email: string, status: UserStatus, reason?: string): Promise<UserSummary> {
      const id = await database.transaction(async (tx) => {
        const rows = await tx.sql.query<{ id: string }>(
          'update users set status = $2, status_reason = $3, updated_at = now() where lower(email) = lower($1) returning id',
          [email, status, status === 'active' ? null : (reason ?? null)],
        );
        if (!rows.length) throw new AppError('not_found', `No user with the email ${email}.`, 404);
        if (status !== 'active') await tx.sql.query('delete from sessions where user_id = $1', [rows[0]!.id]);
        return rows[0]!.id;
      });
      return (await this.list({ ids: [id] }))[0]!;
    },

    async list(opts: { limit?: number; offset?: number; ids?: string[] } = {}): Promise<UserSummary[]> {
      const rows = await database.sql.query<{
        id: string;
        email: string;
        name: string;
        role: UserRole;
        status: UserStatus;
        credits: string | number | null;
        created_at: string | Date;
      }>(
        `select u.id, u.email, u.name, u.role, u.status, coalesce(b.balance, 0) as credits, u.created_at
           from users u left join credit_balances b on b.user_id = u.id
          where $3::text[] is null or u.id = any($3::text[])
          order by u.created_at, u.id
          limit $1 offset $2`,
        [opts.limit ?? 1000, opts.offset ?? 0, opts.ids ?? null],
      );
      return rows.map((r) => ({ ...r, credits: Number(r.credits ?? 0), createdAt: new Date(r.created_at) }));
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
