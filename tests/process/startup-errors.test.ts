import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childEnv, runTs, startServerProcess } from '../helpers/process';

const dataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-startup-'));
const start = (env: Record<string, string>, args: string[] = []) => runTs('src/server/main.ts', args, childEnv({ DATA_DIR: dataDir(), ...env }));

/** stderr must be exactly one line naming the problem: no stack trace */
function expectOneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('start-up with bad settings', () => {
  it('PORT=abc stops with one line naming PORT', async () => {
    const r = await start({ PORT: 'abc' });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /^save-sora: Invalid setting PORT: must be a whole number between 0 and 65535 \(got "abc"\)\.$/);
  });

  it('an unreachable DATABASE_URL stops with one line naming it, without the password', async () => {
    const r = await start({ DATABASE_URL: 'postgres://app:s3cret@127.0.0.1:1/app' });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /^save-sora: Cannot connect to the database at DATABASE_URL postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app: .*ECONNREFUSED/);
    expect(r.stderr).not.toContain('s3cret');
  });

  it('an unreachable REDIS_URL stops with one line naming it, without the password', async () => {
    const r = await start({ REDIS_URL: 'redis://:s3cret@127.0.0.1:1/0', PORT: '0', HOST: '127.0.0.1' });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /^save-sora: Cannot connect to Redis at REDIS_URL redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0: .*ECONNREFUSED/);
    expect(r.stderr).not.toContain('s3cret');
  });

  it('an unknown command-line option stops with one line', async () => {
    const r = await start({}, ['--rol=web']);
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, /^save-sora: Unknown option '--rol'.*--role=all\|web\|worker/);
  });

  it('a port that is taken stops with one line naming the port', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as import('node:net').AddressInfo).port;
    try {
      const r = await start({ PORT: String(port), HOST: '127.0.0.1' });
      expect(r.code).toBe(1);
      expectOneLine(r.stderr, new RegExp(`^save-sora: Port ${port} is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('a second process on the same embedded database is refused with one line', async () => {
    const dir = dataDir();
    const first = startServerProcess([], childEnv({ DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' }));
    try {
      await first.waitFor(/Save Sora is running/);
      const r = await runTs('src/server/main.ts', [], childEnv({ DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1' }));
      expect(r.code).toBe(1);
      expectOneLine(r.stderr, /^save-sora: The embedded database is in use by a running Save Sora server \(process \d+\)\..*DATABASE_URL/);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });
});
