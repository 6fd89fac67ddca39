import { defineConfig } from 'vitest/config';
import DurationsReporter from './tests/setup/durations-reporter';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    // process tests (SIGKILL, several processes, upstream chaos, the embedded lifecycle) are their
    // own tier: npm run test:system (vitest.system.config.ts)
    exclude: ['tests/e2e/**', 'tests/process/**', 'node_modules/**'],
    globalSetup: ['tests/setup/global.ts'],
    pool: 'forks',
    // 2 cores on the reference machines; each file gets its own database
    maxWorkers: 2,
    // A worker runs file after file in one module cache: the server's modules (Fastify, Better Auth,
    // the AWS SDK, drizzle...) are imported once per worker instead of once per file, which was
    // about a third of the suite's time. Files share no state through modules: each starts its own
    // app on its own database and data dir, and what is process-wide (the umask, the media slots,
    // caches of binaries and the password list) is set the same way by every app.
    isolate: false,
    // generous: several files render videos with ffmpeg at once on 2 cores, and the suite must pass
    // beside a CPU burner; a test that hangs still fails, a slow machine does not
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // CI logs show the wall time and the slowest files and tests (targets: README, contributing)
    reporters: ['default', new DurationsReporter()],
  },
});
