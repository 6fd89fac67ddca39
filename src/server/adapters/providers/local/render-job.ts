import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { renderPreview } from '../local-render';
import { ProviderError, type ProviderFailure } from '../provider';
import type { AbortReason } from './common';
import type { Leases } from './lease';
import type { LocalSettings } from './options';
import { resolveReferences } from './references';
import type { TaskStore } from './task-store';

/** A render this process runs (or is about to run). */
export interface Running {
  controller: AbortController;
  progress: number;
  done: Promise<void>;
}

export interface RenderJobDeps {
  settings: Pick<LocalSettings, 'renderTimeoutMs' | 'allowedRoots' | 'log'>;
  store: TaskStore;
  leases: Leases;
  /** the ffmpeg binary (resolved on first use) */
  ffmpeg: () => string;
  /** the task reached a final state here (succeeded or failed) */
  announceEnded: (id: string) => void;
}

/**
 * Render one task, if this process gets its lease: the request's references are resolved, ffmpeg
 * renders into temporary names, and the result is published (output.mp4 last) or recorded as
 * failed.json. Stopped renders (cancel, close, lease lost) record nothing.
 */
export async function runRenderJob(deps: RenderJobDeps, id: string, entry: Running): Promise<void> {
  const { store, leases } = deps;
  const { renderTimeoutMs, allowedRoots, log } = deps.settings;
  const { controller } = entry;
  const signal = controller.signal;
  const token = `${process.pid}.${randomBytes(4).toString('hex')}`;
  if (!leases.claim(id, token)) {
    log?.info({ upstreamId: id }, 'local render left to the process that holds its lease');
    return;
  }
  let held = true;
  const release = () => {
    if (held) leases.release(id, token);
    held = false;
  };
  // checked while holding the lease: a render that finished elsewhere published its output first
  try {
    if (await store.finalStatus(id)) {
      release();
      return; // finished (or canceled) while it waited
    }
    await store.removeLeftovers(id); // temporary files of a render a crash interrupted
  } catch (e) {
    release();
    throw e;
  }
  const keeper = leases.keep(id, token, entry);
  const started = Date.now();
  const files = store.renderFiles(id, token);
  const timer = setTimeout(() => controller.abort('timeout' satisfies AbortReason), renderTimeoutMs);
  timer.unref();
  try {
    const request = await store.readRequest(id);
    log?.info(
      { upstreamId: id, durationSeconds: request.durationSeconds, resolution: request.resolution, aspectRatio: request.aspectRatio },
      'local render started',
    );
    await fs.mkdir(files.workDir, { recursive: true });
    const referenceFiles = await resolveReferences(request.references, files.workDir, signal, allowedRoots);
    await renderPreview({
      request,
      outFile: files.video,
      posterFile: files.poster,
      ffmpeg: deps.ffmpeg(),
      signal,
      referenceFiles,
      onProgress: (pct) => {
        entry.progress = pct;
        keeper.onProgress();
      },
    });
    signal.throwIfAborted();
    if (await store.has(id, 'canceled')) return;
    clearTimeout(timer);
    await keeper.stop();
    await store.publish(id, files);
    release();
    log?.info({ upstreamId: id, ms: Date.now() - started }, 'local render finished');
    deps.announceEnded(id);
  } catch (e) {
    let reason = signal.aborted ? (signal.reason as AbortReason) : undefined;
    // another process took the task over (and may have removed our temporary files): not a failure
    if (reason === undefined && leases.holder(id) !== token) reason = 'lost';
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
    if (!(await store.has(id, 'canceled'))) await store.writeFailure(id, failure);
    deps.announceEnded(id);
  } finally {
    clearTimeout(timer);
    await keeper.stop();
    await store.removeRenderFiles(files);
    release();
  }
}
