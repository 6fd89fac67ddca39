import { StartupError } from '../errors';
import type { JobDefinition, JobHandler } from './define';
import { jobDefinitions } from './names';
import type { JobQueue, WorkOptions } from './queue';

/** what the registry needs of a declared job */
type Declared = Pick<JobDefinition<unknown>, 'name'>;
/** starts the workers of one job: its definition and handler, bound together at registration */
type StartWorkers = (queue: JobQueue, opts: WorkOptions) => Promise<void>;

/** Collects one handler per declared job. */
export class JobRegistry {
  private readonly starters = new Map<string, StartWorkers>();

  register<P>(def: JobDefinition<P>, handler: JobHandler<P>): this {
    if (this.starters.has(def.name)) throw new Error(`Job ${def.name} already has a handler`);
    this.starters.set(def.name, (queue, opts) => queue.work(def, handler, opts));
    return this;
  }

  /** Throws (start-up fails) when a declared job has no handler or a handler has no declaration. */
  assertComplete(definitions: readonly Declared[] = jobDefinitions): void {
    const declared = new Set(definitions.map((d) => d.name));
    const missing = definitions.filter((d) => !this.starters.has(d.name)).map((d) => d.name);
    const unknown = [...this.starters.keys()].filter((n) => !declared.has(n));
    if (missing.length) throw new StartupError(`No handler registered for job(s): ${missing.join(', ')}.`);
    if (unknown.length) throw new StartupError(`Handler(s) registered for undeclared job(s): ${unknown.join(', ')}.`);
  }

  async startWorkers(queue: JobQueue, opts: WorkOptions, definitions: readonly Declared[] = jobDefinitions): Promise<void> {
    this.assertComplete(definitions);
    for (const def of definitions) {
      const start = this.starters.get(def.name);
      if (!start) throw new StartupError(`No handler registered for job ${def.name}.`); // assertComplete has checked
      await start(queue, opts);
    }
  }
}
