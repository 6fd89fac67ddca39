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

/** Remove stored objects of deleted creations and references (media/deletion.ts). */
export const mediaDeleteObjects = defineJob('media.delete-objects', z.object({ keys: z.array(z.string().min(1).max(300)).max(1000) }), {
  retryLimit: 10,
  retryDelaySeconds: 30,
  retryBackoff: true,
  expireInSeconds: 600,
});
/** Purge rows deleted longer ago than the purge window and stored objects nothing refers to. Daily. */
export const mediaPurge = defineJob('media.purge', z.object({}), { retryLimit: 2, expireInSeconds: 3600 });

/** Mail the order confirmation (with the receipt link) once an order is paid. */
export const billingSendConfirmation = defineJob('billing.send-confirmation', z.object({ orderId: z.string().min(1).max(100) }), {
  retryLimit: 5,
  retryDelaySeconds: 30,
  retryBackoff: true,
  expireInSeconds: 120,
});
/** Apply payment events that arrived before what they refer to. Every 5 minutes. */
export const billingRetryDeferred = defineJob('billing.retry-deferred', z.object({}), { retryLimit: 1, expireInSeconds: 300 });
/** Fetch recent provider events (Stripe's events API) and apply what the webhooks missed; expire abandoned checkouts. Daily. */
export const billingReconcile = defineJob('billing.reconcile', z.object({}), { retryLimit: 3, retryDelaySeconds: 300, expireInSeconds: 1800 });

/** Create the webhook deliveries of a settled generation (one per subscribed endpoint) and queue them. */
export const webhooksFanOut = defineJob('webhooks.fan-out', z.object({ generationId: z.string().min(1).max(100) }), {
  retryLimit: 5,
  retryDelaySeconds: 10,
  retryBackoff: true,
  expireInSeconds: 120,
});
/**
 * One attempt of one customer webhook delivery (domain/webhooks). Failed attempts are rescheduled by
 * the handler itself (a new job with startAfterSeconds, back-off for up to 24 h); the queue's own
 * retries only cover crashes of the handler.
 */
export const webhooksDeliver = defineJob('webhooks.deliver', z.object({ deliveryId: z.string().min(1).max(100) }), {
  retryLimit: 3,
  retryDelaySeconds: 90,
  retryBackoff: true,
  expireInSeconds: 120,
});

/**
 * Apply the retention schedule (domain/privacy/retention.ts): every record kind past its period is
 * removed, in bounded batches, except what a legal hold keeps; logged in retention_runs. Daily.
 */
export const privacyRetention = defineJob('privacy.retention', z.object({}), { retryLimit: 2, retryDelaySeconds: 600, expireInSeconds: 3600 });

/** Mail a privacy request's receipt to the person who sent it, or its notice to SUPPORT_EMAIL (domain/privacy/requests.service.ts). */
export const privacyRequestMail = defineJob('privacy.request-mail', z.object({ id: z.string().min(1).max(100), to: z.enum(['requester', 'support']) }), {
  retryLimit: 5,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 120,
});

/** Re-enqueue customer webhook deliveries whose attempt was lost (a crash). Every 10 minutes. */
export const webhooksSweep = defineJob('webhooks.sweep', z.object({}), { retryLimit: 1, expireInSeconds: 300 });

/**
 * File one CyberTipline report (domain/moderation/ncmec.service.ts): resumes from the progress the
 * row records, so a retry never files twice. Retries back off from a minute to hours (the service
 * may be down); the lease in the service outlives an upload, the expiry outlives the lease.
 */
export const moderationNcmecReport = defineJob('moderation.ncmec-report', z.object({ id: z.string().min(1).max(100) }), {
  retryLimit: 12,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 3600,
});

/**
 * Send one mailing (domain/privacy/mailings.service.ts): a batch of its pending recipients, each
 * marked sent as it goes, then the job sends itself again until none is pending. Failed sends are
 * retried by the service (attempts per recipient); the queue's retries only cover crashes.
 */
export const mailMailingSend = defineJob('mail.mailing-send', z.object({ mailingId: z.string().min(1).max(100) }), {
  retryLimit: 5,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 900,
});

/**
 * Run one account deletion (domain/users/account-deletion.service.ts): cancel the account's
 * subscriptions with the payment provider, then delete and pseudonymise in one transaction.
 * Idempotent; a provider error fails the attempt before anything is deleted and it is retried.
 */
export const accountDelete = defineJob('account.delete', z.object({ deletionId: z.string().min(1).max(100) }), {
  retryLimit: 5,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 1800,
});
/** Send `account.delete` for every deletion whose grace period is over (or that must be taken up again). Every 15 minutes. */
export const privacyDeletionsDue = defineJob('privacy.deletions-due', z.object({}), { retryLimit: 1, expireInSeconds: 300 });

/**
 * Build one data export (domain/privacy/export.service.ts): streams the ZIP into the object store
 * under a lease renewed while it runs. A duplicate delivery finds the lease held and is retried
 * later; a retry after a crash takes over once the lease has lapsed and rebuilds from scratch.
 */
export const privacyExportBuild = defineJob('privacy.export-build', z.object({ id: z.string().min(1).max(100) }), {
  retryLimit: 10,
  retryDelaySeconds: 60,
  retryBackoff: true,
  expireInSeconds: 3600,
});
/** Mail the link of a finished data export to its user. */
export const privacyExportMail = defineJob('privacy.export-mail', z.object({ id: z.string().min(1).max(100) }), {
  retryLimit: 5,
  retryDelaySeconds: 30,
  retryBackoff: true,
  expireInSeconds: 120,
});

/**
 * Bring the dashboard's hourly aggregates up to date (domain/admin/stats.service.ts): recent hours
 * again, plus a bounded chunk of history on a new database. Every minute; runs never overlap.
 */
export const adminStatsRollup = defineJob('admin.stats-rollup', z.object({}), { retryLimit: 0, expireInSeconds: 600 });

export const jobDefinitions = [
  adminStatsRollup,
  privacyExportBuild,
  privacyExportMail,
  systemProbe,
  maintenanceCleanup,
  generationDispatch,
  generationFinalize,
  mediaDeleteObjects,
  mediaPurge,
  billingSendConfirmation,
  billingRetryDeferred,
  billingReconcile,
  privacyRetention,
  privacyRequestMail,
  webhooksFanOut,
  webhooksDeliver,
  webhooksSweep,
  moderationNcmecReport,
  accountDelete,
  privacyDeletionsDue,
  mailMailingSend,
] as const;

/** Cron schedules (UTC), installed by worker processes. */
export const jobSchedules = [
  { job: maintenanceCleanup, cron: '*/15 * * * *' },
  { job: mediaPurge, cron: '17 3 * * *' },
  { job: billingRetryDeferred, cron: '*/5 * * * *' },
  { job: billingReconcile, cron: '41 4 * * *' },
  { job: privacyRetention, cron: '23 2 * * *' },
  { job: webhooksSweep, cron: '*/10 * * * *' },
  { job: privacyDeletionsDue, cron: '*/15 * * * *' },
  { job: adminStatsRollup, cron: '* * * * *' },
] as const;
