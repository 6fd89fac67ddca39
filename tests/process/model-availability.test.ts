import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelView } from '../../src/shared/api';
import { childEnv, cli } from '../helpers/process';
import { ROOT } from '../setup/template';

/**
 * What a user sees in GET /api/models right after `npm start` with no keys, and after
 * `npm run dev:fakes` (fake KIE and FAL servers plus the platform pointed at them).
 */
interface Proc {
  url: Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

function run(script: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL in 90 s:\n${out}`)), 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => reject(new Error(`exited before listening:\n${out}`)));
  });
  url.catch(() => undefined);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    url,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const availability = async (url: string) => {
  const res = await fetch(`${url}/api/models`);
  expect(res.status).toBe(200);
  const { models } = (await res.json()) as { models: ModelView[] };
  return Object.fromEntries(models.map((m) => [m.id, m.available]));
};

let procs: Proc[] = [];
afterEach(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  procs = [];
});

describe('model availability out of the box', () => {
  it('npm start with no keys offers local-preview only; operators retire a model from the CLI while it runs', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-models-'));
    const env = childEnv({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', SKIP_WEB_BUILD: 'true' });
    const app = run('scripts/start.mjs', env);
    procs.push(app);
    const url = await app.url;
    expect(await availability(url)).toEqual({
      'veo-3.1': false,
      'veo-3.1-fast': false,
      'kling-3.0': false,
      'seedance-2.0': false,
      'sora-2': false,
      'sora-2-pro': false,
      'local-preview': true,
    });
    const local = (await (await fetch(`${url}/api/models/local-preview`)).json()) as ModelView;
    expect(local).toMatchObject({
      name: 'Local preview',
      modes: expect.arrayContaining(['text-to-video', 'image-to-video']),
      price: { perSecond: { '720p': 1 } },
    });
    expect(local).not.toHaveProperty('routes');

    const set = await cli(['models:set', '--model', 'local-preview', '--disable'], env);
    expect(set.stderr).toBe('');
    expect(set.stdout).toMatch(/^local-preview: unavailable \(disabled\)/);
    expect(await availability(url)).not.toHaveProperty('local-preview');
    expect((await cli(['models:reset', '--model', 'local-preview'], env)).code).toBe(0);
    expect(await availability(url)).toHaveProperty('local-preview', true);
  }, 90_000);

  it('npm run dev:fakes makes every model and every payment method available', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-fakes-'));
    const env = childEnv({
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      SKIP_WEB_BUILD: 'true',
      FAKE_KIE_PORT: '0',
      FAKE_FAL_PORT: '0',
      FAKE_STRIPE_PORT: '0',
      FAKE_CREEM_PORT: '0',
      FAKE_NOWPAYMENTS_PORT: '0',
    });
    const app = run('scripts/dev-fakes.ts', env);
    procs.push(app);
    const url = await app.url;
    expect(app.output()).toMatch(/Fake KIE http:\/\/127\.0\.0\.1:\d+, FAL http:\/\/127\.0\.0\.1:\d+, Stripe http:\/\/127\.0\.0\.1:\d+, Creem http/);
    const all = await availability(url);
    expect(Object.keys(all)).toHaveLength(7);
    expect(Object.values(all).every(Boolean)).toBe(true);
    const plans = (await (await fetch(`${url}/api/billing/plans`)).json()) as { providers: string[] };
    expect(plans.providers).toEqual(['stripe', 'creem', 'nowpayments']);
  }, 90_000);
});
