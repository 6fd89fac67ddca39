import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CoinsIcon, CreditCardIcon, DocumentIcon } from '../../components/icons';
import { Alert, Button, buttonClasses, Card, Dialog, EmptyState, Spinner, useToast } from '../../components/ui';
import { ApiError } from '../../lib/api';
import {
  billingErrorText,
  billingKey,
  billingQuery,
  cancelSubscription,
  formatDate,
  formatMoney,
  formatNumber,
  orderQuery,
  plansQuery,
  refreshAfterPayment,
  type OrderStatus,
  type OrderView,
  type SubscriptionView,
} from '../../lib/billing';
import { cn } from '../../lib/cn';
import { useCredits } from '../../lib/credits';
import { dateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { PageHeader } from '../../components/layout/PageHeader';

/** How often, and how long, the page asks about an order the buyer has just paid for. */
const POLL_MS = 1_500;
const POLL_FOR_MS = 60_000;

/** /billing: the balance, the subscription, the order history with receipts, and the outcome of a checkout. */
export function BillingPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('billing.title'));
  const search = useSearch({ from: '/billing' });
  const list = useInfiniteQuery(billingQuery);
  const orders = list.data?.pages.flatMap((p) => p.orders) ?? [];
  const subscription = list.data?.pages[0]?.subscription ?? null;
  const nextPageError = list.error;

  return (
    <div className="mx-auto max-w-6xl px-4 py-10 sm:px-6 sm:py-12" data-testid="billing-page">
      <PageHeader title={t('billing.title')} lead={t('billing.lead')}>
        <Link to="/pricing" className={buttonClasses({ variant: 'primary', className: 'self-start sm:self-auto' })}>
          <CoinsIcon className="size-4" />
          {t('billing.buyCredits')}
        </Link>
      </PageHeader>

      <div className="space-y-4">{search.canceled ? <CanceledBanner /> : search.order ? <OrderBanner key={search.order} orderId={search.order} /> : null}</div>

      <div className="mt-6 grid gap-5 md:grid-cols-2">
        <BalanceCard />
        <SubscriptionCard subscription={subscription} loading={list.isPending} />
      </div>

      <section aria-labelledby="orders-title" className="mt-10">
        <h2 id="orders-title" className="mb-4 text-lg font-semibold text-zinc-900 dark:text-white">
          {t('billing.orders.title')}
        </h2>
        {list.isPending ? (
          <p className="flex items-center gap-2 py-10 text-sm text-zinc-500 dark:text-zinc-400" role="status">
            <Spinner className="size-4" />
            {t('billing.orders.loading')}
          </p>
        ) : list.isError && !list.isFetchNextPageError ? (
          <Alert
            tone="error"
            title={t('billing.orders.error')}
            data-testid="orders-error"
            action={
              <Button size="sm" variant="secondary" onClick={() => void list.refetch()}>
                {t('billing.retry')}
              </Button>
            }
          >
            {billingErrorText(list.error, t, i18n.language)}
          </Alert>
        ) : orders.length === 0 ? (
          <div className="rounded-2xl border border-dashed border-zinc-300 dark:border-zinc-700">
            <EmptyState
              icon={<CreditCardIcon className="size-7" />}
              title={t('billing.orders.emptyTitle')}
              description={t('billing.orders.emptyBody')}
              action={
                <Link to="/pricing" className={buttonClasses({ variant: 'primary' })} data-testid="empty-pricing-link">
                  {t('billing.orders.seePlans')}
                </Link>
              }
            />
          </div>
        ) : (
          <>
            <OrdersTable orders={orders} />
            {list.hasNextPage && (
              <div className="mt-6 flex justify-center">
                <Button
                  variant="secondary"
                  onClick={() => void list.fetchNextPage()}
                  loading={list.isFetchingNextPage}
                  loadingText={t('billing.orders.loadingMore')}
                  data-testid="load-more"
                >
                  {t('billing.orders.loadMore')}
                </Button>
              </div>
            )}
            {list.isFetchNextPageError && (
              <Alert tone="error" className="mt-4">
                {billingErrorText(nextPageError, t, i18n.language)}
              </Alert>
            )}
          </>
        )}
      </section>
    </div>
  );
}

function CanceledBanner() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  return (
    <Alert
      tone="info"
      title={t('billing.canceled.title')}
      data-testid="checkout-canceled"
      action={
        <>
          <Link to="/pricing" className={buttonClasses({ variant: 'secondary', size: 'sm' })}>
            {t('billing.canceled.again')}
          </Link>
          <Button size="sm" variant="ghost" onClick={() => void navigate({ to: '/billing', search: {}, replace: true })}>
            {t('ui.dismiss')}
          </Button>
        </>
      }
    >
      {t('billing.canceled.body')}
    </Alert>
  );
}

/**
 * The outcome of a checkout the provider sent the buyer back from: asks for the order every 1.5 s
 * (for up to a minute) until it is paid or failed, then refreshes the balance and the history.
 */
function OrderBanner({ orderId }: { orderId: string }) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [since, setSince] = useState(() => Date.now());
  const [timedOut, setTimedOut] = useState(false);
  useEffect(() => {
    const timer = window.setTimeout(() => setTimedOut(true), Math.max(0, since + POLL_FOR_MS - Date.now()));
    return () => window.clearTimeout(timer);
  }, [since]);

  const order = useQuery({
    ...orderQuery(orderId),
    refetchInterval: (query) => {
      if (Date.now() - since >= POLL_FOR_MS) return false;
      const status = query.state.data?.status;
      if (status && status !== 'pending') return false;
      // an order that is not there (or not ours) will not appear by asking again
      if (!status && query.state.error instanceof ApiError && query.state.error.status >= 400 && query.state.error.status < 500) return false;
      return POLL_MS;
    },
    refetchIntervalInBackground: true,
  });

  // the moment it settles: new credits, a new line in the history (and maybe a subscription)
  const status = order.data?.status;
  const seen = useRef<OrderStatus | undefined>(undefined);
  useEffect(() => {
    if (status && status !== 'pending' && seen.current !== status) refreshAfterPayment(queryClient);
    seen.current = status;
  }, [status, queryClient]);

  const dismiss = () => void navigate({ to: '/billing', search: {}, replace: true });
  const dismissButton = (
    <Button size="sm" variant="ghost" onClick={dismiss}>
      {t('ui.dismiss')}
    </Button>
  );

  if (order.isPending) {
    return (
      <Alert tone="info" title={t('billing.order.checking')} data-testid="order-pending">
        <span className="inline-flex items-center gap-2">
          <Spinner className="size-4 shrink-0" />
          {t('billing.order.pendingBody')}
        </span>
      </Alert>
    );
  }
  if (order.isError && !order.data) {
    return (
      <Alert
        tone="error"
        title={t('billing.order.notFound')}
        data-testid="order-error"
        action={
          <>
            <Button size="sm" variant="secondary" onClick={() => void order.refetch()}>
              {t('billing.retry')}
            </Button>
            {dismissButton}
          </>
        }
      >
        {billingErrorText(order.error, t, i18n.language)}
      </Alert>
    );
  }

  const o = order.data;
  const credits = formatNumber(o.credits, i18n.language);
  switch (o.status) {
    case 'paid':
      return (
        <Alert tone="success" title={t('billing.order.paid', { count: o.credits, credits })} data-testid="order-paid" action={dismissButton}>
          {t('billing.order.paidBody', { plan: o.planName, amount: formatMoney(o.amountMinor, o.currency, i18n.language) })}
        </Alert>
      );
    case 'failed':
    case 'expired':
      return (
        <Alert
          tone="error"
          title={t('billing.order.failed')}
          data-testid="order-failed"
          action={
            <>
              <Link to="/pricing" className={buttonClasses({ variant: 'secondary', size: 'sm' })}>
                {t('billing.order.tryAgain')}
              </Link>
              {dismissButton}
            </>
          }
        >
          {t('billing.order.failedBody')}
        </Alert>
      );
    case 'pending':
      return timedOut ? (
        <Alert
          tone="warning"
          title={t('billing.order.slowTitle')}
          data-testid="order-pending"
          action={
            <>
              <Button
                size="sm"
                variant="secondary"
                onClick={() => {
                  setSince(Date.now());
                  setTimedOut(false);
                  void order.refetch();
                }}
                loading={order.isFetching}
                data-testid="order-check-again"
              >
                {t('billing.order.checkAgain')}
              </Button>
              {dismissButton}
            </>
          }
        >
          {t('billing.order.slowBody')}
        </Alert>
      ) : (
        <Alert tone="info" title={t('billing.order.pending')} data-testid="order-pending">
          <span className="inline-flex items-center gap-2">
            <Spinner className="size-4 shrink-0" />
            {t('billing.order.pendingBody')}
          </span>
        </Alert>
      );
    default:
      return (
        <Alert tone="info" title={t('billing.order.other', { status: t(`billing.status.${o.status}`) })} data-testid="order-other" action={dismissButton} />
      );
  }
}

function BalanceCard() {
  const { t, i18n } = useTranslation();
  const credits = useCredits();
  const balance = credits.data?.balance;
  return (
    <Card data-testid="billing-balance" data-balance={balance}>
      <h2 className="flex items-center gap-2 text-sm font-medium text-zinc-600 dark:text-zinc-400">
        <CoinsIcon className="size-4 text-brand-600 dark:text-brand-300" />
        {t('billing.balance.title')}
      </h2>
      {balance === undefined ? (
        credits.isError ? (
          <p className="mt-3 text-sm text-zinc-500 dark:text-zinc-400">{t('studio.balance.unavailable')}</p>
        ) : (
          <Spinner className="mt-4 size-5 text-zinc-400" />
        )
      ) : (
        <p className="mt-2 text-3xl font-semibold tracking-tight text-zinc-900 tabular-nums dark:text-white" data-testid="billing-balance-amount">
          {t('billing.balance.credits', { count: balance, credits: formatNumber(balance, i18n.language) })}
        </p>
      )}
      {!!credits.data?.held && (
        <p className="mt-1 text-sm text-zinc-500 tabular-nums dark:text-zinc-400">{t('studio.balance.held', { count: credits.data.held })}</p>
      )}
      <p className="mt-3 text-sm text-zinc-600 dark:text-zinc-400">{t('billing.balance.hint')}</p>
    </Card>
  );
}

function SubscriptionCard({ subscription, loading }: { subscription: SubscriptionView | null; loading: boolean }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const plans = useQuery({ ...plansQuery, enabled: !!subscription });
  const plan = plans.data?.plans.find((p) => p.id === subscription?.planId);
  const [confirming, setConfirming] = useState(false);
  const keepRef = useRef<HTMLButtonElement>(null);

  const cancel = useMutation({
    mutationFn: () => cancelSubscription(queryClient),
    onSuccess: (s) => {
      setConfirming(false);
      // the provider confirms by webhook too (and may fill in the end date): read it again shortly
      window.setTimeout(() => void queryClient.invalidateQueries({ queryKey: billingKey }), 2_000);
      toast({
        tone: 'success',
        title: t('billing.subscription.canceledToast'),
        description: s.currentPeriodEnd ? t('billing.subscription.endsOn', { date: formatDate(s.currentPeriodEnd, i18n.language) }) : undefined,
      });
    },
  });

  const end = subscription?.currentPeriodEnd ? formatDate(subscription.currentPeriodEnd, i18n.language) : null;
  const ending = !!subscription && (subscription.cancelAtPeriodEnd || subscription.status === 'canceled');
  const cancellable = !!subscription && !ending && (subscription.status === 'active' || subscription.status === 'past_due');

  return (
    <Card data-testid="subscription" data-status={subscription?.status ?? 'none'}>
      <h2 className="flex items-center gap-2 text-sm font-medium text-zinc-600 dark:text-zinc-400">
        <CreditCardIcon className="size-4 text-brand-600 dark:text-brand-300" />
        {t('billing.subscription.title')}
      </h2>
      {loading ? (
        <Spinner className="mt-4 size-5 text-zinc-400" />
      ) : !subscription ? (
        <>
          <p className="mt-2 text-base font-semibold text-zinc-900 dark:text-white">{t('billing.subscription.none')}</p>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
            {t('billing.subscription.noneBody')}{' '}
            <Link to="/pricing" hash="subscriptions-title" className="font-medium text-brand-700 hover:underline dark:text-brand-300">
              {t('billing.subscription.seePlans')}
            </Link>
          </p>
        </>
      ) : (
        <>
          <p className="mt-2 flex flex-wrap items-center gap-2">
            <span className="text-xl font-semibold text-zinc-900 dark:text-white" data-testid="subscription-plan">
              {subscription.planName}
            </span>
            <SubscriptionBadge status={subscription.status} ending={ending} />
          </p>
          {plan && (
            <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
              {t(`pricing.creditsPer.${plan.interval ?? 'month'}`, { count: plan.credits, credits: formatNumber(plan.credits, i18n.language) })}
              {' · '}
              {plan.rollover ? t(`pricing.rollover.${plan.interval ?? 'month'}`) : t(`pricing.expire.${plan.interval ?? 'month'}`)}
            </p>
          )}
          {end ? (
            <p
              className="mt-2 text-sm text-zinc-700 dark:text-zinc-300"
              data-testid={ending || subscription.status === 'expired' ? 'subscription-ends' : 'subscription-renews'}
            >
              {subscription.status === 'expired'
                ? t('billing.subscription.endedOn', { date: end })
                : ending
                  ? t('billing.subscription.endsOn', { date: end })
                  : t('billing.subscription.renewsOn', { date: end })}
            </p>
          ) : (
            ending && (
              <p className="mt-2 text-sm text-zinc-700 dark:text-zinc-300" data-testid="subscription-ends">
                {t('billing.subscription.endsAtPeriodEnd')}
              </p>
            )
          )}
          {subscription.status === 'past_due' && (
            <p className="mt-2 text-sm text-amber-700 dark:text-amber-300">
              {t('billing.subscription.pastDue', { provider: t(`pricing.providers.${subscription.provider}`) })}
            </p>
          )}
          {cancellable && (
            <Button
              variant="secondary"
              size="sm"
              className="mt-4"
              onClick={() => {
                cancel.reset();
                setConfirming(true);
              }}
              data-testid="cancel-subscription"
            >
              {t('billing.subscription.cancel')}
            </Button>
          )}
        </>
      )}

      <Dialog
        open={confirming}
        onClose={cancel.isPending ? () => undefined : () => setConfirming(false)}
        title={t('billing.subscription.confirmTitle')}
        description={end ? t('billing.subscription.confirmBody', { date: end }) : t('billing.subscription.confirmBodyNoDate')}
        initialFocus={keepRef}
        size="sm"
        footer={
          <>
            <Button ref={keepRef} variant="secondary" onClick={() => setConfirming(false)} disabled={cancel.isPending}>
              {t('billing.subscription.keep')}
            </Button>
            <Button variant="danger" onClick={() => cancel.mutate()} loading={cancel.isPending} data-testid="confirm-cancel-subscription">
              {t('billing.subscription.confirm')}
            </Button>
          </>
        }
      >
        {cancel.isError && <Alert tone="error">{billingErrorText(cancel.error, t, i18n.language)}</Alert>}
      </Dialog>
    </Card>
  );
}

function SubscriptionBadge({ status, ending }: { status: SubscriptionView['status']; ending: boolean }) {
  const { t } = useTranslation();
  const tone =
    status === 'active' && !ending
      ? 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300'
      : status === 'past_due' || ending
        ? 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300'
        : 'bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400';
  return (
    <span className={cn('inline-flex items-center rounded-full px-2 py-0.5 text-xs font-semibold', tone)} data-testid="subscription-status">
      {status === 'active' && ending ? t('billing.subscription.status.ending') : t(`billing.subscription.status.${status}`)}
    </span>
  );
}

const statusTones: Record<OrderStatus, string> = {
  pending: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  paid: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300',
  failed: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
  expired: 'bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400',
  refunded: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
  partially_refunded: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
  disputed: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
};

function OrderStatusBadge({ status }: { status: OrderStatus }) {
  const { t } = useTranslation();
  return (
    <span
      className={cn('inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-semibold whitespace-nowrap', statusTones[status])}
      data-testid="order-status"
    >
      {status === 'pending' && <span className="size-1.5 animate-pulse rounded-full bg-current" aria-hidden="true" />}
      {t(`billing.status.${status}`)}
    </span>
  );
}

function OrdersTable({ orders }: { orders: OrderView[] }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const th = 'px-4 py-3 text-start text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400';
  // a table from the sm breakpoint; below it each order is a small two-column card (plan and
  // amount, date and status, provider and receipt), so nothing needs sideways scrolling
  const td = 'sm:table-cell sm:px-4 sm:py-3 sm:align-top sm:order-none';
  return (
    <div className="overflow-hidden rounded-2xl border border-zinc-200 bg-white shadow-sm dark:border-zinc-800 dark:bg-zinc-900/60">
      <table className="block w-full text-sm sm:table" data-testid="orders">
        <caption className="sr-only">{t('billing.orders.title')}</caption>
        <thead className="hidden border-b border-zinc-200 sm:table-header-group dark:border-zinc-800">
          <tr>
            <th scope="col" className={th}>
              {t('billing.orders.date')}
            </th>
            <th scope="col" className={th}>
              {t('billing.orders.plan')}
            </th>
            <th scope="col" className={cn(th, 'text-end')}>
              {t('billing.orders.amount')}
            </th>
            <th scope="col" className={th}>
              {t('billing.orders.provider')}
            </th>
            <th scope="col" className={th}>
              {t('billing.orders.status')}
            </th>
            <th scope="col" className={th}>
              <span className="sr-only">{t('billing.orders.receipt')}</span>
            </th>
          </tr>
        </thead>
        <tbody className="block divide-y divide-zinc-200 text-zinc-700 sm:table-row-group dark:divide-zinc-800 dark:text-zinc-300">
          {orders.map((o) => (
            <tr
              key={o.id}
              data-testid={`order-${o.id}`}
              data-status={o.status}
              className="grid grid-cols-2 items-center gap-x-4 gap-y-2 p-4 sm:table-row sm:p-0"
            >
              <td className={cn(td, 'order-3 whitespace-nowrap text-zinc-500 sm:text-inherit dark:text-zinc-400 sm:dark:text-inherit')}>
                <time dateTime={o.createdAt} title={dateTime(o.createdAt, lang)}>
                  {formatDate(o.createdAt, lang)}
                </time>
              </td>
              <td className={cn(td, 'order-1')}>
                <span className="font-medium text-zinc-900 dark:text-white">{o.planName}</span>
                {o.kind === 'renewal' && <span className="ms-1.5 text-xs text-zinc-500 dark:text-zinc-400">({t('billing.orders.renewal')})</span>}
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                  {t('billing.balance.credits', { count: o.credits, credits: formatNumber(o.credits, lang) })}
                </span>
              </td>
              <td className={cn(td, 'order-2 text-end whitespace-nowrap tabular-nums')}>
                {formatMoney(o.amountMinor, o.currency, lang)}
                {o.refundedMinor > 0 && (
                  <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                    {t('billing.orders.refunded', { amount: formatMoney(o.refundedMinor, o.currency, lang) })}
                  </span>
                )}
              </td>
              <td className={cn(td, 'order-5 whitespace-nowrap')}>{t(`pricing.providers.${o.provider}`)}</td>
              <td className={cn(td, 'order-4 text-end sm:text-start')}>
                <OrderStatusBadge status={o.status} />
              </td>
              <td className={cn(td, 'order-6 text-end whitespace-nowrap')}>
                {o.receiptUrl && (
                  <a
                    href={o.receiptUrl}
                    download={`receipt-${o.receiptNumber ?? o.id}.pdf`}
                    className="inline-flex items-center gap-1.5 font-medium text-brand-700 hover:underline dark:text-brand-300"
                    data-testid={`receipt-${o.id}`}
                  >
                    <DocumentIcon className="size-4" />
                    {t('billing.orders.receipt')}
                    <span className="sr-only">
                      {' '}
                      {o.receiptNumber ?? ''} {formatDate(o.createdAt, lang)}
                    </span>
                  </a>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
