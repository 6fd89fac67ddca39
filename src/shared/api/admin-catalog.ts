import { z } from 'zod';
import { lifecycleStates } from '../catalog/vocabulary';
import { priceRuleSchema } from './models';
import { safeText } from './text';

/**
 * The console's models and plans (issue 18): GET /api/admin/catalog, and the admins' changes to a
 * model (enable, price, retire, route order), the models' order in every list, and a plan's or a
 * credit pack's settings. The CLI (`models:set`, `models:reset`, `plans:set`) applies the same rules
 * through the same service (domain/admin/catalog-console.service.ts).
 */

const lifecycleSchema = z.object({
  state: z.enum(lifecycleStates),
  replacement: z.string().optional(),
  sunsetDate: z.string().optional(),
  note: z.string().optional(),
});

export const adminModelRoute = z.object({
  provider: z.string(),
  /** the provider is configured (has its key) */
  available: z.boolean(),
  unavailableReason: z.string().nullable(),
  /** resting after repeated failures until then */
  unhealthyUntil: z.string().nullable(),
});

export const adminModelView = z.object({
  id: z.string(),
  name: z.string(),
  vendor: z.string(),
  resolutions: z.array(z.string()),
  enabled: z.boolean(),
  available: z.boolean(),
  unavailableReason: z.enum(['disabled', 'retired', 'no_provider']).nullable(),
  price: priceRuleSchema,
  lifecycle: lifecycleSchema,
  /** the routes in the order they are tried (a provider left out of the route order is not tried) */
  routes: z.array(adminModelRoute),
  /** every provider that can serve the model, in built-in order */
  providers: z.array(z.string()),
  /** where it appears in lists; null: after the placed ones, in built-in order */
  position: z.number().int().nullable(),
  /** what an operator changed (models:reset / "Reset" brings it back) */
  overridden: z.object({ price: z.boolean(), lifecycle: z.boolean(), enabled: z.boolean(), routes: z.boolean() }),
  builtin: z.object({ price: priceRuleSchema, lifecycle: lifecycleSchema }),
});
export type AdminModelView = z.infer<typeof adminModelView>;

export const adminPlanView = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['pack', 'subscription']),
  credits: z.number().int(),
  interval: z.enum(['month', 'year']).nullable(),
  rollover: z.boolean(),
  /** minor units per lowercase currency */
  prices: z.record(z.string(), z.number().int()),
  providerRefs: z.object({ stripePriceId: z.string().optional(), creemProductId: z.string().optional() }),
  active: z.boolean(),
  highlighted: z.boolean(),
  sort: z.number().int(),
  /** subscribers' API requests per minute; null: the server's default */
  apiRequestsPerMinute: z.number().int().nullable(),
  updatedAt: z.string(),
});
export type AdminPlanView = z.infer<typeof adminPlanView>;

export const adminCatalog = z.object({ models: z.array(adminModelView), plans: z.array(adminPlanView) });
export type AdminCatalog = z.infer<typeof adminCatalog>;

const reason = safeText().trim().max(500).optional().describe('why (kept in the audit log)');
const modelId = safeText().min(1).max(100);

/** PATCH /api/admin/catalog/models/:id: what to change; null puts a setting back to the built-in one. */
export const adminModelPatch = z
  .strictObject({
    enabled: z.boolean().optional(),
    price: z
      .strictObject({
        perSecond: z.record(safeText().min(1).max(20), z.number().min(0).max(1_000_000)),
        audioPerSecond: z.number().min(0).max(1_000_000).optional(),
        perReference: z.number().min(0).max(1_000_000).optional(),
        minimum: z.number().min(0).max(1_000_000).optional(),
      })
      .nullable()
      .optional(),
    lifecycle: z
      .strictObject({
        state: z.enum(lifecycleStates),
        replacement: modelId.optional(),
        sunsetDate: z.iso.date({ error: 'must be a date, YYYY-MM-DD' }).optional(),
        note: safeText().trim().max(500).optional(),
      })
      .nullable()
      .optional(),
    routeOrder: z.array(safeText().min(1).max(20)).min(1).max(10).nullable().optional(),
    reason,
  })
  .refine((p) => p.enabled !== undefined || p.price !== undefined || p.lifecycle !== undefined || p.routeOrder !== undefined, {
    error: 'Nothing to change: give enabled, price, lifecycle or routeOrder.',
  });
export type AdminModelPatch = z.infer<typeof adminModelPatch>;

/** POST /api/admin/catalog/models/order: the models in the order lists show them (those left out follow, in built-in order). */
export const adminModelOrder = z.strictObject({
  ids: z
    .array(modelId)
    .min(1)
    .max(200)
    .refine((ids) => new Set(ids).size === ids.length, { error: 'lists a model twice' }),
  reason,
});
export type AdminModelOrder = z.infer<typeof adminModelOrder>;

export const adminModelOrderResult = z.object({ models: z.array(adminModelView) });

/** PATCH /api/admin/catalog/plans/:id: the settings to change; `prices` replaces the whole price list. */
export const adminPlanPatch = z
  .strictObject({
    name: safeText().trim().min(1).max(100).optional(),
    credits: z.number().int().min(1).max(100_000_000).optional(),
    prices: z.record(z.string(), z.number().int().min(1).max(100_000_000)).optional(),
    interval: z.enum(['month', 'year']).optional(),
    rollover: z.boolean().optional(),
    active: z.boolean().optional(),
    highlighted: z.boolean().optional(),
    sort: z.number().int().min(0).max(1_000_000).optional(),
    apiRequestsPerMinute: z.number().int().min(1).max(1_000_000).nullable().optional(),
    providerRefs: z
      .strictObject({
        stripePriceId: safeText().trim().max(200).nullable().optional(),
        creemProductId: safeText().trim().max(200).nullable().optional(),
      })
      .optional(),
    reason,
  })
  .refine((p) => Object.keys(p).some((k) => k !== 'reason'), { error: 'Nothing to change.' });
export type AdminPlanPatch = z.infer<typeof adminPlanPatch>;

/** POST /api/admin/catalog/models/:id/reset */
export const adminModelReset = z.strictObject({ reason }).optional();
