import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { listenAdminSocket } from './cli/admin-socket';
import { runCommand, UsageError } from './cli/commands';
import { loadConfig } from './config';
import { AppError, StartupError } from './errors';
import { usePrivateUmask } from './lib/data-dir';
import { acquireInstanceLock, adminSocketPath, InstanceLocked, type InstanceLock } from './lib/instance-lock';
import { createLogger } from './logger';
import { startPlatform, type Role } from './runtime';

/**
 * The server process. `npm start` runs web + worker; `--role=web` / `--role=worker` run them apart
 * (several of each against one PostgreSQL server).
 */
async function main(): Promise<void> {
  // before anything is created: DATA_DIR, secrets, the embedded database, stored files (lib/data-dir.ts)
  usePrivateUmask();
  if (fs.existsSync('.env')) process.loadEnvFile('.env');
  let args;
  try {
    args = parseArgs({ options: { role: { type: 'string' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new StartupError(`${(err as Error).message.split('\n')[0] ?? ''} (the server takes only --role=all|web|worker).`);
  }
  const config = loadConfig();
  const role = (args.role ?? config.ROLE) as Role;
  if (!['all', 'web', 'worker'].includes(role)) throw new StartupError(`Invalid --role ${role}: use all, web or worker.`);
  const logger = createLogger(config);

  let lock: InstanceLock | null = null;
  if (config.embeddedDatabase) {
    try {
      lock = acquireInstanceLock(config.dataDir, 'server');
    } catch (err) {
      if (err instanceof InstanceLocked) {
        throw new StartupError(`${err.message} The embedded database admits one process; stop it first, or set DATABASE_URL to run several processes.`);
      }
      throw err;
    }
  }

  let platform: Awaited<ReturnType<typeof startPlatform>>;
  try {
    platform = await startPlatform({ config, logger, role });
  } catch (err) {
    lock?.release();
    throw err;
  }

  let adminServer: import('node:net').Server | null = null;
  if (lock) {
    // The CLI reaches the embedded database through this server while it runs.
    const socketPath = adminSocketPath(config.dataDir);
    const ctx = platform.ctx;
    adminServer = await listenAdminSocket(socketPath, async (req) => {
      try {
        ctx.logger.info({ command: req.command }, 'admin command');
        return { ok: true, output: await runCommand(ctx, req.command, req.argv) };
      } catch (err) {
        if (err instanceof UsageError) return { ok: false, error: err.message, usage: true };
        if (err instanceof AppError) return { ok: false, error: err.message };
        ctx.logger.error({ err }, 'admin command failed');
        return { ok: false, error: (err as Error).message };
      }
    });
    lock.update({ socketPath });
  }

  logger.info(
    { role, url: platform.url, publicUrl: config.PUBLIC_URL, database: config.embeddedDatabase ? 'embedded (PGlite)' : 'postgresql' },
    platform.url ? `Save Sora is running at ${config.PUBLIC_URL}` : 'Save Sora worker is running',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    adminServer?.close();
    try {
      await platform.stop({ graceful: true });
    } finally {
      lock?.release();
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof StartupError) {
    process.stderr.write(`save-sora: ${err.message}\n`);
  } else {
    process.stderr.write(`save-sora: start-up failed: ${(err as Error | null | undefined)?.stack ?? String(err)}\n`);
  }
  process.exit(1);
});
