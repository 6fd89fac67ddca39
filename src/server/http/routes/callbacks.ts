import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { paymentProviderIds } from '../../adapters/payments/payment';
import type { AppContext } from '../../context';

/**
 * Incoming callbacks: what video providers (kie, fal) and payment providers (stripe, creem,
 * nowpayments) send us, each verified on the exact bytes received. Payment callbacks go to the
 * billing service, video callbacks to the generation engine. (Outgoing webhooks to customers'
 * endpoints are another thing: routes/webhooks-endpoints.ts and domain/webhooks.)
 */
export const incomingCallbackRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  // signatures are checked on the exact bytes received
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.post(
    '/webhooks/:provider',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Callbacks from video providers (kie, fal) and payment providers (stripe, creem, nowpayments), signature-verified',
        params: z.object({ provider: z.string().max(20) }),
        querystring: z.object({ task: z.string().max(100).optional() }),
      },
    },
    async (req, reply) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if ((paymentProviderIds as readonly string[]).includes(req.params.provider)) {
        // payment providers: verified on the raw body, each event applied exactly once
        const paid = await ctx.services.billing.handlePaymentCallback(req.params.provider, body, req.headers);
        if (paid.status !== 200) req.log.warn({ provider: req.params.provider, reason: paid.message }, 'payment webhook refused');
        return reply
          .status(paid.status)
          .send(paid.status === 200 ? { ok: true } : { error: { code: paid.status === 400 ? 'invalid_signature' : 'not_found', message: paid.message } });
      }
      const result = await ctx.services.engine.handleProviderCallback(req.params.provider, body, req.headers, req.query.task);
      if (result.status !== 200) req.log.warn({ provider: req.params.provider, reason: result.message }, 'webhook refused');
      return reply
        .status(result.status)
        .send(result.status === 200 ? { ok: true } : { error: { code: result.status === 401 ? 'invalid_signature' : 'not_found', message: result.message } });
    },
  );
};
