import type { APIRequestContext } from '@playwright/test';
import type { BotChallengePurpose } from '../../src/shared/api/bot-challenge';
import { botChallengeHeaders } from '../helpers/bot-challenge';

/**
 * The X-Bot-Challenge header for a request a spec makes with `page.request` (issue 19): the e2e
 * server runs with the default BOT_CHALLENGE=altcha, so sign-up and reset requests made outside
 * the page solve the proof of work here, in Node, as the page does in the browser.
 */
export function botHeaders(request: APIRequestContext, purpose: BotChallengePurpose): Promise<Record<string, string>> {
  return botChallengeHeaders(async (path) => {
    const res = await request.get(path);
    const body: unknown = await res.json();
    return { status: res.status(), json: () => body };
  }, purpose);
}
