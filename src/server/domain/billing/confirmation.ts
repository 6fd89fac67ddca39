import type { Mailer } from '../../adapters/mail/mailer';
import type { DbHandle } from '../../db/client';
import { billingSendConfirmation } from '../../jobs/names';
import type { JobQueue } from '../../jobs/queue';
import { sendTemplateMail } from '../../mail/send';
import { findUserContact } from '../users/users.repo';
import { getOrder } from './billing.repo';
import { formatMoney } from './receipt';

export interface OrderConfirmationDeps {
  database: DbHandle;
  mailer: Mailer;
  /** the site's address, for the receipt link */
  publicUrl: string;
}

/** Queues the confirmation mail of a paid order in the transaction that paid it; once per order. */
export async function enqueueOrderConfirmation(queue: Pick<JobQueue, 'enqueue'>, tx: DbHandle, orderId: string): Promise<void> {
  await queue.enqueue(billingSendConfirmation, { orderId }, { tx, singletonKey: `confirmation:${orderId}` });
}

/** Job billing.send-confirmation: mail the order confirmation (in the buyer's language) with the receipt link. */
export async function sendOrderConfirmation({ database, mailer, publicUrl }: OrderConfirmationDeps, orderId: string): Promise<void> {
  const order = await getOrder(database, orderId);
  if (!order?.userId || !order.paidAt || !order.receiptNumber) return;
  const user = await findUserContact(database, order.userId);
  if (!user) return;
  await sendTemplateMail(mailer, user.email, 'order-confirmation', user.language, {
    name: user.name,
    planName: order.planName,
    credits: order.creditsGranted || order.credits,
    amount: formatMoney(order.paidMinor || order.amountMinor, order.currency, user.language === 'es' ? 'es-ES' : 'en-US'),
    receiptNumber: order.receiptNumber,
    when: order.paidAt,
    receiptUrl: `${publicUrl}/api/billing/orders/${order.id}/receipt`,
  });
}
