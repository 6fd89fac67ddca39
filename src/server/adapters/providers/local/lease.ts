import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import { errnoOf, type AbortReason } from './common';
import type { LocalSettings } from './options';
import type { TaskStore } from './task-store';

/**
 * The lease that makes one process (of those sharing a data dir) the renderer of a task: a `lease`
 * file in the task's folder ({pid, host, startedAt, token}), created exclusively, its mtime
 * refreshed every `leaseRefreshMs` while the render runs. A lease not refreshed for `leaseStaleMs`
 * belongs to a dead process and is taken over, by one process only.
 */

export type LeaseState = 'none' | 'fresh' | 'stale';

/** The render a lease is kept for: aborted when it is canceled or the lease is lost; its progress is published. */
export interface LeaseHolder {
  readonly controller: AbortController;
  readonly progress: number;
}

export interface LeaseKeeper {
  /** the render's progress changed: publish it (at most once a second) */
  onProgress(): void;
  /** stop refreshing and publishing, then remove the progress file */
  stop(): Promise<void>;
}

export interface Leases {
  /**
   * Claim the task's lease for this render: true when it is ours, false when another process
   * holds a fresh one. Synchronous on purpose: no other claim of this process interleaves.
   */
  claim(id: string, token: string): boolean;
  /** Unlink the lease if it is still ours. */
  release(id: string, token: string): void;
  /** The token in a task's lease file; undefined when there is none, '' when it is unreadable. */
  holder(id: string): string | undefined;
  /** The lease of a task, as seen from a process that does not render it (unreadable: none). */
  state(id: string): Promise<LeaseState>;
  /**
   * While this process renders a task: refresh the lease every `leaseRefreshMs`, stop the render
   * when the `canceled` marker appears (a cancel from another process) or when the lease is no
   * longer ours, and publish the progress for the other processes.
   */
  keep(id: string, token: string, render: LeaseHolder): LeaseKeeper;
  /**
   * After a cancel: give the process that renders the task (if another one does) the time to see
   * the marker and stop, so no output appears after cancel() returns. Bounded.
   */
  waitForOtherRenderer(id: string): Promise<void>;
}

/** the progress file is rewritten at most this often */
const PROGRESS_WRITE_MS = 1_000;

export function createLeases(settings: Pick<LocalSettings, 'host' | 'leaseRefreshMs' | 'leaseStaleMs' | 'log'>, store: TaskStore): Leases {
  const { host, leaseRefreshMs, leaseStaleMs, log } = settings;
  const leaseFile = (id: string) => store.file(id, 'lease');
  const leaseBody = (token: string) => JSON.stringify({ pid: process.pid, host, startedAt: new Date().toISOString(), token });

  // Date.now(), not the Clock port: staleness compares against file mtimes, which are filesystem (system) time
  const isStale = (st: fsSync.Stats) => Date.now() - st.mtimeMs > leaseStaleMs;

  /** Create the lease exclusively; false when one exists already. */
  function createLease(file: string, body: string): boolean {
    let fd: number;
    try {
      fd = fsSync.openSync(file, 'wx');
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') return false;
      throw e;
    }
    try {
      fsSync.writeSync(fd, body);
    } finally {
      fsSync.closeSync(fd);
    }
    return true;
  }

  function leaseToken(file: string): string | undefined {
    try {
      const raw = JSON.parse(fsSync.readFileSync(file, 'utf8')) as { token?: unknown };
      return typeof raw.token === 'string' ? raw.token : '';
    } catch (e) {
      return errnoOf(e) === 'ENOENT' ? undefined : '';
    }
  }

  /**
   * A stale lease (its owner died) is taken over, by one process only: it is moved aside under a
   * unique name (atomic) and checked to be the very stale file we judged (not a fresh lease that a
   * faster process has just created, which is then put back); the new lease is created
   * exclusively, and losing that race means someone else's fresh lease.
   */
  function claim(id: string, token: string): boolean {
    const file = leaseFile(id);
    const body = leaseBody(token);
    if (createLease(file, body)) return true;
    let seen: fsSync.Stats;
    try {
      seen = fsSync.statSync(file);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return createLease(file, body); // released meanwhile
      throw e;
    }
    if (!isStale(seen)) return false;
    const aside = `${file}.${token}.stale`;
    try {
      fsSync.renameSync(file, aside);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return createLease(file, body); // someone else moved it first
      throw e;
    }
    let moved: fsSync.Stats | undefined;
    try {
      moved = fsSync.statSync(aside);
    } catch {
      moved = undefined;
    }
    if (!moved || moved.ino !== seen.ino || moved.dev !== seen.dev || !isStale(moved)) {
      // we moved a lease that is alive (taken over or refreshed since we looked): put it back
      if (moved) {
        try {
          fsSync.linkSync(aside, file);
        } catch {
          // a newer lease is in place already (or no hard links here: its owner recreates it)
        }
      }
      fsSync.rmSync(aside, { force: true });
      return false;
    }
    let previous = '';
    try {
      previous = fsSync.readFileSync(aside, 'utf8').slice(0, 300);
    } catch {
      // only for the log
    }
    fsSync.rmSync(aside, { force: true });
    if (!createLease(file, body)) return false;
    log?.warn({ upstreamId: id, staleLease: previous, ageMs: Math.round(Date.now() - seen.mtimeMs) }, 'local render taken over from a stale lease');
    return true;
  }

  function release(id: string, token: string): void {
    const file = leaseFile(id);
    if (leaseToken(file) !== token) return;
    try {
      fsSync.unlinkSync(file);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') log?.warn({ upstreamId: id, err: (e as Error).message }, 'could not release a local render lease');
    }
  }

  async function state(id: string): Promise<LeaseState> {
    try {
      return isStale(await fs.stat(leaseFile(id))) ? 'stale' : 'fresh';
    } catch {
      return 'none';
    }
  }

  function keep(id: string, token: string, render: LeaseHolder): LeaseKeeper {
    const file = leaseFile(id);
    const { controller } = render;
    let stopped = false;
    let tick: Promise<void> | undefined;
    let writing: Promise<void> | undefined;
    let written = -1;
    let writtenAt = 0;

    // Date.now() on purpose: paced with the lease refreshes, which other processes judge on file mtimes (system time)
    const writeProgress = () => {
      if (stopped || writing || render.progress === written || Date.now() - writtenAt < PROGRESS_WRITE_MS) return;
      const pct = render.progress;
      writtenAt = Date.now();
      writing = store
        .writeProgress(id, pct)
        .then(
          () => {
            written = pct;
          },
          (e: unknown) => log?.warn({ upstreamId: id, err: (e as Error).message }, 'could not write local render progress'),
        )
        .finally(() => {
          writing = undefined;
        });
    };

    const refresh = async () => {
      if (await store.has(id, 'canceled')) {
        controller.abort('cancel' satisfies AbortReason);
        return;
      }
      if (stopped) return;
      let owner = leaseToken(file);
      if (owner === undefined) {
        // removed by a process that thought we were dead: claim it back unless it was faster
        if (createLease(file, leaseBody(token))) owner = token;
        else owner = leaseToken(file);
      }
      if (owner !== token) {
        log?.warn({ upstreamId: id }, 'local render lease lost to another process');
        controller.abort('lost' satisfies AbortReason);
        return;
      }
      const now = new Date();
      await fs.utimes(file, now, now);
      writeProgress();
    };

    const timer = setInterval(() => {
      if (tick || stopped) return;
      tick = refresh()
        .catch((e: unknown) => log?.warn({ upstreamId: id, err: (e as Error).message }, 'could not refresh a local render lease'))
        .finally(() => {
          tick = undefined;
        });
    }, leaseRefreshMs);
    timer.unref();

    return {
      onProgress: writeProgress,
      async stop(): Promise<void> {
        stopped = true;
        clearInterval(timer);
        await tick;
        await writing;
        await store.removeProgress(id);
      },
    };
  }

  async function waitForOtherRenderer(id: string): Promise<void> {
    const deadline = Date.now() + leaseRefreshMs + 3_000;
    while (Date.now() < deadline && (await state(id)) === 'fresh') {
      await new Promise((r) => setTimeout(r, Math.min(50, leaseRefreshMs)));
    }
  }

  return { claim, release, holder: (id) => leaseToken(leaseFile(id)), state, keep, waitForOtherRenderer };
}
