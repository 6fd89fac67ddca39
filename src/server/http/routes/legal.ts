import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../shared/api';
import { dismissPolicyNotice, legalDocumentSearch, legalDocumentView, policyNoticeList } from '../../../shared/api/legal';
import type { AppContext } from '../../context';
import { requireUser } from '../plugins/session';

/**
 * The published legal documents (anyone may read every version) and the notices of a material
 * change (signed-in users). Rules live in domain/privacy/policies.service.ts.
 */
export const legalRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const policies = ctx.services.policies;
  const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

  app.get(
    '/api/legal/:document',
    {
      schema: {
        tags: ['legal'],
        summary: 'A legal document (privacy, terms, acceptable-use): the current version, or ?version=, with the list of versions',
        params: z.object({ document: z.string().max(64) }),
        querystring: legalDocumentSearch,
        response: { 200: legalDocumentView, ...errors },
      },
    },
    async (req) => policies.view(req.params.document, { language: req.query.lang, version: req.query.version }),
  );

  app.get(
    '/api/me/policy-notices',
    {
      schema: {
        tags: ['legal'],
        summary: "Material changes to the legal documents you have not dismissed yet (in your account's language)",
        response: { 200: policyNoticeList, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return { notices: await policies.notices(s.user.id) };
    },
  );

  app.post(
    '/api/me/policy-notices/dismiss',
    {
      schema: {
        tags: ['legal'],
        summary: 'Dismiss the notice of a material change (for good)',
        body: dismissPolicyNotice,
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      await policies.dismiss(s.user.id, req.body.document, req.body.version);
      return reply.status(204).send(null);
    },
  );
};
