import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useEffect, useEffectEvent, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CreditCardIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Button, Card, EmptyState, Input, Select } from '../../components/ui';
import { formatMoney } from '../../lib/billing';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { orderFilterKeys, orderListQuery, orderStatuses, paymentProviders, type AdminOrderRow } from './orders/api';
import { OrderStatusBadge, providerName, shortId } from './orders/shared';
import { useUrlFilters } from './orders/url-filters';
import { dash, ScrollTable, TableHead, td } from './users/shared';

/** How long typing pauses before the search runs (Enter runs it at once). */
const DEBOUNCE_MS = 300;

function OrdersTable({ orders }: { orders: AdminOrderRow[] }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <ScrollTable label={t('admin.orders.results')} minWidth="56rem" testId="admin-order-results">
      <TableHead
        columns={[
          t('admin.orders.col.order'),
          t('admin.orders.col.buyer'),
          { label: t('admin.orders.col.amount'), end: true },
          { label: t('admin.orders.col.refunded'), end: true },
          t('admin.orders.col.status'),
          t('admin.orders.col.provider'),
          t('admin.orders.col.created'),
        ]}
      />
      <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
        {orders.map((o) => (
          <tr key={o.id} data-testid="admin-order-row" data-order-id={o.id}>
            <th scope="row" className={`${td} text-start font-normal`}>
              <Link
                to="/admin/orders/$id"
                params={{ id: o.id }}
                className="font-mono font-medium text-brand-700 hover:underline dark:text-brand-300"
                aria-label={t('admin.orders.openLabel', { order: o.receiptNumber ?? o.id })}
                title={o.id}
              >
                {o.receiptNumber ?? shortId(o.id)}
              </Link>
              <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                {o.planName} · {t(`admin.orders.kinds.${o.kind}`)}
              </span>
            </th>
            <td className={`${td} max-w-64 truncate`}>
              {o.user ? (
                <Link to="/admin/users/$id" params={{ id: o.user.id }} className="text-brand-700 hover:underline dark:text-brand-300">
                  {o.user.email}
                </Link>
              ) : (
                <span className="text-zinc-500 dark:text-zinc-400">{t('admin.orders.deletedAccount')}</span>
              )}
            </td>
            <td className={`${td} text-end tabular-nums`}>{formatMoney(o.paidMinor || o.amountMinor, o.currency, lang)}</td>
            <td className={`${td} text-end tabular-nums`}>{o.refundedMinor ? formatMoney(o.refundedMinor, o.currency, lang) : dash}</td>
            <td className={td}>
              <OrderStatusBadge status={o.status} />
            </td>
            <td className={td}>{providerName(o.provider)}</td>
            <td className={`${td} text-xs text-zinc-500 tabular-nums dark:text-zinc-400`}>
              <time dateTime={o.createdAt}>{dateTime(o.createdAt, lang)}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

/** /admin/orders: find orders by status, provider, currency, date, or an id, receipt, email or payment reference (support, admin). */
export function OrdersPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('admin.orders.title'));
  const [filters, setFilters] = useUrlFilters(orderFilterKeys);
  const [term, setTerm] = useState(filters.q);
  const [currency, setCurrency] = useState(filters.currency);
  // the address changed by itself (back, a link): the fields follow
  const [seen, setSeen] = useState({ q: filters.q, currency: filters.currency });
  if (seen.q !== filters.q || seen.currency !== filters.currency) {
    setSeen({ q: filters.q, currency: filters.currency });
    if (term.trim() !== filters.q) setTerm(filters.q);
    if (currency.trim().toLowerCase() !== filters.currency) setCurrency(filters.currency);
  }
  // search as the operator types, once they pause
  const search = useEffectEvent(() => {
    if (term.trim() !== filters.q) setFilters({ q: term });
  });
  useEffect(() => {
    const timer = window.setTimeout(search, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [term]);

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setFilters({ q: term, currency: /^[a-z]{3}$/i.test(currency.trim()) ? currency.trim().toLowerCase() : '' });
  };

  const list = useInfiniteQuery(orderListQuery(filters));
  const orders = list.data?.pages.flatMap((p) => p.orders) ?? [];
  const filtered = orderFilterKeys.some((k) => filters[k]);

  return (
    <div data-testid="admin-orders-page">
      <PageHeader title={t('admin.orders.title')} lead={t('admin.orders.lead')} />
      <Card padding="sm" className="mb-6">
        <form role="search" aria-label={t('admin.orders.searchLabel')} onSubmit={onSubmit} className="grid items-start gap-4 sm:grid-cols-2 lg:grid-cols-3">
          <Input
            label={t('admin.orders.search')}
            hint={t('admin.orders.searchHint')}
            type="search"
            value={term}
            onChange={(e) => setTerm(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            autoCapitalize="off"
            maxLength={320}
            className="sm:col-span-2 lg:col-span-3"
            data-testid="admin-order-search"
          />
          <Select
            label={t('admin.orders.status')}
            value={filters.status}
            onChange={(e) => setFilters({ status: e.target.value })}
            data-testid="admin-order-filter-status"
          >
            <option value="">{t('admin.orders.anyStatus')}</option>
            {orderStatuses.map((s) => (
              <option key={s} value={s}>
                {t(`admin.orders.statuses.${s}`)}
              </option>
            ))}
          </Select>
          <Select label={t('admin.orders.provider')} value={filters.provider} onChange={(e) => setFilters({ provider: e.target.value })}>
            <option value="">{t('admin.orders.anyProvider')}</option>
            {paymentProviders.map((p) => (
              <option key={p} value={p}>
                {providerName(p)}
              </option>
            ))}
          </Select>
          <Input
            label={t('admin.orders.currency')}
            hint={t('admin.orders.currencyHint')}
            value={currency}
            onChange={(e) => setCurrency(e.target.value)}
            onBlur={() => {
              const c = currency.trim().toLowerCase();
              if (c === '' || /^[a-z]{3}$/.test(c)) setFilters({ currency: c });
            }}
            maxLength={3}
            autoComplete="off"
            spellCheck={false}
            autoCapitalize="characters"
            pattern="[A-Za-z]{3}"
          />
          <Input label={t('admin.orders.from')} type="date" value={filters.from} onChange={(e) => setFilters({ from: e.target.value })} />
          <Input label={t('admin.orders.to')} type="date" value={filters.to} onChange={(e) => setFilters({ to: e.target.value })} />
          {filtered && (
            <div className="flex items-end sm:pt-7">
              <Button
                type="button"
                variant="secondary"
                onClick={() => {
                  setTerm('');
                  setCurrency('');
                  setFilters({ q: '', status: '', provider: '', currency: '', from: '', to: '' });
                }}
              >
                {t('admin.orders.clear')}
              </Button>
            </div>
          )}
        </form>
      </Card>
      {/* the outcome of each search, for screen readers */}
      <p className="sr-only" aria-live="polite" aria-atomic="true" data-testid="admin-order-search-status">
        {list.isSuccess ? (list.hasNextPage ? t('admin.orders.foundMore', { count: orders.length }) : t('admin.orders.found', { count: orders.length })) : ''}
      </p>
      <QueryState
        pending={list.isPending}
        error={list.isError && !orders.length ? list.error : null}
        onRetry={() => void list.refetch()}
        loadingText={t('admin.orders.loading')}
        errorTitle={t('admin.orders.error')}
        errorMessage={list.isError ? errorText(list.error, t, i18n.language) : ''}
        retryLabel={t('admin.orders.retry')}
      >
        {!orders.length ? (
          <EmptyState
            icon={<CreditCardIcon className="size-7" />}
            title={filtered ? t('admin.orders.noMatchTitle') : t('admin.orders.emptyTitle')}
            description={filtered ? t('admin.orders.noMatch') : t('admin.orders.empty')}
          />
        ) : (
          <>
            <OrdersTable orders={orders} />
            {list.hasNextPage && (
              <div className="mt-6 flex justify-center">
                <Button variant="secondary" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
                  {t('admin.orders.more')}
                </Button>
              </div>
            )}
          </>
        )}
      </QueryState>
    </div>
  );
}
