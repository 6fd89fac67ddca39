import { defineConfig } from 'vitest/config';

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
    // generous: several files render videos with ffmpeg at once on 2 cores, and the process tests
    // (chaos, crash) run beside them; a test that hangs still fails, a slow machine does not
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
