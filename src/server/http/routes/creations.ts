import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { creationInProgressBody, creationList, creationsQuery, deleteCreationsInput, deleteCreationsResult, errorBody } from '../../../shared/api';
import type { AppContext } from '../../context';
import { deleteOne } from '../../domain/media/creations.service';
import { requireUser } from '../plugins/session';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: creationInProgressBody };

/** My Creations: the user's videos as a library, and deleting them. */
export const creationRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const creations = ctx.services.creations;

  app.get(
    '/api/creations',
    {
      schema: {
        tags: ['creations'],
        summary: 'Your creations, newest first: filter by status, model and date, search the prompts',
        querystring: creationsQuery,
        response: { 200: creationList, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return creations.list(s.user.id, req.query);
    },
  );

  app.delete(
    '/api/creations/:id',
    {
      schema: {
        tags: ['creations'],
        summary: 'Delete one of your finished creations: it leaves every list and link at once, and its files are removed',
        params: z.object({ id: z.string().max(100) }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      await deleteOne(creations, s.user.id, req.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/creations/delete',
    {
      schema: {
        tags: ['creations'],
        summary: 'Delete several of your finished creations (up to 100)',
        description: 'Answers which were deleted and which were not found; 409 (and nothing deleted) when one of them is still being made.',
        body: deleteCreationsInput,
        response: { 200: deleteCreationsResult, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return creations.delete(s.user.id, req.body.ids);
    },
  );
};
