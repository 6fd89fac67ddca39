import fs from 'node:fs';
import { createMailer } from '../adapters/mail';
import { createServices } from '../context';
import { storeFromConfig } from '../adapters/storage';
import { createPaymentRegistry } from '../adapters/payments';
import { seedPlans } from '../domain/billing/billing.repo';
import { loadStoredSettings } from '../domain/admin/settings.service';
import { createProviderRegistry } from '../adapters/providers';
import { loadConfig, type Config } from '../config';
import { usePrivateUmask } from '../lib/data-dir';
import { openDatabase, pgliteDir } from '../db/client';
import { migrate } from '../db/migrate';
import { AppError, StartupError } from '../errors';
import { JobQueue } from '../jobs/queue';
import { acquireInstanceLock, InstanceLocked, readInstanceLock } from '../lib/instance-lock';
import { createLogger } from '../logger';
import { sendAdminRequest } from './admin-socket';
import { findCommand, helpText, parseCommandArgs, runCommand, UsageError, withAbsolutePaths } from './commands';

/**
 * `npm run cli -- <command> [options]`. With DATABASE_URL the CLI works on the PostgreSQL server
 * directly. With the embedded database it hands the command to the running server over its admin
 * socket when one is running, and otherwise opens the database itself.
 */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(helpText() + '\n');
    return name ? 0 : 2;
  }
  const cmd = findCommand(name);
  if (!cmd) throw new UsageError(`Unknown command "${name}".\n\n${helpText()}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.summary}\n\nUsage: npm run cli -- ${cmd.usage}\n`);
    return 0;
  }
  parseCommandArgs(cmd, rest); // report usage mistakes before touching the database
  const args = withAbsolutePaths(cmd, rest, process.cwd());

  if (fs.existsSync('.env')) process.loadEnvFile('.env');
  usePrivateUmask(); // what the CLI creates in DATA_DIR (the embedded database) is private, as the server's
  const config = loadConfig();

  if (config.embeddedDatabase) {
    const holder = readInstanceLock(config.dataDir);
    if (holder?.kind === 'server' && holder.socketPath) return viaServer(holder.socketPath, name, args);
    if (holder) throw new StartupError(`${new InstanceLocked(holder).message} Wait for it to finish and try again.`);
  }
  return locally(config, name, args);
}

async function viaServer(socketPath: string, name: string, argv: string[]): Promise<number> {
  const res = await sendAdminRequest(socketPath, { command: name, argv }, (findCommand(name)?.timeoutSeconds ?? 120) * 1000);
  if (!res.ok) {
    process.stderr.write(`${res.error}\n`);
    return res.usage ? 2 : 1;
  }
  process.stdout.write(res.output + '\n');
  return 0;
}

async function locally(config: Config, name: string, argv: string[]): Promise<number> {
  let lock = null;
  if (config.embeddedDatabase) {
    try {
      lock = acquireInstanceLock(config.dataDir, 'cli');
    } catch (err) {
      // a server started meanwhile: hand the command over
      const holder = readInstanceLock(config.dataDir);
      if (err instanceof InstanceLocked && holder?.kind === 'server' && holder.socketPath) return viaServer(holder.socketPath, name, argv);
      throw err;
    }
  }
  const logger = createLogger({ LOG_LEVEL: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL });
  const database = await openDatabase({
    url: config.DATABASE_URL,
    pgliteDataDir: config.embeddedDatabase ? pgliteDir(config.dataDir) : undefined,
    poolSize: 2,
    applicationName: 'save-sora:cli',
  });
  const queue = new JobQueue(database, logger, { supervise: false });
  try {
    await migrate(database);
    // the settings saved in the console apply to the CLI too (the environment wins)
    await loadStoredSettings(database, config, logger);
    await queue.start();
    const mailer = createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, dataDir: config.dataDir });
    const providers = createProviderRegistry(config);
    const store = storeFromConfig(config);
    const payments = createPaymentRegistry(config);
    await seedPlans(database);
    const services = await createServices({ database, queue, mailer, config, providers, store, payments, logger });
    const output = await runCommand({ database, services }, name, argv).finally(async () => {
      await mailer.close();
      await providers.close();
      await store.close();
      await payments.close();
    });
    process.stdout.write(output + '\n');
    return 0;
  } finally {
    await queue.stop({ graceful: false }).catch(() => {});
    await database.close().catch(() => {});
    lock?.release();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof StartupError || err instanceof AppError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    }
    process.stderr.write(`${(err as Error | null | undefined)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
