import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { systemClock, type Clock } from '../clock';
import { decodeRgb, ImageDecodeError } from './decode';
import { ClassifierUnavailableError, type ClassifierResult, type ImageInput, type MediaClassifier } from './moderation';

/**
 * `builtin-image`: a MediaClassifier that runs on this machine with no key and no network (issue
 * 16). The model is nsfwjs's (MobileNetV2 by default, 224×224 RGB in, five classes out), whose
 * weights ship inside the npm package; it runs on TensorFlow.js's WebAssembly backend, whose .wasm
 * files ship in @tensorflow/tfjs-backend-wasm and are loaded from node_modules. Never
 * @tensorflow/tfjs-node: its install downloads a native binary.
 *
 * Where the work happens: sharp decodes and resizes the image on libuv's thread pool; the model
 * runs in a worker thread (builtin-image.worker.mjs), so the ~100 ms of CPU per image does not
 * stall the event loop. The model is loaded once, lazily, by the first image (or `warm()`), and
 * shared: every classifier created with the same model and backend in this process uses the same
 * worker, which stops when the last of them is closed.
 *
 * The model's classes, and how they map onto our categories:
 * - Porn (explicit sexual imagery of people) and Hentai (explicit drawn or animated sexual imagery)
 *   are explicit material: their probabilities count in full towards `sexual`;
 * - Sexy (suggestive, not explicit: swimwear, lingerie, poses) counts at half weight
 *   (SEXY_WEIGHT), so suggestive imagery alone scores at most 0.5: it can be flagged for review by
 *   a low threshold but is never as strong a signal as explicit material;
 * - Drawing (safe illustrations) and Neutral (safe photos) count for nothing.
 * So `sexual` = Porn + Hentai + 0.5 × Sexy (the five probabilities sum to 1, so it stays in 0..1).
 * The model has no opinion on minors, violence or anything else: those categories are absent from
 * its scores (not zero), so the pipeline knows this classifier did not judge them. It is not a CSAM
 * detector: `sexual/minors` comes from the text rules, the hash lists and human review.
 */

export const nsfwClasses = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'] as const;
export type NsfwClass = (typeof nsfwClasses)[number];
export type NsfwModel = 'MobileNetV2' | 'MobileNetV2Mid' | 'InceptionV3';
export type Probabilities = Record<NsfwClass, number>;

/** what a Sexy (suggestive, not explicit) probability counts for towards `sexual` */
export const SEXY_WEIGHT = 0.5;
/** the classifier's name in results and cases */
export const BUILTIN_IMAGE_NAME = 'builtin-image';

/** the side of the square image each bundled model takes */
const inputSide: Record<NsfwModel, number> = { MobileNetV2: 224, MobileNetV2Mid: 224, InceptionV3: 299 };

export interface BuiltinImageOptions {
  /** the bundled model (default MobileNetV2: the smallest and fastest) */
  model?: NsfwModel;
  /** `wasm` (default, ~10× faster) or `cpu` (pure JavaScript) */
  backend?: 'wasm' | 'cpu';
  /** how long one image may take once the model is loaded (default 60 s) */
  timeoutMs?: number;
  /** how long loading the model may take (default 180 s: a busy 2-core machine) */
  loadTimeoutMs?: number;
  /** the timers above run on this clock (default the system's); classifiers on one clock share a model */
  clock?: Clock;
}

export interface ModelInfo {
  model: NsfwModel;
  backend: string;
  /** whether the WebAssembly backend runs its SIMD build */
  simd: boolean;
  /** from starting the worker to the model answering */
  loadMs: number;
  /** attempts to use the network while loading (always refused): 0 proves the model loaded from disk */
  networkAttemptsBlocked: number;
}

export interface BuiltinImageClassifier extends MediaClassifier {
  /** Load the model now rather than on the first image; resolves with what loading took. */
  warm(): Promise<ModelInfo>;
  /** The model's five probabilities for an image (what `classifyImage` maps onto categories). */
  probabilities(image: ImageInput, signal?: AbortSignal): Promise<Probabilities>;
  close(): Promise<void>;
}

/** Our category scores and the reviewer's reason from the model's probabilities. */
export function resultFromProbabilities(p: Probabilities, model: NsfwModel): ClassifierResult {
  const sexual = Math.min(1, Math.max(0, p.Porn + p.Hentai + SEXY_WEIGHT * p.Sexy));
  const detail = [...nsfwClasses]
    .sort((a, b) => p[b] - p[a])
    .map((c) => `${c} ${p[c].toFixed(3)}`)
    .join(', ');
  return { classifier: BUILTIN_IMAGE_NAME, scores: { sexual }, reasons: [{ category: 'sexual', detail: `nsfwjs ${model}: ${detail}` }] };
}

const require = createRequire(import.meta.url);

interface Pending {
  resolve: (p: Probabilities) => void;
  reject: (err: unknown) => void;
  cancelTimer: () => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; probabilities: Probabilities }
  | { type: 'error'; id: number; message: string };

const unavailable = (message: string, retryable: boolean) => new ClassifierUnavailableError(BUILTIN_IMAGE_NAME, message, retryable);

/** One worker holding one loaded model, shared by every classifier of that model and backend. */
class ModelHost {
  private worker?: Worker;
  private ready?: Promise<ModelInfo>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  users = 0;

  constructor(
    readonly model: NsfwModel,
    readonly backend: 'wasm' | 'cpu',
    private readonly loadTimeoutMs: number,
    private readonly clock: Clock,
  ) {}

  start(): Promise<ModelInfo> {
    if (this.ready) return this.ready;
    const wasmDir = `${path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}${path.sep}`;
    const worker = new Worker(new URL('./builtin-image.worker.mjs', import.meta.url), {
      workerData: { model: this.model, backend: this.backend, wasmDir },
      // the worker is plain JavaScript: no TypeScript loader (tsx, vite) needed in it
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    this.worker = worker;
    const ready = new Promise<ModelInfo>((resolve, reject) => {
      const cancelTimer = this.clock.setTimer(this.loadTimeoutMs, () => {
        const err = unavailable(`the model did not load within ${this.loadTimeoutMs} ms`, true);
        reject(err);
        this.fail(worker, err);
      });
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          cancelTimer();
          resolve(msg.info);
          this.idle();
        } else if (msg.type === 'failed') {
          cancelTimer();
          const err = unavailable(`the model could not be loaded: ${msg.message}`, false);
          reject(err);
          this.fail(worker, err);
        } else this.settle(msg);
      });
      worker.on('error', (err) => {
        cancelTimer();
        const e = unavailable(`the model's worker failed: ${err.message}`, true);
        reject(e);
        this.fail(worker, e);
      });
      worker.on('exit', (code) => {
        cancelTimer();
        const e = unavailable(`the model's worker exited (${code})`, true);
        reject(e);
        this.fail(worker, e);
      });
    });
    // a load that fails with nobody waiting (closed meanwhile) is not an unhandled rejection
    ready.catch(() => {});
    this.ready = ready;
    return ready;
  }

  /** Forget a dead or stuck worker: its waiting images fail, the next image starts a new one. */
  private fail(worker: Worker, err: Error) {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.ready = undefined;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      this.release(p);
      p.reject(err);
    }
    void worker.terminate();
  }

  private settle(msg: Extract<FromWorker, { id: number }>) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.release(p);
    if (msg.type === 'result') p.resolve(msg.probabilities);
    else p.reject(unavailable(`the model could not classify the image: ${msg.message}`, false));
    this.idle();
  }

  private release(p: Pending) {
    p.cancelTimer();
    if (p.onAbort) p.signal?.removeEventListener('abort', p.onAbort);
  }

  /** A worker with nothing to do must not keep the process alive. */
  private idle() {
    if (this.pending.size === 0) this.worker?.unref();
  }

  async classify(pixels: Uint8Array, side: number, timeoutMs: number, signal?: AbortSignal): Promise<Probabilities> {
    signal?.throwIfAborted();
    await this.start();
    signal?.throwIfAborted();
    const worker = this.worker;
    if (!worker) throw unavailable("the model's worker stopped", true);
    const id = this.nextId++;
    return new Promise<Probabilities>((resolve, reject) => {
      const p: Pending = {
        resolve,
        reject,
        signal,
        cancelTimer: this.clock.setTimer(timeoutMs, () => {
          // the worker is stuck on an image: replace it rather than queue behind it
          this.fail(worker, unavailable(`the model took more than ${timeoutMs} ms for an image`, true));
        }),
      };
      if (signal) {
        p.onAbort = () => {
          this.pending.delete(id);
          this.release(p);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          this.idle();
        };
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.pending.set(id, p);
      worker.ref();
      worker.postMessage({ type: 'classify', id, pixels, width: side, height: side }, [pixels.buffer as ArrayBuffer]);
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (!worker) return;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      this.release(p);
      p.reject(unavailable('the classifier was closed', true));
    }
    // ending the thread frees the model with it (its tensors live in the worker's WebAssembly memory)
    await worker.terminate();
  }
}

const hostsByClock = new WeakMap<Clock, Map<string, ModelHost>>();

export function createBuiltinImageClassifier(opts: BuiltinImageOptions = {}): BuiltinImageClassifier {
  const model = opts.model ?? 'MobileNetV2';
  const backend = opts.backend ?? 'wasm';
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const clock = opts.clock ?? systemClock;
  const key = `${model}:${backend}`;
  let hosts = hostsByClock.get(clock);
  if (!hosts) hostsByClock.set(clock, (hosts = new Map<string, ModelHost>()));
  let host = hosts.get(key);
  if (!host) hosts.set(key, (host = new ModelHost(model, backend, opts.loadTimeoutMs ?? 180_000, clock)));
  const clockHosts = hosts;
  const shared = host;
  shared.users++;
  let closed = false;
  const side = inputSide[model];

  const probabilities = async (image: ImageInput, signal?: AbortSignal): Promise<Probabilities> => {
    if (closed) throw unavailable('the classifier was closed', false);
    if (!image.mime.startsWith('image/'))
      throw unavailable(`builtin-image classifies still images, not ${image.mime}: sample frames from a video first`, false);
    let pixels: Uint8Array;
    try {
      const raw = await decodeRgb(image, { resize: { width: side, height: side } });
      // a copy the worker can own: sharp's buffer may be a slice of a larger pool
      pixels = raw.data.slice();
    } catch (err) {
      if (err instanceof ImageDecodeError) throw unavailable(err.message, false);
      throw err;
    }
    return shared.classify(pixels, side, timeoutMs, signal);
  };

  return {
    name: BUILTIN_IMAGE_NAME,
    warm: () => {
      if (closed) return Promise.reject(unavailable('the classifier was closed', false));
      return shared.start();
    },
    probabilities,
    classifyImage: async (image, signal) => resultFromProbabilities(await probabilities(image, signal), model),
    close: async () => {
      if (closed) return;
      closed = true;
      if (--shared.users > 0) return;
      if (clockHosts.get(key) === shared) clockHosts.delete(key);
      await shared.stop();
    },
  };
}
