import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  adminGenerationActionBody,
  adminGenerationActionResult,
  adminGenerationDetail,
  adminGenerationIdParams,
  adminGenerationList,
  adminGenerationsQuery,
  errorBody,
} from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { answerOutput } from '../../generation-output';
import { consoleActor, requireRecentAuth, requireStaff, staffOnly } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

/**
 * The console's generations section (issue 18): look tasks up, a task's page (routes, attempts,
 * callbacks, credits), cancel, and release the credits of a task stuck past its deadline. The rules
 * live in domain/admin/generations-console.service.ts. Whoever is not staff gets 404 before the body
 * is read (staffOnly).
 */
export const adminGenerationsRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const generations = ctx.services.generationsConsole;

  app.get(
    '/api/admin/generations',
    {
      ...staffOnly(ctx, 'generations.view'),
      schema: {
        tags: ['admin'],
        summary: 'Look generations up (support, admin)',
        description:
          'Newest first; pass nextCursor as cursor for the next page. user takes an account id or email; from and to a day (UTC; to includes that ' +
          'day) or an instant; stuck=1 lists only tasks past their deadline that have not ended (which should never happen).',
        querystring: adminGenerationsQuery,
        response: { 200: adminGenerationList, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'generations.view', reply);
      return generations.list(req.query);
    },
  );

  app.get(
    '/api/admin/generations/:id',
    {
      ...staffOnly(ctx, 'generations.view'),
      schema: {
        tags: ['admin'],
        summary: 'Everything about one generation: request, provider, upstream task, attempts, callbacks, credits (support, admin)',
        params: adminGenerationIdParams,
        response: { 200: adminGenerationDetail, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'generations.view', reply);
      return generations.detail(req.params.id);
    },
  );

  app.get(
    '/api/admin/generations/:id/video',
    {
      ...staffOnly(ctx, 'generations.view'),
      schema: {
        tags: ['admin'],
        summary: 'The video of a finished generation (support, admin; recorded in the audit log)',
        description: 'Answers 302 with a signed URL of the file that works for one hour. Each look is recorded in the audit log.',
        params: adminGenerationIdParams,
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'generations.view', reply);
      const out = await generations.output(consoleActor(req, session), req.params.id);
      return answerOutput(ctx, req, reply, { id: req.params.id, out, which: 'video', download: false });
    },
  );

  app.post(
    '/api/admin/generations/:id/cancel',
    {
      ...staffOnly(ctx, 'generations.act'),
      schema: {
        tags: ['admin'],
        summary: "Cancel any user's queued or running generation; its held credits come back (support, admin)",
        description: 'The provider is told to stop where it can (upstreamCanceled). 409 when the task has ended or its video is already being stored.',
        params: adminGenerationIdParams,
        body: adminGenerationActionBody,
        response: { 200: adminGenerationActionResult, ...errors, 409: errorBody },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'generations.act', reply);
      return generations.cancel(consoleActor(req, session), req.params.id, req.body.reason);
    },
  );

  app.post(
    '/api/admin/generations/:id/release',
    {
      ...staffOnly(ctx, 'generations.act'),
      schema: {
        tags: ['admin'],
        summary: 'End a generation stuck past its deadline and release its held credits, once (support, admin; recent sign-in)',
        description:
          'Only for a task past its deadline that has not ended, which should never happen (the deadline sweep ends such tasks). The task fails with ' +
          '`deadline` and its hold is released exactly once, however many requests arrive. 409 for a task that has ended or is not past its deadline.',
        params: adminGenerationIdParams,
        body: adminGenerationActionBody,
        response: { 200: adminGenerationActionResult, ...errors, 409: errorBody },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'generations.act', reply);
      await requireRecentAuth(ctx, session);
      return generations.release(consoleActor(req, session), req.params.id, req.body.reason);
    },
  );
};
