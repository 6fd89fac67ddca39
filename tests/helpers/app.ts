import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Clock } from '../../src/server/adapters/clock';
import { parseConfig, type Config } from '../../src/server/config';
import { startPlatform, type Platform, type Role } from '../../src/server/runtime';
import { createTestDatabase, type TestDatabase } from './db';
import { freePort } from './net';

export interface TestApp {
  url: string;
  platform: Platform;
  db: TestDatabase;
  config: Config;
  /** fetch relative to the app */
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export { freePort };

/** The whole platform in this process on a free port, on a fresh database; `clock` (e.g. a FakeClock the test moves) times it. */
export async function startTestApp(
  opts: { env?: Record<string, string>; role?: Role; webDist?: string; logger?: pino.Logger; clock?: Clock } = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-test-'));
  const port = String(await freePort());
  const config: Config = {
    ...parseConfig({
      PORT: port,
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      // (WORKER_POLL_INTERVAL_MS as in production: a sent job wakes its workers at once, queue.ts)
      // scrypt at 2^10 instead of production's 2^17 (~2 ms instead of ~0.4 s a hash, each sign-up and
      // sign-in); tests that check the stored hash or time the hashing pass PASSWORD_HASH_LOG_N: '17',
      // and an app started as production hashes as production does
      ...((opts.env?.NODE_ENV ?? 'test') === 'test' ? { PASSWORD_HASH_LOG_N: '10' } : {}),
      // the on-device image model costs seconds to load per process: only moderation tests opt in
      MODERATION_IMAGE_CLASSIFIER: 'off',
      // tests sign up over plain HTTP; the bot challenge's own tests turn it on
      BOT_CHALLENGE: 'off',
      ...opts.env,
    }),
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-000',
    embeddedDatabase: !db.url,
  };
  const platform = await startPlatform({
    config,
    logger: opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    role: opts.role ?? 'all',
    database: db,
    ...(opts.webDist ? { http: { webDist: opts.webDist } } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  const url = platform.url!;
  const app: TestApp = {
    url,
    platform,
    db,
    config,
    fetch: (pathname, init) => fetch(new URL(pathname, url), init),
    async close() {
      running.delete(url);
      // a response body a test left unread keeps its connection busy, and the server's close waits for it (20 s)
      platform.http?.server.closeAllConnections();
      await platform.stop({ graceful: false });
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  running.set(url, app);
  return app;
}

const running = new Map<string, TestApp>();

/** The running test app serving `baseUrl` (helpers that get only a client find its app's events this way). */
export function appServing(baseUrl: string): TestApp | undefined {
  return running.get(new URL(baseUrl).origin);
}
