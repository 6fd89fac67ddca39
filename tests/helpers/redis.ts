import { Redis } from 'ioredis';

/**
 * The Redis server for the tests that need one: `REDIS_TEST_URL` when set (CI sets it, and then an
 * unreachable server fails those tests), else a server on 127.0.0.1:6379 if it answers PING
 * without a password, else none (a fresh machine without Redis skips them; the default
 * configuration does not use Redis).
 */
export async function testRedisUrl(): Promise<string | null> {
  const configured = process.env.REDIS_TEST_URL;
  if (configured) return configured;
  const url = 'redis://127.0.0.1:6379';
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return url;
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}
