import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CreditCardIcon } from '../../components/icons';
import { BackLink, PageLoadFailed, PageLoading } from '../../components/PageStates';
import { Alert, Button, Card, DetailSection, useToast } from '../../components/ui';
import { useCan } from '../../lib/admin';
import { formatMoney, formatNumber } from '../../lib/billing';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { orderDetailQuery, reconcileOrder, refreshOrders, type AdminOrderDetail } from './orders/api';
import { RefundDialog } from './orders/RefundDialog';
import { OrderStatusBadge, providerName } from './orders/shared';
import { dash, Row, ScrollTable, TableHead, td } from './users/shared';

const when = (value: string | null, lang: string) => (value ? <time dateTime={value}>{dateTime(value, lang)}</time> : dash);
const mono = (value: string | null) => (value ? <span className="font-mono text-xs break-all">{value}</span> : dash);

function Actions({ detail }: { detail: AdminOrderDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const can = useCan();
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const [refunding, setRefunding] = useState(false);
  const [announce, setAnnounce] = useState('');
  const o = detail.order;
  const blocker = detail.refund.blocker;

  const reconcile = useMutation({
    mutationFn: () => reconcileOrder(o.id),
    onSuccess: async (r) => {
      const message = r.applied ? t('admin.orders.reconcile.applied', { count: r.applied }) : t('admin.orders.reconcile.nothing', { count: r.matched });
      setAnnounce(message);
      toast({ title: message, tone: r.applied ? 'success' : 'info' });
      await refreshOrders(queryClient);
    },
  });

  if (!can('orders.refund')) return <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.orders.readOnly')}</p>;
  return (
    <Card padding="sm" className="space-y-3">
      <div className="flex flex-wrap gap-2">
        {blocker === null && (
          <Button variant="danger" onClick={() => setRefunding(true)} data-testid="admin-order-refund">
            {t('admin.orders.refund.open')}
          </Button>
        )}
        {detail.reconcilable && (
          <Button variant="secondary" onClick={() => reconcile.mutate()} loading={reconcile.isPending} data-testid="admin-order-reconcile">
            {t('admin.orders.reconcile.button', { provider: providerName(o.provider) })}
          </Button>
        )}
      </div>
      {blocker !== null && (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="admin-order-refund-blocked">
          {t(`admin.orders.blockers.${blocker}`, { provider: providerName(o.provider) })}
        </p>
      )}
      {detail.reconcilable && (
        <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.orders.reconcile.hint', { provider: providerName(o.provider) })}</p>
      )}
      {reconcile.isError && <Alert tone="error">{errorText(reconcile.error, t, lang)}</Alert>}
      <p className="sr-only" aria-live="polite" aria-atomic="true" data-testid="admin-order-action-status">
        {announce}
      </p>
      <RefundDialog
        detail={detail}
        open={refunding}
        onClose={() => setRefunding(false)}
        onDone={(message) => {
          setRefunding(false);
          setAnnounce(message);
          toast({ title: message, tone: 'success' });
        }}
      />
    </Card>
  );
}

function OrderFacts({ detail }: { detail: AdminOrderDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const o = detail.order;
  const money = (minor: number) => formatMoney(minor, o.currency, lang);
  return (
    <DetailSection id="order-facts" title={t('admin.orders.sections.order')}>
      <Card padding="sm">
        <dl className="grid gap-x-8 text-sm md:grid-cols-2">
          <Row term={t('admin.orders.field.id')}>{mono(o.id)}</Row>
          <Row term={t('admin.orders.field.receipt')}>{o.receiptNumber ?? dash}</Row>
          <Row term={t('admin.orders.field.plan')}>
            {o.planName} ({o.planId}) · {t(`admin.orders.kinds.${o.kind}`)}
          </Row>
          <Row term={t('admin.orders.field.credits')}>{formatNumber(o.credits, lang)}</Row>
          <Row term={t('admin.orders.field.price')}>{money(o.amountMinor)}</Row>
          <Row term={t('admin.orders.field.paid')}>{money(o.paidMinor)}</Row>
          <Row term={t('admin.orders.field.refunded')}>{money(o.refundedMinor)}</Row>
          <Row term={t('admin.orders.field.remaining')}>{money(detail.refund.remainingMinor)}</Row>
          <Row term={t('admin.orders.field.creditsGranted')}>{formatNumber(o.creditsGranted, lang)}</Row>
          <Row term={t('admin.orders.field.creditsClawedBack')}>{formatNumber(o.creditsClawedBack, lang)}</Row>
          <Row term={t('admin.orders.field.shortfall')}>{o.clawbackShortfall ? formatNumber(o.clawbackShortfall, lang) : dash}</Row>
          <Row term={t('admin.orders.field.provider')}>{providerName(o.provider)}</Row>
          <Row term={t('admin.orders.field.checkoutRef')}>{mono(o.checkoutRef)}</Row>
          <Row term={t('admin.orders.field.paymentRef')}>{mono(o.paymentRef)}</Row>
          <Row term={t('admin.orders.field.invoiceRef')}>{mono(o.invoiceRef)}</Row>
          <Row term={t('admin.orders.field.subscription')}>{mono(o.subscriptionId)}</Row>
          <Row term={t('admin.orders.field.period')}>
            {o.periodStart && o.periodEnd ? (
              <>
                {when(o.periodStart, lang)} – {when(o.periodEnd, lang)}
              </>
            ) : (
              dash
            )}
          </Row>
          <Row term={t('admin.orders.field.checkoutEmail')}>{o.checkoutEmail ?? dash}</Row>
          <Row term={t('admin.orders.field.created')}>{when(o.createdAt, lang)}</Row>
          <Row term={t('admin.orders.field.paidAt')}>{when(o.paidAt, lang)}</Row>
          <Row term={t('admin.orders.field.updated')}>{when(o.updatedAt, lang)}</Row>
        </dl>
      </Card>
    </DetailSection>
  );
}

function Buyer({ detail }: { detail: AdminOrderDetail }) {
  const { t } = useTranslation();
  const u = detail.user;
  return (
    <DetailSection id="order-buyer" title={t('admin.orders.sections.buyer')}>
      <Card padding="sm">
        {u ? (
          <dl className="text-sm">
            <Row term={t('admin.orders.field.account')}>
              <Link to="/admin/users/$id" params={{ id: u.id }} className="break-all text-brand-700 hover:underline dark:text-brand-300">
                {u.email}
              </Link>
            </Row>
            <Row term={t('admin.orders.field.name')}>{u.name || dash}</Row>
            <Row term={t('admin.orders.field.accountStatus')}>{t(`admin.orders.accountStatuses.${u.status as 'active'}`, { defaultValue: u.status })}</Row>
            <Row term={t('admin.orders.field.billingFlag')}>
              {u.billingFlag ? t(`admin.orders.billingFlags.${u.billingFlag}`, { defaultValue: u.billingFlag }) : dash}
            </Row>
          </dl>
        ) : (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.orders.deletedBuyer', { ref: detail.order.subjectRef ?? dash })}</p>
        )}
      </Card>
    </DetailSection>
  );
}

function Events({ detail }: { detail: AdminOrderDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const o = detail.order;
  return (
    <DetailSection id="order-events" title={t('admin.orders.sections.events')}>
      {!detail.events.length ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.orders.noEvents')}</p>
      ) : (
        <ScrollTable label={t('admin.orders.sections.events')} minWidth="48rem" testId="admin-order-events">
          <TableHead
            columns={[
              t('admin.orders.col.received'),
              t('admin.orders.col.type'),
              t('admin.orders.col.state'),
              { label: t('admin.orders.col.amount'), end: true },
              t('admin.orders.col.applied'),
              t('admin.orders.col.eventId'),
            ]}
          />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {detail.events.map((e) => (
              <tr key={e.eventId}>
                <td className={`${td} text-xs tabular-nums`}>{when(e.receivedAt, lang)}</td>
                <th scope="row" className={`${td} text-start font-mono text-xs font-normal`}>
                  {e.type}
                </th>
                <td className={td}>
                  {t(`admin.orders.eventStates.${e.state}`)}
                  {e.waitingFor && (
                    <span className="block text-xs text-zinc-500 dark:text-zinc-400">{t('admin.orders.waitingFor', { ref: e.waitingFor })}</span>
                  )}
                </td>
                <td className={`${td} text-end tabular-nums`}>{e.amountMinor === null ? dash : formatMoney(e.amountMinor, o.currency, lang)}</td>
                <td className={`${td} text-xs tabular-nums`}>{when(e.appliedAt, lang)}</td>
                <td className={`${td} font-mono text-xs`}>{e.eventId}</td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
    </DetailSection>
  );
}

function Ledger({ detail }: { detail: AdminOrderDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <DetailSection id="order-ledger" title={t('admin.orders.sections.ledger')}>
      {!detail.ledger.length ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.orders.noLedger')}</p>
      ) : (
        <ScrollTable label={t('admin.orders.sections.ledger')} minWidth="40rem" testId="admin-order-ledger">
          <TableHead
            columns={[
              t('admin.orders.col.when'),
              t('admin.orders.col.kind'),
              { label: t('admin.orders.col.credits'), end: true },
              { label: t('admin.orders.col.balanceAfter'), end: true },
              t('admin.orders.col.reason'),
            ]}
          />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {detail.ledger.map((r) => (
              <tr key={r.id}>
                <td className={`${td} text-xs tabular-nums`}>{when(r.createdAt, lang)}</td>
                <th scope="row" className={`${td} text-start font-normal`}>
                  {t(`admin.orders.ledgerKinds.${r.kind}`, { defaultValue: r.kind })}
                </th>
                <td className={`${td} text-end tabular-nums`}>{r.amount > 0 ? `+${formatNumber(r.amount, lang)}` : formatNumber(r.amount, lang)}</td>
                <td className={`${td} text-end tabular-nums`}>{formatNumber(r.balanceAfter, lang)}</td>
                <td className={`${td} whitespace-normal`}>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
    </DetailSection>
  );
}

/**
 * /admin/orders/$id: one order with its payment events, the credits it moved, refunds through the
 * provider that took the money and reconciliation with it (support and admins; the server checks
 * every call).
 */
export function OrderDetailPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { id } = useParams({ from: '/admin/orders/$id' });
  const query = useQuery(orderDetailQuery(id));
  const title = query.data?.order.receiptNumber ?? id.slice(0, 8);
  usePageTitle(query.data ? t('admin.orders.detailTitle', { order: title }) : t('admin.orders.title'));
  const back = <BackLink to="/admin/orders">{t('admin.orders.back')}</BackLink>;

  if (query.isPending) return <PageLoading />;
  if (query.isError)
    return (
      <PageLoadFailed
        back={back}
        error={query.error}
        notFound={{ icon: <CreditCardIcon className="size-7" />, title: t('admin.orders.notFoundTitle'), body: t('admin.orders.notFoundBody') }}
        errorTitle={t('admin.orders.errorOne')}
        errorMessage={errorText(query.error, t, lang)}
        retryLabel={t('admin.orders.retry')}
        onRetry={() => void query.refetch()}
      />
    );
  const detail = query.data;
  const o = detail.order;
  return (
    <div data-testid="admin-order-detail" data-order-id={o.id}>
      {back}
      <header className="mt-4 mb-6 space-y-2">
        <h1 className="text-2xl font-semibold tracking-tight break-all text-zinc-900 sm:text-3xl dark:text-white">
          {t('admin.orders.heading', { order: title })}
        </h1>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {o.planName} · {formatMoney(o.paidMinor || o.amountMinor, o.currency, lang)} · {providerName(o.provider)}
        </p>
        <div className="flex flex-wrap items-center gap-1.5">
          <OrderStatusBadge status={o.status} testId="admin-order-status" />
        </div>
      </header>
      <div className="space-y-8">
        {detail.user?.billingFlag && (
          <Alert tone="warning" title={t('admin.orders.flaggedTitle')}>
            {t('admin.orders.flagged')}
          </Alert>
        )}
        <DetailSection id="order-actions" title={t('admin.orders.sections.actions')}>
          <Actions detail={detail} />
        </DetailSection>
        <OrderFacts detail={detail} />
        <Buyer detail={detail} />
        <Events detail={detail} />
        <Ledger detail={detail} />
      </div>
    </div>
  );
}
