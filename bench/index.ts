import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { parseConfig } from '../src/server/config';
import { openDatabase } from '../src/server/db/client';
import { startPlatform } from '../src/server/runtime';
import { apiBenchmarks } from './api';
import { generationsBench } from './generations';
import { moderationBench } from './moderation';
import { exportBench } from './export';
import { passwordListBench } from './password-list';
import { dashboardBench } from './dashboard';

/**
 * `npm run bench`: figures for the platform's hot paths on this machine; `npm run bench -- NAME...`
 * runs only the named benchmarks (platform, generations, api, password-list, moderation, export, dashboard).
 * `platform` uses the embedded database (in memory) unless DATABASE_URL is set; see
 * generations.ts for how that one picks its databases.
 */
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);

async function httpLoad(url: string, connections: number) {
  const worker = new Worker(new URL('./http-load.mjs', import.meta.url), {
    workerData: { url, connections, durationMs: DURATION_MS },
  });
  const r = await new Promise<{ requests: number; errors: number; p50: number; p99: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { ...r, rps: Math.round(r.requests / (DURATION_MS / 1000)) };
}

async function platformBench() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-bench-'));
  const url = process.env.DATABASE_URL;
  const database = await openDatabase(url ? { url } : {});
  const config = {
    ...parseConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent', NODE_ENV: 'production', WORKER_POLL_INTERVAL_MS: '200' }),
    SESSION_SECRET: 'bench-secret-bench-secret-bench-secret',
    embeddedDatabase: !url,
  };
  const t0 = performance.now();
  const platform = await startPlatform({ config, logger: pino({ level: 'silent' }), role: 'all', database });
  const startMs = performance.now() - t0;
  console.log(`database: ${url ? 'PostgreSQL server' : 'embedded PGlite (in memory)'}; cores: ${os.cpus().length}; node ${process.version}`);
  console.log(`platform start (migrations check + queue + http): ${startMs.toFixed(0)} ms`);

  for (const [route, connections] of [
    ['/healthz', 32],
    ['/readyz', 16],
    ['/api/meta', 32],
  ] as const) {
    const r = await httpLoad(`${platform.url!}${route}`, connections);
    console.log(
      `GET ${route.padEnd(9)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}  (${connections} connections, load generator in a worker thread)`,
    );
  }

  const { probes } = platform.ctx.services;
  for (const count of [200, 1000]) {
    const t1 = performance.now();
    const token = await probes.send(count);
    const result = await probes.waitFor(token, count, 120_000);
    const ms = performance.now() - t1;
    console.log(
      `jobs: ${result.runs.length}/${count} probe jobs enqueued in one transaction and run in ${ms.toFixed(0)} ms = ${Math.round((result.runs.length / ms) * 1000)} jobs/s (1 process, concurrency ${config.WORKER_CONCURRENCY})`,
    );
  }

  await platform.stop({ graceful: false });
  await database.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

const benchmarks: Record<string, () => Promise<void>> = {
  platform: platformBench,
  generations: generationsBench,
  api: apiBenchmarks,
  'password-list': passwordListBench,
  moderation: moderationBench,
  export: exportBench,
  dashboard: dashboardBench,
};

async function main() {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in benchmarks));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(benchmarks).join(', ')}`);
  const selected = names.length ? names : Object.keys(benchmarks);
  for (const [i, name] of selected.entries()) {
    if (i > 0) console.log('');
    await benchmarks[name]!();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
