import { expect, test } from '@playwright/test';
import { publicModels } from '../../src/shared/catalog/public-models';
import { en, textAt, watch } from './support';

/**
 * Every test watches the page for console errors, uncaught exceptions, failed requests, error
 * responses and requests leaving the app's own origin, and fails if any happened.
 */
let watcher: ReturnType<typeof watch>;

test.beforeEach(({ page, baseURL }) => {
  watcher = watch(page, baseURL!);
});

test.afterEach(() => {
  expect(watcher.problems, 'console errors, page errors or failed requests').toEqual([]);
});

test('the landing page renders its sections, the four models and the footer', async ({ page }) => {
  await page.goto('/');

  await expect(page.getByRole('heading', { level: 1, name: en.landing.hero.title })).toBeVisible();
  await expect(page).toHaveTitle(/Save Sora/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('banner').getByTestId('wordmark')).toHaveText('Save Sora');

  // the four models, each with its vendor and its one-line description from the catalogue
  const models = page.getByTestId('model-list').locator('li');
  await expect(models).toHaveCount(4);
  expect(publicModels.map((m) => m.id)).toEqual(['veo-3.1', 'kling-3.0', 'seedance-2.0', 'sora-2']);
  for (const model of publicModels) {
    const card = page.locator(`[data-model-id="${model.id}"]`);
    await expect(card.getByRole('heading', { name: `${model.vendor} ${model.name}` })).toBeVisible();
    const summary = textAt(en, model.summaryKey);
    expect(typeof summary).toBe('string');
    await expect(card).toContainText(summary ?? '');
  }
  for (const name of ['Google', 'Kuaishou', 'ByteDance', 'OpenAI']) await expect(page.getByTestId('model-list')).toContainText(name);

  // features, pricing teaser, FAQ, call to action
  await expect(page.getByRole('heading', { name: en.landing.features.items.mentions.title })).toBeVisible();
  const pricing = page.locator('#pricing');
  await expect(pricing.getByRole('heading', { level: 2 })).toHaveText(en.landing.pricing.title);
  await expect(pricing).toContainText(en.landing.pricing.points.payment);
  await expect(pricing.getByRole('link', { name: en.landing.pricing.cta })).toHaveAttribute('href', '/sign-up');

  const faq = page.locator('#faq details');
  await expect(faq).toHaveCount(Object.keys(en.landing.faq.items).length);
  const firstAnswer = page.getByText(en.landing.faq.items.whatIs.a);
  await expect(firstAnswer).toBeHidden();
  await page.getByText(en.landing.faq.items.whatIs.q).click();
  await expect(firstAnswer).toBeVisible();

  // header navigation: Docs is the server-rendered reference, a plain link
  const mainNav = page.getByRole('navigation', { name: en.nav.label });
  await expect(mainNav.getByRole('link', { name: en.nav.docs })).toHaveAttribute('href', '/docs');
  await expect(page.getByRole('banner').getByRole('link', { name: en.nav.signIn })).toHaveAttribute('href', '/sign-in');
  await expect(page.getByRole('banner').getByRole('link', { name: en.nav.signUp })).toHaveAttribute('href', '/sign-up');

  // footer: legal links, copyright and the server's version (fetched from /api/meta)
  const footer = page.getByRole('contentinfo');
  await expect(footer.getByRole('link', { name: en.footer.privacy, exact: true })).toHaveAttribute('href', '/legal/privacy');
  await expect(footer.getByRole('link', { name: en.footer.terms })).toHaveAttribute('href', '/legal/terms');
  await expect(footer.getByRole('link', { name: en.footer.acceptableUse })).toHaveAttribute('href', '/legal/acceptable-use');
  await expect(footer).toContainText(`© ${new Date().getFullYear()} Save Sora`);
  await expect(footer.getByTestId('app-version')).toHaveText(/^Version \d+\.\d+\.\d+/);
});

test('the Pricing link opens the plans; the landing section links there too', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('navigation', { name: en.nav.label }).getByRole('link', { name: en.nav.pricing }).click();
  await expect(page).toHaveURL(/\/pricing$/);
  await expect(page.getByRole('heading', { level: 1, name: en.pricing.title })).toBeVisible();
  await page.goto('/');
  await page.locator('#pricing').getByRole('link', { name: en.landing.pricing.seeAll }).click();
  await expect(page).toHaveURL(/\/pricing$/);
});

test('the theme toggle switches the dark class on <html> and remembers the choice', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/');
  const html = page.locator('html');
  const toggle = page.getByRole('banner').getByRole('group', { name: en.theme.label });

  // default: follow the system, which is light here
  await expect(toggle.getByRole('button', { name: en.theme.system })).toHaveAttribute('aria-pressed', 'true');
  await expect(html).not.toHaveClass(/\bdark\b/);

  await toggle.getByRole('button', { name: en.theme.dark }).click();
  await expect(html).toHaveClass(/\bdark\b/);
  await expect(toggle.getByRole('button', { name: en.theme.dark })).toHaveAttribute('aria-pressed', 'true');
  expect(await page.evaluate(() => localStorage.getItem('savesora.theme'))).toBe('dark');
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe('rgb(255, 255, 255)');

  // survives a reload, and the class is there from the first frame
  await page.reload();
  await expect(html).toHaveClass(/\bdark\b/);

  await toggle.getByRole('button', { name: en.theme.light }).click();
  await expect(html).not.toHaveClass(/\bdark\b/);
  expect(await page.evaluate(() => localStorage.getItem('savesora.theme'))).toBe('light');

  // "system" follows the operating system's preference, live
  await toggle.getByRole('button', { name: en.theme.system }).click();
  await expect(html).not.toHaveClass(/\bdark\b/);
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(html).toHaveClass(/\bdark\b/);
});

test.describe('on a 375px-wide phone', () => {
  test.use({ viewport: { width: 375, height: 740 } });

  test('the mobile menu opens and closes', async ({ page }) => {
    await page.goto('/');
    // nothing overflows sideways
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

    const button = page.getByRole('button', { name: en.nav.openMenu });
    const menu = page.getByTestId('mobile-menu');
    await expect(page.getByRole('navigation', { name: en.nav.label })).toBeHidden();
    await expect(button).toHaveAttribute('aria-expanded', 'false');
    await expect(menu).toBeHidden();

    await button.click();
    const closeButton = page.getByRole('button', { name: en.nav.closeMenu });
    await expect(closeButton).toHaveAttribute('aria-expanded', 'true');
    await expect(menu).toBeVisible();
    await expect(menu.getByRole('link', { name: en.nav.signUp })).toBeVisible();
    // focus moves into the menu
    await expect(menu.getByRole('link', { name: en.nav.home })).toBeFocused();

    // Escape closes it and gives focus back to the button
    await page.keyboard.press('Escape');
    await expect(menu).toBeHidden();
    await expect(button).toHaveAttribute('aria-expanded', 'false');
    await expect(button).toBeFocused();

    // the button closes it too
    await button.click();
    await expect(menu).toBeVisible();
    await closeButton.click();
    await expect(menu).toBeHidden();

    // following a link closes it
    await button.click();
    await menu.getByRole('link', { name: en.nav.signIn }).click();
    await expect(page).toHaveURL(/\/sign-in$/);
    await expect(menu).toBeHidden();
    await expect(page.getByRole('heading', { level: 1, name: en.auth.signIn.title })).toBeVisible();
    await expect(page.getByLabel(new RegExp(`^${en.auth.fields.email}\\*?$`))).toBeVisible();
  });
});

test('an unknown client route shows the not-found empty state', async ({ page }) => {
  await page.goto('/this/page/does-not-exist');
  const notFound = page.getByTestId('not-found');
  await expect(notFound.getByRole('heading', { level: 1, name: en.notFound.title })).toBeVisible();
  await expect(notFound).toContainText(en.notFound.description);
  // the layout is still there
  await expect(page.getByRole('contentinfo').getByRole('link', { name: en.footer.privacy, exact: true })).toBeVisible();

  await notFound.getByRole('link', { name: en.notFound.action }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { level: 1, name: en.landing.hero.title })).toBeVisible();
});

test('the privacy page renders from the footer link', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('contentinfo').getByRole('link', { name: en.footer.privacy, exact: true }).click();
  await expect(page).toHaveURL(/\/legal\/privacy$/);
  await expect(page.getByRole('heading', { level: 1, name: en.legal.privacy.title })).toBeVisible();
  await expect(page).toHaveTitle(`${en.legal.privacy.title} · Save Sora`);
  // the published document (tests/e2e/legal.spec.ts covers its outline and versions)
  await expect(page.getByTestId('legal-last-updated')).toContainText('Last updated:');
  await expect(page.getByTestId('legal-body').getByRole('heading', { level: 2 }).first()).toBeVisible();

  // the other legal pages are one click away, and load directly too
  await page.getByRole('main').getByRole('link', { name: en.footer.terms, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: en.legal.terms.title })).toBeVisible();
  await page.goto('/legal/acceptable-use');
  await expect(page.getByRole('heading', { level: 1, name: en.legal.acceptableUse.title })).toBeVisible();
});
