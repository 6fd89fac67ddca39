import fs from 'node:fs';
import net from 'node:net';

/**
 * A local-only control channel: a Unix socket (mode 0600) on which a running server accepts one
 * JSON request per connection, `{"command","argv"}`, runs it with its own services and answers
 * `{"ok":true,"output"}` or `{"ok":false,"error"}`. Only the user who runs the server can reach it.
 */
export interface AdminRequest {
  command: string;
  argv: string[];
}
/** `usage` marks a mistake in the command line (exit status 2), as opposed to a failure (1). */
export type AdminResponse = { ok: true; output: string } | { ok: false; error: string; usage?: boolean };

const MAX_REQUEST_BYTES = 64 * 1024;

export async function listenAdminSocket(socketPath: string, handle: (req: AdminRequest) => Promise<AdminResponse>): Promise<net.Server> {
  fs.rmSync(socketPath, { force: true });
  const server = net.createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES) {
        conn.destroy();
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      conn.removeAllListeners('data');
      let req: AdminRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as AdminRequest;
        if (typeof req.command !== 'string' || !Array.isArray(req.argv) || !req.argv.every((a) => typeof a === 'string')) throw new Error();
      } catch {
        conn.end(JSON.stringify({ ok: false, error: 'Malformed admin request.' }) + '\n');
        return;
      }
      handle(req)
        .catch((err: unknown): AdminResponse => ({ ok: false, error: err instanceof Error ? err.message : String(err) }))
        .then((res) => {
          conn.end(JSON.stringify(res) + '\n');
        })
        // the answer could not be written (the client went away): nobody is left to tell
        .catch(() => conn.destroy());
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // umask so that the socket is created 0600 atomically (no window where others can connect)
    const old = process.umask(0o177);
    server.listen(socketPath, () => {
      process.umask(old);
      resolve();
    });
  });
  return server;
}

export function sendAdminRequest(socketPath: string, req: AdminRequest, timeoutMs = 120_000): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socketPath);
    let buf = '';
    conn.setEncoding('utf8');
    conn.setTimeout(timeoutMs, () => conn.destroy(new Error('The server did not answer in time.')));
    conn.on('connect', () => conn.write(JSON.stringify(req) + '\n'));
    conn.on('data', (c: string) => (buf += c));
    conn.on('end', () => {
      try {
        resolve(JSON.parse(buf) as AdminResponse);
      } catch {
        reject(new Error('The server sent a malformed answer.'));
      }
    });
    conn.on('error', reject);
  });
}
