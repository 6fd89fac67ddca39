import { systemClock, type Clock } from '../../adapters/clock';
import type { ProviderId } from '../../adapters/providers/provider';
import type { Database } from '../../db/client';
import { AppError } from '../../errors';
import { fieldIssues, generationSchemaFor, type FieldIssue, type GenerationRequest } from '../../../shared/catalog/request-schema';
import { quotePrice, type ModelLifecycle, type PriceQuote, type PriceRule } from '../../../shared/catalog/spec';
import { lifecycleStates } from '../../../shared/catalog/vocabulary';
import { builtinCatalog, type CatalogEntry, type ModelRoute } from './catalog-data';
import { deleteModelSettings, listModelSettings, listRouteHealth, upsertModelSettings, type ModelSettingsPatch } from './catalog.repo';

/**
 * The catalog as it is right now: built-in data (catalog-data.ts) with the operators' overrides
 * (model_settings) merged in, and each model's availability worked out from its routes: a route
 * is available when its provider is configured (has its key) and the operator has not removed it.
 */

export interface ProviderStatus {
  available: boolean;
  reason?: string;
}

export interface EffectiveRoute extends ModelRoute {
  available: boolean;
  unavailableReason?: string;
  /** skipped until then after repeated failures */
  unhealthyUntil?: Date;
}

export type UnavailableReason = 'disabled' | 'retired' | 'no_provider';

export interface EffectiveModel extends Omit<CatalogEntry, 'routes'> {
  enabled: boolean;
  /** in the order they are tried */
  routes: EffectiveRoute[];
  available: boolean;
  unavailableReason?: UnavailableReason;
  /** operators' overrides in force, for the CLI/admin view */
  overridden: { price: boolean; lifecycle: boolean; enabled: boolean; routes: boolean };
  /** the operators' place for it in lists (model_settings.position); null: after the placed ones, in built-in order */
  position: number | null;
}

export interface ParsedGeneration {
  model: EffectiveModel;
  request: GenerationRequest;
  quote: PriceQuote;
}

export interface CatalogService {
  list(): Promise<EffectiveModel[]>;
  get(id: string): Promise<EffectiveModel | undefined>;
  /**
   * Validate a request body against its model's schema and quote it. Throws AppError 400
   * `invalid_request` with one FieldIssue per bad field; with `requireAvailable`, also refuses
   * models that are disabled, retired or have no working route.
   */
  parseRequest(body: unknown, opts?: { requireAvailable?: boolean }): Promise<ParsedGeneration>;
  /** Operators' run-time changes (validated; AppError 400 on nonsense). */
  update(modelId: string, patch: ModelSettingsPatch, by: string): Promise<EffectiveModel>;
  reset(modelId: string): Promise<EffectiveModel>;
}

export interface CatalogDeps {
  database: Database;
  /** which providers are configured */
  providerStatus: (id: ProviderId) => ProviderStatus;
  entries?: readonly CatalogEntry[];
  /** whether a resting route's rest is over, and the time of operators' changes (default: the system clock) */
  clock?: Pick<Clock, 'now'>;
}

export const invalidRequest = (fields: FieldIssue[]) => new AppError('invalid_request', fields.map((f) => f.message).join(' '), 400, { fields });

export function createCatalogService({ database, providerStatus, entries = builtinCatalog, clock = systemClock }: CatalogDeps): CatalogService {
  const byId = new Map(entries.map((e) => [e.id, e]));

  async function list(): Promise<EffectiveModel[]> {
    const [settings, health] = await Promise.all([listModelSettings(database), listRouteHealth(database)]);
    const settingsById = new Map(settings.map((s) => [s.modelId, s]));
    const at = clock.now();
    return byPosition(entries, settingsById).map((entry) => {
      const s = settingsById.get(entry.id);
      const enabled = s?.enabled ?? true;
      const lifecycle: ModelLifecycle = s?.lifecycle ?? entry.lifecycle;
      const price: PriceRule = s?.price ?? entry.price;
      const ordered = s?.routeOrder
        ? s.routeOrder.flatMap((p) => entry.routes.filter((r) => r.provider === p))
        : [...entry.routes].sort((a, b) => a.priority - b.priority);
      const routes: EffectiveRoute[] = ordered.map((r, i) => {
        const status = providerStatus(r.provider);
        const h = health.find((x) => x.modelId === entry.id && x.provider === r.provider);
        const unhealthyUntil = h?.unhealthyUntil && h.unhealthyUntil > at ? h.unhealthyUntil : undefined;
        return {
          ...r,
          priority: i + 1,
          available: status.available,
          ...(status.available ? {} : { unavailableReason: status.reason ?? `${r.provider} is not configured` }),
          ...(unhealthyUntil ? { unhealthyUntil } : {}),
        };
      });
      const unavailableReason: UnavailableReason | undefined = !enabled
        ? 'disabled'
        : lifecycle.state === 'retired'
          ? 'retired'
          : routes.some((r) => r.available)
            ? undefined
            : 'no_provider';
      return {
        ...entry,
        price,
        lifecycle,
        enabled,
        routes,
        available: unavailableReason === undefined,
        ...(unavailableReason ? { unavailableReason } : {}),
        overridden: { price: Boolean(s?.price), lifecycle: Boolean(s?.lifecycle), enabled: s?.enabled != null, routes: Boolean(s?.routeOrder) },
        position: s?.position ?? null,
      };
    });
  }

  async function get(id: string) {
    return (await list()).find((m) => m.id === id);
  }

  /** a model of the built-in catalog (every entry is listed) */
  async function getKnown(id: string): Promise<EffectiveModel> {
    const model = await get(id);
    if (!model) throw new Error(`model ${id} is missing from the catalog list`);
    return model;
  }

  async function parseRequest(body: unknown, opts: { requireAvailable?: boolean } = {}): Promise<ParsedGeneration> {
    const modelId = body && typeof body === 'object' ? (body as { model?: unknown }).model : undefined;
    const models = await list();
    const model = typeof modelId === 'string' ? models.find((m) => m.id === modelId) : undefined;
    if (!model) {
      const ids = models.filter((m) => m.enabled).map((m) => m.id);
      throw invalidRequest([
        {
          field: 'model',
          message:
            modelId === undefined
              ? `model is required; choose one of ${ids.join(', ')}.`
              : `Unknown model ${JSON.stringify(modelId)}; choose one of ${ids.join(', ')}.`,
          allowed: ids,
        },
      ]);
    }
    const parsed = generationSchemaFor(model).safeParse(body);
    if (!parsed.success) throw invalidRequest(fieldIssues(parsed.error));
    if (opts.requireAvailable) assertUsable(model);
    const request = parsed.data;
    const quote = quotePrice(model.price, model, {
      durationSeconds: request.durationSeconds,
      resolution: request.resolution,
      audio: request.audio,
      referenceCount: request.references.length,
    });
    return { model, request, quote };
  }

  function assertUsable(model: EffectiveModel): void {
    if (model.available) return;
    const replacement = model.lifecycle.replacement && byId.get(model.lifecycle.replacement);
    const instead = replacement ? ` Try ${replacement.name} (${replacement.id}) instead.` : '';
    if (model.unavailableReason === 'retired') {
      throw new AppError('model_retired', `${model.name} has been retired.${instead}`, 410);
    }
    if (model.unavailableReason === 'disabled') {
      throw new AppError('model_unavailable', `${model.name} is turned off on this server.${instead}`, 503);
    }
    throw new AppError('model_unavailable', `${model.name} is not available on this server right now (no provider is configured for it).${instead}`, 503);
  }

  async function update(modelId: string, patch: ModelSettingsPatch, by: string): Promise<EffectiveModel> {
    checkModelPatch(entries, modelId, patch);
    await upsertModelSettings(database, modelId, patch, by, clock.now());
    return getKnown(modelId);
  }

  async function reset(modelId: string): Promise<EffectiveModel> {
    if (!byId.has(modelId)) throw new AppError('not_found', `Unknown model ${modelId}.`, 404);
    await deleteModelSettings(database, modelId);
    return getKnown(modelId);
  }

  return { list, get, parseRequest, update, reset };
}

/** The catalog in the operators' order: placed models by position, then the others in built-in order. */
export function byPosition(entries: readonly CatalogEntry[], settings: ReadonlyMap<string, { position: number | null }>): CatalogEntry[] {
  const rank = (e: CatalogEntry) => settings.get(e.id)?.position ?? Number.POSITIVE_INFINITY;
  return entries
    .map((e, i) => ({ e, i }))
    .sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i)
    .map((x) => x.e);
}

/**
 * The rules of an operator's change to a model (the console and `models:set` alike): the model
 * exists (else 404), a price has a rate for every resolution, a lifecycle names a known state and
 * another model as replacement, a route order names the model's own providers once each (else 400
 * naming every problem). Returns the built-in entry.
 */
export function checkModelPatch(entries: readonly CatalogEntry[], modelId: string, patch: ModelSettingsPatch): CatalogEntry {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const entry = byId.get(modelId);
  if (!entry) throw new AppError('not_found', `Unknown model ${modelId}; known: ${[...byId.keys()].join(', ')}.`, 404);
  const problems: string[] = [];
  if (patch.price) {
    for (const r of entry.resolutions) {
      const rate = patch.price.perSecond[r];
      if (typeof rate !== 'number' || !(rate >= 0)) problems.push(`price needs a per-second rate for ${r}`);
    }
    for (const k of ['audioPerSecond', 'perReference', 'minimum'] as const) {
      const v = patch.price[k];
      if (v !== undefined && !(typeof v === 'number' && v >= 0)) problems.push(`${k} must be a number >= 0`);
    }
  }
  if (patch.lifecycle) {
    if (!lifecycleStates.includes(patch.lifecycle.state)) problems.push(`lifecycle must be one of ${lifecycleStates.join(', ')}`);
    const rep = patch.lifecycle.replacement;
    if (rep !== undefined && (!byId.has(rep) || rep === modelId)) problems.push(`replacement must be another model id (got ${rep})`);
    if (patch.lifecycle.sunsetDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(patch.lifecycle.sunsetDate)) {
      problems.push('sunset date must be YYYY-MM-DD');
    }
  }
  if (patch.routeOrder) {
    const known = entry.routes.map((r) => r.provider as string);
    const unknown = patch.routeOrder.filter((p) => !known.includes(p));
    if (unknown.length) problems.push(`${modelId} has no route through ${unknown.join(', ')} (its routes: ${known.join(', ')})`);
    if (new Set(patch.routeOrder).size !== patch.routeOrder.length) problems.push('a provider is listed twice in the route order');
  }
  if (problems.length) throw new AppError('invalid_request', `Cannot change ${modelId}: ${problems.join('; ')}.`, 400);
  return entry;
}
