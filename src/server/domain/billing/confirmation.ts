import type { AppContext } from '../../context';
import { sendTemplateMail } from '../../mail/send';
import { getOrder } from './billing.repo';
import { formatMoney } from './receipt';

/** Job billing.send-confirmation: mail the order confirmation (in the buyer's language) with the receipt link. */
export async function sendOrderConfirmation(ctx: Pick<AppContext, 'database' | 'mailer' | 'config'>, orderId: string): Promise<void> {
  const order = await getOrder(ctx.database, orderId);
  if (!order?.userId || !order.paidAt || !order.receiptNumber) return;
  const [user] = await ctx.database.sql.query<{ email: string; name: string; language: string }>('select email, name, language from users where id = $1', [order.userId]);
  if (!user) return;
  await sendTemplateMail(ctx.mailer, user.email, 'order-confirmation', user.language, {
    name: user.name,
    planName: order.planName,
    credits: order.creditsGranted || order.credits,
    amount: formatMoney(order.paidMinor || order.amountMinor, order.currency, user.language === 'es' ? 'es-ES' : 'en-US'),
    receiptNumber: order.receiptNumber,
    when: order.paidAt,
    receiptUrl: `${ctx.config.PUBLIC_URL}/api/billing/orders/${order.id}/receipt`,
  });
}
