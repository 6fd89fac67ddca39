import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import type { BotChallengePurpose, BotChallengeResponse } from '../../src/shared/api/bot-challenge';

/**
 * Solves the app's bot challenge in Node, as a browser would (issue 19): asks
 * `GET /api/bot-challenge?for=…` and, for ALTCHA, finds the counter with altcha-lib's own solver.
 * Answers the `X-Bot-Challenge` header to send, or `{}` when no challenge is needed now.
 */
export async function botChallengeHeaders(
  get: (path: string) => Promise<{ status: number; json(): unknown }>,
  purpose: BotChallengePurpose,
): Promise<Record<string, string>> {
  const res = await get(`/api/bot-challenge?for=${purpose}`);
  if (res.status !== 200) throw new Error(`GET /api/bot-challenge answered ${res.status}`);
  const body = res.json() as BotChallengeResponse;
  if (!body.required) return {};
  if (body.kind !== 'altcha') throw new Error(`cannot solve a ${body.kind} challenge in Node`);
  return { 'x-bot-challenge': await solveAltcha(body.challenge) };
}

/** The base64 payload of a solved ALTCHA challenge. */
export async function solveAltcha(challenge: Extract<BotChallengeResponse, { kind: 'altcha' }>['challenge']): Promise<string> {
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) throw new Error('the ALTCHA challenge could not be solved');
  return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
}
