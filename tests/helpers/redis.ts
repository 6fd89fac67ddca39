import net from 'node:net';

/**
 * The Redis server for the tests that need one: `REDIS_TEST_URL` when set (CI sets it, and then an
 * unreachable server fails those tests), else a server on 127.0.0.1:6379 if one answers, else none
 * (a fresh machine without Redis skips them; the default configuration does not use Redis).
 */
export async function testRedisUrl(): Promise<string | null> {
  const configured = process.env.REDIS_TEST_URL;
  if (configured) return configured;
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: 6379 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
  return reachable ? 'redis://127.0.0.1:6379' : null;
}
