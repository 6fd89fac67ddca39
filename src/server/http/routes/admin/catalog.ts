import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  adminCatalog,
  adminModelOrder,
  adminModelOrderResult,
  adminModelPatch,
  adminModelReset,
  adminModelView,
  adminPlanPatch,
  adminPlanView,
  errorBody,
} from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { consoleActor, requireStaff, staffOnly } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };
const idParams = z.object({ id: z.string().min(1).max(100) });

/**
 * The console's models and plans (issue 18; admins). The rules and the audit entries live in
 * domain/admin/catalog-console.service.ts, which the CLI's models:set, models:reset and plans:set use too.
 */
export const adminCatalogRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const catalog = ctx.services.catalogConsole;

  app.get(
    '/api/admin/catalog',
    {
      ...staffOnly(ctx, 'catalog.view'),
      schema: {
        tags: ['admin'],
        summary: 'Every model (with the operators’ changes and its availability) and every plan and credit pack (admin)',
        response: { 200: adminCatalog, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'catalog.view', reply);
      reply.header('cache-control', 'no-store');
      return catalog.overview();
    },
  );

  app.patch(
    '/api/admin/catalog/models/:id',
    {
      ...staffOnly(ctx, 'catalog.edit'),
      schema: {
        tags: ['admin'],
        summary: 'Change a model: enable or disable, price, lifecycle (retire with a sunset date and a replacement), route order (admin)',
        description: 'null puts a setting back to the built-in one. Every change is audited with the settings before and after.',
        params: idParams,
        body: adminModelPatch,
        response: { 200: adminModelView, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'catalog.edit', reply);
      const { reason, ...patch } = req.body;
      return catalog.updateModel(consoleActor(req, session), req.params.id, patch, reason || null);
    },
  );

  app.post(
    '/api/admin/catalog/models/:id/reset',
    {
      ...staffOnly(ctx, 'catalog.edit'),
      schema: {
        tags: ['admin'],
        summary: 'Drop the operators’ changes to a model: back to the built-in settings (its place in the lists stays) (admin)',
        params: idParams,
        body: adminModelReset,
        response: { 200: adminModelView, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'catalog.edit', reply);
      return catalog.resetModel(consoleActor(req, session), req.params.id, req.body?.reason || null);
    },
  );

  app.post(
    '/api/admin/catalog/models/order',
    {
      ...staffOnly(ctx, 'catalog.edit'),
      schema: {
        tags: ['admin'],
        summary: 'Reorder the models in every list (the model list, the Studio) (admin)',
        description: 'The models named come first, in this order; any left out follow in the built-in order.',
        body: adminModelOrder,
        response: { 200: adminModelOrderResult, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'catalog.edit', reply);
      return { models: await catalog.reorderModels(consoleActor(req, session), req.body.ids, req.body.reason || null) };
    },
  );

  app.patch(
    '/api/admin/catalog/plans/:id',
    {
      ...staffOnly(ctx, 'catalog.edit'),
      schema: {
        tags: ['admin'],
        summary: 'Change a plan or a credit pack: name, credits, prices, on sale or not, provider ids… (admin)',
        description: '`prices` replaces the whole price list (minor units per currency). Every change is audited with the settings before and after.',
        params: idParams,
        body: adminPlanPatch,
        response: { 200: adminPlanView, ...errors },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'catalog.edit', reply);
      const { reason, ...changes } = req.body;
      return catalog.savePlan(consoleActor(req, session), req.params.id, changes, { reason: reason || null });
    },
  );
};
