import yauzl from 'yauzl';
import { en, es, expect, label, signUpAndVerify, test } from './support';

/*
 * "Your data" on the account page (privacy policy 5): ask for an export, watch it being prepared,
 * download the ZIP, and see it in the account's language.
 */

test('a user asks for an export of their data and downloads the ZIP from the account page', async ({ page }) => {
  const email = await signUpAndVerify(page, 'export');
  const section = page.getByTestId('section-data-export');
  await expect(section.getByRole('heading', { level: 2, name: en.dataExport.title })).toBeVisible();
  await expect(section.getByTestId('export-empty')).toHaveText(en.dataExport.empty);

  const ask = section.getByRole('button', { name: en.dataExport.request });
  await ask.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByText(en.dataExport.requested)).toBeVisible();
  // prepared in the background; the section looks again while it is
  const latest = section.getByTestId('export-latest');
  await expect(latest).toHaveAttribute('data-status', 'ready', { timeout: 20_000 });
  await expect(latest).toContainText(en.dataExport.status.ready);
  await expect(latest).toContainText(en.dataExport.availableUntil);
  await expect(ask).toBeEnabled();

  const download = page.waitForEvent('download');
  await latest.getByRole('link', { name: /Download the export asked for on/ }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^savesora-export-\d{4}-\d{2}-\d{2}\.zip$/);
  // a ZIP of this account's data
  const zip = await yauzl.openPromise(await file.path(), { lazyEntries: true });
  let profile: { email?: string } = {};
  const names: string[] = [];
  for await (const entry of zip.eachEntry()) {
    names.push(entry.fileName);
    if (entry.fileName !== 'profile.json') continue;
    const chunks: Buffer[] = [];
    for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
    profile = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { email?: string };
  }
  zip.close();
  expect(names).toEqual(expect.arrayContaining(['README.txt', 'profile.json', 'generations.json', 'sessions.json']));
  expect(profile.email).toBe(email);

  // a second one: the first moves to the history
  await ask.click();
  await expect(latest).toHaveAttribute('data-status', 'ready', { timeout: 20_000 });
  await expect(section.getByTestId('export-history').getByRole('listitem')).toHaveCount(1);

  // in Spanish
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/me') && r.request().method() === 'PATCH');
  await page.getByLabel(label(en.language.label)).selectOption('es');
  expect((await saved).status()).toBe(200);
  const seccion = page.getByTestId('section-data-export');
  await expect(seccion.getByRole('heading', { level: 2, name: es.dataExport.title })).toBeVisible();
  await expect(seccion.getByRole('button', { name: es.dataExport.request })).toBeVisible();
  await expect(seccion.getByTestId('export-latest')).toContainText(es.dataExport.status.ready);
  await expect(seccion.getByRole('heading', { level: 3, name: es.dataExport.history })).toBeVisible();
});
