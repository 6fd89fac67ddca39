import type { FastifyReply, FastifyRequest } from 'fastify';
import { can, isStaff, type ConsolePermission } from '../../../shared/api/admin';
import type { AppContext } from '../../context';
import { auditTrail, type AuditActor, type AuditTrail } from '../../domain/admin/audit.service';
import { AppError } from '../../errors';
import { getSession, type RequestSession } from './session';

/**
 * The operator console's access check (issue 18). Anyone who is not staff (signed out, or a
 * normal user) gets the same 404 as for a path that does not exist; a staff member whose role
 * lacks the permission gets 403. Every console route calls this first.
 */
export async function requireStaff(ctx: AppContext, req: FastifyRequest, permission: ConsolePermission, reply?: FastifyReply): Promise<RequestSession> {
  const session = await getSession(ctx, req, reply);
  if (!session || !isStaff(session.user.role)) {
    // the very answer of the not-found handler (app.ts): the console does not exist for them
    throw new AppError('not_found', `No route matches ${req.method} ${req.url.split('?')[0] ?? req.url}.`, 404);
  }
  if (!can(session.user.role, permission)) throw new AppError('forbidden', 'Your role does not have access to this.', 403);
  return session;
}

/**
 * A console route's access check as a route option (`{ ...staffOnly(ctx, 'audit.view'), schema }`):
 * it runs when the request arrives, before the body is read and validated, so whoever is not staff
 * gets the same 404 whatever they send. The handler calls requireStaff again for the session (cached).
 */
export function staffOnly(ctx: AppContext, permission: ConsolePermission) {
  return {
    onRequest: async (req: FastifyRequest, reply: FastifyReply) => {
      await requireStaff(ctx, req, permission, reply);
    },
  };
}

/**
 * For sensitive actions (refunds, role changes, settings, deletions): the operator signed in or
 * re-entered the password within REAUTH_MINUTES, else 403 `reauth_required` (the console asks for
 * the password, calls POST /api/admin/reauth and repeats the action).
 */
export async function requireRecentAuth(ctx: AppContext, session: RequestSession): Promise<void> {
  await ctx.services.consoleAccess.requireRecent(session);
}

/** The audit log's actor for a console request. */
export function consoleActor(req: FastifyRequest, session: RequestSession): AuditActor {
  return { id: session.user.id, label: session.user.email, role: session.user.role, via: 'console', ip: req.ip };
}

/** A console request's audit trail, for a service that writes the entry in the transaction of its change. */
export function consoleTrail(ctx: AppContext, req: FastifyRequest, session: RequestSession): AuditTrail {
  return auditTrail(ctx.services.audit, consoleActor(req, session));
}
