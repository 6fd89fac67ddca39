import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFalProvider } from '../../src/server/adapters/providers/fal';
import { createProviderRegistry } from '../../src/server/adapters/providers/index';
import { parseConfig } from '../../src/server/config';
import { createKieProvider } from '../../src/server/adapters/providers/kie';
import { createLocalProvider } from '../../src/server/adapters/providers/local';
import {
  isFinalState,
  ProviderError,
  type NormalizedStatus,
  type ProviderReference,
  type ProviderRequest,
  type VideoProvider,
} from '../../src/server/adapters/providers/provider';
import { ffmpegPath, probeMedia, runTool } from '../../src/server/lib/ffmpeg';
import { startFakeFal, type FakeFal } from '../fakes/fal';
import { startFakeKie, type FakeKie } from '../fakes/kie';
import { until } from '../helpers/wait';

/**
 * One contract, three implementations: the local renderer, KIE (against its fake) and FAL
 * (against its fake) must behave the same through the VideoProvider port.
 */

interface Harness {
  provider: VideoProvider;
  modelId: string;
  upstream: { 'text-to-video': string; 'image-to-video': string };
  /** a well-formed id the provider has never issued */
  unknownId: string;
  /** the same adapter with no key / turned off */
  unconfigured: VideoProvider;
  /** make the next submit fail like an overloaded upstream (503); absent where that cannot happen */
  injectOverload?: () => void;
  close(): Promise<void>;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-contract-'));
let referenceUrl: string;

// a callback receiver standing in for our webhook route
const received: { body: Buffer; headers: http.IncomingHttpHeaders }[] = [];
const arrivals = new EventEmitter();
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ body: Buffer.concat(chunks), headers: req.headers });
    arrivals.emit('callback');
    res.end('ok');
  });
});
let callbackUrl: string;

beforeAll(async () => {
  // a real PNG inside the local renderer's data folder (its allowed root)
  const png = path.join(work, 'local', 'reference.png');
  fs.mkdirSync(path.dirname(png), { recursive: true });
  await runTool(ffmpegPath(), ['-y', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1', png]);
  referenceUrl = pathToFileURL(png).href;
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/test`;
});
afterAll(async () => {
  await new Promise((r) => receiver.close(r));
  fs.rmSync(work, { recursive: true, force: true });
});

const harnesses: Record<string, () => Promise<Harness>> = {
  local: async () => {
    const dataDir = path.join(work, 'local');
    const provider = createLocalProvider({ dataDir, concurrency: 1 });
    return {
      provider,
      modelId: 'local-preview',
      upstream: { 'text-to-video': 'ffmpeg', 'image-to-video': 'ffmpeg' },
      unknownId: `local_${'0'.repeat(24)}`,
      // LOCAL_PROVIDER=false: the registry registers it as unavailable
      unconfigured: createProviderRegistry(parseConfig({ DATA_DIR: dataDir, LOCAL_PROVIDER: 'false' })).get('local'),
      close: () => provider.close(),
    };
  },
  kie: async () => {
    const fake: FakeKie = await startFakeKie({ stepMs: 100 });
    const options = { baseUrl: fake.url, uploadUrl: fake.url, webhookHmacKey: fake.hmacKey, timeoutMs: 5000 };
    const provider = createKieProvider({ apiKey: fake.apiKey, ...options });
    return {
      provider,
      modelId: 'sora-2',
      upstream: { 'text-to-video': 'sora-2-text-to-video', 'image-to-video': 'sora-2-image-to-video' },
      unknownId: 'job:task_never_issued',
      unconfigured: createKieProvider(options),
      injectOverload: () => fake.inject({ kind: 'http-error', status: 503 }),
      close: async () => {
        await provider.close();
        await fake.close();
      },
    };
  },
  fal: async () => {
    const fake: FakeFal = await startFakeFal({ stepMs: 100 });
    const options = { queueUrl: fake.url, jwksUrl: fake.jwksUrl, timeoutMs: 5000 };
    const provider = createFalProvider({ apiKey: fake.apiKey, ...options });
    return {
      provider,
      modelId: 'sora-2',
      upstream: { 'text-to-video': 'fal-ai/sora-2/text-to-video', 'image-to-video': 'fal-ai/sora-2/image-to-video' },
      unknownId: 'fal-ai/sora-2:00000000-0000-4000-8000-000000000000',
      unconfigured: createFalProvider(options),
      injectOverload: () => fake.inject({ kind: 'http-error', status: 503 }),
      close: async () => {
        await provider.close();
        await fake.close();
      },
    };
  },
};

function request(h: Harness, overrides: Partial<ProviderRequest> = {}): ProviderRequest {
  return {
    modelId: h.modelId,
    upstreamModel: h.upstream['text-to-video'],
    mode: 'text-to-video',
    prompt: 'A paper boat drifting down a rainy street, contract test',
    durationSeconds: 4,
    resolution: '720p',
    aspectRatio: '16:9',
    audio: true,
    references: [],
    ...overrides,
  };
}

const forwardOnly: Record<NormalizedStatus['state'], number> = { unknown: -1, queued: 0, running: 1, succeeded: 2, failed: 2, canceled: 2 };

/** The states seen, repeats counted: `queued,running×312`. */
const summary = (seen: NormalizedStatus[]) =>
  seen
    .reduce<{ state: string; n: number }[]>((runs, s) => {
      const last = runs.at(-1);
      if (last?.state === s.state) last.n++;
      else runs.push({ state: s.state, n: 1 });
      return runs;
    }, [])
    .map((r) => (r.n > 1 ? `${r.state}×${r.n}` : r.state))
    .join(',');

/**
 * Poll until a final state, keeping every status seen (the tests check that states only move
 * forward). The fakes' tasks advance on their own clock and announce nothing, so `until` polls at
 * its pace; a provider that announces ended tasks (onTaskEnded: the local renderer) must report a
 * final state to every poll after the announcement.
 */
async function pollToEnd(p: VideoProvider, id: string, timeoutMs = 40_000): Promise<{ final: NormalizedStatus; seen: NormalizedStatus[] }> {
  const seen: NormalizedStatus[] = [];
  let ended = false;
  const unsubscribe = p.onTaskEnded?.((endedId) => {
    if (endedId === id) ended = true;
  });
  try {
    const final = await until(
      async () => {
        const announced = ended; // read before polling: an announcement during the poll proves nothing about it
        const s = await p.poll(id);
        seen.push(s);
        if (announced) expect(s.state, 'the status of a task announced as ended').toMatch(/^(succeeded|failed|canceled)$/);
        return isFinalState(s.state) && s;
      },
      { timeoutMs, recheckMs: 100, what: () => `a final state of ${id} (seen: ${summary(seen)})` },
    );
    return { final, seen };
  } finally {
    unsubscribe?.();
  }
}

async function download(url: string): Promise<string> {
  if (url.startsWith('file:')) return fileURLToPath(url);
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const file = path.join(work, `download-${Date.now()}-${Math.random().toString(36).slice(2)}.mp4`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

async function rejection(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe.each(Object.keys(harnesses))('VideoProvider contract: %s', (name) => {
  let h: Harness;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    h = await harnesses[name]!();
    close = () => h.close();
  });
  afterAll(() => close?.());

  it('identifies itself and is available when configured', () => {
    expect(h.provider.id).toBe(name);
    expect(h.provider.available).toBe(true);
    expect(h.provider.unavailableReason).toBeUndefined();
  });

  it('renders text-to-video: states only move forward, and the output is a playable H.264 MP4 of the requested length and shape', async () => {
    const { upstreamId } = await h.provider.submit(request(h), `contract-${name}-t2v`);
    expect(upstreamId).toMatch(/\S{6,}/);
    const { final, seen } = await pollToEnd(h.provider, upstreamId);
    const ranks = seen.map((s) => forwardOnly[s.state]);
    expect(ranks.every((r, i) => r >= 0 && (i === 0 || r >= ranks[i - 1]!))).toBe(true);
    for (const s of seen) if (s.state === 'running' && s.progress !== undefined) expect(s.progress).toBeGreaterThanOrEqual(0);
    expect(final.state).toBe('succeeded');
    if (final.state !== 'succeeded') return;
    const file = await download(final.output.videoUrl);
    const probe = await probeMedia(file);
    expect(probe.videoCodec).toBe('h264');
    expect(probe.durationSeconds).toBeGreaterThan(3.8);
    expect(probe.durationSeconds).toBeLessThan(4.2);
    expect(probe.width).toBeGreaterThan(probe.height); // 16:9
  });

  it('renders image-to-video from a file:// reference in portrait', async () => {
    const refs: ProviderReference[] = [{ kind: 'image', role: 'first_frame', url: referenceUrl, mimeType: 'image/png' }];
    const { upstreamId } = await h.provider.submit(
      request(h, { mode: 'image-to-video', upstreamModel: h.upstream['image-to-video'], aspectRatio: '9:16', references: refs }),
      `contract-${name}-i2v`,
    );
    const { final } = await pollToEnd(h.provider, upstreamId);
    expect(final.state).toBe('succeeded');
    if (final.state !== 'succeeded') return;
    const probe = await probeMedia(await download(final.output.videoUrl));
    expect(probe.height).toBeGreaterThan(probe.width); // 9:16
  });

  it('answers not_found for an id it never issued', async () => {
    expect((await rejection(h.provider.poll(h.unknownId))).kind).toBe('not_found');
  });

  it('refuses junk callbacks without throwing', async () => {
    expect(await h.provider.verifyCallback(Buffer.from('not json'), {})).toMatchObject({ ok: false });
    const unsigned = Buffer.from(JSON.stringify({ code: 200, request_id: 'x', status: 'OK', data: { taskId: 'x', state: 'success' } }));
    expect(await h.provider.verifyCallback(unsigned, { 'content-type': 'application/json' })).toMatchObject({ ok: false });
  });

  it('delivers a verifiable final callback naming the task, or declares that it sends none', async () => {
    if (!h.provider.supportsCallbacks) {
      expect(name).toBe('local');
      return;
    }
    const before = received.length;
    const { upstreamId } = await h.provider.submit(request(h, { callbackUrl }), `contract-${name}-callback`);
    await pollToEnd(h.provider, upstreamId);
    if (received.length === before) await once(arrivals, 'callback', { signal: AbortSignal.timeout(5000) });
    const delivery = received.at(-1)!;
    expect(delivery).toBeDefined();
    const verdict = await h.provider.verifyCallback(delivery.body, delivery.headers);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.event.upstreamId).toBe(h.provider.callbackKey(upstreamId));
    expect(verdict.event.status.state).toBe('succeeded');
  });

  it('cancels a task that has not started, or refuses cancel with a clear error', async () => {
    if (!h.provider.supportsCancel) {
      const err = await rejection(h.provider.cancel(h.unknownId));
      expect(err.kind).toBe('invalid_input');
      return;
    }
    const { upstreamId } = await h.provider.submit(request(h, { durationSeconds: 8, prompt: 'to be canceled' }), `contract-${name}-cancel`);
    await h.provider.cancel(upstreamId);
    const { final } = await pollToEnd(h.provider, upstreamId);
    expect(final.state).toBe('canceled');
  });

  it('classifies an overloaded upstream as retryable and not accepted', async () => {
    if (!h.injectOverload) {
      expect(name).toBe('local'); // renders in-process: there is no upstream to be overloaded
      return;
    }
    h.injectOverload();
    const err = await rejection(h.provider.submit(request(h), `contract-${name}-503`));
    expect([err.kind, err.maybeAccepted]).toEqual(['retryable', false]);
  });

  it('is unavailable without its key (or turned off), and then refuses work as a configuration problem', async () => {
    expect(h.unconfigured.available).toBe(false);
    expect(h.unconfigured.unavailableReason).toMatch(/^(KIE_API_KEY is not set|FAL_KEY is not set|LOCAL_PROVIDER is false)$/);
    expect((await rejection(h.unconfigured.submit(request(h), 'no-key'))).kind).toBe('auth_config');
  });
});
