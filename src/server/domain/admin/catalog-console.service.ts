import type { Clock } from '../../adapters/clock';
import type { Database } from '../../db/client';
import type { PlanProviderRefs } from '../../db/schema';
import { AppError } from '../../errors';
import type { AdminCatalog, AdminModelView, AdminPlanView } from '../../../shared/api/admin-catalog';
import { listPlans, savePlan as writePlan, type PlanRow, type PlanSettings } from '../billing/billing.repo';
import { builtinCatalog, type CatalogEntry } from '../catalog/catalog-data';
import type { ModelSettingsPatch, ModelSettingsRow } from '../catalog/catalog.repo';
import { byPosition, checkModelPatch, type CatalogService, type EffectiveModel } from '../catalog/catalog.service';
import type { AuditActor, AuditService } from './audit.service';
import { lockAllModelSettings, lockModelSettings, lockPlan, writeModelSettings } from './catalog-console.repo';

/**
 * Models and plans for operators (issue 18): the console's catalog page and the CLI's `models:set`,
 * `models:reset` and `plans:set` call these same functions, so one set of rules applies and every
 * change is audited (who, before, after) in the transaction that makes it.
 */

/** What an operator changes on a plan or credit pack; `prices` replaces the whole price list. */
export interface PlanChanges {
  name?: string | undefined;
  kind?: 'pack' | 'subscription' | undefined;
  credits?: number | undefined;
  prices?: Record<string, number> | undefined;
  interval?: 'month' | 'year' | undefined;
  rollover?: boolean | undefined;
  active?: boolean | undefined;
  highlighted?: boolean | undefined;
  sort?: number | undefined;
  /** null: the server's default rate */
  apiRequestsPerMinute?: number | null | undefined;
  /** null or '' removes a provider id */
  providerRefs?: { stripePriceId?: string | null | undefined; creemProductId?: string | null | undefined } | undefined;
}

export interface CatalogConsoleService {
  /** every model (built-in data with the operators' changes, and its availability) and every plan and credit pack */
  overview(): Promise<AdminCatalog>;
  /** enable/disable, price, lifecycle (retire with a sunset date and a replacement), route order; null puts a setting back */
  updateModel(actor: AuditActor, modelId: string, patch: ModelSettingsPatch, reason?: string | null): Promise<AdminModelView>;
  /** drops the operators' changes to a model (its place in the lists stays) */
  resetModel(actor: AuditActor, modelId: string, reason?: string | null): Promise<AdminModelView>;
  /** the order of the model lists (GET /api/models, the Studio): these first, the others after them in built-in order */
  reorderModels(actor: AuditActor, ids: readonly string[], reason?: string | null): Promise<AdminModelView[]>;
  /** changes a plan; with `create`, a plan that does not exist yet is created (else 404) */
  savePlan(actor: AuditActor, id: string, changes: PlanChanges, opts?: { create?: boolean; reason?: string | null }): Promise<AdminPlanView>;
}

export interface CatalogConsoleDeps {
  database: Database;
  catalog: Pick<CatalogService, 'list'>;
  audit: Pick<AuditService, 'record'>;
  clock: Pick<Clock, 'now'>;
  entries?: readonly CatalogEntry[];
}

const PLAN_ID = /^[a-z0-9][a-z0-9-]{0,40}$/;
const CURRENCY = /^[a-z]{3}$/;

const invalid = (what: string, problems: string[]) => new AppError('invalid_request', `Cannot change ${what}: ${problems.join('; ')}.`, 400);

/** A model's operator-visible settings, as the audit log shows them (built-in values where nothing is changed). */
function modelSettingsOf(entry: CatalogEntry, row: ModelSettingsRow | undefined) {
  return {
    enabled: row?.enabled ?? true,
    price: row?.price ?? entry.price,
    lifecycle: row?.lifecycle ?? entry.lifecycle,
    routeOrder: row?.routeOrder ?? [...entry.routes].sort((a, b) => a.priority - b.priority).map((r) => r.provider as string),
  };
}

/** The audit's before/after: only what differs (a model's settings are long; the change is what matters). */
function changed<T extends Record<string, unknown>>(before: T, after: T): { before: Partial<T>; after: Partial<T> } {
  const b: Partial<T> = {};
  const a: Partial<T> = {};
  for (const key of Object.keys(after) as (keyof T)[]) {
    if (JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
    b[key] = before[key];
    a[key] = after[key];
  }
  return { before: b, after: a };
}

export function toAdminPlanView(p: PlanRow): AdminPlanView {
  return {
    id: p.id,
    name: p.name,
    kind: p.kind,
    credits: p.credits,
    interval: p.interval,
    rollover: p.rollover,
    prices: p.prices,
    providerRefs: p.providerRefs,
    active: p.active,
    highlighted: p.highlighted,
    sort: p.sort,
    apiRequestsPerMinute: p.apiRequestsPerMinute,
    updatedAt: p.updatedAt.toISOString(),
  };
}

const planSettings = (p: PlanRow): PlanSettings => {
  const { createdAt: _c, updatedAt: _u, ...settings } = p;
  return settings;
};

export function createCatalogConsoleService({ database, catalog, audit, clock, entries = builtinCatalog }: CatalogConsoleDeps): CatalogConsoleService {
  const byId = new Map(entries.map((e) => [e.id, e]));

  function modelView(m: EffectiveModel): AdminModelView {
    const entry = byId.get(m.id);
    return {
      id: m.id,
      name: m.name,
      vendor: m.vendor,
      resolutions: m.resolutions,
      enabled: m.enabled,
      available: m.available,
      unavailableReason: m.unavailableReason ?? null,
      price: m.price,
      lifecycle: m.lifecycle,
      routes: m.routes.map((r) => ({
        provider: r.provider,
        available: r.available,
        unavailableReason: r.unavailableReason ?? null,
        unhealthyUntil: r.unhealthyUntil?.toISOString() ?? null,
      })),
      providers: [...(entry?.routes ?? [])].sort((a, b) => a.priority - b.priority).map((r) => r.provider),
      position: m.position,
      overridden: m.overridden,
      builtin: { price: entry?.price ?? m.price, lifecycle: entry?.lifecycle ?? m.lifecycle },
    };
  }

  async function models(): Promise<AdminModelView[]> {
    return (await catalog.list()).map(modelView);
  }

  async function model(id: string): Promise<AdminModelView> {
    const found = (await models()).find((m) => m.id === id);
    if (!found) throw new Error(`model ${id} is missing from the catalog list`);
    return found;
  }

  const knownModel = (id: string): CatalogEntry => {
    const entry = byId.get(id);
    if (!entry) throw new AppError('not_found', `Unknown model ${id}; known: ${[...byId.keys()].join(', ')}.`, 404);
    return entry;
  };

  /** The plan's settings after `changes`, by the same rules as `plans:set` always had. */
  function nextPlan(id: string, current: PlanRow | null, c: PlanChanges): PlanSettings {
    const problems: string[] = [];
    const kind = c.kind ?? current?.kind;
    if (kind !== 'pack' && kind !== 'subscription') problems.push('kind must be pack or subscription (required for a new plan)');
    // (checked again here: the CLI hands over what was typed)
    const interval: string | null = kind === 'subscription' ? (c.interval ?? current?.interval ?? 'month') : null;
    if (interval !== null && interval !== 'month' && interval !== 'year') problems.push('interval must be month or year');
    if (c.interval !== undefined && kind === 'pack') problems.push('a credit pack has no interval');
    const credits = c.credits ?? current?.credits;
    if (credits === undefined) problems.push('credits are required for a new plan');
    else if (!Number.isInteger(credits) || credits < 1) problems.push('credits must be a whole number (1 or more)');
    const prices = c.prices ?? current?.prices ?? {};
    if (!Object.keys(prices).length) problems.push('prices are required (at least one currency)');
    for (const [currency, amount] of Object.entries(prices)) {
      if (!CURRENCY.test(currency)) problems.push(`${currency} is not a currency code (3 lowercase letters, e.g. usd)`);
      if (!Number.isInteger(amount) || amount < 1) problems.push(`the ${currency} price must be a whole number of minor units (1 or more)`);
    }
    const name = (c.name ?? current?.name ?? id).trim();
    if (!name || name.length > 100) problems.push('the name must be 1 to 100 characters');
    const sort = c.sort ?? current?.sort ?? 100;
    if (!Number.isInteger(sort) || sort < 0) problems.push('sort must be a whole number (0 or more)');
    const apiRequestsPerMinute = c.apiRequestsPerMinute === undefined ? (current?.apiRequestsPerMinute ?? null) : c.apiRequestsPerMinute;
    if (apiRequestsPerMinute !== null && (!Number.isInteger(apiRequestsPerMinute) || apiRequestsPerMinute < 1))
      problems.push('the API rate must be a whole number of requests per minute (1 or more), or the default');
    /** a provider id as changed: undefined keeps it, null or '' removes it */
    const ref = (was: string | undefined, next: string | null | undefined) => (next === undefined ? was : next?.trim() || undefined);
    const stripePriceId = ref(current?.providerRefs.stripePriceId, c.providerRefs?.stripePriceId);
    const creemProductId = ref(current?.providerRefs.creemProductId, c.providerRefs?.creemProductId);
    const providerRefs: PlanProviderRefs = { ...(stripePriceId ? { stripePriceId } : {}), ...(creemProductId ? { creemProductId } : {}) };
    if (problems.length || (kind !== 'pack' && kind !== 'subscription') || credits === undefined) throw invalid(id, problems);
    return {
      id,
      name,
      kind,
      credits,
      interval: interval as 'month' | 'year' | null,
      rollover: c.rollover ?? current?.rollover ?? false,
      prices,
      providerRefs,
      active: c.active ?? current?.active ?? true,
      highlighted: c.highlighted ?? current?.highlighted ?? false,
      sort,
      apiRequestsPerMinute,
    };
  }

  return {
    async overview() {
      const [all, plans] = await Promise.all([models(), listPlans(database, { activeOnly: false })]);
      return { models: all, plans: plans.map(toAdminPlanView) };
    },

    async updateModel(actor, modelId, patch, reason) {
      const entry = checkModelPatch(entries, modelId, patch);
      await database.transaction(async (tx) => {
        const now = clock.now();
        const before = await lockModelSettings(tx, modelId, now);
        const after = await writeModelSettings(tx, modelId, patch, actor.label, now);
        const diff = changed(modelSettingsOf(entry, before), modelSettingsOf(entry, after));
        await audit.record(actor, { action: 'model.update', targetType: 'model', targetId: modelId, reason: reason ?? null, ...diff }, tx);
      });
      return model(modelId);
    },

    async resetModel(actor, modelId, reason) {
      const entry = knownModel(modelId);
      await database.transaction(async (tx) => {
        const now = clock.now();
        const before = await lockModelSettings(tx, modelId, now);
        const after = await writeModelSettings(tx, modelId, { enabled: null, price: null, lifecycle: null, routeOrder: null }, actor.label, now);
        const diff = changed(modelSettingsOf(entry, before), modelSettingsOf(entry, after));
        await audit.record(actor, { action: 'model.reset', targetType: 'model', targetId: modelId, reason: reason ?? null, ...diff }, tx);
      });
      return model(modelId);
    },

    async reorderModels(actor, ids, reason) {
      const problems: string[] = [];
      const unknown = ids.filter((id) => !byId.has(id));
      if (unknown.length) problems.push(`unknown model ${unknown.join(', ')}`);
      if (new Set(ids).size !== ids.length) problems.push('a model is listed twice');
      if (!ids.length) problems.push('give at least one model');
      if (problems.length) throw invalid('the order of the models', problems);
      await database.transaction(async (tx) => {
        const now = clock.now();
        const rows = await lockAllModelSettings(tx);
        const current = new Map(rows.map((r) => [r.modelId, r]));
        const before = byPosition(entries, current).map((e) => e.id);
        const wanted = new Map(ids.map((id, i) => [id, i + 1]));
        for (const entry of entries) {
          const position = wanted.get(entry.id) ?? null;
          if ((current.get(entry.id)?.position ?? null) === position) continue;
          await writeModelSettings(tx, entry.id, { position }, actor.label, now);
        }
        const after = byPosition(entries, new Map(entries.map((e) => [e.id, { position: wanted.get(e.id) ?? null }]))).map((e) => e.id);
        await audit.record(
          actor,
          { action: 'model.reorder', targetType: 'model', targetId: null, reason: reason ?? null, before: { order: before }, after: { order: after } },
          tx,
        );
      });
      return models();
    },

    async savePlan(actor, id, changes, opts = {}) {
      if (!PLAN_ID.test(id)) {
        if (!opts.create) throw new AppError('not_found', `No plan with the id ${id}.`, 404);
        throw invalid(id, ['a plan id is lowercase letters, digits and dashes (at most 41)']);
      }
      const row = await database.transaction(async (tx) => {
        const current = await lockPlan(tx, id);
        if (!current && !opts.create) throw new AppError('not_found', `No plan with the id ${id}.`, 404);
        const next = nextPlan(id, current, changes);
        const saved = await writePlan(tx, next, clock.now());
        const diff = current ? changed(planSettings(current), planSettings(saved)) : { before: null, after: planSettings(saved) };
        await audit.record(
          actor,
          { action: current ? 'plan.update' : 'plan.create', targetType: 'plan', targetId: id, reason: opts.reason ?? null, ...diff },
          tx,
        );
        return saved;
      });
      return toAdminPlanView(row);
    },
  };
}
