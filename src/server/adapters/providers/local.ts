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
 *
 * The parts, in ./local/:
 *   provider.ts    the VideoProvider: submit/poll/cancel/close, the queue and the running renders
 *   render-job.ts  one render: lease, references, ffmpeg (../local-render.ts), publish or failure
 *   lease.ts       claim, refresh, take-over of stale leases, progress publishing
 *   task-store.ts  the task folder: ids, files, final status, leftovers
 *   references.ts  file://, data: and http(s) image references, checked
 *   options.ts     the options and their defaults
 */
export { createLocalProvider } from './local/provider';
export { localTaskId } from './local/task-store';
export type { LocalProviderOptions } from './local/options';
