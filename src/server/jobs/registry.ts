import { StartupError } from '../errors';
import type { JobDefinition, JobHandler } from './define';
import { jobDefinitions } from './names';
import type { JobQueue, WorkOptions } from './queue';

type AnyDefinition = JobDefinition<any>;
export type HandlerMap = Map<string, JobHandler<any>>;

/** Collects one handler per declared job. */
export class JobRegistry {
  private readonly handlers: HandlerMap = new Map();

  register<P>(def: JobDefinition<P>, handler: JobHandler<P>): this {
    if (this.handlers.has(def.name)) throw new Error(`Job ${def.name} already has a handler`);
    this.handlers.set(def.name, handler as JobHandler<any>);
    return this;
  }

  /** Throws (start-up fails) when a declared job has no handler or a handler has no declaration. */
  assertComplete(definitions: readonly AnyDefinition[] = jobDefinitions): void {
    const declared = new Set(definitions.map((d) => d.name));
    const missing = definitions.filter((d) => !this.handlers.has(d.name)).map((d) => d.name);
    const unknown = [...this.handlers.keys()].filter((n) => !declared.has(n));
    if (missing.length) throw new StartupError(`No handler registered for job(s): ${missing.join(', ')}.`);
    if (unknown.length) throw new StartupError(`Handler(s) registered for undeclared job(s): ${unknown.join(', ')}.`);
  }

  async startWorkers(queue: JobQueue, opts: WorkOptions, definitions: readonly AnyDefinition[] = jobDefinitions): Promise<void> {
    this.assertComplete(definitions);
    for (const def of definitions) await queue.work(def, this.handlers.get(def.name)!, opts);
  }
}
