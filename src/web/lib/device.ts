/**
 * The browser fingerprint sent with sign-up and sign-in (issue 19, privacy policy 1.4): the open-source
 * FingerprintJS visitor id (a hash of the browser's features), computed here, once per page load, and
 * sent only to our own server in the `X-Client-Fingerprint` header of POSTs under /api/auth. The
 * server keeps only a keyed hash of it, to tell one person's second account from a new person.
 *
 * The library is loaded on first use (its own chunk), with its statistics request to the vendor
 * turned off: nothing leaves for a third party. When it fails or takes too long, no header is sent.
 */

export const FINGERPRINT_HEADER = 'X-Client-Fingerprint';

/** how long a request may wait for the fingerprint before it goes without */
const WAIT_MS = 1500;

let pending: Promise<string | null> | null = null;

async function compute(): Promise<string | null> {
  try {
    const { load } = await import('@fingerprintjs/fingerprintjs');
    const agent = await load({ monitoring: false });
    const { visitorId } = await agent.get();
    return /^[0-9a-f]{1,64}$/i.test(visitorId) ? visitorId.toLowerCase() : null;
  } catch {
    return null;
  }
}

/** Starts computing the fingerprint (pages may call this early, e.g. when the sign-up form shows). */
export function warmUpFingerprint(): void {
  if (typeof window === 'undefined') return;
  pending ??= compute();
}

/** The fingerprint, or null when it is not available within a short wait. */
export async function clientFingerprint(): Promise<string | null> {
  if (typeof window === 'undefined') return null;
  pending ??= compute();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), WAIT_MS);
  });
  try {
    return await Promise.race([pending, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** True for the requests that carry the fingerprint: sign-up and sign-in (POSTs under /api/auth/sign-up/ and /api/auth/sign-in/). */
export function wantsFingerprint(path: string, method: string | undefined): boolean {
  return (method ?? 'GET').toUpperCase() === 'POST' && /^\/api\/auth\/sign-(?:up|in)\//.test(path);
}
