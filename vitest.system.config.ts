import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * `npm run test:system`: the process tests (a SIGKILLed worker, two workers on one database,
 * upstream chaos, the embedded database's lifecycle, two web processes sharing rate limits, start-up
 * errors). Each starts processes of its own and keeps both cores busy, so they run one file at a
 * time, apart from the fast tier. (Not mergeConfig: it would append to include/exclude.)
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/process/**/*.test.ts'],
    exclude: ['node_modules/**'],
    maxWorkers: 1,
    fileParallelism: false,
    // each file is long and mostly child processes: the import saved by sharing modules is nothing
    // next to it, so keep a fresh module cache per file
    isolate: true,
  },
});
