import { ffmpegPath as resolveFfmpeg } from '../../../lib/ffmpeg';
import { checkRenderable } from '../local-render';
import { ProviderError, type CallbackVerdict, type SubmitResult, type VideoProvider } from '../provider';
import { localError, PROVIDER, type AbortReason } from './common';
import { createLeases } from './lease';
import { resolveSettings, type LocalProviderOptions } from './options';
import { runRenderJob, type RenderJobDeps, type Running } from './render-job';
import { checkId, createTaskStore, localTaskId } from './task-store';

/**
 * The VideoProvider of the local renderer (see ../local.ts for how it works): accepts tasks onto
 * disk, runs them in an in-process queue limited to `concurrency` ffmpeg processes, and answers
 * status and cancel from this process's queue, the disk and the other processes' leases.
 */
export function createLocalProvider(opts: LocalProviderOptions): VideoProvider {
  const settings = resolveSettings(opts);
  const { concurrency, log } = settings;
  const store = createTaskStore(settings.rendersDir);
  const leases = createLeases(settings, store);

  const queue: string[] = [];
  const running = new Map<string, Running>();
  const submitting = new Map<string, Promise<SubmitResult>>();
  let closed = false;
  let ffmpegBinary: string | undefined;
  const endedListeners = new Set<(upstreamId: string) => void>();

  const job: RenderJobDeps = {
    settings,
    store,
    leases,
    ffmpeg: () => (ffmpegBinary ??= resolveFfmpeg(settings.ffmpegPath)),
    announceEnded: (id) => endedListeners.forEach((listener) => listener(id)),
  };

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
      entry.done = runRenderJob(job, id, entry)
        .catch((e: unknown) => log?.warn({ upstreamId: id, err: (e as Error).message }, 'local render bookkeeping failed'))
        .finally(() => {
          running.delete(id);
          pump();
        });
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
      if (closed) throw localError('retryable', 'the local renderer is shutting down');
      if (!idempotencyKey) throw localError('invalid_input', 'an idempotency key is required');
      try {
        checkRenderable(request);
      } catch (e) {
        throw localError('invalid_input', (e as Error).message);
      }
      const id = localTaskId(idempotencyKey);
      if (running.has(id) || queue.includes(id)) return { upstreamId: id };
      const inflight = submitting.get(id);
      if (inflight) return inflight;
      const accept = (async (): Promise<SubmitResult> => {
        if (await store.has(id, 'request.json')) {
          // already accepted (a retried submit, maybe from before a restart): never a second task;
          // left alone while another process renders it
          if (!(await store.finalStatus(id)) && (await leases.state(id)) !== 'fresh') enqueue(id);
          return { upstreamId: id };
        }
        await store.createRequest(id, request);
        enqueue(id);
        log?.info({ upstreamId: id }, 'local render queued');
        return { upstreamId: id };
      })();
      submitting.set(id, accept);
      try {
        return await accept;
      } catch (e) {
        throw e instanceof ProviderError ? e : localError('retryable', `could not store the render request: ${(e as Error).message}`, e);
      } finally {
        submitting.delete(id);
      }
    },

    async poll(upstreamId) {
      const id = checkId(upstreamId);
      const final = await store.finalStatus(id);
      if (final) return final;
      const active = running.get(id);
      if (active) return { state: 'running', upstreamStatus: 'rendering', progress: active.progress };
      const position = queue.indexOf(id);
      if (position >= 0) {
        // waiting here, but another process may have started it meanwhile
        if ((await leases.state(id)) === 'fresh') return { state: 'running', upstreamStatus: 'rendering', progress: await store.readProgress(id) };
        return { state: 'queued', upstreamStatus: 'queued', queuePosition: position + 1 };
      }
      if (submitting.has(id)) return { state: 'queued', upstreamStatus: 'queued' };
      if (await store.has(id, 'request.json')) {
        const lease = await leases.state(id);
        // another process is rendering it: report its progress, do not render it twice
        if (lease === 'fresh') return { state: 'running', upstreamStatus: 'rendering', progress: await store.readProgress(id) };
        if (lease === 'none') {
          // its renderer may have finished (and let go of the lease) since we looked
          const now = await store.finalStatus(id);
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
      throw localError('not_found', `no local render ${id}`);
    },

    async verifyCallback(): Promise<CallbackVerdict> {
      return { ok: false, reason: 'the local renderer sends no callbacks' };
    },

    async cancel(upstreamId) {
      const id = checkId(upstreamId);
      if (await store.has(id, 'output.mp4')) throw localError('invalid_input', 'the render already finished');
      if (await store.has(id, 'canceled')) return;
      if (await store.has(id, 'failed.json')) throw localError('invalid_input', 'the render already finished (failed)');
      const known = running.has(id) || queue.includes(id) || submitting.has(id) || (await store.has(id, 'request.json'));
      if (!known) throw localError('not_found', `no local render ${id}`);
      await submitting.get(id)?.catch(() => undefined);
      await store.markCanceled(id);
      const at = queue.indexOf(id);
      if (at >= 0) queue.splice(at, 1);
      const active = running.get(id);
      if (active) {
        active.controller.abort('cancel' satisfies AbortReason);
        await active.done;
      }
      // another process renders it: it sees the marker at its next lease refresh and stops
      await leases.waitForOtherRenderer(id);
      if (await store.has(id, 'output.mp4')) {
        // it finished in the same instant: the render wins
        await store.unmarkCanceled(id);
        throw localError('invalid_input', 'the render already finished');
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
