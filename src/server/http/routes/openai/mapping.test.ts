import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../../../domain/catalog/catalog-data';
import {
  mapSeconds,
  mapSize,
  MappingError,
  modelIdOf,
  openAIError,
  paramOf,
  parseSizeName,
  sizeOf,
  sizesFor,
  toGenerationInput,
  toRemixInput,
  toVideo,
  videoStatus,
  type GenerationShape,
} from './mapping';

const model = (id: string) => builtinCatalog.find((m) => m.id === id)!;

function thrown(fn: () => unknown): MappingError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MappingError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('OpenAI video mapping', () => {
  it('defaults the model to sora-2 and reads snapshot names as the model', () => {
    expect(modelIdOf(undefined)).toBe('sora-2');
    expect(modelIdOf('')).toBe('sora-2');
    expect(modelIdOf('sora-2-pro-2025-10-06')).toBe('sora-2-pro');
    expect(modelIdOf('sora-2-2025-12-08')).toBe('sora-2');
    expect(modelIdOf('veo-3.1')).toBe('veo-3.1');
  });

  it('maps statuses onto queued, in_progress, completed and failed', () => {
    expect(['queued', 'submitting', 'running', 'finalizing', 'succeeded', 'failed', 'canceled', 'blocked'].map((s) => videoStatus(s as never))).toEqual([
      'queued',
      'queued',
      'in_progress',
      'in_progress',
      'completed',
      'failed',
      'failed',
      'failed',
    ]);
  });

  it("maps seconds (string or number) to one of the model's durations, absent to the default", () => {
    expect(mapSeconds(model('sora-2'), '8')).toBe(8);
    expect(mapSeconds(model('sora-2'), 12)).toBe(12);
    expect(mapSeconds(model('sora-2'), undefined)).toBeUndefined();
    const err = thrown(() => mapSeconds(model('sora-2'), '5'));
    expect(err.param).toBe('seconds');
    expect(err.allowed).toEqual(['4', '8', '12']);
    expect(err.message).toContain('4, 8, 12');
    expect(thrown(() => mapSeconds(model('veo-3.1'), '4')).allowed).toEqual(['8']);
    expect(thrown(() => mapSeconds(model('sora-2'), '8.5')).param).toBe('seconds');
    expect(thrown(() => mapSeconds(model('sora-2'), true)).param).toBe('seconds');
  });

  it('maps size to resolution and aspect ratio, with 1080p only where the model has it', () => {
    expect(mapSize(model('sora-2'), '1280x720')).toEqual({ resolution: '720p', aspectRatio: '16:9' });
    expect(mapSize(model('sora-2'), '720x1280')).toEqual({ resolution: '720p', aspectRatio: '9:16' });
    expect(mapSize(model('sora-2-pro'), '1792x1024')).toEqual({ resolution: '1080p', aspectRatio: '16:9' });
    expect(mapSize(model('sora-2-pro'), '1024x1792')).toEqual({ resolution: '1080p', aspectRatio: '9:16' });
    expect(mapSize(model('kling-3.0'), '1920x1080')).toEqual({ resolution: '1080p', aspectRatio: '16:9' });
    expect(mapSize(model('kling-3.0'), '1792x1024')).toEqual({ resolution: '1080p', aspectRatio: '16:9' });
    expect(mapSize(model('local-preview'), '480x480')).toEqual({ resolution: '480p', aspectRatio: '1:1' });
    expect(mapSize(model('veo-3.1'), undefined)).toBeUndefined();
    const err = thrown(() => mapSize(model('sora-2'), '1792x1024'));
    expect(err.param).toBe('size');
    expect(err.allowed).toEqual(['1280x720', '720x1280']);
    expect(thrown(() => mapSize(model('veo-3.1'), 'big')).message).toContain('1280x720, 720x1280');
    expect(sizesFor(model('sora-2-pro'))).toEqual(['1280x720', '720x1280', '1792x1024', '1024x1792']);
  });

  it('names sizes as OpenAI does for Sora and by pixels for the other models', () => {
    expect(sizeOf('sora-2-pro', '1080p', '16:9')).toBe('1792x1024');
    expect(sizeOf('kling-3.0', '1080p', '16:9')).toBe('1920x1080');
    expect(sizeOf('seedance-2.0', '480p', '21:9')).toBe('1120x480');
    expect(sizeOf('x', '720p', '2:1')).toBe('1440x720');
    expect(parseSizeName('1280 x 720')).toEqual({ resolution: '720p', aspectRatio: '16:9' });
    expect(parseSizeName('100x100')).toBeNull();
  });

  it('builds a generation body, with an input_reference as an image-to-video first frame', () => {
    expect(toGenerationInput(model('sora-2'), { prompt: 'boat', seconds: '4', size: '720x1280' })).toEqual({
      model: 'sora-2',
      prompt: 'boat',
      duration: 4,
      resolution: '720p',
      aspectRatio: '9:16',
    });
    expect(toGenerationInput(model('veo-3.1'), { prompt: 'boat' })).toEqual({ model: 'veo-3.1', prompt: 'boat' });
    expect(toGenerationInput(model('local-preview'), { prompt: 'boat', seconds: 2 }, { mediaId: 'm1' })).toEqual({
      model: 'local-preview',
      prompt: 'boat',
      duration: 2,
      mode: 'image-to-video',
      references: [{ kind: 'image', mediaId: 'm1', role: 'first_frame' }],
    });
  });

  it("a remix keeps the source's model and options with the new prompt", () => {
    const body = toRemixInput(
      {
        modelId: 'kling-3.0',
        mode: 'image-to-video',
        durationSeconds: 5,
        resolution: '1080p',
        aspectRatio: '9:16',
        audio: true,
        negativePrompt: null,
        seed: 7,
        references: [{ kind: 'image', role: 'first_frame', mediaId: 'm1', mimeType: 'image/png' } as never],
      },
      'at night',
    );
    expect(body).toEqual({
      model: 'kling-3.0',
      prompt: 'at night',
      mode: 'image-to-video',
      duration: 5,
      resolution: '1080p',
      aspectRatio: '9:16',
      audio: true,
      seed: 7,
      references: [{ kind: 'image', role: 'first_frame', mediaId: 'm1' }],
    });
  });

  it("turns a generation into OpenAI's Video object", () => {
    const g: GenerationShape = {
      id: 'g1',
      modelId: 'sora-2-pro',
      prompt: 'boat',
      status: 'running',
      progress: 41.6,
      durationSeconds: 12,
      resolution: '1080p',
      aspectRatio: '9:16',
      failureCode: null,
      failureText: null,
      remixedFrom: null,
      createdAt: new Date('2026-01-01T00:00:00.900Z'),
      finishedAt: null,
    };
    expect(toVideo(g)).toEqual({
      id: 'g1',
      object: 'video',
      model: 'sora-2-pro',
      status: 'in_progress',
      progress: 42,
      created_at: 1767225600,
      completed_at: null,
      expires_at: null,
      error: null,
      prompt: 'boat',
      seconds: '12',
      size: '1024x1792',
      remixed_from_video_id: null,
    });
    const done = toVideo({ ...g, status: 'succeeded', progress: 90, finishedAt: new Date('2026-01-01T00:01:00Z'), remixedFrom: 'g0' });
    expect(done).toMatchObject({ status: 'completed', progress: 100, completed_at: 1767225660, remixed_from_video_id: 'g0', error: null });
    const failed = toVideo({ ...g, status: 'failed', failureCode: 'policy', failureText: 'Refused.', finishedAt: new Date('2026-01-01T00:01:00Z') });
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'policy', message: 'Refused.' }, completed_at: 1767225660 });
    expect(toVideo({ ...g, status: 'canceled' }).error).toEqual({ code: 'canceled', message: 'The video was canceled.' });
  });

  it("writes errors in OpenAI's shape and names OpenAI's parameters", () => {
    expect(openAIError(400, 'bad', { param: 'seconds', code: 'invalid_value' })).toEqual({
      error: { message: 'bad', type: 'invalid_request_error', param: 'seconds', code: 'invalid_value' },
    });
    expect(openAIError(402, 'poor', { code: 'insufficient_quota' }).error.type).toBe('insufficient_quota');
    expect(openAIError(404, 'gone').error).toEqual({ message: 'gone', type: 'invalid_request_error', param: null, code: null });
    expect(openAIError(429, 'slow').error.type).toBe('rate_limit_error');
    expect(openAIError(503, 'down').error.type).toBe('server_error');
    expect(paramOf('duration')).toBe('seconds');
    expect(paramOf('aspectRatio')).toBe('size');
    expect(paramOf('references.0.mediaId')).toBe('input_reference');
    expect(paramOf(undefined)).toBeNull();
  });
});
