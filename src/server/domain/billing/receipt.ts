import PDFDocument from 'pdfkit';
import { fontFile } from '../../lib/ffmpeg';
import type { PaidOrder } from './billing.repo';

/**
 * The receipt of a paid order as a PDF: seller (settings), buyer (the checkout email), receipt
 * number, date, what was bought, the amount and the tax it includes, and refunds when there were
 * some. Prices include tax; the tax share is amount × rate / (100 + rate).
 */
export interface SellerDetails {
  name: string;
  address?: string | undefined;
  taxId?: string | undefined;
  taxRatePercent: number;
  taxLabel: string;
}

export function formatMoney(minor: number, currency: string, locale = 'en-US'): string {
  return new Intl.NumberFormat(locale, { style: 'currency', currency: currency.toUpperCase() }).format(minor / 100);
}

const PROVIDER_NAMES: Record<string, string> = { stripe: 'Card (Stripe)', creem: 'Creem', nowpayments: 'Cryptocurrency (NOWPayments)' };

export function renderReceipt(order: PaidOrder, seller: SellerDetails, buyer: { email: string | null; name?: string | null }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      size: 'A4',
      margin: 56,
      info: { Title: `Receipt ${order.receiptNumber}`, Author: seller.name, Subject: `Order ${order.id}` },
    });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    // DejaVu (from npm) covers accents and currency signs the built-in PDF fonts lack
    doc.registerFont('body', fontFile());
    doc.font('body');

    const money = (minor: number) => formatMoney(minor, order.currency);
    const paid = order.paidMinor || order.amountMinor;
    const tax = seller.taxRatePercent > 0 ? Math.round((paid * seller.taxRatePercent) / (100 + seller.taxRatePercent)) : 0;

    doc.fontSize(20).text('Receipt', { continued: false });
    doc.moveDown(0.3).fontSize(10).fillColor('#555');
    doc.text(`Receipt number: ${order.receiptNumber}`);
    doc.text(`Date paid: ${order.paidAt.toISOString().slice(0, 10)}`);
    doc.text(`Order: ${order.id}`);
    doc.moveDown();

    doc.fillColor('#000').fontSize(11).text('Seller', { underline: true });
    doc.fontSize(10).text(seller.name);
    if (seller.address) doc.text(seller.address);
    if (seller.taxId) doc.text(`${seller.taxLabel} ID: ${seller.taxId}`);
    doc.moveDown();

    doc.fontSize(11).text('Billed to', { underline: true });
    doc.fontSize(10);
    if (buyer.name) doc.text(buyer.name);
    doc.text(buyer.email ?? '—');
    doc.moveDown();

    doc.fontSize(11).text('Details', { underline: true });
    doc.fontSize(10);
    const what =
      order.kind === 'pack'
        ? `${order.planName} credit pack: ${order.credits.toLocaleString('en-US')} credits`
        : `${order.planName} subscription${order.kind === 'renewal' ? ' (renewal)' : ''}: ${order.credits.toLocaleString('en-US')} credits${
            order.periodStart && order.periodEnd ? `, ${order.periodStart.toISOString().slice(0, 10)} to ${order.periodEnd.toISOString().slice(0, 10)}` : ''
          }`;
    const rows: Array<[string, string]> = [
      [what, money(order.amountMinor)],
      ...(paid !== order.amountMinor ? ([['Received', money(paid)]] as Array<[string, string]>) : []),
      ...(tax > 0 ? ([[`Of which ${seller.taxLabel} (${seller.taxRatePercent}%)`, money(tax)]] as Array<[string, string]>) : []),
      ['Total paid', money(paid)],
      ...(order.refundedMinor > 0 ? ([['Refunded', `-${money(order.refundedMinor)}`]] as Array<[string, string]>) : []),
      ['Payment method', PROVIDER_NAMES[order.provider] ?? order.provider],
    ];
    for (const [label, value] of rows) {
      const y = doc.y;
      doc.text(label, 56, y, { width: 330 });
      doc.text(value, 400, y, { width: 139, align: 'right' });
      doc.moveDown(0.4);
    }
    doc.moveDown();
    doc.fontSize(8).fillColor('#777').text('Payments are processed by the payment provider named above; we never receive card numbers or wallet keys.', 56);
    doc.end();
  });
}
