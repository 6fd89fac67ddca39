import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { en, es, expect, signUpAndVerify, test } from './support';

/*
 * Product updates, end to end (privacy policy 2 and 5): off until the person turns them on from the
 * account page; an operator mails one with the CLI (handed to the running server); the mail's
 * unsubscribe link opens a page that asks first, and one click turns them off.
 */

const run = promisify(execFile);

/** `npm run cli -- mail:product-update --file F` against the server under test (its admin socket). */
async function mailProductUpdate(title: string): Promise<string> {
  const dataDir = process.env.SAVESORA_E2E_DATA_DIR;
  if (!dataDir) throw new Error('SAVESORA_E2E_DATA_DIR is not set (playwright.config.ts sets it)');
  const file = path.join(os.tmpdir(), `savesora-e2e-update-${Date.now()}.json`);
  fs.writeFileSync(file, JSON.stringify({ key: title, title: { en: title, es: title }, body: { en: 'Something new.', es: 'Algo nuevo.' } }));
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/server/cli/index.ts', 'mail:product-update', '--file', file], {
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });
    return stdout;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

test('product updates: off by default, turned on from the account page, and one click in the mail turns them off', async ({ page }) => {
  const email = await signUpAndVerify(page, 'news');
  const section = page.getByTestId('section-email-preferences');
  await expect(section.getByRole('heading', { level: 2, name: en.emailPreferences.title })).toBeVisible();
  await expect(section).toContainText(en.emailPreferences.accountMail);
  const box = section.getByRole('checkbox', { name: en.emailPreferences.productUpdates });
  await expect(box).not.toBeChecked();
  await box.check();
  await expect(page.getByText(en.emailPreferences.turnedOn)).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('section-email-preferences').getByRole('checkbox', { name: en.emailPreferences.productUpdates })).toBeChecked();

  const title = `E2E news ${Date.now()}`;
  expect(await mailProductUpdate(title)).toMatch(/Mailing \S+ created for \d+ account/);
  let link: string | undefined;
  await expect
    .poll(
      async () => {
        const list = (await (await page.request.get('/api/dev/mailbox')).json()) as { messages: Array<{ id: string; to: string; subject: string }> };
        const mail = list.messages.find((m) => m.to.includes(email) && m.subject.includes(title));
        if (!mail) return undefined;
        const message = (await (await page.request.get(`/api/dev/mailbox/${encodeURIComponent(mail.id)}`)).json()) as { text: string };
        link = /https?:\/\/\S+\/api\/unsubscribe\/\S+/.exec(message.text)?.[0];
        return link;
      },
      { message: 'the product update arrives with its unsubscribe link', timeout: 20_000 },
    )
    .toBeTruthy();

  // the link opens a page that asks first (a link scanner's visit unsubscribes nobody)
  await page.goto(link!);
  await expect(page).toHaveURL(/\/unsubscribe\/[^/]+$/);
  const card = page.getByTestId('unsubscribe-page');
  await expect(card.getByRole('heading', { level: 1, name: en.unsubscribe.title })).toBeVisible();
  await card.getByRole('button', { name: en.unsubscribe.confirm }).click();
  await expect(card.getByRole('heading', { level: 1, name: en.unsubscribe.doneTitle })).toBeFocused();
  await expect(card.getByTestId('unsubscribe-result')).toHaveText(en.unsubscribe.accountMail);
  // the same link again: nothing left to do
  await page.reload();
  await expect(card.getByRole('heading', { level: 1, name: en.unsubscribe.alreadyTitle })).toBeVisible();

  await card.getByRole('link', { name: en.unsubscribe.preferences }).click();
  await expect(page).toHaveURL(/\/account#email-preferences$/);
  await expect(page.getByTestId('section-email-preferences').getByRole('checkbox', { name: en.emailPreferences.productUpdates })).not.toBeChecked();
});

test('an unsubscribe link that is not ours says so, in the reader’s language', async ({ page, watcher }) => {
  watcher.expect({ method: 'GET', path: /^\/api\/unsubscribe\/[^/]+\/status$/, status: 404 });
  const forged = `${Buffer.from('someone').toString('base64url')}.${'A'.repeat(43)}`;
  await page.goto(`/unsubscribe/${forged}`);
  const card = page.getByTestId('unsubscribe-page');
  await expect(card.getByRole('heading', { level: 1, name: en.unsubscribe.invalidTitle })).toBeVisible();
  await expect(card.getByRole('button')).toHaveCount(0);
  await page.evaluate(() => localStorage.setItem('savesora.lang', 'es'));
  await page.reload();
  await expect(card.getByRole('heading', { level: 1, name: es.unsubscribe.invalidTitle })).toBeVisible();
});
