import type { DbHandle } from '../../db/client';
import { AppError } from '../../errors';
import { deleteSession, deleteUserSession, deleteUserSessions, listActiveSessions, touchSession } from './auth.repo';

/** "203.0.113.7" -> "203.0.113.x", IPv6 keeps its first three groups. */
export function maskIp(ip: string | null): string | null {
  if (!ip) return null;
  if (ip.includes('.') && !ip.includes(':')) return ip.replace(/\.\d+$/, '.x');
  const v4 = /::ffff:(\d+\.\d+\.\d+)\.\d+$/i.exec(ip);
  if (v4?.[1]) return `${v4[1]}.x`;
  return `${ip.split(':').slice(0, 3).join(':')}:…`;
}

export interface SessionsDeps {
  database: DbHandle;
}

/**
 * Sign-in sessions beyond what Better Auth does itself: the user's list of their own sessions and
 * signing them out, and the request-time bookkeeping (absolute expiry, last seen).
 */
export function createSessionsService({ database }: SessionsDeps) {
  return {
    /** The user's sessions that have not expired, most recently used first; IP addresses masked. */
    async list(userId: string, currentSessionId: string) {
      const rows = await listActiveSessions(database, userId);
      return rows.map((r) => ({
        id: r.id,
        current: r.id === currentSessionId,
        deviceType: r.deviceType,
        browser: r.browser,
        os: r.os,
        region: r.region,
        ip: maskIp(r.ipAddress),
        createdAt: r.createdAt.toISOString(),
        lastSeenAt: r.lastSeenAt.toISOString(),
      }));
    },

    /** Revokes one of the user's own sessions; another user's session id is "not found". */
    async revoke(userId: string, sessionId: string): Promise<void> {
      if (!(await deleteUserSession(database, userId, sessionId))) {
        throw new AppError('not_found', 'That session does not exist or has already ended.', 404);
      }
    },

    async revokeOthers(userId: string, keepSessionId: string | null): Promise<number> {
      return deleteUserSessions(database, userId, keepSessionId);
    },

    /** Ends a session that outlived its absolute lifetime or whose account is no longer active. */
    async end(sessionId: string): Promise<void> {
      await deleteSession(database, sessionId);
    },

    /** Records that a session was used (at most one write a minute per session). */
    async touch(sessionId: string, now: Date): Promise<void> {
      await touchSession(database, sessionId, now);
    },
  };
}

export type SessionsService = ReturnType<typeof createSessionsService>;
