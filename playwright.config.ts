import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defineConfig } from '@playwright/test';

const PORT = 3107;
const baseURL = `http://127.0.0.1:${PORT}`;

// A fresh, throw-away data directory for the server under test, so runs never share state.
// Playwright loads this config in the runner and in each worker; only the runner starts the
// web server, so make the directory once and hand it down through the environment.
let dataDir = process.env.SAVESORA_E2E_DATA_DIR;
if (!dataDir) {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-e2e-'));
  process.env.SAVESORA_E2E_DATA_DIR = dataDir;
  // The process that made it removes it when it exits (after Playwright has stopped the server).
  const made = dataDir;
  process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
}

export default defineConfig({
  testDir: 'tests/e2e',
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  outputDir: 'test-results',
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        viewport: { width: 1280, height: 800 },
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      },
    },
  ],
  webServer: {
    // `npm start` plus a fake Stripe (port 3108) for the billing tests: scripts/e2e-server.ts
    command: 'node --import tsx scripts/e2e-server.ts',
    url: `${baseURL}/healthz`,
    // every spec signs up from 127.0.0.1; the webhook spec's receiver is this same host
    env: {
      PORT: String(PORT),
      PUBLIC_URL: baseURL,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      E2E_STRIPE_PORT: '3108',
      E2E_KIE_PORT: '3109',
      SIGNUP_RATE_PER_HOUR: '100',
      // every spec's Chromium has the same browser fingerprint: compare no device or network signals
      // for free credits (each new account still gets them once per address); tests/integration/security/farming.test.ts proves the rule
      FREE_CREDITS_MATCH_WINDOW_DAYS: '0',
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    },
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
