import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../shared/api';
import { hashListView, importHashListBody, termEditBody, termEditView } from '../../../shared/api/moderation-lists';
import type { AppContext } from '../../context';
import { consoleTrail, requireStaff, staffOnly } from '../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };
const idParams = z.object({ id: z.string().min(1).max(100) });
/** a hash list of 100k+ entries is a few MB of text */
const LIST_BODY_LIMIT = 25 * 1024 * 1024;

/** The operator's moderation lists (issue 16): known-bad hash lists and term-list edits. Admins only (others: 404, staff 403); every change audited. */
export const moderationListRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const lists = () => ctx.services.screening.lists;

  app.get(
    '/api/moderation/hash-lists',
    {
      ...staffOnly(ctx, 'moderation.manage'),
      schema: { tags: ['moderation'], summary: 'Imported hash lists (admin)', response: { 200: z.object({ items: z.array(hashListView) }), ...errors } },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'moderation.manage', reply);
      return { items: await lists().hashLists() };
    },
  );

  app.post(
    '/api/moderation/hash-lists',
    {
      ...staffOnly(ctx, 'moderation.manage'),
      bodyLimit: LIST_BODY_LIMIT,
      schema: {
        tags: ['moderation'],
        summary: 'Import a hash list, or replace the list of that name (admin)',
        description:
          'Formats: `text` (one hex hash per line, all of `kind`) or `csv` (`hash,kind[,label]`). A malformed line refuses the whole import (400 `invalid_hash_list` naming the line). Uploads and outputs are checked against it from then on; a match on a `sexual/minors` list is escalated as CSAM automatically.',
        body: importHashListBody,
        response: { 201: hashListView, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'moderation.manage', reply);
      return reply.status(201).send(await lists().importHashList(s.user.id, req.body, consoleTrail(ctx, req, s)));
    },
  );

  app.delete(
    '/api/moderation/hash-lists/:id',
    {
      ...staffOnly(ctx, 'moderation.manage'),
      schema: { tags: ['moderation'], summary: 'Remove a hash list (admin)', params: idParams, response: { 204: z.null(), ...errors } },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'moderation.manage', reply);
      await lists().deleteHashList(req.params.id, consoleTrail(ctx, req, s));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/moderation/terms',
    {
      ...staffOnly(ctx, 'moderation.manage'),
      schema: {
        tags: ['moderation'],
        summary: 'Edits to the built-in term lists (admin)',
        response: { 200: z.object({ items: z.array(termEditView) }), ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'moderation.manage', reply);
      return { items: await lists().termEdits() };
    },
  );

  app.post(
    '/api/moderation/terms',
    {
      ...staffOnly(ctx, 'moderation.manage'),
      schema: {
        tags: ['moderation'],
        summary: 'Add a term to a built-in list, or remove one from it (admin)',
        description: 'Applies to every prompt screened from then on. A malformed term, list or language is a 400 naming it; the same edit twice is a 409.',
        body: termEditBody,
        response: { 201: termEditView, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'moderation.manage', reply);
      return reply.status(201).send(await lists().addTermEdit(s.user.id, req.body, consoleTrail(ctx, req, s)));
    },
  );

  app.delete(
    '/api/moderation/terms/:id',
    {
      ...staffOnly(ctx, 'moderation.manage'),
      schema: { tags: ['moderation'], summary: 'Undo a term-list edit (admin)', params: idParams, response: { 204: z.null(), ...errors } },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'moderation.manage', reply);
      await lists().deleteTermEdit(req.params.id, consoleTrail(ctx, req, s));
      return reply.status(204).send(null);
    },
  );
};
