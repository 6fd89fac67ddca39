import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The embedded database (PGlite) admits one process. The process that opens it holds this lock
 * file in DATA_DIR; a running server also records the path of its admin socket there, so that the
 * CLI can hand its command to the server instead of opening the database itself.
 */
export interface LockInfo {
  pid: number;
  kind: 'server' | 'cli';
  socketPath?: string;
  startedAt: string;
}

export class InstanceLocked extends Error {
  constructor(readonly holder: LockInfo) {
    super(`The embedded database is in use by ${holder.kind === 'server' ? 'a running Save Sora server' : 'a CLI command'} (process ${holder.pid}).`);
  }
}

const lockPath = (dataDir: string) => path.join(dataDir, 'instance.lock');

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // a lock left by an earlier life of this very pid (containers)
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live holder of the lock, or null when there is none (a stale lock counts as none). */
export function readInstanceLock(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
    return typeof info.pid === 'number' && alive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

export interface InstanceLock {
  update(info: Partial<Omit<LockInfo, 'pid'>>): void;
  release(): void;
}

export function acquireInstanceLock(dataDir: string, kind: LockInfo['kind']): InstanceLock {
  const file = lockPath(dataDir);
  let info: LockInfo = { pid: process.pid, kind, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(info), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      const holder = readInstanceLock(dataDir);
      if (holder) throw new InstanceLocked(holder);
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    try {
      const current = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
      if (current.pid === process.pid) fs.rmSync(file, { force: true });
    } catch {
      /* already gone */
    }
  };
  process.once('exit', release);
  return {
    update(patch) {
      info = { ...info, ...patch };
      fs.writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
    },
    release,
  };
}

/** Unix socket paths are limited to ~107 bytes; fall back to the temp dir for deep DATA_DIRs. */
export function adminSocketPath(dataDir: string): string {
  const inside = path.join(dataDir, 'admin.sock');
  if (Buffer.byteLength(inside) < 100) return inside;
  return path.join(os.tmpdir(), `savesora-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}.sock`);
}
