import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { billingQuery, billingResponse, checkoutInput, checkoutResponse, errorBody, orderView, plansResponse, subscriptionView } from '../../../shared/api';
import type { AppContext } from '../../context';
import { renderReceipt } from '../../domain/billing/receipt';
import { requireUser, requireVerifiedUser } from '../plugins/session';

const idParams = z.object({ id: z.string().max(100) });
const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 502: errorBody, 503: errorBody };

/** Plans, checkout, order history, receipts and the subscription. Payment providers' callbacks: routes/callbacks.ts. */
export const billingRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const billing = ctx.services.billing;

  app.get(
    '/api/billing/plans',
    { schema: { tags: ['billing'], summary: 'Credit packs and subscriptions on sale, with prices and what they buy', response: { 200: plansResponse } } },
    async () => billing.plans(),
  );

  app.post(
    '/api/billing/checkout',
    {
      schema: {
        tags: ['billing'],
        summary: "Start buying a plan: creates a pending order and answers the provider's hosted payment page",
        description: 'Send the browser to `url`. The order becomes paid when the provider confirms the payment (webhook); the credits are added then.',
        body: checkoutInput,
        response: { 200: checkoutResponse, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireVerifiedUser(ctx, req, reply);
      return billing.checkout({ id: s.user.id, email: s.user.email }, req.body, { ip: req.ip });
    },
  );

  app.get(
    '/api/billing',
    {
      schema: {
        tags: ['billing'],
        summary: 'Your orders (newest first) and your subscription',
        querystring: billingQuery,
        response: { 200: billingResponse, ...errors },
      },
    },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return billing.overview(s.user.id, req.query);
    },
  );

  app.get(
    '/api/billing/orders/:id',
    { schema: { tags: ['billing'], summary: 'One of your orders', params: idParams, response: { 200: orderView, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return billing.order(s.user.id, req.params.id);
    },
  );

  app.get(
    '/api/billing/orders/:id/receipt',
    { schema: { tags: ['billing'], summary: 'The receipt of one of your paid orders (PDF)', params: idParams } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      const order = await billing.paidOrder(s.user.id, req.params.id);
      const pdf = await renderReceipt(
        order,
        {
          name: ctx.config.SELLER_NAME,
          address: ctx.config.SELLER_ADDRESS,
          taxId: ctx.config.SELLER_TAX_ID,
          taxRatePercent: ctx.config.TAX_RATE_PERCENT,
          taxLabel: ctx.config.TAX_LABEL,
        },
        { email: order.checkoutEmail ?? s.user.email, name: s.user.name },
      );
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `attachment; filename="receipt-${order.receiptNumber}.pdf"`)
        .header('cache-control', 'private, no-store')
        .send(pdf);
    },
  );

  app.post(
    '/api/billing/subscription/cancel',
    { schema: { tags: ['billing'], summary: 'Cancel your subscription at the end of the paid period', response: { 200: subscriptionView, ...errors } } },
    async (req, reply) => {
      const s = await requireUser(ctx, req, reply);
      return billing.cancelSubscription(s.user.id);
    },
  );
};
