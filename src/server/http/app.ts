import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../context';
import { APP_VERSION } from '../version';
import { answerFrameworkError, errorPayload, installErrorHandler } from './errors';
import { createMetrics } from './metrics';
import { installBodyGuard } from './plugins/body-guard';
import { installCsrfProtection } from './plugins/csrf';
import { adminConsoleRoutes } from './routes/admin/index';
import { modelRoutes } from './routes/models';
import { generationRoutes } from './routes/generations';
import { incomingCallbackRoutes } from './routes/callbacks';
import { uploadRoutes } from './routes/uploads';
import { filesRoutes } from './routes/files';
import { creationRoutes } from './routes/creations';
import { billingRoutes } from './routes/billing';
import { webhookEndpointRoutes } from './routes/webhooks-endpoints';
import { developerRoutes } from './routes/developer';
import { holdsRoutes } from './routes/holds';
import { exportRoutes } from './routes/exports';
import { accountDeletionRoutes } from './routes/account-deletion';
import { mailingRoutes } from './routes/mailings';
import { createGenerationEvents } from '../domain/generations/events';
import { authRoutes } from './routes/auth';
import { devMailboxRoutes } from './routes/dev-mailbox';
import { devMailboxEnabled } from '../adapters/mail';
import { meRoutes } from './routes/me';
import { systemRoutes } from './routes/system';
import { openAIVideoRoutes } from './routes/openai/videos';
import { apiV1Routes } from './routes/api-v1';
import { moderationRoutes } from './routes/moderation';
import { moderationListRoutes } from './routes/moderation-lists';
import { legalRoutes } from './routes/legal';
import { privacyRequestRoutes } from './routes/privacy-requests';
import { botChallengeRoutes } from './routes/bot-challenge';

export const WEB_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/web');

/** Path prefixes that are never the single-page app: unknown paths there are JSON 404s. */
const API_PREFIXES = ['/api/', '/v1/', '/webhooks/', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz', '/assets/'];

export type HttpApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

/** Every route of each app as registered (method and URL pattern), for the console's access test (issue 18). */
const routeLists = new WeakMap<object, { method: string; url: string }[]>();
export const registeredRoutes = (app: HttpApp): readonly { method: string; url: string }[] => routeLists.get(app) ?? [];

export interface HttpAppOptions {
  /** directory of the built web app; defaults to dist/web */
  webDist?: string;
}

export async function buildHttpApp(ctx: AppContext, opts: HttpAppOptions = {}): Promise<HttpApp> {
  // typed as Fastify's base logger so that the app is an HttpApp (inferring pino's own type would not be)
  const loggerInstance: FastifyBaseLogger = ctx.logger;
  const app = Fastify({
    loggerInstance,
    trustProxy: ctx.config.TRUST_PROXY,
    // Accept a caller's request id when it is a sane token, otherwise make one.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    frameworkErrors: answerFrameworkError,
    // `//api/me` is `/api/me`: one spelling of each route (the auth routes normalise the rest)
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
  }).withTypeProvider<ZodTypeProvider>();

  const routes: { method: string; url: string }[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  installBodyGuard(app);

  const metrics = createMetrics();
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  // Authenticated JSON is never kept by a browser or a shared cache; a route that sets its own
  // Cache-Control keeps it.
  app.addHook('onSend', async (req, reply, payload) => {
    if (
      (req.headers.cookie || req.headers.authorization) &&
      !reply.hasHeader('cache-control') &&
      String(reply.getHeader('content-type') ?? '').includes('json')
    ) {
      reply.header('cache-control', 'no-store');
    }
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  const turnstileSources = ctx.config.BOT_CHALLENGE === 'turnstile' ? ['https://challenges.cloudflare.com'] : [];
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // Cloudflare Turnstile's script and iframe, only when the operator chose it (issue 19); ALTCHA's workers are ours ('self')
        scriptSrc: ["'self'", ...turnstileSources],
        ...(turnstileSources.length ? { frameSrc: ["'self'", ...turnstileSources] } : {}),
        styleSrc: ["'self'", "'unsafe-inline'"],
        // Google profile photos are shown as they come from Google
        imgSrc: ["'self'", 'data:', 'blob:', 'https://lh3.googleusercontent.com'],
        mediaSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: ctx.config.PUBLIC_URL.startsWith('https://') ? [] : null,
      },
    },
    // HSTS only makes sense behind https
    strictTransportSecurity: ctx.config.PUBLIC_URL.startsWith('https://'),
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Save Sora API',
        version: APP_VERSION,
        description: 'AI video generation platform. Every error answers `{"error":{"code","message"}}`.',
      },
      servers: [{ url: ctx.config.PUBLIC_URL }],
    },
    transform: jsonSchemaTransform,
  });
  // The API docs page has its own policy: Swagger UI styles elements inline, and it must not call
  // the public validator (validator.swagger.io) from a self-hosted server.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: {
      'default-src': ["'self'"],
      'base-uri': ["'self'"],
      'connect-src': ["'self'"],
      'font-src': ["'self'", 'data:'],
      'form-action': ["'self'"],
      'frame-ancestors': ["'none'"],
      'img-src': ["'self'", 'data:'],
      'object-src': ["'none'"],
      'script-src': ["'self'"],
      'script-src-attr': ["'none'"],
      'style-src': ["'self'", "'unsafe-inline'"],
      ...(ctx.config.PUBLIC_URL.startsWith('https://') ? { 'upgrade-insecure-requests': '' } : {}),
    },
    uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(cookie);
  installCsrfProtection(app, ctx.config.PUBLIC_URL);

  await app.register(systemRoutes, { ctx, metrics });
  await app.register(authRoutes, { ctx });
  await app.register(botChallengeRoutes, { ctx });
  await app.register(meRoutes, { ctx });
  await app.register(adminConsoleRoutes, { ctx });
  await app.register(modelRoutes, { ctx });
  const generationEvents = createGenerationEvents(ctx.database, (row) => ctx.services.generations.toView(row), app.log as never);
  app.addHook('onClose', async () => generationEvents.close());
  await app.register(generationRoutes, { ctx, events: generationEvents });
  await app.register(uploadRoutes, { ctx });
  await app.register(incomingCallbackRoutes, { ctx });
  await app.register(creationRoutes, { ctx });
  await app.register(billingRoutes, { ctx });
  await app.register(openAIVideoRoutes, { ctx, prefix: '/v1' });
  await app.register(apiV1Routes, { ctx, prefix: '/api/v1' });
  await app.register(webhookEndpointRoutes, { ctx });
  await app.register(developerRoutes, { ctx });
  await app.register(moderationRoutes, { ctx });
  await app.register(moderationListRoutes, { ctx });
  await app.register(holdsRoutes, { ctx });
  await app.register(exportRoutes, { ctx });
  await app.register(accountDeletionRoutes, { ctx });
  await app.register(mailingRoutes, { ctx });
  await app.register(legalRoutes, { ctx });
  await app.register(privacyRequestRoutes, { ctx });
  // signed file URLs of the disk store (an S3 store presigns its own)
  if (ctx.store.kind === 'disk') await app.register(filesRoutes, { store: ctx.store, now: () => ctx.clock.nowMs() });
  if (devMailboxEnabled(ctx.config, ctx.mailer)) await app.register(devMailboxRoutes, { ctx });

  // ---- the web app (single-page, built by Vite into dist/web) ----
  const webDist = opts.webDist ?? WEB_DIST;
  const indexFile = path.join(webDist, 'index.html');
  const hasWeb = fs.existsSync(indexFile);
  if (hasWeb) {
    await app.register(fastifyStatic, {
      root: webDist,
      prefix: '/',
      index: false,
      wildcard: true,
      setHeaders(res, filePath) {
        // Vite puts content hashes in asset names: they never change, cache them for a year.
        if (filePath.includes(`${path.sep}assets${path.sep}`)) res.header('cache-control', 'public, max-age=31536000, immutable');
        else res.header('cache-control', 'no-cache');
      },
    });
  }
  const sendIndex = (reply: import('fastify').FastifyReply) => {
    if (!hasWeb) {
      return reply
        .status(503)
        .type('text/html; charset=utf-8')
        .send('<!doctype html><title>Save Sora</title><p>The web app is not built yet. Run <code>npm run build</code> (npm start does it for you).</p>');
    }
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(fs.createReadStream(indexFile));
  };
  app.get('/', { schema: { hide: true } }, async (_req, reply) => sendIndex(reply));

  app.setNotFoundHandler(async (req, reply) => {
    const url = req.url.split('?')[0] ?? req.url;
    const wantsHtml = (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');
    if (wantsHtml && !API_PREFIXES.some((p) => url === p.replace(/\/$/, '') || url.startsWith(p))) {
      // client-side route: the app renders it (or its own not-found page)
      return sendIndex(reply);
    }
    return reply.status(404).send(errorPayload('not_found', `No route matches ${req.method} ${url}.`));
  });

  return app;
}
