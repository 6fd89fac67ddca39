import os from 'node:os';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { Database } from './db/client';
import { createProbeHandler, createProbeService, type ProbeService } from './domain/system/probe';
import { createUsersService, type UsersService } from './domain/users/users.service';
import { systemProbe } from './jobs/names';
import type { JobQueue } from './jobs/queue';
import { JobRegistry } from './jobs/registry';

export interface Services {
  users: UsersService;
  probes: ProbeService;
}

/** Everything a route, a job handler or a CLI command may use. Built once per process. */
export interface AppContext {
  config: Config;
  database: Database;
  logger: Logger;
  queue: JobQueue;
  services: Services;
  /** identifies this process in job records and logs */
  workerId: string;
}

export function createServices(database: Database, queue: JobQueue): Services {
  return {
    users: createUsersService({ database }),
    probes: createProbeService(database, queue),
  };
}

/** One handler per declared job (names.ts); startup fails if one is missing. */
export function createJobRegistry(ctx: Pick<AppContext, 'database' | 'workerId'>): JobRegistry {
  return new JobRegistry().register(systemProbe, createProbeHandler(ctx.database, ctx.workerId));
}

export const defaultWorkerId = () => `${os.hostname()}:${process.pid}`;
