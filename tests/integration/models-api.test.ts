import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelView } from '../../src/shared/api';
import { startTestApp, type TestApp } from '../helpers/app';
import { closeAll } from '../helpers/close';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => closeAll(app));

const quote = (body: unknown) =>
  app.fetch('/api/models/quote', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('GET /api/models', () => {
  it('lists every model with modes, limits, price rules and availability, without routes', async () => {
    const res = await app.fetch('/api/models');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { models } = (await res.json()) as { models: ModelView[] };
    const seedance = models.find((m) => m.id === 'seedance-2.0')!;
    expect(seedance).toMatchObject({
      vendor: 'ByteDance',
      available: false,
      unavailableReason: 'no_provider',
      modes: ['text-to-video', 'image-to-video', 'first-last-frame', 'reference'],
      references: { audio: { max: 3 }, video: { max: 3, maxSeconds: 15 }, image: { max: 9 } },
      price: { perSecond: { '480p': 6, '720p': 12, '1080p': 24 }, perReference: 2 },
    });
    expect(JSON.stringify(models)).not.toMatch(/upstreamModels|routes|bytedance\//);
    expect(models.find((m) => m.id === 'sora-2')!.lifecycle).toEqual({
      state: 'deprecated',
      sunsetDate: '2026-09-24',
      replacement: 'veo-3.1-fast',
      note: 'OpenAI ended the Sora 2 API on 2026-09-24.',
    });
  });

  it('answers 404 for an unknown model', async () => {
    const res = await app.fetch('/api/models/sora-9');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('POST /api/models/quote', () => {
  it('prices a valid request with its defaults filled in', async () => {
    const res = await quote({ model: 'kling-3.0', prompt: 'a paper boat in the rain', duration: 10, resolution: '720p' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model: 'kling-3.0',
      credits: 140,
      breakdown: [
        { label: 'video', credits: 100 },
        { label: 'audio', credits: 40 },
      ],
      request: { mode: 'text-to-video', durationSeconds: 10, resolution: '720p', aspectRatio: '16:9', audio: true },
    });
  });

  it('answers 400 naming the field and the allowed values when a request breaks the model limits', async () => {
    const res = await quote({ model: 'sora-2', prompt: 'x', duration: 7 });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: 'invalid_request',
        message: 'Sora 2 makes videos of 4 s, 8 s or 12 s (got 7 s).',
        fields: [{ field: 'duration', message: 'Sora 2 makes videos of 4 s, 8 s or 12 s (got 7 s).', allowed: [4, 8, 12] }],
      },
    });

    const audios = Array.from({ length: 4 }, (_, i) => ({ kind: 'audio', mediaId: `audio-${i}` }));
    const seedance = await quote({ model: 'seedance-2.0', prompt: 'a duet on @audio1', mode: 'reference', references: audios });
    expect(seedance.status).toBe(400);
    const body = (await seedance.json()) as { error: { fields: { field: string; message: string; allowed?: unknown[] }[] } };
    expect(body.error.fields).toEqual([
      { field: 'references', message: 'Seedance 2.0 accepts at most 3 audio references (got 4).', allowed: ['up to 3 audio'] },
    ]);
  });

  it('answers 400 with fields for a body of the wrong shape', async () => {
    const res = await quote({ model: 'kling-3.0', prompt: 42 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; fields: { field: string }[] } };
    expect(body.error.code).toBe('invalid_request');
    expect(body.error.fields.map((f) => f.field)).toEqual(['prompt']);
  });
});
