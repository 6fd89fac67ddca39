import { z } from 'zod';
import type { userRole } from './account';

type UserRole = z.infer<typeof userRole>;

/**
 * The operator console (issue 18): what each staff role may see and do. The server checks these
 * on every console route (`requireStaff`); the web app uses the same table to build its
 * navigation. A normal user gets 404 from every console route; admins may do everything.
 */
export const consolePermissions = {
  'dashboard.view': ['admin'],
  'setup.manage': ['admin'],
  'users.view': ['support', 'admin'],
  /** grant or deduct credits, suspend, reactivate, sign out everywhere, start an export */
  'users.act': ['support', 'admin'],
  /** change a role, terminate, delete */
  'users.manage': ['admin'],
  'orders.view': ['support', 'admin'],
  'orders.refund': ['support', 'admin'],
  'generations.view': ['support', 'admin'],
  /** cancel a task, release the credits of a task stuck past its deadline */
  'generations.act': ['support', 'admin'],
  'settings.view': ['support', 'admin'],
  'settings.edit': ['admin'],
  'catalog.view': ['admin'],
  'catalog.edit': ['admin'],
  'audit.view': ['admin'],
  /** the moderation queue, cases, lists and legal holds */
  'moderation.review': ['moderator', 'admin'],
  /** the hash and term lists, releasing a legal hold, the CyberTipline reports */
  'moderation.manage': ['admin'],
  /** privacy requests and exports on a user's behalf */
  'privacy.handle': ['support', 'admin'],
  /** abuse and fraud: an account's signals, linked accounts and flags, the clusters (issue 19) */
  'risk.view': ['support', 'admin'],
  /** the disposable-mail additions, lifting a generation hold, deciding a withheld free-credit grant */
  'risk.manage': ['admin'],
} as const satisfies Record<string, readonly UserRole[]>;

export type ConsolePermission = keyof typeof consolePermissions;

export const staffRoles = ['support', 'moderator', 'admin'] as const satisfies readonly UserRole[];
export const isStaff = (role: UserRole | undefined | null): boolean => role === 'support' || role === 'moderator' || role === 'admin';

export function can(role: UserRole | undefined | null, permission: ConsolePermission): boolean {
  if (!role) return false;
  return role === 'admin' || (consolePermissions[permission] as readonly UserRole[]).includes(role);
}

/** How long a sign-in or a re-entered password counts for sensitive console actions. */
export const REAUTH_MINUTES = 10;

/** POST /api/admin/reauth: the operator's password (an account without one signs in with Google again). */
export const adminReauth = z.object({ password: z.string().min(1).max(1024) });
export const adminReauthResult = z.object({ reauthenticatedUntil: z.string() });

export const auditVia = z.enum(['console', 'cli', 'system']);

export const auditEntryView = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.object({ id: z.string().nullable(), label: z.string(), role: z.string().nullable(), via: auditVia, ip: z.string().nullable() }),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  reason: z.string().nullable(),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
});
export type AuditEntryView = z.infer<typeof auditEntryView>;

export const auditListQuery = z.object({
  actor: z.string().max(320).optional(),
  action: z.string().max(100).optional(),
  targetType: z.string().max(50).optional(),
  targetId: z.string().max(200).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** the id of the last entry of the previous page */
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type AuditListQuery = z.infer<typeof auditListQuery>;

export const auditList = z.object({ entries: z.array(auditEntryView), nextBefore: z.number().nullable() });
export type AuditList = z.infer<typeof auditList>;
export type AdminReauthResultBody = z.infer<typeof adminReauthResult>;
