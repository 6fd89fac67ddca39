import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context';
import type { UserRole } from '../../db/schema';
import { AppError } from '../../errors';
import { CLIENT_IP_HEADER } from '../../domain/auth/auth';

export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  status: 'active' | 'suspended' | 'terminated';
  emailVerified: boolean;
}

export interface RequestSession {
  user: SessionUser;
  sessionId: string;
  createdAt: Date;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** resolved lazily by getSession(); undefined until then */
    sessionCache?: RequestSession | null;
  }
}

/** Fastify request headers as Web Headers, with the client IP as our HTTP layer resolved it. */
export function webHeaders(req: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === CLIENT_IP_HEADER) continue;
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else headers.set(k, v);
  }
  headers.set(CLIENT_IP_HEADER, req.ip);
  return headers;
}

/**
 * The signed-in user of a request, or null. Applies what Better Auth does not: the absolute
 * session lifetime, the account status, and a throttled last-seen update.
 */
export async function getSession(ctx: AppContext, req: FastifyRequest, reply?: FastifyReply): Promise<RequestSession | null> {
  if (req.sessionCache !== undefined) return req.sessionCache;
  req.sessionCache = null;
  if (!req.headers.cookie) return null;
  const { headers, response } = await ctx.auth.api.getSession({ headers: webHeaders(req), returnHeaders: true });
  // sliding expiry: Better Auth refreshes the cookie when the session is extended
  const setCookies = headers.getSetCookie();
  if (reply && setCookies.length) reply.header('set-cookie', setCookies);
  if (!response) return null;
  const s = response.session as typeof response.session & { createdAt: Date };
  const u = response.user as typeof response.user & { role: UserRole; status: SessionUser['status'] };
  const absoluteMs = ctx.config.SESSION_ABSOLUTE_DAYS * 86_400_000;
  // our clock decides the absolute lifetime; Better Auth decides the idle expiry by its own Date.now()
  if (new Date(s.createdAt).getTime() + absoluteMs < ctx.clock.nowMs() || u.status !== 'active') {
    await ctx.services.sessions.end(s.id);
    return null;
  }
  await ctx.services.sessions.touch(s.id, ctx.clock.now());
  req.sessionCache = {
    user: { id: u.id, email: u.email, name: u.name, role: u.role, status: u.status, emailVerified: u.emailVerified },
    sessionId: s.id,
    createdAt: new Date(s.createdAt),
  };
  return req.sessionCache;
}

/** The signed-in user, or a 401. */
export async function requireUser(ctx: AppContext, req: FastifyRequest, reply?: FastifyReply): Promise<RequestSession> {
  const session = await getSession(ctx, req, reply);
  if (!session) throw new AppError('unauthenticated', 'Sign in to continue.', 401);
  return session;
}

/** The signed-in user with a verified email, or 401/403: generation needs a verified address. */
export async function requireVerifiedUser(ctx: AppContext, req: FastifyRequest, reply?: FastifyReply): Promise<RequestSession> {
  const session = await requireUser(ctx, req, reply);
  if (!session.user.emailVerified) {
    throw new AppError('email_not_verified', 'Verify your email address first: open the link we sent you, or request a new one from your account page.', 403);
  }
  return session;
}

const rank: Record<UserRole, number> = { user: 0, support: 1, moderator: 2, admin: 3 };

/**
 * The signed-in user if their role is one of `roles` (admin passes every check), or 401/403.
 * Every protected route calls this or requireUser.
 */
export async function requireRole(ctx: AppContext, req: FastifyRequest, roles: UserRole[], reply?: FastifyReply): Promise<RequestSession> {
  const session = await requireUser(ctx, req, reply);
  if (session.user.role !== 'admin' && !roles.includes(session.user.role)) {
    throw new AppError('forbidden', 'Your account does not have access to this.', 403);
  }
  return session;
}

export const roleAtLeast = (role: UserRole, min: UserRole) => rank[role] >= rank[min];
