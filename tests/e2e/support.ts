import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test as base, type Page } from '@playwright/test';
import { botHeaders } from './bot-solver';

/** The English and Spanish catalogues: the source of the texts the tests look for. */
type Catalogue = typeof import('../../src/web/i18n/locales/en.json');
const catalogue = (name: string) => JSON.parse(fs.readFileSync(new URL(`../../src/web/i18n/locales/${name}.json`, import.meta.url), 'utf8')) as Catalogue;
export const en = catalogue('en');
export const es = catalogue('es');

/** The text at a dotted key of a catalogue (`landing.models.veo`), if there is one. */
export function textAt(texts: Catalogue, key: string): string | undefined {
  const found = key.split('.').reduce<unknown>((node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined), texts);
  return typeof found === 'string' ? found : undefined;
}

/** An error answer a test expects (e.g. the 401 of a wrong password); anything else fails the test. */
export interface ExpectedError {
  method: string;
  /** the URL's path */
  path: string | RegExp;
  status: number;
}

/**
 * Always expected: a signed-out visitor's `GET /api/me` is answered 401 (that is how the app
 * learns nobody is signed in), and the browser logs that as "Failed to load resource".
 */
export const signedOutProbe: ExpectedError = { method: 'GET', path: '/api/me', status: 401 };

const matches = (e: ExpectedError, method: string, url: string, status: number) => {
  const path = new URL(url).pathname;
  return e.method === method && e.status === status && (typeof e.path === 'string' ? e.path === path : e.path.test(path));
};

/**
 * Watch the page for console errors, uncaught exceptions, failed requests, error responses and
 * requests leaving the app's own origin. Returns the list of problems (empty when all is well)
 * and a way to declare error answers the test expects.
 */
export function watch(page: Page, baseURL: string) {
  const origin = new URL(baseURL).origin;
  const problems: string[] = [];
  const expected: ExpectedError[] = [signedOutProbe];
  /** URLs of expected error answers, to recognise the browser's console line about each */
  const expectedUrls = new Set<string>();

  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location().url;
    if (msg.text().startsWith('Failed to load resource') && expectedUrls.has(where)) return;
    // The dev mailbox shows a mail's HTML in a frame with sandbox="" (no scripts). Playwright's
    // trace snapshots evaluate in every frame, and Chromium reports that as blocked: not the app.
    if (where === 'about:srcdoc' && msg.text().startsWith("Blocked script execution in 'about:srcdoc'")) return;
    problems.push(`console error: ${msg.text()} ${where}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    // navigating away cancels in-flight requests; that is not a failure of the app
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${req.method()} ${req.url()} (${req.failure()?.errorText ?? 'no reason given'})`);
  });
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('data:') && !url.startsWith('blob:') && !url.startsWith('about:') && new URL(url).origin !== origin)
      problems.push(`external request: ${url}`);
  });
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const method = res.request().method();
    if (expected.some((e) => matches(e, method, res.url(), res.status()))) {
      expectedUrls.add(res.url());
      return;
    }
    problems.push(`HTTP ${res.status()}: ${method} ${res.url()}`);
  });

  return {
    problems,
    expect: (e: ExpectedError) => expected.push(e),
  };
}

/**
 * Mail links point at the server's PUBLIC_URL, which may differ from the address the tests
 * reach the server at (localhost vs 127.0.0.1). Cookies and the same-origin check follow the
 * public address, so the account tests browse there. The server publishes it in its OpenAPI
 * document.
 */
async function publicOrigin(baseURL: string): Promise<string> {
  try {
    const res = await fetch(new URL('/openapi.json', baseURL));
    const doc = (await res.json()) as { servers?: Array<{ url?: string }> };
    const url = doc.servers?.[0]?.url;
    if (url) return new URL(url).origin;
  } catch {
    /* fall back to the configured address */
  }
  return new URL(baseURL).origin;
}

let cachedOrigin: Promise<string> | undefined;

/** `test` with the page watched (failing on any problem) and baseURL set to the public origin. */
export const test = base.extend<{ watcher: ReturnType<typeof watch> }>({
  baseURL: async ({ baseURL }, use) => {
    cachedOrigin ??= publicOrigin(baseURL!);
    await use(await cachedOrigin);
  },
  watcher: [
    async ({ page, baseURL }, use) => {
      const watcher = watch(page, baseURL!);
      await use(watcher);
      expect(watcher.problems, 'console errors, page errors or failed requests').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** A fresh address for each test, so tests never share an account. */
export function uniqueEmail(label: string): string {
  return `e2e-${label}-${Date.now()}-${Math.random().toString(36).slice(2, 7)}@example.com`;
}

/** A field's label: the text itself, followed by the "*" of required fields, if any. */
export function label(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\*?$`);
}

export const E2E_PASSWORD = 'correct horse battery';

/**
 * A new account, signed up through the API and verified with the link of its verification mail
 * (read from the dev mailbox); opening the link signs the browser in and lands on /account.
 */
export async function signUpAndVerify(page: Page, labelText: string, name = 'E2E Tester'): Promise<string> {
  const email = uniqueEmail(labelText);
  const res = await page.request.post('/api/auth/sign-up/email', {
    data: { email, password: E2E_PASSWORD, name, region: 'US', ageConfirmed: true, callbackURL: '/account' },
    headers: await botHeaders(page.request, 'signup'),
  });
  expect(res.status(), await res.text()).toBe(200);

  await page.goto(await verificationLink(page, email));
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('email-verified')).toBeVisible();
  return email;
}

/** The link of the verification mail sent to `email`, from the development mailbox (waits for it). */
export async function verificationLink(page: Page, email: string): Promise<string> {
  let link: string | undefined;
  await expect
    .poll(
      async () => {
        const list = (await (await page.request.get('/api/dev/mailbox')).json()) as { messages: Array<{ id: string; to: string; subject: string }> };
        const mail = list.messages.find((m) => m.to.includes(email) && /verify/i.test(m.subject));
        if (!mail) return undefined;
        const message = (await (await page.request.get(`/api/dev/mailbox/${encodeURIComponent(mail.id)}`)).json()) as { text: string };
        link = /https?:\/\/\S+\/api\/auth\/verify-email\?\S+/.exec(message.text)?.[0];
        return link;
      },
      { message: 'the verification mail arrives', timeout: 15_000 },
    )
    .toBeTruthy();
  return link!;
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `npm run cli -- …` against the server under test (it hands the command over its admin socket). */
export function cli(args: string[]): Promise<string> {
  const dataDir = process.env.SAVESORA_E2E_DATA_DIR;
  if (!dataDir) throw new Error('SAVESORA_E2E_DATA_DIR is not set (playwright.config.ts sets it)');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/server/cli/index.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`cli ${args.join(' ')} exited ${String(code)}: ${out}`))));
  });
}
