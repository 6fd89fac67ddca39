import os from 'node:os';
import type { Logger } from 'pino';
import type { Mailer } from './adapters/mail/mailer';
import type { ProviderRegistry } from './adapters/providers';
import type { ObjectStore } from './adapters/storage';
import type { Config } from './config';
import type { Database } from './db/client';
import type { Auth } from './domain/auth/auth';
import { createCatalogService, type CatalogService } from './domain/catalog/catalog.service';
import { createProviderRouter, type ProviderRouter } from './domain/catalog/router';
import { createGenerationEngine, type GenerationEngine } from './domain/generations/engine';
import { createGenerationsService, type GenerationsService } from './domain/generations/generations.service';
import { keepUpstreamLocation, type OutputHandoff } from './domain/generations/output';
import { createCleanupHandler } from './domain/system/cleanup';
import { createProbeHandler, createProbeService, type ProbeService } from './domain/system/probe';
import { createProfileService, type ProfileService } from './domain/users/profile.service';
import { createUsersService, type UsersService } from './domain/users/users.service';
import type { RateLimiter } from './lib/rate-limit';
import { generationDispatch, generationFinalize, maintenanceCleanup, systemProbe } from './jobs/names';
import type { JobQueue } from './jobs/queue';
import { JobRegistry } from './jobs/registry';

export interface Services {
  users: UsersService;
  probes: ProbeService;
  profile: ProfileService;
  catalog: CatalogService;
  router: ProviderRouter;
  /** the lifecycle after submit (dispatch, tracking, settlement); its tracker runs in workers */
  engine: GenerationEngine;
  generations: GenerationsService;
}

/** Everything a route, a job handler or a CLI command may use. Built once per process. */
export interface AppContext {
  config: Config;
  database: Database;
  logger: Logger;
  queue: JobQueue;
  services: Services;
  mailer: Mailer;
  providers: ProviderRegistry;
  /** references and generated videos */
  store: ObjectStore;
  auth: Auth;
  rateLimiter: RateLimiter;
  /** identifies this process in job records and logs */
  workerId: string;
}

export interface ServiceDeps {
  database: Database;
  queue: JobQueue;
  mailer: Mailer;
  config: Config;
  providers: ProviderRegistry;
  logger: Logger;
  /** where finished outputs go (the media pipeline replaces the default) */
  handoff?: OutputHandoff;
}

export function createServices({ database, queue, mailer, config, providers, logger, handoff = keepUpstreamLocation }: ServiceDeps): Services {
  const catalog = createCatalogService({ database, providerStatus: (id) => providers.status(id) });
  const router = createProviderRouter({
    database,
    providers,
    failureThreshold: config.ROUTE_FAILURE_THRESHOLD,
    cooldownSeconds: config.ROUTE_COOLDOWN_SECONDS,
    callbackUrl: (provider) => `${config.PUBLIC_URL}/webhooks/${provider}`,
  });
  const engine = createGenerationEngine({
    database,
    queue,
    catalog,
    router,
    providers,
    handoff,
    logger: logger.child({ component: 'generations' }),
    settings: {
      publicUrl: config.PUBLIC_URL,
      pollConcurrency: config.GENERATION_POLL_CONCURRENCY,
      pollMaxIntervalSeconds: config.GENERATION_POLL_MAX_INTERVAL_SECONDS,
      unknownOutcomeGraceSeconds: config.GENERATION_UNKNOWN_OUTCOME_GRACE_SECONDS,
      // every route may take the full provider timeout, plus a margin
      submitStaleSeconds: Math.ceil((config.PROVIDER_TIMEOUT_MS * 3) / 1000) + 10,
      pollLeaseSeconds: Math.ceil(config.PROVIDER_TIMEOUT_MS / 1000) + 5,
    },
  });
  return {
    users: createUsersService({ database }),
    probes: createProbeService(database, queue),
    profile: createProfileService({ database, mailer, config }),
    catalog,
    router,
    engine,
    generations: createGenerationsService({ database, queue, catalog, providers, engine, maxInFlight: config.GENERATION_MAX_IN_FLIGHT }),
  };
}


/** One handler per declared job (names.ts); startup fails if one is missing. */
export function createJobRegistry(ctx: Pick<AppContext, 'database' | 'workerId' | 'logger' | 'services'>): JobRegistry {
  const engine = ctx.services.engine;
  return new JobRegistry()
    .register(systemProbe, createProbeHandler(ctx.database, ctx.workerId))
    .register(maintenanceCleanup, createCleanupHandler(ctx.database, (result) => ctx.logger.info(result, 'expired records removed')))
    .register(generationDispatch, ({ id }) => engine.dispatch(id))
    .register(generationFinalize, ({ id }) => engine.finalize(id));
}

export const defaultWorkerId = () => `${os.hostname()}:${process.pid}`;
