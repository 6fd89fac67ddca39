import { createDeadline, pinnedRequest, resolveTarget, SafeFetchError, type Target } from './safe-fetch';

/**
 * POST a body to a URL a user gave us (customer webhooks), with the same SSRF guard as safeFetch:
 * the host is resolved and every address checked (`allowHosts` lifts the check for named hosts),
 * and the socket connects only to the checked address (its lookup is pinned), so DNS rebinding
 * cannot swap the address in between. Redirects are never followed: a 3xx is returned like any
 * other status (callers treat it as a failure). One timeout covers DNS, connect, the request and
 * reading (at most `maxResponseBytes` of) the answer.
 *
 * Resolves with the HTTP status for any answer; throws SafeFetchError (message meant to follow
 * "The URL ...") when the URL is refused, the connection fails or the time runs out.
 */
export interface SafePostOptions {
  body: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  allowHosts?: readonly string[];
  userAgent?: string;
  /** how much of the answer's body to keep (default 1 KB); the rest is discarded */
  maxResponseBytes?: number;
}

export interface SafePostResult {
  status: number;
  /** the first bytes of the answer's body, as text */
  body: string;
  /** the Location header of a 3xx (not followed) */
  location: string | null;
}

function post(target: Target, opts: SafePostOptions, signal: AbortSignal): Promise<SafePostResult> {
  const body = Buffer.from(opts.body, 'utf8');
  const keep = opts.maxResponseBytes ?? 1024;
  const { mod, options } = pinnedRequest(target, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...opts.headers,
      'user-agent': opts.userAgent ?? 'SaveSora-Webhooks/1.0',
      'content-length': String(body.length),
      'accept-encoding': 'identity',
    },
    signal,
  });
  return new Promise((resolve, reject) => {
    const req = mod.request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        const location = res.headers.location;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), location: typeof location === 'string' ? location : null });
      };
      res.on('data', (chunk: Buffer) => {
        if (size < keep) chunks.push(chunk.subarray(0, keep - size));
        size += chunk.length;
        if (size >= keep) {
          // enough: we only log the start of the answer
          res.destroy();
          finish();
        }
      });
      res.on('end', finish);
      res.on('error', () => finish());
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function safePost(rawUrl: string, opts: SafePostOptions): Promise<SafePostResult> {
  const deadline = createDeadline(opts.timeoutMs);
  const { guard } = deadline;
  try {
    const target = await guard(resolveTarget(rawUrl, opts.allowHosts ?? []));
    try {
      return await guard(post(target, opts, deadline.signal));
    } catch (err) {
      if (err instanceof SafeFetchError) throw err;
      if (deadline.timedOut()) throw new SafeFetchError(deadline.message);
      const code = (err as NodeJS.ErrnoException).code;
      throw new SafeFetchError(`could not be reached${code ? ` (${code})` : ''}`);
    }
  } finally {
    deadline.clear();
  }
}
