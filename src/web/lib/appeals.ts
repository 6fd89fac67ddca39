import { apiFetch } from './api';

/*
 * Appeals that the sign-in page needs (it loads with the app, so this file imports nothing heavy;
 * the rest of trust & safety is in ./moderation).
 */

/** The shortest and longest an appeal may be (the server's rule: appealBody). */
export const APPEAL_MIN = 10;
export const APPEAL_MAX = 4000;

/** POST /api/appeals: a suspended account's appeal, with the token its refused sign-in carried (null: the cookie a refused Google sign-in set). */
export const appealSuspension = (token: string | null, text: string) =>
  apiFetch<{ received: true }>('/api/appeals', { method: 'POST', body: token ? { token, text } : { text } });
