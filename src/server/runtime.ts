import type { Logger } from 'pino';
import type { Config } from './config';
import { systemClock, type Clock } from './adapters/clock';
import { createMailer } from './adapters/mail';
import { createProvider } from './adapters/providers';
import { createReloadableProviderRegistry } from './adapters/providers/reloadable';
import { createReloadablePaymentRegistry } from './adapters/payments/reloadable';
import { createReloadableMailer } from './adapters/mail/reloadable';
import { loadStoredSettings } from './domain/admin/settings.service';
import { applySettingsToAdapters } from './domain/admin/settings.live';
import { storeFromConfig } from './adapters/storage';
import { createPaymentRegistry } from './adapters/payments';
import { seedPlans } from './domain/billing/billing.repo';
import { createJobRegistry, createServices, defaultWorkerId, type AppContext } from './context';
import { createAuth } from './domain/auth/auth';
import { warmPasswordList } from './domain/users/password-policy';
import { encryptPlaintextOAuthTokens } from './domain/auth/oauth-tokens';
import { listensOnLoopbackOnly } from './lib/loopback';
import { devMailboxEnabled } from './adapters/mail';
import { openRateLimiter, type RateLimiter } from './lib/rate-limit';
import { prepareDataDir, repairDataDir, type RepairResult } from './lib/data-dir';
import { setMediaConcurrency } from './lib/ffmpeg';
import { openDatabase, pgliteDir, type Database } from './db/client';
import { migrate } from './db/migrate';
import { StartupError } from './errors';
import { buildHttpApp, type HttpApp, type HttpAppOptions } from './http/app';
import { JobQueue } from './jobs/queue';

export type Role = 'all' | 'web' | 'worker';

export interface StartOptions {
  config: Config;
  logger: Logger;
  role: Role;
  /** an already open database (tests); otherwise opened from the config */
  database?: Database;
  http?: HttpAppOptions;
  /** default: the system clock (tests pass a FakeClock) */
  clock?: Clock;
}

export interface Platform {
  ctx: AppContext;
  http: HttpApp | null;
  /** http://host:port the web role listens on */
  url: string | null;
  stop(opts?: { graceful?: boolean }): Promise<void>;
}

/**
 * Start the platform in one process: database -> migrations -> job queue -> services -> HTTP
 * (web role) and job workers (worker role). Used by main.ts and by the tests' in-process app.
 */
export async function startPlatform(opts: StartOptions): Promise<Platform> {
  const { config, logger, role } = opts;
  const clock = opts.clock ?? systemClock;
  // DATA_DIR and its folders private (0700), and anything in it others could read repaired, before
  // the database opens (lib/data-dir.ts)
  let prepared: RepairResult;
  try {
    prepared = prepareDataDir(config.dataDir);
  } catch (err) {
    throw new StartupError(`Invalid setting DATA_DIR: cannot prepare ${config.dataDir} (${(err as Error).message}).`);
  }
  reportRepair(logger, prepared, 'before start');
  setMediaConcurrency(config.MEDIA_CONCURRENCY);
  const database =
    opts.database ??
    (await openDatabase({
      url: config.DATABASE_URL,
      pgliteDataDir: config.embeddedDatabase ? pgliteDir(config.dataDir) : undefined,
      poolSize: config.DATABASE_POOL_SIZE,
      applicationName: `save-sora:${role}`,
    }));
  const ownsDatabase = !opts.database;
  let queue: JobQueue | null = null;
  let http: HttpApp | null = null;
  let rateLimiter: RateLimiter | null = null;
  let closeSettings: (() => Promise<void>) | null = null;
  try {
    const { applied } = await migrate(database);
    if (applied.length) logger.info({ applied }, 'database migrated');
    const sealed = await encryptPlaintextOAuthTokens(database, config.SESSION_SECRET);
    if (sealed) logger.info({ accounts: sealed }, 'encrypted the stored OAuth tokens of accounts from before encryption at rest');
    // the settings saved in the console (the environment wins), before anything is built from the config
    const stored = await loadStoredSettings(database, config, logger);
    if (stored.length) logger.info({ keys: stored }, 'settings: using values saved in the console');

    const runsWorkers = role !== 'web';
    queue = new JobQueue(database, logger.child({ component: 'queue' }), { supervise: runsWorkers });
    await queue.start();

    // mailer, providers and payments are rebuilt when their settings change in the console (settings.live.ts)
    const onCloseError = (err: unknown) => logger.warn({ err }, 'settings: closing a replaced adapter failed');
    const mailer = createReloadableMailer(() => createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, dataDir: config.dataDir }), { onCloseError });
    const providerLogger = logger.child({ component: 'providers' });
    const providers = createReloadableProviderRegistry((id) => createProvider(id, config, providerLogger), { onCloseError });
    const store = storeFromConfig(config, clock);
    const payments = createReloadablePaymentRegistry(() => createPaymentRegistry(config), { onCloseError });
    await seedPlans(database);
    rateLimiter = await openRateLimiter(config, database, { clock, onError: (err) => logger.warn({ err: err.message }, 'rate limits: Redis is unreachable') });
    const ctx: AppContext = {
      config,
      database,
      logger,
      queue,
      mailer,
      providers,
      store,
      payments,
      auth: createAuth({ config, database, mailer, logger: logger.child({ component: 'auth' }), clock }),
      rateLimiter,
      clock,
      services: await createServices({ database, queue, mailer, config, providers, store, payments, logger, rateLimiter, clock }),
      workerId: defaultWorkerId(),
    };
    // settings changed in the console, by this process or another, apply here within a second
    applySettingsToAdapters(ctx.services.settings, { providers, payments, mailer }, logger);
    closeSettings = () => ctx.services.settings.close();
    await ctx.services.settings.start();
    // the legal documents shipped (or in LEGAL_DOCS_DIR) that are not published yet (idempotent)
    await ctx.services.policies.seed();
    const registry = createJobRegistry(ctx);
    registry.assertComplete();
    if (runsWorkers) {
      await queue.installSchedules();
      await registry.startWorkers(queue, {
        concurrency: config.WORKER_CONCURRENCY,
        pollingIntervalSeconds: config.WORKER_POLL_INTERVAL_MS / 1000,
      });
      ctx.services.engine.startTracker();
    }

    let url: string | null = null;
    if (role !== 'worker') {
      void warmPasswordList(); // the breached-password list, loaded in the background (never rejects)
      http = await buildHttpApp(ctx, opts.http);
      try {
        await http.listen({ port: config.PORT, host: config.HOST });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new StartupError(`Port ${config.PORT} is already in use; stop the other program or set PORT to a free port.`);
        if (code === 'EACCES') throw new StartupError(`Not allowed to listen on port ${config.PORT}; set PORT to a port above 1023.`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new StartupError(`Invalid setting HOST: cannot listen on ${config.HOST}.`);
        throw err;
      }
      const addr = http.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
      url = `http://${config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST}:${port}`;
      if (devMailboxEnabled(config, ctx.mailer) && !listensOnLoopbackOnly(config.HOST)) {
        logger.warn(
          `HOST=${config.HOST} listens beyond this machine while the development mailbox is on (no SMTP_URL, NODE_ENV not production); it answers only requests from this machine, but set SMTP_URL or NODE_ENV=production before exposing this server`,
        );
      }
    }

    // what start-up has just created (PGlite makes its files 0666 whatever the umask)
    reportRepair(logger, repairDataDir(config.dataDir), 'after start');

    let stopped = false;
    const q = queue;
    const h = http;
    return {
      ctx,
      http,
      url,
      async stop({ graceful = true } = {}) {
        if (stopped) return;
        stopped = true;
        // each step gets a bounded time: a stuck step is named in the log and the shutdown goes on
        const step = async (name: string, fn: () => Promise<unknown>, ms = 20_000) => {
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
          const result = await Promise.race([fn().then(() => 'done' as const), late]).finally(() => clearTimeout(timer));
          if (result === 'late') logger.warn({ step: name, ms }, 'shutdown step did not finish in time; going on');
        };
        if (h) await step('http', () => h.close());
        await step('generation tracker', () => ctx.services.engine.stop());
        await step('settings', () => ctx.services.settings.close());
        await step('moderation', () => ctx.services.screening.close());
        await step('job queue', () => q.stop({ graceful, timeoutMs: graceful ? 10_000 : 0 }));
        await step('mailer', () => ctx.mailer.close());
        await step('providers', () => ctx.providers.close());
        await step('object store', () => ctx.store.close());
        await step('payments', () => ctx.payments.close());
        await step('rate limits', () => ctx.rateLimiter.close());
        if (ownsDatabase) await step('database', () => database.close());
      },
    };
  } catch (err) {
    await http?.close().catch(() => {});
    await closeSettings?.().catch(() => {});
    await queue?.stop({ graceful: false }).catch(() => {});
    await rateLimiter?.close().catch(() => {});
    if (ownsDatabase) await database.close().catch(() => {});
    throw err;
  }
}

function reportRepair(logger: Logger, result: RepairResult, when: 'before start' | 'after start'): void {
  if (result.failed.length) {
    logger.warn(
      { failed: result.failed.slice(0, 10), count: result.failed.length },
      'DATA_DIR: could not make these private (are they owned by another user?)',
    );
  }
  if (!result.fixed) return;
  if (when === 'before start')
    logger.info({ fixed: result.fixed, checked: result.checked }, `DATA_DIR: removed group/other permissions from ${result.fixed} files and folders`);
  else logger.debug({ fixed: result.fixed, checked: result.checked }, 'DATA_DIR: made new files private');
}
