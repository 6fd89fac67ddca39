/**
 * One webhook POST from a fake provider: answers the receiver's HTTP status, or 0 when it could not
 * be reached in time (the fakes then retry, as the real providers do).
 */
export async function postWebhook(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  opts: { signal: AbortSignal; timeoutMs: number },
): Promise<number> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : new Uint8Array(body),
      signal: AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  } catch {
    return 0;
  }
}
