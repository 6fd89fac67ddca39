import os from 'node:os';
import type { Logger } from 'pino';
import type { Mailer } from './adapters/mail/mailer';
import type { ProviderRegistry } from './adapters/providers';
import type { Config } from './config';
import type { Database } from './db/client';
import type { Auth } from './domain/auth/auth';
import { createCatalogService, type CatalogService } from './domain/catalog/catalog.service';
import { createProviderRouter, type ProviderRouter } from './domain/catalog/router';
import { createCleanupHandler } from './domain/system/cleanup';
import { createProbeHandler, createProbeService, type ProbeService } from './domain/system/probe';
import { createProfileService, type ProfileService } from './domain/users/profile.service';
import { createUsersService, type UsersService } from './domain/users/users.service';
import type { RateLimiter } from './lib/rate-limit';
import { maintenanceCleanup, systemProbe } from './jobs/names';
import type { JobQueue } from './jobs/queue';
import { JobRegistry } from './jobs/registry';

export interface Services {
  users: UsersService;
  probes: ProbeService;
  profile: ProfileService;
  catalog: CatalogService;
  router: ProviderRouter;
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
}

export function createServices({ database, queue, mailer, config, providers }: ServiceDeps): Services {
  return {
    users: createUsersService({ database }),
    probes: createProbeService(database, queue),
    profile: createProfileService({ database, mailer, config }),
    catalog: createCatalogService({ database, providerStatus: (id) => providers.status(id) }),
    router: createProviderRouter({
      database,
      providers,
      failureThreshold: config.ROUTE_FAILURE_THRESHOLD,
      cooldownSeconds: config.ROUTE_COOLDOWN_SECONDS,
      callbackUrl: (provider) => `${config.PUBLIC_URL}/webhooks/${provider}`,
    }),
  };
}


/** One handler per declared job (names.ts); startup fails if one is missing. */
export function createJobRegistry(ctx: Pick<AppContext, 'database' | 'workerId' | 'logger'>): JobRegistry {
  return new JobRegistry()
    .register(systemProbe, createProbeHandler(ctx.database, ctx.workerId))
    .register(maintenanceCleanup, createCleanupHandler(ctx.database, (result) => ctx.logger.info(result, 'expired records removed')));
}

export const defaultWorkerId = () => `${os.hostname()}:${process.pid}`;
