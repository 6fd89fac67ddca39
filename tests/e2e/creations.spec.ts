import fs from 'node:fs';
import sharp from 'sharp';
import type { GenerationView } from '../../src/shared/api/generations';
import { en, expect, label, signUpAndVerify, test } from './support';

/*
 * My Creations, end to end: a reference image uploaded in the studio, a local-preview video made
 * from it (image-to-video), then found in My Creations, played, seeked, downloaded and deleted.
 * And the other side: a new account sees the empty state and cannot reach another account's video.
 */

/** A small PNG, made here: a red frame with a white square. */
async function referencePng(): Promise<Buffer> {
  const square = await sharp({ create: { width: 120, height: 120, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer();
  return sharp({ create: { width: 640, height: 360, channels: 3, background: '#d33030' } })
    .composite([{ input: square, left: 260, top: 120 }])
    .png()
    .toBuffer();
}

test('a signed-out visitor of My Creations is sent to sign in first', async ({ page }) => {
  await page.goto('/creations');
  await expect(page).toHaveURL(/\/sign-in\?next=(%2F|\/)creations$/);
});

test('upload a reference, generate from it, then play, seek, download and delete it in My Creations', async ({ page }) => {
  test.setTimeout(180_000);
  await signUpAndVerify(page, 'creations');
  await page.goto('/studio');
  await expect(page.getByRole('heading', { level: 1, name: en.studio.title })).toBeVisible();

  // local-preview, image to video: the references area appears
  const picker = page.getByRole('group', { name: en.studio.model.legend });
  await picker.getByRole('radio', { name: 'Local preview', exact: true }).check();
  await expect(page.getByTestId('references')).toHaveCount(0);
  await page.getByTestId('mode-picker').getByText(en.generation.mode['image-to-video'], { exact: true }).click();
  await expect(page.getByTestId('references')).toBeVisible();

  // the PNG goes up through the file input and comes back as a ready reference named @image1
  const uploaded = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/uploads' && r.request().method() === 'POST');
  await page.getByTestId('reference-file-input').setInputFiles({ name: 'red-frame.png', mimeType: 'image/png', buffer: await referencePng() });
  const upload = await uploaded;
  expect(upload.status(), await upload.text()).toBe(201);
  const media = (await upload.json()) as { id: string; kind: string };
  expect(media.kind).toBe('image');
  const reference = page.getByTestId('reference');
  await expect(reference).toHaveCount(1);
  await expect(reference).toHaveAttribute('data-state', 'ready');
  await expect(reference).toHaveAttribute('data-media-id', media.id);
  await expect(reference.getByTestId('reference-token')).toHaveText('@image1');

  // the prompt mentions it through the @ helper: type @, pick it with the keyboard
  const prompt = page.getByLabel(label(en.studio.fields.prompt));
  await prompt.fill('A red frame slowly zooming in on ');
  await prompt.press('End');
  await prompt.pressSequentially('@');
  const menu = page.getByTestId('mention-menu');
  await expect(menu.getByRole('option', { name: /@image1/ })).toBeVisible();
  await prompt.press('Enter');
  await expect(menu).toHaveCount(0);
  await expect(prompt).toHaveValue('A red frame slowly zooming in on @image1 ');
  // a mention of something not attached is flagged under the prompt
  await prompt.pressSequentially('and @image2');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('unknown-mentions')).toContainText('@image2');
  await prompt.fill('A red frame slowly zooming in on @image1');
  await expect(page.getByTestId('unknown-mentions')).toHaveCount(0);

  await page.getByLabel(en.studio.fields.duration).selectOption('2');
  await page.getByLabel(en.studio.fields.resolution).selectOption('480p');

  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/generations' && r.request().method() === 'POST');
  await page.getByRole('button', { name: en.studio.submit, exact: true }).click();
  const created = await answer;
  expect(created.status(), await created.text()).toBe(202);
  expect(created.request().postDataJSON()).toMatchObject({
    model: 'local-preview',
    mode: 'image-to-video',
    references: [{ kind: 'image', mediaId: media.id }],
  });
  const generation = (await created.json()) as GenerationView;
  expect(generation.references).toEqual([expect.objectContaining({ kind: 'image', role: 'first_frame', mediaId: media.id })]);

  // progress, then done
  const card = page.getByTestId('generation').first();
  await expect(card).toHaveAttribute('data-id', generation.id);
  await expect(card.getByTestId('generation-status')).toHaveText(en.generation.status.succeeded, { timeout: 90_000 });

  // My Creations, from the nav
  await page.getByRole('navigation', { name: en.nav.label }).getByRole('link', { name: en.nav.creations }).click();
  await expect(page).toHaveURL(/\/creations$/);
  await expect(page.getByRole('heading', { level: 1, name: en.creations.title })).toBeVisible();
  const tile = page.locator(`[data-testid="creation"][data-id="${generation.id}"]`);
  await expect(tile).toBeVisible();
  await expect(tile.getByTestId('generation-status')).toHaveText(en.generation.status.succeeded);
  await expect(tile.getByTestId('creation-poster')).toBeVisible();

  // the detail: the player loads, and seeks to the middle
  await tile.getByTestId('creation-open').click();
  await expect(page).toHaveURL(new RegExp(`/creations/${generation.id}$`));
  const player = page.getByTestId('creation-player');
  await expect(player).toBeVisible();
  await expect(page.getByTestId('creation-prompt')).toHaveText('A red frame slowly zooming in on @image1');
  await expect.poll(() => player.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
  const duration = await player.evaluate((v: HTMLVideoElement) => v.duration);
  expect(duration).toBeCloseTo(2, 0);
  const seekedTo = await player.evaluate(
    (v: HTMLVideoElement) =>
      new Promise<number>((resolve) => {
        v.addEventListener('seeked', () => resolve(v.currentTime), { once: true });
        v.currentTime = v.duration / 2;
      }),
  );
  expect(Math.abs(seekedTo - duration / 2)).toBeLessThan(0.25);

  // the download is the MP4 itself
  const videoUrl = (await player.getAttribute('src'))!;
  const downloadLink = page.getByTestId('creation-download');
  await expect(downloadLink).toHaveAttribute('href', `${videoUrl}?download=1`);
  const [download] = await Promise.all([page.waitForEvent('download'), downloadLink.click()]);
  const file = fs.readFileSync(await download.path());
  expect(file.length).toBeGreaterThan(1000);
  expect(file.subarray(4, 8).toString('latin1')).toBe('ftyp');

  // delete it: confirmed in a dialog, gone from the grid, and its video URL answers 404
  await page.getByTestId('creation-delete').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(en.creations.delete.title_one);
  const deleted = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/creations/${generation.id}` && r.request().method() === 'DELETE');
  await dialog.getByTestId('confirm-delete').click();
  expect((await deleted).status()).toBe(204);
  await expect(page).toHaveURL(/\/creations$/);
  await expect(page.locator(`[data-testid="creation"][data-id="${generation.id}"]`)).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('empty-state')).toContainText(en.creations.emptyTitle);
  const gone = await page.request.get(videoUrl, { maxRedirects: 0 });
  expect(gone.status()).toBe(404);
});

test('a new account sees the empty state, and cannot reach another account’s video', async ({ page, browser, baseURL }) => {
  test.setTimeout(150_000);
  // A makes a video through the API
  await signUpAndVerify(page, 'owner');
  // a cookie-authenticated POST must name our origin (the server's CSRF check), as browsers do
  const origin = { origin: new URL(baseURL!).origin };
  const res = await page.request.post('/api/generations', {
    headers: origin,
    data: { model: 'local-preview', prompt: 'A quiet harbour at dawn', duration: 2, resolution: '480p' },
  });
  expect(res.status(), await res.text()).toBe(202);
  const { id } = (await res.json()) as GenerationView;
  let finished: GenerationView | undefined;
  await expect
    .poll(
      async () => {
        finished = (await (await page.request.get(`/api/generations/${id}`)).json()) as GenerationView;
        return finished.status;
      },
      { timeout: 90_000, intervals: [1000] },
    )
    .toBe('succeeded');
  const videoUrl = finished!.output!.videoUrl;
  expect((await page.request.get(videoUrl, { maxRedirects: 0 })).status()).toBeLessThan(400);

  // B, in another browser context, is new: the empty state leads to the studio
  const other = await browser.newContext({ baseURL });
  try {
    const pageB = await other.newPage();
    await signUpAndVerify(pageB, 'stranger');
    await pageB.goto('/creations');
    const empty = pageB.getByTestId('empty-state');
    await expect(empty).toContainText(en.creations.emptyTitle);
    await expect(pageB.locator(`[data-id="${id}"]`)).toHaveCount(0);
    await empty.getByRole('link', { name: en.creations.goToStudio }).click();
    await expect(pageB).toHaveURL(/\/studio$/);

    // A's video, its detail page and its deletion are not B's
    const stolen = await pageB.request.get(videoUrl, { maxRedirects: 0 });
    expect(stolen.status()).toBe(404);
    expect((await pageB.request.get(`/api/generations/${id}`)).status()).toBe(404);
    expect((await pageB.request.delete(`/api/creations/${id}`, { headers: origin })).status()).toBe(404);
  } finally {
    await other.close();
  }
  // and A still has it
  await page.goto('/creations');
  await expect(page.locator(`[data-testid="creation"][data-id="${id}"]`)).toBeVisible();
});
