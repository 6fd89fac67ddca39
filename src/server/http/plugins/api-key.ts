import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../../context';
import { AppError } from '../../errors';
import type { ApiKeyScope } from '../../../shared/api/developer';

/**
 * API-key authentication for the developer surfaces (`/v1`, `/api/v1`). Inside a plugin scope
 * `installApiKeyAuth` makes every route require `Authorization: Bearer <key>`, refuses keys in
 * URLs, applies per-key and per-user rate limits (state in the database, so they hold across web
 * processes) with `X-RateLimit-*` headers, and logs every request (endpoint, method, status, bytes
 * in and out, latency, request id) for the Usage page, billing and abuse prevention (policy 1.4).
 */

export interface ApiPrincipal {
  userId: string;
  keyId: string;
  scopes: ApiKeyScope[];
}

type ErrorStyle = 'openai' | 'native';

declare module 'fastify' {
  interface FastifyRequest {
    apiPrincipal?: ApiPrincipal;
    apiErrorStyle?: ErrorStyle;
    apiStartedAt?: bigint;
    apiBytes?: { read: number; written: number };
  }
}

/** an AppError (so every error handler renders it) that also says its OpenAI error type */
export class ApiAuthError extends AppError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly openaiType: string,
  ) {
    super(code, message, status);
  }
}

export function sendApiError(
  reply: FastifyReply,
  style: ErrorStyle,
  err: { status: number; code: string; message: string; openaiType?: string; param?: string | null },
) {
  const body =
    style === 'openai'
      ? { error: { message: err.message, type: err.openaiType ?? 'invalid_request_error', param: err.param ?? null, code: err.code } }
      : { error: { code: err.code, message: err.message } };
  return reply.status(err.status).send(body);
}

/** query parameters that look like an attempt to pass a key in the URL */
const KEY_PARAMS = /^(api[-_]?key|key|access[-_]?token|token|auth|authorization)$/i;

function keyInUrl(req: FastifyRequest): boolean {
  const q = req.url.indexOf('?');
  if (q < 0) return false;
  for (const [name, value] of new URLSearchParams(req.url.slice(q + 1))) {
    if (KEY_PARAMS.test(name) || value.startsWith('ssk_')) return true;
  }
  return false;
}

export function installApiKeyAuth(app: FastifyInstance, ctx: AppContext, opts: { errorStyle: ErrorStyle }): void {
  const style = opts.errorStyle;

  app.addHook('onRequest', async (req, reply) => {
    req.apiErrorStyle = style;
    req.apiStartedAt = process.hrtime.bigint();
    const socket = req.raw.socket;
    req.apiBytes = { read: socket.bytesRead, written: socket.bytesWritten };
    if (keyInUrl(req)) {
      return sendApiError(reply, style, {
        status: 401,
        code: 'api_key_in_url',
        message: 'API keys are not accepted in URLs (they end up in logs and browser history). Send them in the header Authorization: Bearer <key>.',
      });
    }
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (token === undefined) {
      return sendApiError(reply, style, { status: 401, code: 'missing_api_key', message: 'Send your API key in the header Authorization: Bearer <key>.' });
    }
    const check = await ctx.services.developer.checkKey(token);
    if (!check.ok) {
      const message =
        check.reason === 'revoked' ? 'This API key was revoked.' : check.reason === 'expired' ? 'This API key has expired.' : 'This API key is not valid.';
      return sendApiError(reply, style, { status: 401, code: 'invalid_api_key', message });
    }
    if (check.userStatus !== 'active') {
      return sendApiError(reply, style, {
        status: 403,
        code: 'account_suspended',
        message: 'The account this key belongs to is suspended.',
        openaiType: 'permission_error',
      });
    }
    const { key } = check;
    req.apiPrincipal = { userId: key.userId, keyId: key.id, scopes: key.scopes };

    const { limits } = check;
    const [perKey, perUser] = await Promise.all([
      ctx.rateLimiter.hit(`api:key:${key.id}`, limits.perKey, 60),
      ctx.rateLimiter.hit(`api:user:${key.userId}`, limits.perUser, 60),
    ]);
    const binding = !perKey.allowed ? perKey : !perUser.allowed ? perUser : perKey.remaining <= perUser.remaining ? perKey : perUser;
    reply.header('x-ratelimit-limit', String(binding.limit));
    reply.header('x-ratelimit-remaining', String(binding.remaining));
    reply.header('x-ratelimit-reset', String(binding.retryAfterSeconds));
    if (!perKey.allowed || !perUser.allowed) {
      reply.header('retry-after', String(binding.retryAfterSeconds));
      return sendApiError(reply, style, {
        status: 429,
        code: 'rate_limit_exceeded',
        message: `Too many requests: at most ${binding.limit} per minute ${binding === perKey ? 'for this key' : 'for your account'}. Try again in ${binding.retryAfterSeconds} s.`,
        openaiType: 'rate_limit_error',
      });
    }
    // last use, at most once a minute per key
    void ctx.services.developer.touchKey(key.id).catch(() => undefined);
  });

  app.addHook('onResponse', async (req, reply) => {
    const socket = req.raw.socket;
    const start = req.apiBytes ?? { read: socket.bytesRead, written: socket.bytesWritten };
    const declaredIn = Number(req.headers['content-length']);
    const bytesIn = Number.isFinite(declaredIn) ? declaredIn : Math.max(0, socket.bytesRead - start.read);
    const bytesOut = Math.max(0, socket.bytesWritten - start.written);
    const latencyMs = req.apiStartedAt ? Number((process.hrtime.bigint() - req.apiStartedAt) / 1_000_000n) : 0;
    const endpoint = req.routeOptions.url ?? req.url.split('?')[0] ?? req.url;
    await ctx.services.developer
      .logRequest({
        keyId: req.apiPrincipal?.keyId ?? null,
        userId: req.apiPrincipal?.userId ?? null,
        method: req.method,
        endpoint: endpoint.slice(0, 200),
        status: reply.statusCode,
        bytesIn,
        bytesOut,
        latencyMs,
        requestId: req.id,
      })
      .catch((err: unknown) => req.log.warn({ err }, 'api request log write failed'));
  });
}

/** The principal of this request; 403 (in the scope's error style) when the key lacks `scope`. */
export function requireScope(req: FastifyRequest, scope: ApiKeyScope): ApiPrincipal {
  const p = req.apiPrincipal;
  if (!p) throw new ApiAuthError(401, 'missing_api_key', 'Send your API key in the header Authorization: Bearer <key>.', 'invalid_request_error');
  if (!p.scopes.includes(scope)) {
    throw new ApiAuthError(403, 'insufficient_scope', `This API key does not have the ${scope} scope.`, 'permission_error');
  }
  return p;
}
