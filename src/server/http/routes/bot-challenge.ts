import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorBody } from '../../../shared/api';
import { botChallengeQuery, botChallengeResponse } from '../../../shared/api/bot-challenge';
import type { AppContext } from '../../context';
import { AppError } from '../../errors';

/**
 * Challenges one address may fetch per 10 minutes: a form asks once when it opens and once after
 * each submission; issuing one costs the server a single key derivation (~1-5 ms), so the limit
 * is generous for people behind one NAT and still bounds what a script can make the server spend.
 */
const PER_TEN_MINUTES = 300;

/**
 * GET /api/bot-challenge?for=signup|signin|reset (public): whether the next sign-up, sign-in or
 * password-reset request from this address needs a bot-check solution (X-Bot-Challenge header),
 * and the challenge to solve: ALTCHA's signed proof of work, or Turnstile's site key. The rules
 * live in domain/abuse/challenge.service.ts.
 */
export const botChallengeRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get(
    '/api/bot-challenge',
    {
      schema: {
        tags: ['auth'],
        summary: 'The bot check for sign-up, sign-in or a password reset',
        description:
          'Answers `required:false` when no check is needed now (always for sign-in until the address has failed a few times). Otherwise an ALTCHA v2 challenge (solve it and send the base64 payload in the `X-Bot-Challenge` header) or a Turnstile site key (send the widget token in the same header). Limited per IP address.',
        querystring: botChallengeQuery,
        response: { 200: botChallengeResponse, 400: errorBody, 429: errorBody },
      },
    },
    async (req, reply) => {
      const hit = await ctx.rateLimiter.hit(`bot-challenge-ip:${req.ip}`, PER_TEN_MINUTES, 600);
      if (!hit.allowed) {
        reply.header('retry-after', String(hit.retryAfterSeconds));
        throw new AppError('rate_limited', 'Too many requests. Please wait a few minutes and try again.', 429);
      }
      reply.header('cache-control', 'no-store');
      return ctx.services.botChallenge.forPage(req.query.for, req.ip);
    },
  );
};
