import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { APIRequestContext, Page } from '@playwright/test';
import { sampleFrames } from '../../src/server/adapters/moderation/frames';
import { HashListMatcher } from '../../src/server/adapters/moderation/hash-matcher';
import { E2E_PASSWORD, en, expect, label, signUpAndVerify, test, cli } from './support';

/*
 * Trust & safety, end to end: the public report form (linked from the legal pages), a moderator's
 * queue (reachable from the account menu, keyboard-driven) where a decision is recorded and then
 * found in the case's audit timeline, and a suspended account's appeal from the sign-in page.
 */

/** A fresh uuid-shaped id, so a report names a creation that does not exist (the form never says). */
const someId = () => crypto.randomUUID();

async function sendReport(page: Page, details: string): Promise<string> {
  const res = await page.request.post('/api/reports', {
    data: { url: `/creations/${someId()}`, email: 'reporter@example.com', reason: 'violence', details },
  });
  expect(res.status(), await res.text()).toBe(202);
  return ((await res.json()) as { reference: string }).reference;
}

test('the public report form, linked from the legal pages, sends a copyright notice', async ({ page }) => {
  await page.goto('/legal/terms');
  await page.getByRole('navigation', { name: en.footer.legalLabel }).first().getByRole('link', { name: en.footer.report }).click();
  await expect(page).toHaveURL(/\/report$/);
  await expect(page.getByRole('heading', { level: 1, name: en.report.title })).toBeVisible();

  // nothing filled in: the first missing field says so and gets the focus
  await page.getByRole('button', { name: en.report.submit }).click();
  const url = page.getByLabel(label(en.report.url));
  await expect(url).toBeFocused();
  await expect(page.getByText(en.report.urlRequired)).toBeVisible();

  await url.fill(`http://127.0.0.1/creations/${someId()}`);
  await page.getByLabel(label(en.report.reason)).selectOption('copyright');
  await page.getByLabel(label(en.report.details)).fill('My short film, published in 2024, re-uploaded without permission.');
  await page.getByLabel(label(en.report.email)).fill('rights@example.com');
  // a copyright notice needs a name and the sworn statement
  await page.getByRole('button', { name: en.report.submit }).click();
  await expect(page.getByLabel(label(en.report.name))).toBeFocused();
  await page.getByLabel(label(en.report.name)).fill('Rights Holder');
  await page.getByRole('button', { name: en.report.submit }).click();
  await expect(page.getByText(en.report.dmcaRequired)).toBeVisible();
  await page.getByTestId('report-dmca').check();

  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/reports' && r.request().method() === 'POST');
  await page.getByRole('button', { name: en.report.submit }).click();
  const res = await answer;
  expect(res.status(), await res.text()).toBe(202);
  expect(res.request().postDataJSON()).toMatchObject({ reason: 'copyright', name: 'Rights Holder', email: 'rights@example.com', dmcaStatement: true });
  const { reference } = (await res.json()) as { reference: string };
  await expect(page.getByRole('heading', { level: 1, name: en.report.doneTitle })).toBeVisible();
  await expect(page.getByText(reference)).toBeVisible();
});

test('a moderator finds a report in the queue, decides it with the keyboard, and the decision is in the audit timeline', async ({ page }) => {
  test.setTimeout(90_000);
  const details = `e2e moderation ${someId()}`;
  await sendReport(page, details);

  // an ordinary user has no moderation link and is sent away from the queue
  const email = await signUpAndVerify(page, 'moderator');
  await page.getByTestId('account-menu-button').click();
  await expect(page.getByTestId('account-menu-moderation')).toHaveCount(0);
  await page.goto('/moderation');
  await expect(page).toHaveURL(/\/$/);
  // and has no content under review
  await page.goto('/account/cases');
  await expect(page.getByRole('heading', { level: 1, name: en.account.cases.title })).toBeVisible();
  await expect(page.getByTestId('empty-state')).toContainText(en.account.cases.emptyTitle);

  await cli(['user:role', '--email', email, '--role', 'moderator']);
  await page.goto('/account');
  await page.getByTestId('account-menu-button').click();
  await page.getByTestId('account-menu-moderation').click();
  await expect(page).toHaveURL(/\/moderation$/);
  await expect(page.getByRole('heading', { level: 1, name: en.moderation.queue.title })).toBeVisible();

  // the case the report went to (reports of unknown links may share one): the one whose timeline has it
  let caseId = '';
  await expect
    .poll(async () => {
      const queue = (await (await page.request.get('/api/moderation/queue?status=open&limit=100')).json()) as { items: Array<{ id: string }> };
      for (const { id } of queue.items) {
        const detail = (await (await page.request.get(`/api/moderation/cases/${id}`)).json()) as { events: Array<{ note: string | null }> };
        if (detail.events.some((e) => e.note === details)) return (caseId = id);
      }
      return '';
    })
    .not.toBe('');
  const item = page.locator(`[data-testid="queue-item"][data-id="${caseId}"]`);
  await expect(item).toHaveCount(1);
  await expect(item.getByTestId('case-subject')).toHaveText(en.moderation.subject.report);

  // keyboard: j/k move the selection (and the focus) through the queue
  const items = page.getByTestId('queue-item');
  const count = await items.count();
  await page.evaluate(() => (document.activeElement instanceof HTMLElement ? document.activeElement.blur() : undefined));
  await page.keyboard.press('k');
  for (let i = 0; i < count && (await item.getAttribute('data-selected')) !== 'true'; i++) await page.keyboard.press('j');
  await expect(item).toHaveAttribute('data-selected', 'true');
  await expect(item.getByTestId('queue-open')).toBeFocused();

  // "a" asks for the reason of an "allow", with the reason field focused; the reason is required
  await page.keyboard.press('a');
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('decision-allow')).toBeChecked();
  await expect(dialog.getByTestId('decision-reason')).toBeFocused();
  await dialog.getByTestId('decision-submit').click();
  await expect(dialog.getByText(en.moderation.decide.reasonRequired)).toBeVisible();
  await page.keyboard.type('Reported link names nothing on this site.');
  const decided = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/moderation/cases/${caseId}/decision`);
  await dialog.getByTestId('decision-submit').click();
  const res = await decided;
  expect(res.status(), await res.text()).toBe(200);
  expect(res.request().postDataJSON()).toEqual({ decision: 'allow', reason: 'Reported link names nothing on this site.' });
  await expect(dialog).toHaveCount(0);
  await expect(item).toHaveCount(0);

  // the closed case, with the decision in its audit timeline (who, what, why)
  await page.getByTestId('queue-tab-closed').click();
  const closed = page.locator(`[data-testid="queue-item"][data-id="${caseId}"]`);
  await expect(closed.getByTestId('case-outcome')).toHaveText(en.moderation.outcome.allowed);
  await closed.getByTestId('queue-open').click();
  await expect(page).toHaveURL(new RegExp(`/moderation/cases/${caseId}$`));
  await expect(page.getByTestId('moderation-case')).toHaveAttribute('data-status', 'closed');
  await expect(page.getByTestId('case-closed')).toContainText(en.moderation.outcome.allowed);
  // the report is in the timeline, with what the reporter wrote
  await expect(page.locator('[data-testid="case-event"][data-kind="report"]').filter({ hasText: details })).toHaveCount(1);
  const decision = page.locator('[data-testid="case-event"][data-kind="decision"]');
  await expect(decision).toHaveCount(1);
  await expect(decision).toContainText(email);
  await expect(decision.getByTestId('case-event-note')).toHaveText('Reported link names nothing on this site.');

  // the holds page is there too (moderators list and place holds; only admins release)
  await page.goto('/moderation/holds');
  await expect(page.getByRole('heading', { level: 1, name: en.moderation.holds.title })).toBeVisible();
  await expect(page.getByText(en.moderation.holds.adminOnly)).toBeVisible();
});

test('a suspended account is refused at sign-in and can appeal from there', async ({ page, watcher }) => {
  const email = await signUpAndVerify(page, 'suspended');
  await cli(['user:suspend', '--email', email, '--reason', 'Repeated policy violations']);
  // suspending ends the session: the next page asks who is there (401) and the sign-in is refused (403)
  watcher.expect({ method: 'POST', path: '/api/auth/sign-in/email', status: 403 });

  await page.goto('/sign-in');
  await page.getByLabel(label(en.auth.fields.email)).fill(email);
  await page.getByLabel(label(en.auth.fields.password)).fill(E2E_PASSWORD);
  const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/auth/sign-in/email');
  await page.getByRole('button', { name: en.auth.signIn.submit, exact: true }).click();
  const answer = await refused;
  expect(answer.status()).toBe(403);
  expect(((await answer.json()) as { error: { code: string; appealToken?: string } }).error).toMatchObject({
    code: 'account_suspended',
    appealToken: expect.any(String),
  });
  await expect(page.getByTestId('form-error')).toContainText('Repeated policy violations');

  const appeal = page.getByTestId('suspension-appeal');
  await expect(appeal.getByRole('heading', { name: en.auth.signIn.appeal.title })).toBeVisible();
  const text = appeal.getByLabel(label(en.auth.signIn.appeal.text));
  await text.fill('Too short');
  await appeal.getByRole('button', { name: en.auth.signIn.appeal.submit }).click();
  await expect(text).toBeFocused();
  await text.fill('This was a misunderstanding: the video was a documentary.');
  const sent = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/appeals');
  await appeal.getByRole('button', { name: en.auth.signIn.appeal.submit }).click();
  const res = await sent;
  expect(res.status(), await res.text()).toBe(200);
  await expect(page.getByTestId('appeal-received')).toContainText(en.auth.signIn.appeal.done);
});

test('a refused Google sign-in of a suspended account lands on the appeal too (its token is in a cookie)', async ({ page, watcher }) => {
  // no Google here: the page as Google's refusal leaves it, and no cookie, so the server says to sign in again
  watcher.expect({ method: 'POST', path: '/api/appeals', status: 400 });
  await page.goto('/sign-in?error=account_suspended');
  await expect(page.getByTestId('returned-error')).toContainText(en.auth.signIn.returned.suspended.title);
  const appeal = page.getByTestId('suspension-appeal');
  await appeal.getByLabel(label(en.auth.signIn.appeal.text)).fill('I think my account was suspended by mistake.');
  await appeal.getByRole('button', { name: en.auth.signIn.appeal.submit }).click();
  await expect(appeal.getByRole('alert')).toContainText('sign in again');
});

/** POST a local-preview generation and wait (through the API) for the status it settles in. */
async function generate(request: APIRequestContext, origin: string, prompt: string, until: RegExp): Promise<{ id: string; status: string }> {
  // a cookie-authenticated POST must name our origin (the server's CSRF check), as browsers do
  const res = await request.post('/api/generations', { headers: { origin }, data: { model: 'local-preview', prompt, duration: 2, resolution: '480p' } });
  expect(res.status(), await res.text()).toBe(202);
  const { id } = (await res.json()) as { id: string };
  let status = '';
  await expect
    .poll(async () => (status = ((await (await request.get(`/api/generations/${id}`)).json()) as { status: string }).status), { timeout: 60_000 })
    .toMatch(until);
  return { id, status };
}

test("a quarantined output is under review for its owner, and blurred in the moderators' queue until revealed", async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  test.setTimeout(120_000);
  const email = await signUpAndVerify(page, 'quarantine');
  const prompt = `Quarantine check ${someId().slice(0, 8)}`;
  const first = await generate(page.request, origin, prompt, /^(succeeded|failed|blocked|under_review)$/);
  expect(first.status).toBe('succeeded');

  // an admin lists the perceptual hashes of that video's frames, as a hash-sharing programme would
  await cli(['user:role', '--email', email, '--role', 'admin']);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'e2e-quarantine-'));
  let listId = '';
  try {
    const video = await page.request.get(`/api/generations/${first.id}/video`);
    expect(video.status()).toBe(200);
    await fs.writeFile(path.join(dir, 'v.mp4'), await video.body());
    const frames = await sampleFrames(path.join(dir, 'v.mp4'), { count: 5, maxSide: 512 });
    const hasher = new HashListMatcher();
    const pdqs = (await Promise.all(frames.map((f) => hasher.hashesWithQuality(f)))).filter((h) => h.pdqQuality >= 50).map((h) => h.pdq);
    expect(pdqs.length).toBeGreaterThan(0);
    const imported = await page.request.post('/api/moderation/hash-lists', {
      headers: { origin },
      data: { name: `e2e ${prompt}`, category: 'violence', format: 'text', kind: 'pdq', content: pdqs.join('\n') },
    });
    expect(imported.status(), await imported.text()).toBe(201);
    listId = ((await imported.json()) as { id: string }).id;

    // the same video again: held before anyone sees it
    const second = await generate(page.request, origin, prompt, /^(under_review|succeeded|failed)$/);
    expect(second.status).toBe('under_review');
    expect((await page.request.get(`/api/generations/${second.id}/video`)).status()).toBe(404);
    await page.goto(`/creations/${second.id}`);
    await expect(page.getByTestId('creation-under-review')).toContainText(en.creations.detail.underReview);
    await expect(page.locator('video')).toHaveCount(0);

    // in the queue: the output's preview is blurred until the moderator reveals it
    await page.goto('/moderation');
    let caseId = '';
    await expect
      .poll(async () => {
        const queue = (await (await page.request.get('/api/moderation/queue?status=open&limit=100')).json()) as {
          items: Array<{ id: string; generationId: string | null }>;
        };
        return (caseId = queue.items.find((i) => i.generationId === second.id)?.id ?? '');
      })
      .not.toBe('');
    const item = page.locator(`[data-testid="queue-item"][data-id="${caseId}"]`);
    const evidence = item.getByTestId('evidence').first();
    await expect(evidence).toHaveAttribute('data-revealed', 'false');
    await evidence.getByTestId('evidence-toggle').click();
    await expect(evidence).toHaveAttribute('data-revealed', 'true');
  } finally {
    // later tests render videos too: the list must not outlive this one
    if (listId) expect((await page.request.delete(`/api/moderation/hash-lists/${listId}`, { headers: { origin } })).status()).toBe(204);
    await fs.rm(dir, { recursive: true, force: true });
  }
});
