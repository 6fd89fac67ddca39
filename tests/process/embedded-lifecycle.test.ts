import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, cli, startServerProcess, type ServerProcess } from '../helpers/process';

/**
 * The embedded default as a user meets it: a server on PGlite in DATA_DIR, the operator CLI while
 * it runs and while it is stopped, and data that survives a restart.
 */
describe('embedded database lifecycle', () => {
  it('keeps data across restarts and the CLI works with the server running and stopped', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-life-'));
    const env = childEnv({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
    const start = async () => {
      const server = startServerProcess([], env);
      const line = await server.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/);
      return { server, url: line.slice(7, -1) };
    };
    let server: ServerProcess | undefined;
    try {
      // 1. server running: the CLI hands its commands to the server
      let url: string;
      ({ server, url } = await start());
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const created = await cli(['user:create', '--email', 'op@example.com', '--password', 'operator pass', '--role', 'admin', '--credits', '25'], env);
      expect(created.stderr).toBe('');
      expect(created.stdout).toMatch(/^Created admin op@example\.com \(id [0-9a-f-]{36}\) with 25 credits\.\n$/);
      expect(server.output()).toContain('"command":"user:create"'); // it really went through the server
      const listedRunning = await cli(['user:list'], env);
      expect(listedRunning.code).toBe(0);
      expect(listedRunning.stdout).toMatch(/op@example\.com\s+admin\s+active\s+25/);
      const probe = await cli(['queue:probe', '--count', '2'], env);
      expect(probe.stdout).toMatch(/^2 of 2 probe job\(s\) ran/);

      // a usage mistake is reported by the CLI itself, with the usage line
      const bad = await cli(['user:create', '--email', 'x@example.com'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toBe('--password is required.\n');

      // 2. server stopped: the CLI opens the embedded database itself
      expect(await server.stop()).toBe(0);
      expect(fs.existsSync(path.join(dataDir, 'instance.lock'))).toBe(false);
      const createdStopped = await cli(['user:create', '--email', 'second@example.com', '--password', 'another phrase 2'], env);
      expect(createdStopped.code).toBe(0);
      const listedStopped = await cli(['user:list', '--json'], env);
      expect(listedStopped.code).toBe(0);
      expect((JSON.parse(listedStopped.stdout) as { email: string }[]).map((u) => u.email)).toEqual(['op@example.com', 'second@example.com']);
      const duplicate = await cli(['user:create', '--email', 'OP@example.com', '--password', 'whatever phrase 9'], env);
      expect(duplicate.code).toBe(1);
      expect(duplicate.stderr).toBe('A user with the email OP@example.com already exists.\n');

      // 3. started again: everything is still there
      ({ server, url } = await start());
      const listedAgain = await cli(['user:list'], env);
      expect(listedAgain.stdout).toContain('op@example.com');
      expect(listedAgain.stdout).toContain('second@example.com');
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      await server?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000); // many child processes (server starts, CLI runs) on 2 cores
});
