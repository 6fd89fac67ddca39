import { createHash, randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ffmpegPath as resolveFfmpeg, probeMedia } from '../../lib/ffmpeg';
import { checkRenderable, renderPreview, type RenderReferenceFile } from './local-render';
import {
  ProviderError,
  type CallbackVerdict,
  type NormalizedStatus,
  type ProviderErrorKind,
  type ProviderFailure,
  type ProviderReference,
  type ProviderRequest,
  type SubmitResult,
  type VideoProvider,
} from './provider';

/**
 * The `local` provider: the embedded default renderer, so the product works with no API keys.
 *
 * Tasks live on disk under `<dataDir>/renders/<upstreamId>/`:
 *   request.json   the accepted request (written atomically at submit)
 *   output.mp4     the finished video (renamed into place last: its presence means success)
 *   poster.jpg     the first frame
 *   failed.json    a ProviderFailure when the render failed
 *   canceled       marker written by cancel()
 *   lease          held by the process rendering the task ({pid, host, startedAt, token}),
 *                  created exclusively, its mtime refreshed every `leaseRefreshMs`
 *   progress       the owner's progress percent, for the other processes (rewritten at most once
 *                  a second)
 * Renders run in an in-process queue limited to `concurrency` ffmpeg processes. The disk is the
 * source of truth: after a restart, a task with a request but no result is rendered again the
 * first time it is polled (renders are idempotent: temporary names, renamed at the end).
 *
 * Several processes may share one data dir (workers on one machine, a shared volume). The lease
 * makes sure only one of them renders a task: a process that polls a task another one holds a
 * fresh lease on reports it `running` (with the owner's progress) and does not render it; a lease
 * that has not been refreshed for `leaseStaleMs` belongs to a dead process and is taken over (by
 * one process only). cancel() from any process writes the `canceled` marker; the owner checks it
 * at each lease refresh and stops its ffmpeg.
 */
export interface LocalProviderOptions {
  /** renders go to `<dataDir>/renders/<upstreamId>/` */
  dataDir: string;
  /** the FFMPEG_PATH setting; default: system ffmpeg, else the npm static build */
  ffmpegPath?: string;
  /** parallel ffmpeg processes */
  concurrency: number;
  logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** one render's limit; default 10 minutes */
  renderTimeoutMs?: number;
  /** how often the rendering process refreshes its lease (and checks for a cancel); default 2 s */
  leaseRefreshMs?: number;
  /**
   * a lease not refreshed for this long belongs to a dead process and is taken over; default 15 s
   * (raised to at least twice `leaseRefreshMs`). Hosts sharing a volume need roughly synced clocks.
   */
  leaseStaleMs?: number;
  /**
   * folders file:// references may point into (checked on the real path, so symlinks and `..`
   * cannot escape); default: `[dataDir]`. data: and http(s) references are not affected.
   */
  allowedRoots?: string[];
}

const PROVIDER = 'local' as const;
const ID_PATTERN = /^local_[0-9a-f]{24}$/;
const DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 15_000;
/** local files and data: URLs get a more generous cap (our own storage), still bounded */
const FILE_MAX_BYTES = 50 * 1024 * 1024;
/** the progress file is rewritten at most this often */
const PROGRESS_WRITE_MS = 1_000;

/** `lost`: another process took the lease over (we looked dead): stop, record nothing */
type AbortReason = 'cancel' | 'close' | 'timeout' | 'lost';

interface Running {
  controller: AbortController;
  progress: number;
  done: Promise<void>;
}

const err = (kind: ProviderErrorKind, message: string, cause?: unknown) => new ProviderError(PROVIDER, kind, message, cause === undefined ? {} : { cause });

/** The task id for an idempotency key: same key, same task. */
export const localTaskId = (idempotencyKey: string) => `local_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;

const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

/** Is `file` (an absolute, normalized path) `root` or inside it? */
function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Write a file atomically: a unique temporary name in the same directory, then rename. */
async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, data, 'utf8');
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

export function createLocalProvider(opts: LocalProviderOptions): VideoProvider {
  const rendersDir = path.resolve(opts.dataDir, 'renders');
  const concurrency = Math.max(1, Math.floor(opts.concurrency || 1));
  const renderTimeoutMs = opts.renderTimeoutMs ?? 10 * 60_000;
  const log = opts.logger;
  const leaseRefreshMs = Math.max(10, opts.leaseRefreshMs ?? 2_000);
  const leaseStaleMs = Math.max(opts.leaseStaleMs ?? 15_000, 2 * leaseRefreshMs);
  if (opts.leaseStaleMs !== undefined && leaseStaleMs !== opts.leaseStaleMs) {
    log?.warn({ leaseStaleMs: opts.leaseStaleMs, leaseRefreshMs, using: leaseStaleMs }, 'local renderer: leaseStaleMs raised to twice leaseRefreshMs');
  }
  const allowedRoots = (opts.allowedRoots ?? [opts.dataDir]).map((r) => path.resolve(r));
  const host = os.hostname();

  const queue: string[] = [];
  const running = new Map<string, Running>();
  const submitting = new Map<string, Promise<SubmitResult>>();
  let closed = false;
  let ffmpegBinary: string | undefined;
  const endedListeners = new Set<(upstreamId: string) => void>();
  const announceEnded = (id: string) => endedListeners.forEach((listener) => listener(id));

  const taskDir = (id: string) => path.join(rendersDir, id);
  const fileOf = (id: string, name: string) => path.join(taskDir(id), name);

  // unknown: ids come back from storage and callers, and a wrong one must fail as not_found
  function checkId(upstreamId: unknown): string {
    if (typeof upstreamId !== 'string' || !ID_PATTERN.test(upstreamId)) {
      throw err('not_found', `"${String(upstreamId).slice(0, 80)}" is not a local render id`);
    }
    return upstreamId;
  }

  function enqueue(id: string): void {
    if (closed || running.has(id) || queue.includes(id)) return;
    queue.push(id);
    pump();
  }

  function pump(): void {
    while (!closed && running.size < concurrency && queue.length > 0) {
      const id = queue.shift() as string;
      const controller = new AbortController();
      const entry: Running = { controller, progress: 0, done: Promise.resolve() };
      running.set(id, entry);
      entry.done = runJob(id, entry)
        .catch((e: unknown) => log?.warn({ upstreamId: id, err: (e as Error).message }, 'local render bookkeeping failed'))
        .finally(() => {
          running.delete(id);
          pump();
        });
    }
  }

  /* ------------------------------------------------------------ leases */

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

  /** The token in a lease file; undefined when there is none, '' when it is unreadable. */
  function leaseToken(file: string): string | undefined {
    try {
      const raw = JSON.parse(fsSync.readFileSync(file, 'utf8')) as { token?: unknown };
      return typeof raw.token === 'string' ? raw.token : '';
    } catch (e) {
      return errnoOf(e) === 'ENOENT' ? undefined : '';
    }
  }

  /**
   * Claim the task's lease for this render: true when it is ours, false when another process
   * holds a fresh one. A stale lease (its owner died) is taken over, by one process only: it is
   * moved aside under a unique name (atomic) and checked to be the very stale file we judged (not
   * a fresh lease that a faster process has just created, which is then put back); the new lease
   * is created exclusively, and losing that race means someone else's fresh lease.
   * Synchronous on purpose: no other claim of this process interleaves.
   */
  function claimLease(id: string, token: string): boolean {
    const file = fileOf(id, 'lease');
    const body = JSON.stringify({ pid: process.pid, host, startedAt: new Date().toISOString(), token });
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

  /** Unlink the lease if it is still ours. */
  function releaseLease(id: string, token: string): void {
    const file = fileOf(id, 'lease');
    if (leaseToken(file) !== token) return;
    try {
      fsSync.unlinkSync(file);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') log?.warn({ upstreamId: id, err: (e as Error).message }, 'could not release a local render lease');
    }
  }

  /** The lease of a task, as seen from a process that does not render it (unreadable: none). */
  async function leaseState(id: string): Promise<'none' | 'fresh' | 'stale'> {
    try {
      return isStale(await fs.stat(fileOf(id, 'lease'))) ? 'stale' : 'fresh';
    } catch {
      return 'none';
    }
  }

  /** The progress another process reported (0 when it has not written any yet). */
  async function foreignProgress(id: string): Promise<number> {
    try {
      const n = Number.parseFloat(await fs.readFile(fileOf(id, 'progress'), 'utf8'));
      return Number.isFinite(n) ? Math.max(0, Math.min(100, Math.round(n))) : 0;
    } catch {
      return 0;
    }
  }

  /**
   * While this process renders a task: refresh the lease every `leaseRefreshMs`, stop the render
   * when the `canceled` marker appears (a cancel from another process) or when the lease is no
   * longer ours, and publish the progress for the other processes.
   */
  function keepLease(id: string, token: string, entry: Running) {
    const file = fileOf(id, 'lease');
    const progressFile = fileOf(id, 'progress');
    const { controller } = entry;
    let stopped = false;
    let tick: Promise<void> | undefined;
    let writing: Promise<void> | undefined;
    let written = -1;
    let writtenAt = 0;

    const writeProgress = () => {
      if (stopped || writing || entry.progress === written || Date.now() - writtenAt < PROGRESS_WRITE_MS) return;
      const pct = entry.progress;
      writtenAt = Date.now();
      writing = writeAtomic(progressFile, String(pct))
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
      if (await exists(fileOf(id, 'canceled'))) {
        controller.abort('cancel' satisfies AbortReason);
        return;
      }
      if (stopped) return;
      let owner = leaseToken(file);
      if (owner === undefined) {
        // removed by a process that thought we were dead: claim it back unless it was faster
        if (createLease(file, JSON.stringify({ pid: process.pid, host, startedAt: new Date().toISOString(), token }))) owner = token;
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
      /** stop refreshing and publishing, then remove the progress file */
      async stop(): Promise<void> {
        stopped = true;
        clearInterval(timer);
        await tick;
        await writing;
        await fs.rm(progressFile, { force: true });
      },
    };
  }

  async function readFailure(id: string): Promise<ProviderFailure | undefined> {
    try {
      const raw = JSON.parse(await fs.readFile(fileOf(id, 'failed.json'), 'utf8')) as Partial<ProviderFailure>;
      return {
        kind: raw.kind ?? 'generation_failed',
        message: raw.message ?? 'the local render failed',
        ...(raw.upstreamCode ? { upstreamCode: raw.upstreamCode } : {}),
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { kind: 'generation_failed', message: 'the local render failed (unreadable failure record)' };
    }
  }

  /** A final state on disk, if any: succeeded, canceled or failed. */
  async function finalStatus(id: string): Promise<NormalizedStatus | undefined> {
    if (await exists(fileOf(id, 'output.mp4'))) {
      const poster = fileOf(id, 'poster.jpg');
      return {
        state: 'succeeded',
        upstreamStatus: 'done',
        output: {
          videoUrl: pathToFileURL(fileOf(id, 'output.mp4')).href,
          ...((await exists(poster)) ? { thumbnailUrl: pathToFileURL(poster).href } : {}),
          contentType: 'video/mp4',
        },
      };
    }
    if (await exists(fileOf(id, 'canceled'))) return { state: 'canceled', upstreamStatus: 'canceled' };
    const failure = await readFailure(id);
    if (failure) return { state: 'failed', upstreamStatus: 'failed', error: failure };
    return undefined;
  }

  async function runJob(id: string, entry: Running): Promise<void> {
    const { controller } = entry;
    const signal = controller.signal;
    const dir = taskDir(id);
    const token = `${process.pid}.${randomBytes(4).toString('hex')}`;
    if (!claimLease(id, token)) {
      log?.info({ upstreamId: id }, 'local render left to the process that holds its lease');
      return;
    }
    let held = true;
    const release = () => {
      if (held) releaseLease(id, token);
      held = false;
    };
    // checked while holding the lease: a render that finished elsewhere published its output first
    try {
      if (await finalStatus(id)) {
        release();
        return; // finished (or canceled) while it waited
      }
      await removeLeftovers(dir); // temporary files of a render a crash interrupted
    } catch (e) {
      release();
      throw e;
    }
    const keeper = keepLease(id, token, entry);
    const started = Date.now();
    const tmpVideo = path.join(dir, `output.${token}.tmp.mp4`);
    const tmpPoster = path.join(dir, `poster.${token}.tmp.jpg`);
    const workDir = path.join(dir, `work.${token}`);
    const cleanup = () => Promise.all([fs.rm(workDir, { recursive: true, force: true }), fs.rm(tmpVideo, { force: true }), fs.rm(tmpPoster, { force: true })]);
    const timer = setTimeout(() => controller.abort('timeout' satisfies AbortReason), renderTimeoutMs);
    timer.unref();
    try {
      // a request.json written before references existed has none
      const stored = JSON.parse(await fs.readFile(path.join(dir, 'request.json'), 'utf8')) as Omit<ProviderRequest, 'references'> &
        Partial<Pick<ProviderRequest, 'references'>>;
      const request: ProviderRequest = { ...stored, references: stored.references ?? [] };
      log?.info(
        { upstreamId: id, durationSeconds: request.durationSeconds, resolution: request.resolution, aspectRatio: request.aspectRatio },
        'local render started',
      );
      await fs.mkdir(workDir, { recursive: true });
      const referenceFiles = await resolveReferences(request.references, workDir, signal, allowedRoots);
      ffmpegBinary ??= resolveFfmpeg(opts.ffmpegPath);
      await renderPreview({
        request,
        outFile: tmpVideo,
        posterFile: tmpPoster,
        ffmpeg: ffmpegBinary,
        signal,
        referenceFiles,
        onProgress: (pct) => {
          entry.progress = pct;
          keeper.onProgress();
        },
      });
      signal.throwIfAborted();
      if (await exists(fileOf(id, 'canceled'))) return;
      // tidy first, so the task's folder is final the moment the output appears
      clearTimeout(timer);
      await keeper.stop();
      await fs.rm(workDir, { recursive: true, force: true });
      await fs.rename(tmpPoster, fileOf(id, 'poster.jpg'));
      await fs.rename(tmpVideo, fileOf(id, 'output.mp4'));
      release();
      log?.info({ upstreamId: id, ms: Date.now() - started }, 'local render finished');
      announceEnded(id);
    } catch (e) {
      let reason = signal.aborted ? (signal.reason as AbortReason) : undefined;
      // another process took the task over (and may have removed our temporary files): not a failure
      if (reason === undefined && leaseToken(fileOf(id, 'lease')) !== token) reason = 'lost';
      if (reason === 'cancel' || reason === 'close' || reason === 'lost') {
        log?.info({ upstreamId: id, reason }, 'local render stopped');
        return; // cancel wrote its marker; on close the next process renders it again; lost: the new owner does
      }
      const failure: ProviderFailure =
        reason === 'timeout'
          ? { kind: 'generation_failed', message: `the local render took longer than ${Math.round(renderTimeoutMs / 1000)} s` }
          : e instanceof ProviderError
            ? e.toFailure()
            : { kind: 'generation_failed', message: `the local render failed: ${(e as Error).message}`.slice(0, 600) };
      log?.warn({ upstreamId: id, kind: failure.kind, err: failure.message }, 'local render failed');
      if (!(await exists(fileOf(id, 'canceled')))) await writeAtomic(fileOf(id, 'failed.json'), JSON.stringify(failure));
      announceEnded(id);
    } finally {
      clearTimeout(timer);
      await keeper.stop();
      await cleanup();
      release();
    }
  }

  /**
   * After a cancel: give the process that renders the task (if another one does) the time to see
   * the marker and stop, so no output appears after cancel() returns. Bounded.
   */
  async function waitForOtherRenderer(id: string): Promise<void> {
    const deadline = Date.now() + leaseRefreshMs + 3_000;
    while (Date.now() < deadline && (await leaseState(id)) === 'fresh') {
      await new Promise((r) => setTimeout(r, Math.min(50, leaseRefreshMs)));
    }
  }

  return {
    id: PROVIDER,
    available: true,
    supportsCallbacks: false,
    supportsCancel: true,
    idempotentSubmit: true,
    callbackKey: (upstreamId) => upstreamId,
    upstreamIdFor: (callbackKey) => callbackKey,
    onTaskEnded(listener) {
      endedListeners.add(listener);
      return () => endedListeners.delete(listener);
    },

    async submit(request, idempotencyKey) {
      if (closed) throw err('retryable', 'the local renderer is shutting down');
      if (!idempotencyKey) throw err('invalid_input', 'an idempotency key is required');
      try {
        checkRenderable(request);
      } catch (e) {
        throw err('invalid_input', (e as Error).message);
      }
      const id = localTaskId(idempotencyKey);
      if (running.has(id) || queue.includes(id)) return { upstreamId: id };
      const inflight = submitting.get(id);
      if (inflight) return inflight;
      const job = (async (): Promise<SubmitResult> => {
        const requestFile = fileOf(id, 'request.json');
        if (await exists(requestFile)) {
          // already accepted (a retried submit, maybe from before a restart): never a second task;
          // left alone while another process renders it
          if (!(await finalStatus(id)) && (await leaseState(id)) !== 'fresh') enqueue(id);
          return { upstreamId: id };
        }
        await fs.mkdir(taskDir(id), { recursive: true });
        await writeAtomic(requestFile, JSON.stringify(request));
        enqueue(id);
        log?.info({ upstreamId: id }, 'local render queued');
        return { upstreamId: id };
      })();
      submitting.set(id, job);
      try {
        return await job;
      } catch (e) {
        throw e instanceof ProviderError ? e : err('retryable', `could not store the render request: ${(e as Error).message}`, e);
      } finally {
        submitting.delete(id);
      }
    },

    async poll(upstreamId) {
      const id = checkId(upstreamId);
      const final = await finalStatus(id);
      if (final) return final;
      const active = running.get(id);
      if (active) return { state: 'running', upstreamStatus: 'rendering', progress: active.progress };
      const position = queue.indexOf(id);
      if (position >= 0) {
        // waiting here, but another process may have started it meanwhile
        if ((await leaseState(id)) === 'fresh') return { state: 'running', upstreamStatus: 'rendering', progress: await foreignProgress(id) };
        return { state: 'queued', upstreamStatus: 'queued', queuePosition: position + 1 };
      }
      if (submitting.has(id)) return { state: 'queued', upstreamStatus: 'queued' };
      if (await exists(fileOf(id, 'request.json'))) {
        const lease = await leaseState(id);
        // another process is rendering it: report its progress, do not render it twice
        if (lease === 'fresh') return { state: 'running', upstreamStatus: 'rendering', progress: await foreignProgress(id) };
        if (lease === 'none') {
          // its renderer may have finished (and let go of the lease) since we looked
          const now = await finalStatus(id);
          if (now) return now;
        }
        // accepted earlier but rendered nowhere: this process restarted, or the process that
        // held the lease died (a stale lease, taken over when the render starts): render it here
        enqueue(id);
        const p = queue.indexOf(id);
        if (running.has(id)) return { state: 'running', upstreamStatus: 'rendering', progress: 0 };
        log?.info({ upstreamId: id }, 'local render resumed');
        return p >= 0 ? { state: 'queued', upstreamStatus: 'queued', queuePosition: p + 1 } : { state: 'queued', upstreamStatus: 'queued' };
      }
      throw err('not_found', `no local render ${id}`);
    },

    async verifyCallback(): Promise<CallbackVerdict> {
      return { ok: false, reason: 'the local renderer sends no callbacks' };
    },

    async cancel(upstreamId) {
      const id = checkId(upstreamId);
      if (await exists(fileOf(id, 'output.mp4'))) throw err('invalid_input', 'the render already finished');
      if (await exists(fileOf(id, 'canceled'))) return;
      if (await exists(fileOf(id, 'failed.json'))) throw err('invalid_input', 'the render already finished (failed)');
      const known = running.has(id) || queue.includes(id) || submitting.has(id) || (await exists(fileOf(id, 'request.json')));
      if (!known) throw err('not_found', `no local render ${id}`);
      await submitting.get(id)?.catch(() => undefined);
      await writeAtomic(fileOf(id, 'canceled'), new Date().toISOString());
      const at = queue.indexOf(id);
      if (at >= 0) queue.splice(at, 1);
      const active = running.get(id);
      if (active) {
        active.controller.abort('cancel' satisfies AbortReason);
        await active.done;
      }
      // another process renders it: it sees the marker at its next lease refresh and stops
      await waitForOtherRenderer(id);
      if (await exists(fileOf(id, 'output.mp4'))) {
        // it finished in the same instant: the render wins
        await fs.rm(fileOf(id, 'canceled'), { force: true });
        throw err('invalid_input', 'the render already finished');
      }
      log?.info({ upstreamId: id }, 'local render canceled');
    },

    async close() {
      closed = true;
      queue.length = 0;
      const active = [...running.values()];
      for (const r of active) r.controller.abort('close' satisfies AbortReason);
      await Promise.all(active.map((r) => r.done));
      await Promise.all([...submitting.values()].map((p) => p.catch(() => undefined)));
    },
  };
}

/** Temporary names a render uses; only ever removed while this process owns the task. */
const LEFTOVER = /^(output\..+\.tmp\.mp4|poster\..+\.tmp\.jpg|work\..+|\.text-.+|progress(\..+\.tmp)?|lease\..+\.stale)$/;

async function removeLeftovers(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => LEFTOVER.test(n)).map((n) => fs.rm(path.join(dir, n), { recursive: true, force: true })));
}

/* ---------------------------------------------------------------- references */

const imageSignatures: { mime: string; test: (b: Buffer) => boolean }[] = [
  { mime: 'image/png', test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: 'image/jpeg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/gif', test: (b) => b.subarray(0, 4).toString('latin1') === 'GIF8' },
  { mime: 'image/webp', test: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { mime: 'image/bmp', test: (b) => b.subarray(0, 2).toString('latin1') === 'BM' },
];

/** Turn the request's image references into local, checked image files. */
async function resolveReferences(refs: ProviderReference[], workDir: string, signal: AbortSignal, allowedRoots: string[]): Promise<RenderReferenceFile[]> {
  const out: RenderReferenceFile[] = [];
  let imageNo = 0;
  for (const [n, ref] of refs.entries()) {
    // the preview only uses images (first/last frame, background); other kinds are ignored
    if (ref.kind !== 'image') continue;
    imageNo++;
    const label = `reference @image${imageNo}`;
    const file = await fetchReference(ref.url, path.join(workDir, `ref${n}`), label, signal, allowedRoots);
    await checkImage(file, label);
    out.push({ kind: ref.kind, role: ref.role, path: file });
  }
  return out;
}

/**
 * The real path of a local reference, when it lies in one of the allowed folders (compared on real
 * paths: a symlink or `..` cannot lead out of them). Throws invalid_input otherwise.
 */
async function allowedFile(file: string, label: string, allowedRoots: string[]): Promise<string> {
  const roots = await Promise.all(allowedRoots.map((r) => fs.realpath(r).catch(() => r)));
  const notAllowed = () => err('invalid_input', `${label} is not in an allowed folder`);
  let real: string;
  try {
    real = await fs.realpath(file);
  } catch {
    // say "missing" only for a path in an allowed folder: nothing is revealed about the others
    const lexical = path.resolve(file);
    if ([...roots, ...allowedRoots].some((r) => isInside(r, lexical))) throw err('invalid_input', `${label} is missing or unreadable`);
    throw notAllowed();
  }
  if (!roots.some((r) => isInside(r, real))) throw notAllowed();
  return real;
}

async function fetchReference(url: string, target: string, label: string, signal: AbortSignal, allowedRoots: string[]): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw err('invalid_input', `${label} has an invalid URL`);
  }
  switch (parsed.protocol) {
    case 'file:': {
      let named: string;
      try {
        named = fileURLToPath(parsed);
      } catch {
        throw err('invalid_input', `${label} has an invalid file URL`);
      }
      // the checked real path is what ffmpeg opens, not the name (which could be a symlink)
      const file = await allowedFile(named, label, allowedRoots);
      let stat;
      try {
        stat = await fs.stat(file);
        await fs.access(file, fs.constants.R_OK);
      } catch {
        throw err('invalid_input', `${label} is missing or unreadable`);
      }
      if (!stat.isFile()) throw err('invalid_input', `${label} is not a file`);
      if (stat.size > FILE_MAX_BYTES) throw err('invalid_input', `${label} is larger than ${FILE_MAX_BYTES / 1024 / 1024} MB`);
      return file;
    }
    case 'data:': {
      const m = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(url);
      if (!m) throw err('invalid_input', `${label} is a malformed data: URL`);
      let bytes: Buffer;
      try {
        bytes = m[2] ? Buffer.from(m[3] ?? '', 'base64') : Buffer.from(decodeURIComponent(m[3] ?? ''), 'latin1');
      } catch {
        throw err('invalid_input', `${label} is a malformed data: URL`);
      }
      if (bytes.length === 0) throw err('invalid_input', `${label} is empty`);
      if (bytes.length > DOWNLOAD_MAX_BYTES) throw err('invalid_input', `${label} is larger than ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB`);
      await fs.writeFile(target, bytes);
      return target;
    }
    case 'http:':
    case 'https:':
      return download(parsed.href, target, label, signal);
    default:
      throw err('invalid_input', `${label} uses an unsupported URL scheme (${parsed.protocol})`);
  }
}

async function download(url: string, target: string, label: string, signal: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  const both = AbortSignal.any([signal, timeout]);
  let res: Response;
  try {
    res = await fetch(url, { signal: both, redirect: 'follow' });
  } catch (e) {
    signal.throwIfAborted();
    const why = timeout.aborted ? `timed out after ${DOWNLOAD_TIMEOUT_MS / 1000} s` : `failed (${(e as Error).message})`;
    throw err('invalid_input', `${label} could not be downloaded: ${why}`, e);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw err('invalid_input', `${label} could not be downloaded: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > DOWNLOAD_MAX_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw err('invalid_input', `${label} is larger than ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > DOWNLOAD_MAX_BYTES) {
          await res.body.cancel().catch(() => undefined);
          throw err('invalid_input', `${label} is larger than ${DOWNLOAD_MAX_BYTES / 1024 / 1024} MB`);
        }
        chunks.push(Buffer.from(chunk));
      }
    }
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    signal.throwIfAborted();
    const why = timeout.aborted ? `timed out after ${DOWNLOAD_TIMEOUT_MS / 1000} s` : `failed (${(e as Error).message})`;
    throw err('invalid_input', `${label} could not be downloaded: ${why}`, e);
  }
  if (size === 0) throw err('invalid_input', `${label} is empty`);
  await fs.writeFile(target, Buffer.concat(chunks, size));
  return target;
}

/** A known image signature, and ffprobe can decode it to a picture. */
async function checkImage(file: string, label: string): Promise<void> {
  let head: Buffer;
  try {
    const fh = await fs.open(file, 'r');
    try {
      head = Buffer.alloc(16);
      const { bytesRead } = await fh.read(head, 0, 16, 0);
      head = head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    throw err('invalid_input', `${label} is missing or unreadable`);
  }
  if (!imageSignatures.some((s) => s.test(head))) {
    throw err('invalid_input', `${label} is not an image (PNG, JPEG, WebP, GIF or BMP)`);
  }
  try {
    const info = await probeMedia(file);
    if (!(info.width > 0 && info.height > 0)) throw new Error('no picture');
  } catch {
    throw err('invalid_input', `${label} is not a readable image`);
  }
}
