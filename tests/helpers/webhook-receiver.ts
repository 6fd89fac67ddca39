import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  headers: http.IncomingHttpHeaders;
  /** the exact bytes received */
  body: Buffer;
  /** the status it was answered with */
  answered: number;
}

/**
 * A local HTTP server standing in for a webhook endpoint (ours or a customer's): records every
 * delivery and answers 200, or the statuses queued in `answers` first.
 */
export async function startWebhookReceiver(path = '/hook') {
  const hooks: ReceivedHook[] = [];
  const answers: number[] = [];
  const arrivals = new Set<() => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      hooks.push({ headers: req.headers, body: Buffer.concat(chunks), answered: status });
      for (const arrived of arrivals) arrived();
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    hooks,
    answers,
    /** the first delivery, already received or still to come, that matches (fails after `timeoutMs`) */
    waitFor(pred: (hook: ReceivedHook) => boolean, timeoutMs = 5000): Promise<ReceivedHook> {
      const found = hooks.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const onArrival = () => {
          const hook = hooks.find(pred);
          if (!hook) return;
          clearTimeout(timer);
          arrivals.delete(onArrival);
          resolve(hook);
        };
        const timer = setTimeout(() => {
          arrivals.delete(onArrival);
          reject(new Error(`no matching delivery within ${timeoutMs} ms (${hooks.length} received)`));
        }, timeoutMs);
        arrivals.add(onArrival);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;
