import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StartupError } from '../errors';
import { defineJob } from './define';
import { JobRegistry } from './registry';

const a = defineJob('test.a', z.object({}));
const b = defineJob('test.b', z.object({}));
const noop = async () => {};

describe('job registry', () => {
  it('refuses to start when a declared job has no handler', () => {
    const registry = new JobRegistry().register(a, noop);
    expect(() => registry.assertComplete([a, b])).toThrow(StartupError);
    expect(() => registry.assertComplete([a, b])).toThrow('No handler registered for job(s): test.b.');
  });

  it('refuses a handler for a job nobody declared, and a second handler for one job', () => {
    const registry = new JobRegistry().register(a, noop).register(b, noop);
    expect(() => registry.assertComplete([a])).toThrow('Handler(s) registered for undeclared job(s): test.b.');
    expect(() => registry.register(a, noop)).toThrow('Job test.a already has a handler');
  });

  it('accepts a complete set, including the real one', () => {
    expect(() => new JobRegistry().register(a, noop).register(b, noop).assertComplete([a, b])).not.toThrow();
  });

  it('rejects badly formed job names', () => {
    expect(() => defineJob('Bad Name', z.object({}))).toThrow('Invalid job name');
  });
});
