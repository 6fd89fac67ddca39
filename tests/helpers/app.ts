import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
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

/** The whole platform in this process on a free port, on a fresh database. */
export async function startTestApp(opts: { env?: Record<string, string>; role?: Role; webDist?: string; logger?: pino.Logger } = {}): Promise<TestApp> {
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
      WORKER_POLL_INTERVAL_MS: '200',
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
  });
  const url = platform.url!;
  return {
    url,
    platform,
    db,
    config,
    fetch: (pathname, init) => fetch(new URL(pathname, url), init),
    async close() {
      await platform.stop({ graceful: false });
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
