import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  adminOrderDetail,
  adminOrderIdParams,
  adminOrderList,
  adminOrdersQuery,
  adminReconcileResult,
  adminRefundBody,
  adminRefundHeaders,
  adminRefundResult,
  errorBody,
} from '../../../../shared/api';
import type { AppContext } from '../../../context';
import { consoleActor, requireRecentAuth, requireStaff, staffOnly } from '../../plugins/staff';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

/**
 * The console's orders section (issue 18): find orders, an order's page, refunds (full or partial,
 * through the provider that took the money) and reconciliation with the provider. The rules live in
 * domain/admin/orders-console.service.ts; `billing:refund` and `billing:reconcile` call the same
 * functions. Whoever is not staff gets 404 before the body is read (staffOnly).
 */
export const adminOrdersRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const orders = ctx.services.ordersConsole;

  app.get(
    '/api/admin/orders',
    {
      ...staffOnly(ctx, 'orders.view'),
      schema: {
        tags: ['admin'],
        summary: 'Find orders (support, admin)',
        description:
          'Newest first; pass nextCursor as cursor for the next page. q matches an order id, a receipt number, the buyer’s email (the account’s or the one ' +
          'used at checkout) or a provider reference (payment, checkout, invoice). from and to take a day (UTC; to includes that day) or an instant.',
        querystring: adminOrdersQuery,
        response: { 200: adminOrderList, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'orders.view', reply);
      return orders.list(req.query);
    },
  );

  app.get(
    '/api/admin/orders/:id',
    {
      ...staffOnly(ctx, 'orders.view'),
      schema: {
        tags: ['admin'],
        summary: 'An order with its payment events, the credits it moved and what can still be refunded (support, admin)',
        params: adminOrderIdParams,
        response: { 200: adminOrderDetail, ...errors },
      },
    },
    async (req, reply) => {
      await requireStaff(ctx, req, 'orders.view', reply);
      return orders.detail(req.params.id);
    },
  );

  app.post(
    '/api/admin/orders/:id/refund',
    {
      ...staffOnly(ctx, 'orders.refund'),
      schema: {
        tags: ['admin'],
        summary: 'Refund an order, fully or partly, through the provider that took the money (support, admin; recent sign-in)',
        description:
          'No amountMinor refunds everything that is left. The credits bought are taken back in proportion (never below a zero balance; the rest is ' +
          'recorded and the account flagged). An Idempotency-Key makes a repeated request answer the first result (Idempotent-Replayed: true) instead of ' +
          'refunding again. 409: not paid, refunded already, more than what is left, disputed, or refunded in the provider’s dashboard (Creem, NOWPayments); ' +
          '502: the provider refused, and nothing changed here.',
        params: adminOrderIdParams,
        headers: adminRefundHeaders,
        body: adminRefundBody,
        response: { 200: adminRefundResult, ...errors, 409: errorBody, 502: errorBody },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'orders.refund', reply);
      await requireRecentAuth(ctx, session);
      const result = await orders.refund(consoleActor(req, session), req.params.id, {
        amountMinor: req.body.amountMinor,
        reason: req.body.reason,
        idempotencyKey: req.headers['idempotency-key'],
      });
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return result;
    },
  );

  app.post(
    '/api/admin/orders/:id/reconcile',
    {
      ...staffOnly(ctx, 'orders.refund'),
      schema: {
        tags: ['admin'],
        summary: 'Ask the provider about this order and apply the events we missed (support, admin)',
        description:
          'Reads the provider’s events since the order was made (Stripe keeps 30 days) and applies those about this order that were never recorded, ' +
          'exactly as their webhooks would have. 409 for providers without an events API (Creem, NOWPayments); 502 when the provider cannot be asked.',
        params: adminOrderIdParams,
        response: { 200: adminReconcileResult, ...errors, 409: errorBody, 502: errorBody },
      },
    },
    async (req, reply) => {
      const session = await requireStaff(ctx, req, 'orders.refund', reply);
      return orders.reconcileOrder(consoleActor(req, session), req.params.id);
    },
  );
};
