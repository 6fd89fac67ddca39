import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../setup/template';

const runnerOnly = new Set([
  'DATABASE_URL',
  'PORT',
  'DATA_DIR',
  'ROLE',
  'SESSION_SECRET',
  'PUBLIC_URL',
  'METRICS_TOKEN',
  'VITEST',
  'VITEST_POOL_ID',
  'VITEST_WORKER_ID',
]);

/** Environment for child processes: none of the test runner's database settings leak in. */
export function childEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !runnerOnly.has(k)));
  const env: NodeJS.ProcessEnv = { ...inherited, LOG_LEVEL: 'info', NODE_ENV: 'production', BOT_CHALLENGE: 'off' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

const TSX = ['--import', 'tsx'];

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a TypeScript entry point to completion (the CLI, a failing start-up). */
export function runTs(entry: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TSX, path.join(ROOT, entry), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export const cli = (args: string[], env: NodeJS.ProcessEnv) => runTs('src/server/cli/index.ts', args, env);

export interface ServerProcess {
  child: ChildProcess;
  output(): string;
  /** resolves when a log line matches */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM and wait for the exit code */
  stop(): Promise<number | null>;
}

export function startServerProcess(args: string[], env: NodeJS.ProcessEnv): ServerProcess {
  const child = spawn(process.execPath, [...TSX, path.join(ROOT, 'src/server/main.ts'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) {
            cleanup();
            resolve(m[0]);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${String(pattern)}; output so far:\n${out}`));
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(new Error(`process exited while waiting for ${String(pattern)}; output:\n${out}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.on('exit', onExit);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
