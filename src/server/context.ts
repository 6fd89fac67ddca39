import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { createOAuthTokenService, type OAuthTokenService } from './domain/auth/oauth-tokens';
import { createSessionsService, type SessionsService } from './domain/auth/sessions.service';
import { systemClock, type Clock } from './adapters/clock';
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
import type { OutputHandoff } from './domain/generations/output';
import { createIngestHandoff } from './domain/media/ingest';
import { createCreationsService, type CreationsService } from './domain/media/creations.service';
import { createMediaService, type MediaService } from './domain/media/media.service';
import { createScreeningServices, type ScreeningServices } from './domain/moderation/pipeline';
import { createModerationService, type ModerationService } from './domain/moderation/moderation.service';
import { deleteObjects, purgeDeleted } from './domain/media/purge';
import { createReferenceResolver } from './domain/media/references';
import type { PaymentRegistry } from './adapters/payments';
import { createBillingService, type BillingService } from './domain/billing/billing.service';
import { sendOrderConfirmation } from './domain/billing/confirmation';
import { createDeveloperService, type DeveloperService } from './domain/developer/developer.service';
import { parseAllowHosts } from './lib/safe-fetch';
import { createProvenance, loadOrCreateSigningIdentity } from './domain/media/provenance';
import { builtinCatalog } from './domain/catalog/catalog-data';
import { createCleanupHandler } from './domain/system/cleanup';
import { createProbeHandler, createProbeService, type ProbeService } from './domain/system/probe';
import { createProfileService, type ProfileService } from './domain/users/profile.service';
import { createUsersService, type UsersService } from './domain/users/users.service';
import { createAccountDeletionService, type AccountDeletionService } from './domain/users/account-deletion.service';
import { createWebhooksService, type WebhooksService } from './domain/webhooks/webhooks.service';
import { createHoldsService, type HoldsService } from './domain/moderation/holds.service';
import { createNcmecService, type NcmecService } from './domain/moderation/ncmec.service';
import { createMailingsService, type MailingsService } from './domain/privacy/mailings.service';
import { createPoliciesService, type PoliciesService } from './domain/privacy/policies.service';
import { createExportsService, type ExportsService } from './domain/privacy/export.service';
import { createRetentionService, type RetentionService } from './domain/privacy/retention.service';
import { createPrivacyRequestsService, type PrivacyRequestsService } from './domain/privacy/requests.service';
import { createRateLimiter, type RateLimiter } from './lib/rate-limit';
import { createAuditService, type AuditService } from './domain/admin/audit.service';
import { createConsoleAccessService, type ConsoleAccessService } from './domain/admin/access.service';
import { createSettingsService, type SettingsService } from './domain/admin/settings.service';
import { createSetupService, type SetupService } from './domain/admin/setup.service';
import { createStatsService, type StatsService } from './domain/admin/stats.service';
import { createCatalogConsoleService, type CatalogConsoleService } from './domain/admin/catalog-console.service';
import { createUsersConsoleService, type UsersConsoleService } from './domain/admin/users-console.service';
import { createPaymentRisk } from './domain/abuse/payment-risk.service';
import { createOrdersConsole, type OrdersConsole } from './domain/admin/orders-console.service';
import { createGenerationsConsole, type GenerationsConsole } from './domain/admin/generations-console.service';
import { createRiskConsoleService, type RiskConsoleService } from './domain/admin/risk-console.service';
import {
  adminStatsRollup,
  privacyRetention,
  privacyRequestMail,
  billingReconcile,
  billingRetryDeferred,
  billingSendConfirmation,
  generationDispatch,
  generationFinalize,
  maintenanceCleanup,
  mediaDeleteObjects,
  mediaPurge,
  systemProbe,
  webhooksDeliver,
  webhooksSweep,
  webhooksFanOut,
  moderationNcmecReport,
  mailMailingSend,
  privacyExportBuild,
  privacyExportMail,
  accountDelete,
  privacyDeletionsDue,
} from './jobs/names';
import type { JobQueue } from './jobs/queue';
import { createBotChallenge } from './adapters/challenge';
import { createBotChallengeService, type BotChallengeService } from './domain/abuse/challenge.service';
import { claimChallengeUse } from './domain/abuse/challenge.repo';
import { JobRegistry } from './jobs/registry';
import { createEmailRules, type EmailRules } from './domain/abuse/email.service';

export interface Services {
  users: UsersService;
  /** account deletion: the user's own (with a grace period), operators', the resumable deletion job; legal holds limit it */
  accountDeletion: AccountDeletionService;
  probes: ProbeService;
  profile: ProfileService;
  /** the user's own sign-in sessions, and the per-request session bookkeeping */
  sessions: SessionsService;
  catalog: CatalogService;
  router: ProviderRouter;
  /** the lifecycle after submit (dispatch, tracking, settlement); its tracker runs in workers */
  engine: GenerationEngine;
  generations: GenerationsService;
  /** My Creations: listing and deleting finished videos */
  creations: CreationsService;
  /** plans, checkout, orders, payment events, refunds */
  billing: BillingService;
  /** the user's reference files (uploads, URL imports, creations reused as references) */
  media: MediaService;
  /** API keys and API usage */
  developer: DeveloperService;
  /** customer webhooks: endpoints, signed deliveries with retries */
  webhooks: WebhooksService;
  /** Google's tokens, encrypted at rest */
  oauthTokens: OAuthTokenService;
  /** moderation screening (prompt gate, references, outputs), the quarantine area and the operator's lists */
  screening: ScreeningServices;
  /** trust & safety: review queue, decisions, strikes, appeals, people's reports */
  moderation: ModerationService;
  /** legal holds: every deletion and purge asks them first */
  holds: HoldsService;
  /** CSAM escalation and the CyberTipline report job */
  ncmec: NcmecService;
  /** notices to every account (policy changes, business transfers), product updates to those who opted in, one-click unsubscribe */
  mailings: MailingsService;
  /** the published legal documents, their versions and the notices of material changes */
  policies: PoliciesService;
  /** data exports: the user's archive, built by a job, delivered by an expiring link */
  exports: ExportsService;
  /** the retention schedule and its daily job (domain/privacy/retention.ts) */
  retention: RetentionService;
  /** privacy requests and child reports: the public form and the operators' queue */
  privacyRequests: PrivacyRequestsService;
  /** the append-only log of operator actions (console and CLI) */
  audit: AuditService;
  /** the console's re-authentication for sensitive actions */
  consoleAccess: ConsoleAccessService;
  /** the disposable-mail rule and the operator's own blocked domains (issue 19) */
  emailRules: EmailRules;
  /** the bot challenge on sign-up, password reset and sign-in after failures (issue 19) */
  botChallenge: BotChallengeService;
  /** settings in the console: stored sealed, applied live in every process (settings.live.ts), connection tests */
  settings: SettingsService;
  /** the first run: claiming the admin role, the setup checklist */
  setup: SetupService;
  /** the dashboard: hourly aggregates (rollup job) and the figures read from them */
  stats: StatsService;
  /** models and plans for operators (console and CLI), each change audited */
  catalogConsole: CatalogConsoleService;
  /** the console's and the CLI's user actions (credits, status, role, sessions, export, deletion), each audited */
  usersConsole: UsersConsoleService;
  /** the console's and the CLI's orders: lookup, refunds, reconciliation, each audited */
  ordersConsole: OrdersConsole;
  /** the console's risk view and the withheld free-credit grant (issue 19) */
  riskConsole: RiskConsoleService;
  /** the console's generations: lookup, cancel, release of a task stuck past its deadline, each audited */
  generationsConsole: GenerationsConsole;
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
  /** configured payment providers */
  payments: PaymentRegistry;
  auth: Auth;
  rateLimiter: RateLimiter;
  /** the time every expiry, window, back-off and schedule is decided by (tests pass a FakeClock) */
  clock: Clock;
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
  store: ObjectStore;
  payments: PaymentRegistry;
  /** where finished outputs go; default: ingest into the store with C2PA provenance */
  handoff?: OutputHandoff;
  /** the shared rate-limit store (default: the database) */
  rateLimiter?: RateLimiter;
  /** default: the system clock */
  clock?: Clock;
}

/** The default output hand-off: copy into our store, probe, poster, preview, C2PA-sign. */
export async function createDefaultHandoff(config: Config, store: ObjectStore): Promise<OutputHandoff> {
  const identity = await loadOrCreateSigningIdentity(config.dataDir, {
    ...(config.C2PA_CERT_PATH ? { certPath: config.C2PA_CERT_PATH } : {}),
    ...(config.C2PA_KEY_PATH ? { keyPath: config.C2PA_KEY_PATH } : {}),
  });
  const names = new Map(builtinCatalog.map((m) => [m.id, m.name]));
  return createIngestHandoff({
    store,
    provenance: await createProvenance(identity),
    workDir: path.join(config.dataDir, 'tmp'),
    modelName: (id) => names.get(id) ?? id,
    maxBytes: config.OUTPUT_MAX_BYTES,
    ...(config.OUTPUT_WATERMARK ? { watermark: config.OUTPUT_WATERMARK } : {}),
    ...(config.FFMPEG_PATH ? { ffmpeg: config.FFMPEG_PATH } : {}),
    ...(config.FFPROBE_PATH ? { ffprobe: config.FFPROBE_PATH } : {}),
  });
}

export async function createServices({
  database,
  queue,
  mailer,
  config,
  providers,
  store,
  payments,
  logger,
  handoff,
  rateLimiter,
  clock = systemClock,
}: ServiceDeps): Promise<Services> {
  handoff ??= await createDefaultHandoff(config, store);
  const screening = createScreeningServices({ database, store, queue, config, clock, logger: logger.child({ component: 'moderation' }) });
  const catalog = createCatalogService({ database, providerStatus: (id) => providers.status(id), clock });
  const router = createProviderRouter({
    database,
    providers,
    failureThreshold: config.ROUTE_FAILURE_THRESHOLD,
    cooldownSeconds: config.ROUTE_COOLDOWN_SECONDS,
    callbackUrl: (provider) => `${config.PUBLIC_URL}/webhooks/${provider}`,
    clock,
  });
  const media = createMediaService({
    database,
    queue,
    store,
    config,
    clock,
    logger: logger.child({ component: 'media' }),
    moderation: screening.gate,
    ...(rateLimiter ? { rateLimiter } : {}),
  });
  const engine = createGenerationEngine({
    references: createReferenceResolver({ database, store, clock, importUrl: (userId, url) => media.importForTask(userId, url) }),
    database,
    queue,
    catalog,
    router,
    providers,
    handoff,
    moderation: screening.gate,
    logger: logger.child({ component: 'generations' }),
    clock,
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
  const ncmec = createNcmecService({ database, queue, store, config, clock, logger: logger.child({ component: 'ncmec' }) });
  // decisions release or remove quarantined outputs and escalate CSAM; a CSAM hash match escalates without waiting for a person
  const moderation = createModerationService({
    database,
    clock,
    config,
    logger: logger.child({ component: 'moderation' }),
    rateLimiter: rateLimiter ?? createRateLimiter(database, clock),
    quarantine: screening.quarantine,
    ncmec,
  });
  screening.setEscalation((caseId, note) => moderation.escalateAutomatically(caseId, note));
  const sharedLimiter = rateLimiter ?? createRateLimiter(database, clock);
  const mailings = createMailingsService({ database, queue, mailer, config, clock, logger: logger.child({ component: 'mailings' }) });
  const services: Services = {
    users: createUsersService({ database, passwordHashLogN: config.PASSWORD_HASH_LOG_N }),
    accountDeletion: createAccountDeletionService({
      database,
      queue,
      mailer,
      payments,
      config,
      clock,
      rateLimiter: rateLimiter ?? createRateLimiter(database, clock),
      logger: logger.child({ component: 'accounts' }),
    }),
    probes: createProbeService(database, queue, clock),
    profile: createProfileService({ database, mailer, config }),
    sessions: createSessionsService({ database }),
    catalog,
    router,
    engine,
    generations: createGenerationsService({
      database,
      queue,
      catalog,
      providers,
      engine,
      maxInFlight: config.GENERATION_MAX_IN_FLIGHT,
      clock,
      apiKeyMaxInFlight: config.API_KEY_MAX_IN_FLIGHT,
      referenceAllowHosts: parseAllowHosts(config.REFERENCE_FETCH_ALLOW_HOSTS),
      moderation: screening.gate,
    }),
    creations: createCreationsService({ database, queue, store, clock, logger: logger.child({ component: 'creations' }) }),
    media,
    developer: createDeveloperService({ database, config, clock }),
    billing: createBillingService({
      database,
      queue,
      payments,
      catalog,
      config,
      clock,
      logger: logger.child({ component: 'billing' }),
      risk: createPaymentRisk({ database, config, clock, audit: () => services.audit, logger: logger.child({ component: 'payment-risk' }) }),
    }),
    oauthTokens: createOAuthTokenService({ database, config }),
    screening,
    holds: createHoldsService({ database, clock }),
    mailings,
    exports: createExportsService({ database, queue, store, mailer, config, clock, logger: logger.child({ component: 'exports' }) }),
    policies: createPoliciesService({ database, config, clock, catalog, mailings, logger: logger.child({ component: 'legal' }) }),
    ncmec,
    moderation,
    webhooks: createWebhooksService({
      database,
      queue,
      config,
      clock,
      logger: logger.child({ component: 'webhooks' }),
      ...(rateLimiter ? { rateLimiter } : {}),
    }),
    retention: createRetentionService({
      database,
      store,
      config,
      clock,
      logger: logger.child({ component: 'retention' }),
      expireExports: (now) => services.exports.expire(now),
    }),
    privacyRequests: createPrivacyRequestsService({
      database,
      queue,
      mailer,
      config,
      clock,
      rateLimiter: rateLimiter ?? createRateLimiter(database, clock),
      logger: logger.child({ component: 'privacy' }),
      deleteAccount: (userId, by) => services.accountDeletion.deleteAccount(userId, by),
    }),
    audit: createAuditService({ database, clock }),
    consoleAccess: createConsoleAccessService({ database, clock, rateLimiter: sharedLimiter }),
    emailRules: createEmailRules({ database, clock }),
    botChallenge: createBotChallengeService({
      challenge: createBotChallenge(config, { uses: { claim: (id, expiresAt) => claimChallengeUse(database, id, expiresAt) } }),
      rateLimiter: sharedLimiter,
      clock,
      settings: config,
    }),
    settings: createSettingsService({
      database,
      config,
      clock,
      audit: { record: (...args) => services.audit.record(...args) },
      logger: logger.child({ component: 'settings' }),
    }),
    setup: createSetupService({
      database,
      config,
      clock,
      audit: { record: (...args) => services.audit.record(...args) },
      providers,
      payments,
      mailer,
      store,
      policies: { list: () => services.policies.list() },
      lists: screening.lists,
    }),
    stats: createStatsService({ database, clock }),
    catalogConsole: createCatalogConsoleService({ database, catalog, clock, audit: { record: (...args) => services.audit.record(...args) } }),
    usersConsole: createUsersConsoleService({
      database,
      clock,
      audit: () => services.audit,
      accountDeletion: () => services.accountDeletion,
      exports: () => services.exports,
    }),
    ordersConsole: createOrdersConsole({ database, payments, billing: () => services.billing, audit: () => services.audit }),
    riskConsole: createRiskConsoleService({ database, clock, config, audit: () => services.audit }),
    generationsConsole: createGenerationsConsole({
      database,
      clock,
      engine,
      providers,
      audit: () => services.audit,
      logger: logger.child({ component: 'console' }),
    }),
  };
  return services;
}

/** One handler per declared job (names.ts); startup fails if one is missing. */
export function createJobRegistry(
  ctx: Pick<AppContext, 'database' | 'workerId' | 'logger' | 'services' | 'store' | 'config' | 'mailer' | 'clock'>,
): JobRegistry {
  const billing = ctx.services.billing;
  const engine = ctx.services.engine;
  return new JobRegistry()
    .register(systemProbe, createProbeHandler(ctx.database, ctx.workerId, ctx.clock))
    .register(
      maintenanceCleanup,
      createCleanupHandler(ctx.database, ctx.clock, (result) => ctx.logger.info(result, 'expired records removed')),
    )
    .register(generationDispatch, ({ id }) => engine.dispatch(id))
    .register(generationFinalize, ({ id }) => engine.finalize(id))
    .register(mediaDeleteObjects, ({ keys }) => deleteObjects(ctx.store, keys))
    .register(mediaPurge, async () => {
      await purgeDeleted({ database: ctx.database, store: ctx.store, logger: ctx.logger, clock: ctx.clock }, { purgeDays: ctx.config.MEDIA_PURGE_DAYS });
      // accounts deleted while a legal hold kept part of them: finished once their holds ended
      const finished = await ctx.services.accountDeletion.finishPending();
      if (finished) ctx.logger.info({ finished }, 'accounts: deletions finished after their holds ended');
    })
    .register(privacyRetention, async () => {
      await ctx.services.retention.run();
    })
    .register(privacyRequestMail, ({ id, to }) => ctx.services.privacyRequests.sendMail(id, to))
    .register(billingSendConfirmation, ({ orderId }) =>
      sendOrderConfirmation({ database: ctx.database, mailer: ctx.mailer, publicUrl: ctx.config.PUBLIC_URL }, orderId),
    )
    .register(billingRetryDeferred, async () => {
      const applied = await billing.retryDeferred();
      if (applied) ctx.logger.info({ applied }, 'billing: deferred payment events applied');
    })
    .register(billingReconcile, async () => {
      const result = await billing.reconcile();
      const expired = await billing.expireAbandoned();
      ctx.logger.info({ ...result, expiredOrders: expired }, 'billing: reconciliation done');
    })
    .register(webhooksFanOut, async ({ generationId }) => {
      await ctx.services.webhooks.fanOut(generationId);
    })
    .register(webhooksDeliver, ({ deliveryId }) => ctx.services.webhooks.deliver(deliveryId))
    .register(webhooksSweep, async () => {
      await ctx.services.webhooks.sweep();
    })
    .register(mailMailingSend, async ({ mailingId }) => {
      await ctx.services.mailings.send(mailingId);
    })
    .register(accountDelete, async ({ deletionId }) => {
      await ctx.services.accountDeletion.run(deletionId);
    })
    .register(privacyDeletionsDue, async () => {
      const sent = await ctx.services.accountDeletion.enqueueDue();
      if (sent) ctx.logger.info({ sent }, 'accounts: deletions due were started');
    })
    .register(privacyExportBuild, ({ id }, job) =>
      ctx.services.exports.build(id, { attempt: job.attempt, last: job.attempt > (privacyExportBuild.options.retryLimit ?? 0) }),
    )
    .register(privacyExportMail, ({ id }) => ctx.services.exports.mailReady(id))
    .register(adminStatsRollup, async () => {
      const run = await ctx.services.stats.rollup(ctx.clock.now());
      if (run.backfill) ctx.logger.info({ backfill: run.backfill, historyComplete: run.historyComplete }, 'dashboard: history computed');
    })
    .register(moderationNcmecReport, async ({ id }, job) => {
      await ctx.services.ncmec.run(id, { attempt: job.attempt, last: job.attempt > (moderationNcmecReport.options.retryLimit ?? 0) });
    });
}

export const defaultWorkerId = () => `${os.hostname()}:${process.pid}`;
