import { solveChallenge, solveChallengeWorkers, pbkdf2 } from 'altcha/lib';
import PbkdfWorker from 'altcha/workers/pbkdf2?worker';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AltchaChallenge, BotChallengePurpose, BotChallengeResponse } from '../../shared/api/bot-challenge';
import { ApiError, apiFetch } from './api';

/**
 * The bot check of the sign-up, sign-in and password-reset forms (issue 19). The page calls
 * `useBotChallenge(purpose)` and sends its requests through `run(send)`:
 *
 * - On mount it asks `GET /api/bot-challenge?for=…`. ALTCHA's proof of work starts solving at once,
 *   in Web Workers from our own origin (the CSP's 'self'), so by the time a person has filled in
 *   the form the solution is usually ready: no puzzle, no click. Turnstile loads Cloudflare's
 *   script only in that mode and renders its widget in `widgetRef`'s element (interaction only when
 *   Cloudflare insists).
 * - `run` waits for the solution (`waiting` is true meanwhile: the page shows the "Checking your
 *   browser…" status in an aria-live region), sends it in the X-Bot-Challenge header, and after a
 *   failed request starts on a fresh challenge (a solution counts once). When the server refuses the check (a
 *   challenge became needed, e.g. sign-in after failures, or it expired), it solves a fresh one
 *   and sends the request once more.
 */
export interface BotChallengeHandle {
  /** sends the request with the solution (if one is needed) */
  run<T>(send: (headers: Record<string, string>) => Promise<T>): Promise<T>;
  /** true while a submitted form waits for the solution */
  waiting: boolean;
  /** a callback ref for the element the Turnstile widget goes in */
  widgetRef: (el: HTMLDivElement | null) => void;
}

const REFUSED = new Set(['bot_challenge_required', 'bot_challenge_failed']);
/** A challenge is fetched again when older than this (they expire after 10 minutes). */
const STALE_MS = 8 * 60_000;

interface Pending {
  fetchedAt: number;
  headers: Promise<Record<string, string>>;
}

function encode(challenge: AltchaChallenge, solution: unknown): string {
  return btoa(JSON.stringify({ challenge, solution }));
}

/** Solves an ALTCHA challenge in workers (one per core, up to 4), or on the page when workers cannot start. */
export async function solveAltcha(challenge: AltchaChallenge): Promise<string> {
  const started = performance.now();
  let solution: Awaited<ReturnType<typeof solveChallenge>> = null;
  try {
    solution = await solveChallengeWorkers({
      challenge,
      concurrency: Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2)),
      createWorker: () => new PbkdfWorker(),
    });
  } catch {
    solution = await solveChallenge({ challenge, deriveKey: pbkdf2.deriveKey });
  }
  if (!solution) throw new ApiError('bot_challenge_failed', 'The browser check could not be completed.', 0);
  lastSolveMs = performance.now() - started;
  return encode(challenge, solution);
}

/** How long the last ALTCHA solve took in this page, in ms (the e2e test prints it). */
export let lastSolveMs: number | null = null;

interface TurnstileApi {
  render(el: HTMLElement, opts: Record<string, unknown>): string;
  reset(id: string): void;
  remove(id: string): void;
}
declare global {
  interface Window {
    turnstile?: TurnstileApi;
    __botSolveMs?: () => number | null;
  }
}

let turnstileScript: Promise<TurnstileApi> | null = null;
function loadTurnstile(): Promise<TurnstileApi> {
  turnstileScript ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = 'https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit';
    script.async = true;
    script.onload = () => (window.turnstile ? resolve(window.turnstile) : reject(new Error('turnstile missing')));
    script.onerror = () => {
      turnstileScript = null;
      reject(new Error('turnstile failed to load'));
    };
    document.head.appendChild(script);
  });
  return turnstileScript;
}

export function useBotChallenge(purpose: BotChallengePurpose): BotChallengeHandle {
  const pending = useRef<Pending | null>(null);
  const containerRef = useRef<HTMLDivElement | null>(null);
  const turnstileWidget = useRef<{ id: string; api: TurnstileApi; token: Promise<string>; resolve: (t: string) => void } | null>(null);
  const [waiting, setWaiting] = useState(false);

  const turnstileToken = useCallback(
    async (siteKey: string): Promise<string> => {
      const api = await loadTurnstile();
      let resolve!: (t: string) => void;
      let reject!: (e: Error) => void;
      const token = new Promise<string>((res, rej) => ((resolve = res), (reject = rej)));
      const current = turnstileWidget.current;
      if (current) {
        current.token = token;
        current.resolve = resolve;
        current.api.reset(current.id);
        return token;
      }
      const el = containerRef.current;
      if (!el) throw new ApiError('bot_challenge_failed', 'The browser check could not be shown.', 0);
      const id = api.render(el, {
        sitekey: siteKey,
        action: purpose,
        // shown only when Cloudflare wants an interaction (a Turnstile render option; UNCONFIRMED in provider-apis.md)
        appearance: 'interaction-only',
        callback: (t: string) => turnstileWidget.current?.resolve(t),
        'error-callback': () => reject(new ApiError('bot_challenge_failed', 'The browser check failed.', 0)),
      });
      turnstileWidget.current = { id, api, token, resolve };
      return token;
    },
    [purpose],
  );

  const fetchChallenge = useCallback((): Pending => {
    const headers = (async (): Promise<Record<string, string>> => {
      const res = await apiFetch<BotChallengeResponse>(`/api/bot-challenge?for=${purpose}`);
      if (!res.required) return {};
      const value = res.kind === 'altcha' ? await solveAltcha(res.challenge) : await turnstileToken(res.siteKey);
      return { 'X-Bot-Challenge': value };
    })();
    // a failure surfaces when the form is sent (run); until then it is not an unhandled rejection
    headers.catch(() => undefined);
    const next = { fetchedAt: Date.now(), headers };
    pending.current = next;
    return next;
  }, [purpose, turnstileToken]);

  useEffect(() => {
    window.__botSolveMs = () => lastSolveMs;
    if (!pending.current) fetchChallenge();
    return () => {
      const w = turnstileWidget.current;
      if (w) w.api.remove(w.id);
      turnstileWidget.current = null;
    };
  }, [fetchChallenge]);

  const headersNow = useCallback(async (): Promise<Record<string, string>> => {
    let p = pending.current;
    if (!p || Date.now() - p.fetchedAt > STALE_MS) p = fetchChallenge();
    setWaiting(true);
    try {
      return await p.headers.catch(() => fetchChallenge().headers);
    } finally {
      setWaiting(false);
    }
  }, [fetchChallenge]);

  const run = useCallback(
    async <T>(send: (headers: Record<string, string>) => Promise<T>): Promise<T> => {
      try {
        const result = await send(await headersNow()).catch(async (err: unknown) => {
          if (!(err instanceof ApiError) || !REFUSED.has(err.code)) throw err;
          fetchChallenge();
          return send(await headersNow());
        });
        // done (the form moves on); should it be sent again, a fresh challenge is fetched then
        pending.current = null;
        return result;
      } catch (err) {
        // a solution counts once: start on the next one now, while the person corrects the form
        // (for sign-in the server says whether one is needed after this failure)
        fetchChallenge();
        throw err;
      }
    },
    [fetchChallenge, headersNow],
  );

  const widgetRef = useCallback((el: HTMLDivElement | null) => {
    containerRef.current = el;
  }, []);

  return { run, waiting, widgetRef };
}
