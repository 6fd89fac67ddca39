import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Start a fake's HTTP server on `port` (0: any free one) and `host` (default 127.0.0.1), and answer
 * the base URL clients reach it at (a wildcard host is reached through 127.0.0.1).
 */
export async function listenLocal(server: http.Server, opts: { port?: number | undefined; host?: string | undefined }): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
