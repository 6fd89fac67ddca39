import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../../server/domain/catalog/catalog-data';
import { fieldIssues, generationSchemaFor, mentionsIn } from './request-schema';
import { quotePrice } from './spec';

const spec = (id: string) => {
  const s = builtinCatalog.find((m) => m.id === id);
  if (!s) throw new Error(id);
  return s;
};
const parse = (id: string, body: object) => generationSchemaFor(spec(id)).safeParse({ model: id, ...body });
const issues = (id: string, body: object) => {
  const r = parse(id, body);
  if (r.success) throw new Error('expected a validation error');
  return fieldIssues(r.error);
};
const img = (n = 1) => Array.from({ length: n }, (_, i) => ({ kind: 'image' as const, mediaId: `img${i}` }));

describe('built-in catalog data', () => {
  it('has the seven models the product promises', () => {
    expect(builtinCatalog.map((m) => m.id).sort()).toEqual(
      ['kling-3.0', 'local-preview', 'seedance-2.0', 'sora-2', 'sora-2-pro', 'veo-3.1', 'veo-3.1-fast'].sort(),
    );
  });

  it.each(builtinCatalog.map((m) => [m.id, m] as const))('%s is internally consistent', (_id, m) => {
    expect(m.durations).toContain(m.defaultDuration);
    expect(m.resolutions).toContain(m.defaultResolution);
    expect(m.aspectRatios).toContain(m.defaultAspectRatio);
    for (const r of m.resolutions) expect(m.price.perSecond[r], `price for ${r}`).toBeGreaterThan(0);
    // every mode is served by at least one route
    for (const mode of m.modes)
      expect(
        m.routes.some((r) => r.upstreamModels[mode]),
        `route for ${mode}`,
      ).toBe(true);
    if (m.lifecycle.replacement) expect(builtinCatalog.map((x) => x.id)).toContain(m.lifecycle.replacement);
    const refMax = Object.values(m.references).reduce((n, l) => n + l.max, 0);
    expect(m.maxReferences).toBeLessThanOrEqual(refMax);
  });

  it('keeps Sora 2 with its end of service as catalog data', () => {
    expect(spec('sora-2').lifecycle).toMatchObject({ state: 'deprecated', sunsetDate: '2026-09-24', replacement: 'veo-3.1-fast' });
    expect(spec('sora-2').routes.map((r) => [r.provider, r.priority])).toEqual([
      ['fal', 1],
      ['kie', 2],
    ]);
  });
});

describe('generation schema per model', () => {
  it('fills in the model defaults', () => {
    const r = parse('kling-3.0', { prompt: '  a fox in the snow  ' });
    expect(r.success && r.data).toEqual({
      model: 'kling-3.0',
      mode: 'text-to-video',
      prompt: 'a fox in the snow',
      durationSeconds: 5,
      resolution: '1080p',
      aspectRatio: '16:9',
      audio: true,
      references: [],
    });
  });

  it('names the field and the allowed values for a duration the model does not make', () => {
    const [issue, ...rest] = issues('sora-2', { prompt: 'x', duration: 7 });
    expect(rest).toEqual([]);
    expect(issue).toEqual({ field: 'duration', message: 'Sora 2 makes videos of 4 s, 8 s or 12 s (got 7 s).', allowed: [4, 8, 12] });
  });

  it('refuses a fourth reference audio on Seedance, naming the limit', () => {
    const refs = [...img(1), ...Array.from({ length: 4 }, (_, i) => ({ kind: 'audio' as const, mediaId: `a${i}` }))];
    const found = issues('seedance-2.0', { prompt: 'dance to @audio1', references: refs });
    expect(found).toContainEqual({
      field: 'references',
      message: 'Seedance 2.0 accepts at most 3 audio references (got 4).',
      allowed: ['up to 3 audio'],
    });
  });

  it('reports every bad field at once', () => {
    const found = issues('veo-3.1', { prompt: '', resolution: '4k', aspectRatio: '1:1', audio: false });
    expect(found.map((f) => f.field).sort()).toEqual(['aspectRatio', 'audio', 'prompt', 'resolution']);
    expect(found.find((f) => f.field === 'resolution')).toMatchObject({ allowed: ['720p'] });
  });

  it('rejects unknown fields and wrong types with the field name', () => {
    expect(issues('kling-3.0', { prompt: 'x', durations: 5 })).toEqual([{ field: 'body', message: 'Unknown field: durations.' }]);
    expect(issues('kling-3.0', { prompt: 'x', duration: '5' })).toEqual([{ field: 'duration', message: 'duration must be a number of seconds' }]);
  });

  it('infers the mode from the references and assigns roles', () => {
    const one = parse('veo-3.1', { prompt: 'x', references: img(1) });
    expect(one.success && one.data.mode).toBe('image-to-video');
    expect(one.success && one.data.references[0]!.role).toBe('first_frame');
    const two = parse('veo-3.1', { prompt: 'x', references: img(2) });
    expect(two.success && two.data.mode).toBe('first-last-frame');
    expect(two.success && two.data.references.map((r) => r.role)).toEqual(['first_frame', 'last_frame']);
    const many = parse('seedance-2.0', { prompt: '@image1 meets @image2 and @image3', references: img(3) });
    expect(many.success && many.data.mode).toBe('reference');
  });

  it('checks that @mentions name a given reference', () => {
    const found = issues('seedance-2.0', {
      prompt: '@image1 dances with @image3 to @audio1',
      references: [...img(2), { kind: 'audio', mediaId: 'a' }],
      mode: 'reference',
    });
    expect(found).toEqual([{ field: 'prompt', message: 'The prompt mentions @image3, but only 2 image references were given.' }]);
    expect(mentionsIn('@video2 then @audio1')).toEqual([
      { kind: 'video', index: 2, text: '@video2' },
      { kind: 'audio', index: 1, text: '@audio1' },
    ]);
  });

  it('enforces per-kind type, size and length limits of references', () => {
    const found = issues('seedance-2.0', {
      prompt: '@video1',
      mode: 'reference',
      references: [{ kind: 'video', mediaId: 'v', mimeType: 'video/x-msvideo', sizeBytes: 80_000_000, durationSeconds: 30 }],
    });
    expect(found.map((f) => f.field)).toEqual(['references.0.mimeType', 'references.0.sizeBytes', 'references.0.durationSeconds']);
    expect(found[2]!.message).toBe('Seedance 2.0 accepts video clips up to 15 s (this one is 30.0 s).');
    expect(issues('veo-3.1', { prompt: 'x', references: [{ kind: 'audio', mediaId: 'a' }], mode: 'image-to-video' })).toContainEqual({
      field: 'references.0.kind',
      message: 'Veo 3.1 accepts image references, not audio.',
      allowed: ['image'],
    });
  });

  it('refuses modes, references and options a model does not have', () => {
    expect(issues('sora-2', { prompt: 'x', mode: 'reference', references: img(1) })).toEqual([
      { field: 'mode', message: 'Sora 2 supports text-to-video or image-to-video (got reference).', allowed: ['text-to-video', 'image-to-video'] },
    ]);
    expect(issues('local-preview', { prompt: 'x', mode: 'text-to-video', references: img(1) })[0]!.field).toBe('references');
    expect(issues('sora-2', { prompt: 'x', seed: 3 })).toEqual([{ field: 'seed', message: 'Sora 2 does not take a seed.' }]);
    expect(issues('kling-3.0', { prompt: 'x', references: [{ kind: 'image', mediaId: 'a', url: 'https://e.com/a.png' }] })[0]).toMatchObject({
      field: 'references.0',
    });
  });
});

describe('price rule', () => {
  it('charges seconds x resolution rate plus extras, rounded up', () => {
    const kling = spec('kling-3.0');
    expect(quotePrice(kling.price, kling, { durationSeconds: 10, resolution: '1080p', audio: true, referenceCount: 0 })).toEqual({
      credits: 180,
      breakdown: [
        { label: 'video', credits: 140 },
        { label: 'audio', credits: 40 },
      ],
    });
    const seedance = spec('seedance-2.0');
    expect(quotePrice(seedance.price, seedance, { durationSeconds: 5, resolution: '480p', audio: true, referenceCount: 3 }).credits).toBe(36);
    // audio is part of the price of models that always make it
    const veo = spec('veo-3.1');
    expect(quotePrice(veo.price, veo, { durationSeconds: 8, resolution: '720p', audio: true, referenceCount: 0 }).credits).toBe(240);
  });

  it('applies the minimum and refuses a resolution without a rate', () => {
    const local = spec('local-preview');
    expect(quotePrice({ perSecond: { '720p': 1 }, minimum: 5 }, local, { durationSeconds: 2, resolution: '720p', audio: false, referenceCount: 0 })).toEqual({
      credits: 5,
      breakdown: [
        { label: 'video', credits: 2 },
        { label: 'minimum', credits: 3 },
      ],
    });
    // fractional rates round up to whole credits
    expect(quotePrice({ perSecond: { '720p': 0.3 } }, local, { durationSeconds: 2, resolution: '720p', audio: false, referenceCount: 0 }).credits).toBe(1);
    expect(() => quotePrice(local.price, local, { durationSeconds: 2, resolution: '4k', audio: false, referenceCount: 0 })).toThrow(/4k/);
  });
});
