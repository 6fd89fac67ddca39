/**
 * The video models this platform offers, as shown on public pages (landing page, docs).
 * Display texts live in the web app's i18n catalogue under `summaryKey`, so every language
 * can describe them; `id` is the stable identifier also used by the API.
 */
export interface PublicModel {
  /** stable model id, as accepted by the API */
  id: PublicModelId;
  /** product name, never translated */
  name: string;
  /** company that makes the model, never translated */
  vendor: string;
  /** i18n key of a one-line description (no dots inside a segment: i18next splits keys on them) */
  summaryKey: string;
}

export const publicModelIds = ['veo-3.1', 'kling-3.0', 'seedance-2.0', 'sora-2'] as const;
export type PublicModelId = (typeof publicModelIds)[number];

export const publicModels: readonly PublicModel[] = [
  { id: 'veo-3.1', name: 'Veo 3.1', vendor: 'Google', summaryKey: 'models.veo.summary' },
  { id: 'kling-3.0', name: 'Kling 3.0', vendor: 'Kuaishou', summaryKey: 'models.kling.summary' },
  { id: 'seedance-2.0', name: 'Seedance 2.0', vendor: 'ByteDance', summaryKey: 'models.seedance.summary' },
  { id: 'sora-2', name: 'Sora 2', vendor: 'OpenAI', summaryKey: 'models.sora.summary' },
];
