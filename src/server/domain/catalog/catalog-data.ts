import type { ProviderId } from '../../adapters/providers/provider';
import type { ModelSpec, ReferenceLimit } from '../../../shared/catalog/spec';
import type { GenerationMode } from '../../../shared/catalog/vocabulary';

/**
 * The built-in catalog: data, not code paths. Operators change prices, enable/disable models,
 * set lifecycle states and reorder routes at run time (table `model_settings`, CLI `models:set`);
 * those overrides are merged over this data by the catalog service.
 */

export interface ModelRoute {
  provider: ProviderId;
  /** upstream model id per mode; a route serves only the modes listed here */
  upstreamModels: Partial<Record<GenerationMode, string>>;
  /** lower runs first */
  priority: number;
}

export interface CatalogEntry extends ModelSpec {
  routes: ModelRoute[];
}

const MB = 1_000_000;
const images = (max: number, maxBytes = 10 * MB): ReferenceLimit => ({ max, mimeTypes: ['image/jpeg', 'image/png', 'image/webp'], maxBytes });

const sharedSora = {
  vendor: 'OpenAI',
  summaryKey: 'models.sora.summary',
  modes: ['text-to-video', 'image-to-video'],
  durations: [4, 8, 12],
  defaultDuration: 8,
  aspectRatios: ['16:9', '9:16'],
  defaultAspectRatio: '16:9',
  audio: 'always',
  defaultAudio: true,
  promptMaxLength: 5000,
  negativePrompt: false,
  seed: false,
  references: { image: images(1) },
  maxReferences: 1,
  deadlineSeconds: 30 * 60,
} satisfies Partial<ModelSpec>;

/**
 * Sora 2 goes through FAL first, as the privacy policy (4.1) names it; KIE is the fallback route.
 * OpenAI ended the Sora 2 API on 2026-09-24 (the video generation guide). Resellers may still
 * serve it for a while, so the models stay, marked deprecated with a replacement; an operator
 * retires them with `models:set sora-2 --lifecycle retired` — data, not code.
 */
const soraSunset = { state: 'deprecated', sunsetDate: '2026-09-24', note: 'OpenAI ended the Sora 2 API on 2026-09-24.' } as const;

export const builtinCatalog: readonly CatalogEntry[] = [
  {
    id: 'veo-3.1',
    name: 'Veo 3.1',
    vendor: 'Google',
    summaryKey: 'models.veo.summary',
    modes: ['text-to-video', 'image-to-video', 'first-last-frame'],
    durations: [8],
    defaultDuration: 8,
    // KIE's generate call renders 720p; its separate 1080p upgrade call is not wired up yet
    resolutions: ['720p'],
    defaultResolution: '720p',
    aspectRatios: ['16:9', '9:16'],
    defaultAspectRatio: '16:9',
    audio: 'always',
    defaultAudio: true,
    promptMaxLength: 4000,
    negativePrompt: false,
    seed: true,
    references: { image: images(2) },
    maxReferences: 2,
    price: { perSecond: { '720p': 30 } },
    lifecycle: { state: 'active' },
    deadlineSeconds: 20 * 60,
    routes: [{ provider: 'kie', priority: 1, upstreamModels: { 'text-to-video': 'veo3', 'image-to-video': 'veo3', 'first-last-frame': 'veo3' } }],
  },
  {
    id: 'veo-3.1-fast',
    name: 'Veo 3.1 Fast',
    vendor: 'Google',
    summaryKey: 'models.veoFast.summary',
    modes: ['text-to-video', 'image-to-video', 'first-last-frame', 'reference'],
    durations: [8],
    defaultDuration: 8,
    resolutions: ['720p'],
    defaultResolution: '720p',
    aspectRatios: ['16:9', '9:16'],
    defaultAspectRatio: '16:9',
    audio: 'always',
    defaultAudio: true,
    promptMaxLength: 4000,
    negativePrompt: false,
    seed: true,
    references: { image: images(3) },
    maxReferences: 3,
    price: { perSecond: { '720p': 12 } },
    lifecycle: { state: 'active' },
    deadlineSeconds: 15 * 60,
    routes: [
      {
        provider: 'kie',
        priority: 1,
        upstreamModels: { 'text-to-video': 'veo3_fast', 'image-to-video': 'veo3_fast', 'first-last-frame': 'veo3_fast', reference: 'veo3_fast' },
      },
    ],
  },
  {
    id: 'kling-3.0',
    name: 'Kling 3.0',
    vendor: 'Kuaishou',
    summaryKey: 'models.kling.summary',
    modes: ['text-to-video', 'image-to-video', 'first-last-frame'],
    durations: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    defaultDuration: 5,
    resolutions: ['720p', '1080p'],
    defaultResolution: '1080p',
    aspectRatios: ['16:9', '9:16', '1:1'],
    defaultAspectRatio: '16:9',
    audio: 'optional',
    defaultAudio: true,
    promptMaxLength: 2500,
    negativePrompt: true,
    seed: false,
    references: { image: images(2) },
    maxReferences: 2,
    price: { perSecond: { '720p': 10, '1080p': 14 }, audioPerSecond: 4 },
    lifecycle: { state: 'active' },
    deadlineSeconds: 30 * 60,
    routes: [
      {
        provider: 'kie',
        priority: 1,
        upstreamModels: {
          'text-to-video': 'kling-3.0/text-to-video',
          'image-to-video': 'kling-3.0/image-to-video',
          'first-last-frame': 'kling-3.0/image-to-video',
        },
      },
    ],
  },
  {
    id: 'seedance-2.0',
    name: 'Seedance 2.0',
    vendor: 'ByteDance',
    summaryKey: 'models.seedance.summary',
    modes: ['text-to-video', 'image-to-video', 'first-last-frame', 'reference'],
    durations: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    defaultDuration: 5,
    resolutions: ['480p', '720p', '1080p'],
    defaultResolution: '720p',
    aspectRatios: ['16:9', '9:16', '1:1', '4:3', '3:4', '21:9'],
    defaultAspectRatio: '16:9',
    audio: 'optional',
    defaultAudio: true,
    promptMaxLength: 3000,
    negativePrompt: false,
    seed: true,
    references: {
      image: images(9, 30 * MB),
      video: { max: 3, mimeTypes: ['video/mp4', 'video/quicktime', 'video/webm'], maxBytes: 50 * MB, minSeconds: 2, maxSeconds: 15 },
      audio: { max: 3, mimeTypes: ['audio/mpeg', 'audio/wav', 'audio/x-wav', 'audio/mp4', 'audio/aac'], maxBytes: 15 * MB, maxSeconds: 15 },
    },
    maxReferences: 12,
    price: { perSecond: { '480p': 6, '720p': 12, '1080p': 24 }, perReference: 2 },
    lifecycle: { state: 'active' },
    deadlineSeconds: 30 * 60,
    routes: [
      {
        provider: 'kie',
        priority: 1,
        upstreamModels: {
          'text-to-video': 'bytedance/seedance-2',
          'image-to-video': 'bytedance/seedance-2',
          'first-last-frame': 'bytedance/seedance-2',
          reference: 'bytedance/seedance-2',
        },
      },
    ],
  },
  {
    ...sharedSora,
    id: 'sora-2',
    name: 'Sora 2',
    resolutions: ['720p'],
    defaultResolution: '720p',
    price: { perSecond: { '720p': 10 } },
    lifecycle: { ...soraSunset, replacement: 'veo-3.1-fast' },
    routes: [
      { provider: 'fal', priority: 1, upstreamModels: { 'text-to-video': 'fal-ai/sora-2/text-to-video', 'image-to-video': 'fal-ai/sora-2/image-to-video' } },
      { provider: 'kie', priority: 2, upstreamModels: { 'text-to-video': 'sora-2-text-to-video', 'image-to-video': 'sora-2-image-to-video' } },
    ],
  },
  {
    ...sharedSora,
    id: 'sora-2-pro',
    name: 'Sora 2 Pro',
    resolutions: ['720p', '1080p'],
    defaultResolution: '1080p',
    price: { perSecond: { '720p': 30, '1080p': 50 } },
    lifecycle: { ...soraSunset, replacement: 'veo-3.1' },
    routes: [
      {
        provider: 'fal',
        priority: 1,
        upstreamModels: { 'text-to-video': 'fal-ai/sora-2/text-to-video/pro', 'image-to-video': 'fal-ai/sora-2/image-to-video/pro' },
      },
      { provider: 'kie', priority: 2, upstreamModels: { 'text-to-video': 'sora-2-pro-text-to-video', 'image-to-video': 'sora-2-pro-image-to-video' } },
    ],
  },
  {
    id: 'local-preview',
    name: 'Local preview',
    vendor: 'Save Sora',
    summaryKey: 'models.local.summary',
    modes: ['text-to-video', 'image-to-video', 'first-last-frame'],
    durations: [2, 4, 6, 8, 10],
    defaultDuration: 4,
    resolutions: ['480p', '720p', '1080p'],
    defaultResolution: '720p',
    aspectRatios: ['16:9', '9:16', '1:1'],
    defaultAspectRatio: '16:9',
    audio: 'optional',
    defaultAudio: false,
    promptMaxLength: 1000,
    negativePrompt: false,
    seed: false,
    references: { image: images(2) },
    maxReferences: 2,
    price: { perSecond: { '480p': 1, '720p': 1, '1080p': 2 }, minimum: 1 },
    lifecycle: { state: 'active' },
    deadlineSeconds: 10 * 60,
    routes: [{ provider: 'local', priority: 1, upstreamModels: { 'text-to-video': 'ffmpeg', 'image-to-video': 'ffmpeg', 'first-last-frame': 'ffmpeg' } }],
  },
];
