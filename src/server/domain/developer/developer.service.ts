import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../../adapters/clock';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import { apiKeyScopes, type ApiKeyScope, type ApiKeyView, type CreatedApiKey, type UsageResponse } from '../../../shared/api/developer';
import {
  apiCreditsPerDay,
  countActiveKeys,
  deleteOldRequestLogs,
  findKeyBySecretHash,
  insertApiKey,
  insertRequestLog,
  listUserKeys,
  planRateOf,
  recentRequests,
  requestsPerDay,
  revokeUserKey,
  touchKeyLastUsed,
  type ApiKeyRow,
  type NewRequestLog,
} from './developer.repo';

/**
 * API keys and API usage. A key is `ssk_` + 43 characters (256 random bits). The secret is
 * returned once; we keep its SHA-256 (a fast hash is enough for 256-bit random secrets, and lets a
 * request find its key by index) and a short prefix to recognize it. A key acts as its owner,
 * within its scopes.
 */

export const KEY_PREFIX = 'ssk_';
const PREFIX_SHOWN = 12;
/** the most keys one user may have that are not revoked */
export const MAX_ACTIVE_KEYS = 20;
/** how many of the latest requests the Usage page shows */
const RECENT_REQUESTS = 50;

export const hashApiKey = (secret: string) => createHash('sha256').update(secret).digest('hex');

export type { ApiKeyRow };

export function toKeyView(k: ApiKeyRow): ApiKeyView {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    scopes: k.scopes,
    createdAt: k.createdAt.toISOString(),
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}

/** Requests a minute per key and per user: the plan's API rate when the running subscription's plan sets one. */
export interface ApiLimits {
  perKey: number;
  perUser: number;
}

type RateSettings = Pick<Config, 'API_RATE_PER_MINUTE' | 'API_USER_RATE_PER_MINUTE'>;

export function apiLimitsFrom(planRate: number | null | undefined, config: RateSettings): ApiLimits {
  const perKey = planRate ?? config.API_RATE_PER_MINUTE;
  return { perKey, perUser: Math.max(config.API_USER_RATE_PER_MINUTE, perKey) };
}

export type KeyCheck = { ok: true; key: ApiKeyRow; userStatus: string; limits: ApiLimits } | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

export interface KeyInput {
  name: string;
  scopes?: readonly ApiKeyScope[];
  expiresInDays?: number;
}

export interface DeveloperService {
  createKey(userId: string, input: KeyInput): Promise<CreatedApiKey>;
  listKeys(userId: string): Promise<ApiKeyView[]>;
  revokeKey(userId: string, id: string): Promise<void>;
  /** the key a presented secret belongs to, if it may be used now */
  checkKey(secret: string): Promise<KeyCheck>;
  /** records that a key was used (at most one write a minute per key) */
  touchKey(keyId: string): Promise<void>;
  /** one API request, for the Usage page, billing and abuse prevention (privacy policy 1.4) */
  logRequest(entry: NewRequestLog): Promise<void>;
  /** per-day requests, errors and credits spent through the API, the recent log, and the limits in force */
  usage(userId: string, days: number): Promise<UsageResponse>;
  /** removes request logs older than API_LOG_RETENTION_DAYS; returns how many */
  purgeRequestLogs(): Promise<number>;
}

export interface DeveloperDeps {
  database: Database;
  config: RateSettings & Pick<Config, 'API_KEY_MAX_IN_FLIGHT' | 'API_LOG_RETENTION_DAYS'>;
  /** dates keys (expiry, revocation, last use) and requests, and decides the usage days and the log retention window (default: the system clock) */
  clock?: Pick<Clock, 'now' | 'nowMs'>;
}

export function createDeveloperService({ database, config, clock = systemClock }: DeveloperDeps): DeveloperService {
  async function createKey(userId: string, input: KeyInput): Promise<CreatedApiKey> {
    const scopes = [...new Set(input.scopes?.length ? input.scopes : apiKeyScopes)];
    if (scopes.some((s) => !apiKeyScopes.includes(s))) throw new AppError('invalid_request', `Scopes must be among ${apiKeyScopes.join(', ')}.`, 400);
    const name = input.name.trim();
    if (!name || name.length > 80)
      throw new AppError('invalid_request', 'A key needs a name of 1 to 80 characters.', 400, { fields: [{ field: 'name', message: 'is required' }] });
    if ((await countActiveKeys(database, userId)) >= MAX_ACTIVE_KEYS) {
      throw new AppError('too_many_keys', `You have ${MAX_ACTIVE_KEYS} keys; revoke one you no longer use first.`, 409);
    }
    const secret = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = await insertApiKey(
      database,
      {
        id: randomUUID(),
        userId,
        name,
        prefix: secret.slice(0, PREFIX_SHOWN),
        secretHash: hashApiKey(secret),
        scopes,
        expiresInDays: input.expiresInDays ?? null,
      },
      clock.now(),
    );
    return { ...toKeyView(row), secret };
  }

  async function checkKey(secret: string): Promise<KeyCheck> {
    if (!secret.startsWith(KEY_PREFIX) || secret.length > 200) return { ok: false, reason: 'unknown' };
    const found = await findKeyBySecretHash(database, hashApiKey(secret));
    if (!found) return { ok: false, reason: 'unknown' };
    const { key } = found;
    if (key.revokedAt) return { ok: false, reason: 'revoked' };
    if (key.expiresAt && key.expiresAt.getTime() <= clock.nowMs()) return { ok: false, reason: 'expired' };
    return { ok: true, key, userStatus: found.userStatus, limits: apiLimitsFrom(found.planRate, config) };
  }

  async function usage(userId: string, days: number): Promise<UsageResponse> {
    const today = clock.now();
    const [perDay, spent, recent, planRate] = await Promise.all([
      requestsPerDay(database, userId, days, today),
      apiCreditsPerDay(database, userId, days, today),
      recentRequests(database, userId, RECENT_REQUESTS),
      planRateOf(database, userId),
    ]);
    const byDay = new Map(perDay.map((d) => [d.day, d]));
    const creditsByDay = new Map(spent.map((d) => [d.day, d.credits]));
    const daysOut: UsageResponse['days'] = [];
    for (let i = days - 1; i >= 0; i--) {
      const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i)).toISOString().slice(0, 10);
      daysOut.push({ date: d, requests: byDay.get(d)?.requests ?? 0, errors: byDay.get(d)?.errors ?? 0, credits: creditsByDay.get(d) ?? 0 });
    }
    const limits = apiLimitsFrom(planRate, config);
    return {
      days: daysOut,
      recent: recent.map((r) => ({
        id: String(r.id),
        keyId: r.keyId,
        keyName: r.keyName,
        method: r.method,
        endpoint: r.endpoint,
        status: r.status,
        bytesIn: r.bytesIn,
        bytesOut: r.bytesOut,
        latencyMs: r.latencyMs,
        requestId: r.requestId,
        createdAt: r.createdAt.toISOString(),
      })),
      limits: { requestsPerMinutePerKey: limits.perKey, requestsPerMinutePerUser: limits.perUser, concurrentTasks: config.API_KEY_MAX_IN_FLIGHT },
      retentionDays: config.API_LOG_RETENTION_DAYS,
    };
  }

  return {
    createKey,
    async listKeys(userId) {
      return (await listUserKeys(database, userId)).map(toKeyView);
    },
    async revokeKey(userId, id) {
      const revoked = /^[0-9a-f-]{36}$/i.test(id) && (await revokeUserKey(database, userId, id, clock.now()));
      if (!revoked) throw notFound('That key');
    },
    checkKey,
    touchKey: (keyId) => touchKeyLastUsed(database, keyId, clock.now()),
    logRequest: (entry) => insertRequestLog(database, entry, clock.now()),
    usage,
    purgeRequestLogs: () => deleteOldRequestLogs(database, config.API_LOG_RETENTION_DAYS, clock.now()),
  };
}
