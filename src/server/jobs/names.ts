import { z } from 'zod';
import { defineJob } from './define';

/**
 * Every job of the platform, declared once. The worker refuses to start when one of these has no
 * handler (registry.ts), and nothing can enqueue a job that is not declared here.
 */
export const systemProbe = defineJob('system.probe', z.object({ token: z.string().min(8).max(100) }), {
  retryLimit: 0,
  expireInSeconds: 60,
});

/** Removes expired sessions, one-time tokens and rate-limit windows. Scheduled every 15 minutes. */
export const maintenanceCleanup = defineJob('maintenance.cleanup', z.object({}), { retryLimit: 1, expireInSeconds: 300 });

/** Send a queued generation to its provider (generations/engine.ts). */
export const generationDispatch = defineJob('generation.dispatch', z.object({ id: z.string().min(1).max(100) }), {
  retryLimit: 5,
  retryDelaySeconds: 5,
  retryBackoff: true,
  expireInSeconds: 300,
});
/** Take over a finished generation's output and capture its credits. */
export const generationFinalize = defineJob('generation.finalize', z.object({ id: z.string().min(1).max(100) }), {
  retryLimit: 5,
  retryDelaySeconds: 10,
  retryBackoff: true,
  expireInSeconds: 900,
});

export const jobDefinitions = [systemProbe, maintenanceCleanup, generationDispatch, generationFinalize] as const;

/** Cron schedules (UTC), installed by worker processes. */
export const jobSchedules = [{ job: maintenanceCleanup, cron: '*/15 * * * *' }] as const;
