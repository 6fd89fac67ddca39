import type { z } from 'zod';

export interface JobOptions {
  /** attempts after the first failure */
  retryLimit?: number;
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  /** a running job not finished by then is failed (and retried if attempts remain) */
  expireInSeconds?: number;
}

/** A named, typed job. Every job is declared once in names.ts and has exactly one handler. */
export interface JobDefinition<P> {
  name: string;
  payload: z.ZodType<P>;
  options: JobOptions;
}

export function defineJob<P>(name: string, payload: z.ZodType<P>, options: JobOptions = {}): JobDefinition<P> {
  if (!/^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/.test(name)) throw new Error(`Invalid job name ${name}`);
  return { name, payload, options };
}

export interface JobContext {
  jobId: string;
  /** 1 on the first attempt */
  attempt: number;
}

export type JobHandler<P> = (payload: P, ctx: JobContext) => Promise<void>;

export type PayloadOf<D> = D extends JobDefinition<infer P> ? P : never;
