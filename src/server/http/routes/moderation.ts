import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorBody } from '../../../shared/api';
import {
  appealBody,
  appealReceived,
  caseDetail,
  decisionBody,
  publicReportBody,
  queueQuery,
  queueResponse,
  reportAccepted,
  reportBody,
  suspensionAppealBody,
  userCaseList,
  userCaseView,
} from '../../../shared/api/moderation';
import type { AppContext } from '../../context';
import { APPEAL_COOKIE } from '../../domain/auth/auth';
import { AppError } from '../../errors';
import { requireUser } from '../plugins/session';
import { consoleTrail, requireStaff, staffOnly } from '../plugins/staff';
import { sendStoredObject } from '../send-file';
import { answering } from './uploads';

/**
 * Trust & safety routes (issue 16): the moderators' queue, cases, evidence files and decisions; the
 * user's cases and their one appeal; a suspended account's appeal; people's reports. Moderators and
 * admins reach the queue (support gets 403, anyone else 404: issue 18); a user reaches only their own
 * cases (404 otherwise). Decisions are audited.
 */

const caseParams = z.object({ id: z.string().max(100) });
const evidenceParams = caseParams.extend({ evidenceId: z.string().max(100) });
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

/** what a browser may render inline from the evidence route; anything else is a download */
const INLINE_TYPES = /^(image\/(jpeg|png|webp|gif)|video\/(mp4|webm|quicktime)|audio\/(mpeg|wav|aac|mp4))$/;

export const moderationRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const moderation = ctx.services.moderation;

  app.get(
    '/api/moderation/queue',
    {
      ...staffOnly(ctx, 'moderation.review'),
      schema: {
        tags: ['moderation'],
        summary: 'The review queue (moderators, admins): open cases most severe first, then oldest; or closed cases, latest first',
        querystring: queueQuery,
        response: { 200: queueResponse, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'moderation.review', reply);
      reply.header('cache-control', 'no-store');
      return moderation.queue(req.query);
    },
  );

  app.get(
    '/api/moderation/cases/:id',
    {
      ...staffOnly(ctx, 'moderation.review'),
      schema: {
        tags: ['moderation'],
        summary: 'A case with its audit trail, evidence, strikes, legal holds and CyberTipline report (moderators, admins)',
        params: caseParams,
        response: { 200: caseDetail, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'moderation.review', reply);
      reply.header('cache-control', 'no-store');
      return moderation.detail(req.params.id);
    },
  );

  app.get(
    '/api/moderation/cases/:id/evidence/:evidenceId',
    {
      ...staffOnly(ctx, 'moderation.review'),
      schema: {
        tags: ['moderation'],
        summary: 'An evidence file of a case, from the quarantine area (moderators, admins); never cached',
        params: evidenceParams,
        response: errors,
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'moderation.review', reply);
      const file = await moderation.evidenceFile(req.params.id, req.params.evidenceId);
      const inline = file.contentType !== null && INLINE_TYPES.test(file.contentType);
      reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').header('content-security-policy', "default-src 'none'; sandbox");
      return sendStoredObject(req, reply, ctx.store, file.key, {
        contentType: inline && file.contentType ? file.contentType : 'application/octet-stream',
        disposition: inline ? 'inline' : 'attachment; filename="evidence"',
        fail: (status, code, message) => {
          throw new AppError(code, message, status);
        },
      });
    },
  );

  app.post(
    '/api/moderation/cases/:id/decision',
    {
      ...staffOnly(ctx, 'moderation.review'),
      schema: {
        tags: ['moderation'],
        summary: 'Decide a case (moderators, admins): allow, remove, remove with a strike, suspend, terminate, escalate as CSAM',
        description:
          'Writes the decision to the audit trail and closes the case. Repeating the decision a closed case already has changes nothing; another decision on a closed case answers 409 unless an appeal reopened it.',
        params: caseParams,
        body: decisionBody,
        response: { 200: caseDetail, ...errors, 409: errorBody, 503: errorBody },
      },
    },
    async (req, reply) => {
      const s = await requireStaff(ctx, req, 'moderation.review', reply);
      return moderation.decide({ id: s.user.id, role: s.user.role }, req.params.id, req.body, consoleTrail(ctx, req, s));
    },
  );

  app.get(
    '/api/me/cases',
    {
      schema: {
        tags: ['moderation'],
        summary: 'Decisions about your creations and account: held for review, removed, suspended, and your appeals',
        response: { 200: userCaseList, 401: errorBody },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      reply.header('cache-control', 'no-store');
      return moderation.myCases(s.user.id);
    },
  );

  app.post(
    '/api/me/cases/:id/appeal',
    {
      schema: {
        tags: ['moderation'],
        summary: 'Appeal a removal or suspension, once: the case goes back to a moderator',
        params: caseParams,
        body: appealBody,
        response: { 200: userCaseView, ...errors, 409: errorBody },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return moderation.appeal(s.user.id, req.params.id, req.body.text);
    },
  );

  app.post(
    '/api/appeals',
    {
      schema: {
        tags: ['moderation'],
        summary: "A suspended account's appeal, with the token its refused sign-in carried (error.appealToken); once per suspension",
        body: suspensionAppealBody,
        response: { 200: appealReceived, 400: errorBody, 409: errorBody },
      },
    },
    async (req, reply) => {
      const token = req.body.token ?? req.cookies[APPEAL_COOKIE];
      if (!token) {
        throw new AppError('invalid_token', 'There is no appeal to send: sign in again, and appeal from the page that says the account is suspended.', 400, {
          fields: [{ field: 'token', message: 'is missing' }],
        });
      }
      const received = await moderation.appealSuspension(token, req.body.text);
      reply.clearCookie(APPEAL_COOKIE, { path: '/api/appeals' });
      return received;
    },
  );

  app.post(
    '/api/generations/:id/report',
    {
      schema: {
        tags: ['moderation'],
        summary: 'Report a creation you can see',
        params: caseParams,
        body: reportBody,
        response: { 202: reportAccepted, ...errors, 429: errorBody },
      },
    },
    async (req, reply) =>
      answering(reply, async () => {
        const s = await requireUser(ctx, req, reply);
        return reply.status(202).send(await moderation.reportGeneration({ userId: s.user.id, ip: req.ip }, req.params.id, req.body));
      }),
  );

  app.post(
    '/api/reports',
    {
      schema: {
        tags: ['moderation'],
        summary: 'Report content on this site (also copyright notices); no account needed',
        description: 'Accepted the same whether or not the link names a creation of this site.',
        body: publicReportBody,
        response: { 202: reportAccepted, 400: errorBody, 429: errorBody },
      },
    },
    async (req, reply) => answering(reply, async () => reply.status(202).send(await moderation.reportPublic(req.ip, req.body))),
  );
};
