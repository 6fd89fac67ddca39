import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Database, DbHandle } from '../db/client';
import { BOSS_SCHEMA, bossOn } from './boss';
import type { JobDefinition, JobHandler } from './define';
import { jobDefinitions, jobSchedules } from './names';
import { JOB_SENT_CHANNEL, lockQueueSetup, notifyJobSent } from './queue.repo';

export interface EnqueueOptions {
  /** enqueue inside this transaction: the job exists only if the transaction commits */
  tx?: DbHandle;
  /** at most one queued job per key (pg-boss singletonKey) */
  singletonKey?: string;
  startAfterSeconds?: number;
  /** the job's id (a UUID), when the caller records it before sending (e.g. on the row the job is for) */
  jobId?: string;
}

export interface WorkOptions {
  concurrency: number;
  pollingIntervalSeconds?: number;
}

/** A job a worker of this process has finished: done (`ok`) or failed (to be retried, or for good). */
export interface SettledJob {
  name: string;
  id: string;
  ok: boolean;
}

/** What the queue does with a running work loop, whatever its job's payload. */
interface RunningLoop {
  nudge(name: string): void;
  stop(timeoutMs: number): Promise<void>;
}

/** The job queue: pg-boss on the application's own database (PGlite or PostgreSQL). */
export class JobQueue {
  readonly boss: PgBoss;
  private started = false;
  private readonly loops: RunningLoop[] = [];
  private readonly settledListeners = new Set<(job: SettledJob) => void>();
  private unlisten: Promise<() => Promise<void>> | null = null;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
    private readonly role: { supervise: boolean },
  ) {
    this.boss = new PgBoss({
      db: database.bossDb,
      schema: BOSS_SCHEMA,
      // Schema is installed by migrate(); pg-boss only checks it here.
      migrate: false,
      supervise: role.supervise,
      schedule: role.supervise,
    });
    this.boss.on('error', (err) => this.logger.error({ err }, 'job queue error'));
  }

  async start(): Promise<void> {
    await this.boss.start();
    await this.createQueues();
    this.started = true;
  }

  /**
   * Create the queues of every declared job that does not exist yet. pg-boss's createQueue runs
   * partition DDL that deadlocks when several processes start at once, so every process creates
   * them in one transaction behind an advisory lock (pg-boss's API bound to that transaction): one
   * process creates, the others wait and then find nothing to do.
   */
  private async createQueues(): Promise<void> {
    await this.database.transaction(async (tx) => {
      await lockQueueSetup(tx);
      const boss = bossOn(tx);
      const existing = new Set((await boss.getQueues()).map((q) => q.name));
      for (const def of jobDefinitions) {
        if (existing.has(def.name)) continue;
        await boss.createQueue(def.name, {
          name: def.name,
          policy: 'standard',
          retryLimit: def.options.retryLimit ?? 3,
          retryDelay: def.options.retryDelaySeconds ?? 10,
          retryBackoff: def.options.retryBackoff ?? true,
          expireInSeconds: def.options.expireInSeconds ?? 15 * 60,
        });
      }
    });
  }

  async enqueue<P>(def: JobDefinition<P>, payload: P, opts: EnqueueOptions = {}): Promise<string | null> {
    const data = def.payload.parse(payload);
    const options: PgBoss.SendOptions = {};
    if (opts.singletonKey) options.singletonKey = opts.singletonKey;
    if (opts.startAfterSeconds) options.startAfter = opts.startAfterSeconds;
    if (opts.jobId) options.id = opts.jobId;
    if (opts.tx) options.db = opts.tx.bossDb;
    const id = await this.boss.send(def.name, data as object, options);
    // wakes the idle workers of this job in every process (on commit, when sent in a transaction)
    if (id) await notifyJobSent(opts.tx ?? this.database, def.name);
    return id;
  }

  /** true while the job waits to be taken (created, or failed and waiting for its retry); false once taken, finished or gone */
  async isWaiting<P>(def: JobDefinition<P>, jobId: string): Promise<boolean> {
    const job = await this.boss.getJobById(def.name, jobId);
    return job?.state === 'created' || job?.state === 'retry';
  }

  /**
   * Run jobs of one kind with up to `concurrency` at a time in this process. Our own loop over
   * pg-boss's fetch/complete/fail: it fetches as many jobs as it has free slots (SKIP LOCKED, so
   * other processes never get the same job), fetches again at once while jobs keep coming, and
   * sleeps for the polling interval only when the queue is empty. (pg-boss 10's `work()` waits the
   * interval between every fetch, which caps a worker at batchSize jobs per interval.)
   */
  async work<P>(def: JobDefinition<P>, handler: JobHandler<P>, opts: WorkOptions): Promise<void> {
    const loop = new WorkLoop(this.boss, def, handler, opts, this.logger, (job) => this.settledListeners.forEach((l) => l(job)));
    this.loops.push(loop);
    // a job sent from any process starts at once; the polling interval is left for retries and delays
    this.unlisten ??= this.database.listen(JOB_SENT_CHANNEL, (name) => this.loops.forEach((l) => l.nudge(name)));
    await this.unlisten;
    loop.start();
  }

  /**
   * Calls `listener` each time a worker of this process finishes a job (done or failed); returns
   * the function that stops it. Tests await work through it instead of sleeping.
   */
  onJobSettled(listener: (job: SettledJob) => void): () => void {
    this.settledListeners.add(listener);
    return () => this.settledListeners.delete(listener);
  }

  /** Install the cron schedules (idempotent; pg-boss runs each schedule once across all workers). */
  async installSchedules(): Promise<void> {
    for (const s of jobSchedules) await this.boss.schedule(s.job.name, s.cron, {}, { tz: 'UTC' });
    // a schedule this version no longer declares (a job folded into another, e.g. api.purge-logs into privacy.retention) stops
    const declared = new Set<string>(jobSchedules.map((s) => s.job.name));
    for (const s of await this.boss.getSchedules()) if (!declared.has(s.name)) await this.boss.unschedule(s.name);
  }

  /** true when the queue's tables answer */
  async ping(): Promise<boolean> {
    // typed Promise<Number> (the object type) by pg-boss; it is a number, or null before the schema is installed
    const version: unknown = await this.boss.schemaVersion();
    return version !== null;
  }

  async stop(opts: { graceful: boolean; timeoutMs?: number } = { graceful: true }): Promise<void> {
    if (!this.started) return;
    this.started = false;
    // Stop fetching; let running jobs finish (graceful) for up to the timeout. A job still running
    // after that stays active in the queue and is retried once it expires: at-least-once delivery.
    const timeoutMs = opts.graceful ? (opts.timeoutMs ?? 10_000) : 0;
    const unlisten = await this.unlisten?.catch(() => null);
    this.unlisten = null;
    await unlisten?.().catch(() => {});
    await Promise.all(this.loops.map((l) => l.stop(timeoutMs)));
    // close:false: the database belongs to the app, which closes it after the queue.
    await this.boss.stop({ graceful: opts.graceful, wait: true, close: false, timeout: opts.timeoutMs ?? 10_000 });
  }
}

class WorkLoop<P> {
  private active = 0;
  private stopping = false;
  private wake: (() => void) | null = null;
  /** a job was sent since the last fetch began: fetch again instead of sleeping */
  private nudged = false;
  private done: Promise<void> = Promise.resolve();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly boss: PgBoss,
    private readonly def: JobDefinition<P>,
    private readonly handler: JobHandler<P>,
    private readonly opts: WorkOptions,
    private readonly logger: Logger,
    private readonly onSettled: (job: SettledJob) => void,
  ) {}

  start(): void {
    this.done = this.run();
  }

  /** A job of `name` was sent: fetch now if idle, or once more after the fetch under way. */
  nudge(name: string): void {
    if (name !== this.def.name) return;
    this.nudged = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const idleMs = (this.opts.pollingIntervalSeconds ?? 1) * 1000;
    while (!this.stopping) {
      const free = this.opts.concurrency - this.active;
      if (free <= 0) {
        await this.sleep(idleMs); // woken early when a job finishes
        continue;
      }
      let jobs: PgBoss.JobWithMetadata[] = [];
      this.nudged = false;
      try {
        jobs = await this.boss.fetch<object>(this.def.name, { batchSize: free, includeMetadata: true });
      } catch (err) {
        this.logger.error({ err, job: this.def.name }, 'fetching jobs failed');
      }
      if (this.isStopping()) break; // stop() was called during the fetch
      if (!jobs.length) {
        await this.sleep(idleMs);
        continue;
      }
      for (const job of jobs) {
        this.active++;
        const p = this.execute(job).finally(() => {
          this.active--;
          this.running.delete(p);
          this.wake?.();
        });
        this.running.add(p);
      }
    }
  }

  private async execute(job: PgBoss.JobWithMetadata): Promise<void> {
    const log = this.logger.child({ job: this.def.name, jobId: job.id });
    let ok = false;
    try {
      const payload = this.def.payload.parse(job.data);
      await this.handler(payload, { jobId: job.id, attempt: job.retryCount + 1 });
      await this.boss.complete(this.def.name, job.id);
      ok = true;
    } catch (err) {
      log.warn({ err, attempt: job.retryCount + 1 }, 'job failed');
      await this.boss
        .fail(this.def.name, job.id, { message: err instanceof Error ? err.message : String(err) })
        .catch((e: unknown) => log.error({ err: e }, 'could not record the job failure; it will expire and be retried'));
    }
    this.onSettled({ name: this.def.name, id: job.id, ok });
  }

  /** read through a method: `stopping` changes while the loop awaits */
  private isStopping(): boolean {
    return this.stopping;
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.done;
    if (this.running.size === 0) return;
    await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, timeoutMs))]);
  }
}
