import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody, healthResponse, metaResponse, notReadyResponse, readyResponse } from '../../../shared/api';
import type { AppContext } from '../../context';
import { APP_VERSION } from '../../version';
import type { Metrics } from '../metrics';
import { errorPayload } from '../errors';

export interface SystemRoutesOptions {
  ctx: AppContext;
  metrics: Metrics;
}

export const systemRoutes: FastifyPluginAsyncZod<SystemRoutesOptions> = async (app, { ctx, metrics }) => {
  // In production the metrics (routes, timings, process facts) are for the operator only: without a
  // METRICS_TOKEN they are not served at all, and start-up says so once. Outside production they
  // stay open, so `npm start` and development need no setting.
  const metricsOff = ctx.config.NODE_ENV === 'production' && !ctx.config.METRICS_TOKEN;
  if (metricsOff)
    ctx.logger.warn('/metrics is off: NODE_ENV=production and METRICS_TOKEN is unset (set METRICS_TOKEN, 16+ characters, to serve it to Prometheus)');

  app.get(
    '/healthz',
    { schema: { tags: ['system'], summary: 'Liveness: the process answers', response: { 200: healthResponse } }, logLevel: 'warn' },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['system'],
        summary: 'Readiness: the database and the job queue answer (and Redis, when REDIS_URL is set)',
        response: { 200: readyResponse, 503: notReadyResponse },
      },
      logLevel: 'warn',
    },
    async (_req, reply) => {
      const check = async (fn: () => Promise<unknown>) => {
        try {
          await withTimeout(fn(), 3000);
          return 'ok' as const;
        } catch {
          return 'fail' as const;
        }
      };
      const checks = {
        database: await check(() => ctx.database.ping()),
        queue: await check(async () => {
          if (!(await ctx.queue.ping())) throw new Error('queue not installed');
        }),
        ...(ctx.rateLimiter.store === 'redis' ? { redis: await check(() => ctx.rateLimiter.ping()) } : {}),
      };
      if (Object.values(checks).every((v) => v === 'ok')) return reply.send({ status: 'ready' as const, checks });
      const failing = Object.entries(checks)
        .filter(([, v]) => v === 'fail')
        .map(([k]) => k);
      return reply.status(503).send({ ...errorPayload('not_ready', `Not ready: ${failing.join(' and ')} unavailable.`), checks } as never);
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics (Bearer METRICS_TOKEN when that setting is set; in production 404 until it is set)',
        response: { 200: z.string().describe('Prometheus text exposition format'), 401: errorBody, 404: errorBody },
      },
      logLevel: 'warn',
    },
    async (req, reply) => {
      if (metricsOff) return reply.status(404).send(errorPayload('not_found', 'Metrics are off: in production /metrics needs the METRICS_TOKEN setting.'));
      const token = ctx.config.METRICS_TOKEN;
      if (token && !bearerMatches(req.headers.authorization, token)) {
        return reply.status(401).send(errorPayload('unauthorized', 'Metrics need the METRICS_TOKEN bearer token.'));
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );

  app.get('/api/meta', { schema: { tags: ['system'], summary: 'Public facts about this installation', response: { 200: metaResponse } } }, async () => ({
    name: 'Save Sora',
    version: APP_VERSION,
    supportEmail: ctx.config.SUPPORT_EMAIL,
    privacyRequestDueDays: ctx.config.PRIVACY_REQUEST_DUE_DAYS,
  }));
};

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
