import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { en, es, expect, signUpAndVerify, test, cli, ROOT } from './support';

/*
 * The legal pages and the notice of a material change, end to end: the published documents with
 * their outline, "Last updated" date and versions (in English and Spanish), and an operator's new
 * version (published with the CLI) that signed-in users see announced until they dismiss it, while
 * the earlier version stays readable. Operator text is Markdown: raw HTML in it is never rendered.
 */

test('the legal pages show the published text with its outline, date and versions, in English and Spanish', async ({ page, watcher }) => {
  watcher.expect({ method: 'GET', path: '/api/legal/terms', status: 404 });
  await page.goto('/legal/privacy');
  const main = page.getByRole('main');
  await expect(main.getByRole('heading', { level: 1, name: 'Privacy Policy' })).toBeVisible();
  await expect(page).toHaveTitle('Privacy Policy · Save Sora');
  await expect(page.getByTestId('legal-last-updated')).toHaveText('Last updated: December 7, 2026 · Version 2026-12-07');

  // the outline: a link per section that lands on it (and moves the keyboard focus there)
  const outline = page.getByRole('navigation', { name: en.legal.toc });
  await expect(outline.getByRole('link')).toHaveCount(await page.getByTestId('legal-body').locator('h2, h3').count());
  await outline.getByRole('link', { name: '7. Where your data is processed' }).click();
  await expect(page).toHaveURL(/\/legal\/privacy#7-where-your-data-is-processed$/);
  const where = main.getByRole('heading', { level: 2, name: '7. Where your data is processed' });
  await expect(where).toBeInViewport();
  await expect(where).toBeFocused();
  // settings are filled in: no placeholder is left on the page
  await expect(page.getByTestId('legal-body')).not.toContainText('{{');
  await expect(page.getByTestId('legal-body').getByRole('link', { name: 'privacy request form' }).first()).toHaveAttribute('href', /\/privacy-request$/);

  // the versions: one, current, the one being read
  const versions = page.getByTestId('legal-versions');
  await expect(versions.getByRole('heading', { level: 2, name: en.legal.versions.title })).toBeVisible();
  await expect(versions.getByTestId('legal-version')).toHaveCount(1);
  await expect(versions.getByText(en.legal.versions.current, { exact: true })).toBeVisible();

  // the other documents and the report form stay one click away
  const legalNav = main.getByRole('navigation', { name: en.footer.legalLabel });
  await expect(legalNav.getByRole('link', { name: en.footer.report })).toHaveAttribute('href', '/report');
  await legalNav.getByRole('link', { name: en.footer.acceptableUse, exact: true }).click();
  await expect(main.getByRole('heading', { level: 1, name: 'Acceptable Use Policy' })).toBeVisible();
  await expect(legalNav.getByRole('link', { name: en.footer.acceptableUse, exact: true })).toHaveAttribute('aria-current', 'page');

  // in Spanish (a visitor's choice in the footer)
  await page.getByTestId('footer-language').selectOption('es');
  await expect(main.getByRole('heading', { level: 1, name: 'Política de uso aceptable' })).toBeVisible();
  await expect(page.getByTestId('legal-last-updated')).toHaveText('Última actualización: 7 de diciembre de 2026 · Versión 2026-12-07');
  await expect(page.getByRole('navigation', { name: es.legal.toc })).toBeVisible();
  await page.getByTestId('footer-language').selectOption('en');

  // an unknown version says so, and leads back to the current one
  await page.goto('/legal/terms?version=1999-01-01');
  await expect(main.getByRole('heading', { level: 1, name: en.legal.notFound.title })).toBeVisible();
  await main.getByRole('link', { name: en.legal.earlier.current }).click();
  await expect(main.getByRole('heading', { level: 1, name: 'Terms of Service' })).toBeVisible();
});

test('a material change is announced to a signed-in user until dismissed, and the earlier version stays readable', async ({ page }) => {
  // the operator's command starts a process of its own (TypeScript at run time): several seconds on a busy machine
  test.setTimeout(90_000);
  await signUpAndVerify(page, 'legal-notice');
  await expect(page.getByTestId('policy-notices')).toHaveCount(0);

  // the operator publishes a new version of the terms (the text includes HTML, which must not render)
  const version = `2027-01-${String(10 + Math.floor(Math.random() * 18))}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-e2e-legal-'));
  const file = path.join(dir, 'terms.md');
  fs.writeFileSync(
    file,
    [
      '---',
      'document: terms',
      `version: ${version}`,
      `lastUpdated: ${version}`,
      'title: Terms of Service',
      'material: yes',
      'summary: Subscriptions can now be paused.',
      'language: en',
      '---',
      '## 1. Pausing a subscription',
      '',
      'You can pause a subscription for up to three months. <script>window.__legalPwned = true</script>',
      '',
      '<img src="x" onerror="window.__legalPwned = true">',
      '',
      '[A harmless-looking link](javascript:window.__legalPwned=true) and [our contact](mailto:{{supportEmail}}).',
      '',
      '## 2. Everything else',
      '',
      'Unchanged.',
    ].join('\n'),
  );
  try {
    // a path relative to where the CLI runs reaches the server as the same file
    expect(await cli(['policy:publish', '--file', path.relative(ROOT, file)])).toContain(`terms ${version} (en): published, material change`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // the notice, on any page, until dismissed
  await page.reload();
  const notices = page.getByRole('region', { name: en.policyNotice.label });
  const notice = notices.getByTestId('policy-notice');
  await expect(notice).toHaveCount(1);
  await expect(notice).toContainText('We updated the Terms of Service');
  await expect(notice).toContainText('Subscriptions can now be paused.');
  await notice.getByRole('link', { name: 'Read the updated Terms of Service' }).click();
  await expect(page).toHaveURL(new RegExp(`/legal/terms\\?version=${version}$`));
  const main = page.getByRole('main');
  await expect(main.getByRole('heading', { level: 2, name: '1. Pausing a subscription' })).toBeVisible();
  await expect(page.getByTestId('legal-earlier-version')).toHaveCount(0);

  // Markdown only: the HTML shows as nothing, the javascript: link goes nowhere
  const body = page.getByTestId('legal-body');
  await expect(body.locator('script, img, iframe')).toHaveCount(0);
  await expect(body.getByText('A harmless-looking link')).toBeVisible();
  expect(await body.getByText('A harmless-looking link').getAttribute('href')).not.toMatch(/javascript/i);
  await expect(body.getByRole('link', { name: 'our contact' })).toHaveAttribute('href', /^mailto:[^{}]+@/);
  expect(await page.evaluate(() => (window as unknown as { __legalPwned?: boolean }).__legalPwned)).toBeUndefined();

  // both versions listed; the earlier one opens with a clear banner and a way back
  const versions = page.getByTestId('legal-versions').getByTestId('legal-version');
  await expect(versions).toHaveCount(2);
  await expect(versions.first()).toContainText(en.legal.versions.material);
  await expect(versions.first()).toContainText('Subscriptions can now be paused.');
  await versions.nth(1).getByRole('link').click();
  await expect(page).toHaveURL(/\/legal\/terms\?version=2026-12-07$/);
  const earlier = page.getByTestId('legal-earlier-version');
  await expect(earlier).toContainText(en.legal.earlier.title);
  await expect(main.getByRole('heading', { level: 2, name: '3. Credits and payments' })).toBeVisible();
  await earlier.getByRole('link', { name: en.legal.earlier.current }).click();
  await expect(page).toHaveURL(/\/legal\/terms$/);
  await expect(page.getByTestId('legal-last-updated')).toContainText(`Version ${version}`);

  // dismissed for good, with the keyboard
  const dismiss = notice.getByRole('button', { name: 'Dismiss the notice about the Terms of Service' });
  await dismiss.focus();
  await page.keyboard.press('Enter');
  await expect(notices).toHaveCount(0);
  await page.goto('/account');
  await expect(page.getByRole('region', { name: en.policyNotice.label })).toHaveCount(0);

  // a signed-out visitor never sees it (leave the account page first: its queries would ask again, signed out)
  await page.goto('about:blank');
  await page.context().clearCookies();
  await page.goto('/legal/terms');
  await expect(main.getByRole('heading', { level: 1, name: 'Terms of Service' })).toBeVisible();
  await expect(page.getByRole('region', { name: en.policyNotice.label })).toHaveCount(0);
});
