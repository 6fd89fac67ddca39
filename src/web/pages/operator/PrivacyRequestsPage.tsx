import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { InboxIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Badge, Button, Card, Checkbox, EmptyState, Select } from '../../components/ui';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import {
  privacyQueueQuery,
  privacyRequestKinds,
  type PrivacyRequestKind,
  type PrivacyRequestView,
  type QueueFilters,
  type QueueStatusFilter,
} from '../../lib/privacy-requests';
import { usePageTitle } from '../../lib/usePageTitle';
import { RequestBadges } from './privacy-shared';

function RequestRow({ r }: { r: PrivacyRequestView }) {
  const { t, i18n } = useTranslation();
  return (
    <li data-testid="privacy-request-row" data-overdue={r.overdue ? 'true' : 'false'}>
      <Card padding="sm" className="flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
        <div className="min-w-0 space-y-1">
          <p className="flex flex-wrap items-center gap-2">
            <Link
              to="/operator/privacy-requests/$id"
              params={{ id: r.id }}
              className="font-mono text-sm font-semibold text-brand-700 hover:underline dark:text-brand-300"
              aria-label={t('privacyRequests.operator.openLabel', { reference: r.id, kind: t(`privacyRequests.operator.kinds.${r.kind}`) })}
            >
              {r.id}
            </Link>
            <RequestBadges request={r} />
          </p>
          <p className="truncate text-sm text-zinc-700 dark:text-zinc-300">
            {r.name ? `${r.name} · ` : ''}
            {r.email}
            {r.subjectEmail ? ` → ${r.subjectEmail}` : ''}
          </p>
        </div>
        <div className="shrink-0 text-xs text-zinc-500 sm:text-end dark:text-zinc-400">
          <p className={r.overdue ? 'font-semibold text-red-700 dark:text-red-300' : undefined}>
            {t('privacyRequests.operator.due', { date: dateTime(r.dueAt, i18n.language) })}
          </p>
          <p>{t('privacyRequests.operator.received', { date: dateTime(r.createdAt, i18n.language) })}</p>
        </div>
      </Card>
    </li>
  );
}

/** /operator/privacy-requests: every privacy request and child report, soonest due first, the overdue ones marked (support and admins). */
export function PrivacyRequestsPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('privacyRequests.operator.title'));
  const [filters, setFilters] = useState<QueueFilters>({ status: 'open', overdue: false, kind: '' });
  const list = useInfiniteQuery(privacyQueueQuery(filters));
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const counts = list.data?.pages[0]?.counts;

  return (
    <div className="mx-auto max-w-5xl px-4 py-8 sm:px-6 sm:py-10" data-testid="privacy-requests-page">
      <PageHeader title={t('privacyRequests.operator.title')} lead={t('privacyRequests.operator.lead')}>
        {counts && (
          <p className="flex flex-wrap gap-2 text-sm" data-testid="privacy-request-counts">
            <Badge tone="brand">{t('privacyRequests.operator.openCount', { count: counts.open })}</Badge>
            <Badge tone={counts.overdue ? 'warning' : 'neutral'}>{t('privacyRequests.operator.overdueCount', { count: counts.overdue })}</Badge>
          </p>
        )}
      </PageHeader>
      <Card padding="sm" className="mb-6">
        <form
          className="grid items-end gap-4 sm:grid-cols-[12rem_14rem_1fr]"
          onSubmit={(e) => e.preventDefault()}
          aria-label={t('privacyRequests.operator.filters')}
        >
          <Select
            label={t('privacyRequests.operator.show')}
            value={filters.status}
            onChange={(e) => setFilters((f) => ({ ...f, status: e.target.value as QueueStatusFilter }))}
          >
            {(['open', 'closed', 'all'] as const).map((s) => (
              <option key={s} value={s}>
                {t(`privacyRequests.operator.statusFilter.${s}`)}
              </option>
            ))}
          </Select>
          <Select
            label={t('privacyRequests.operator.kind')}
            value={filters.kind}
            onChange={(e) => setFilters((f) => ({ ...f, kind: e.target.value as PrivacyRequestKind | '' }))}
          >
            <option value="">{t('privacyRequests.operator.anyKind')}</option>
            {privacyRequestKinds.map((k) => (
              <option key={k} value={k}>
                {t(`privacyRequests.operator.kinds.${k}`)}
              </option>
            ))}
          </Select>
          <Checkbox
            label={t('privacyRequests.operator.onlyOverdue')}
            checked={filters.overdue}
            onChange={(e) => setFilters((f) => ({ ...f, overdue: e.target.checked }))}
            className="sm:pb-2.5"
          />
        </form>
      </Card>
      <QueryState
        pending={list.isPending}
        error={list.isError ? list.error : null}
        onRetry={() => void list.refetch()}
        loadingText={t('privacyRequests.operator.loading')}
        errorTitle={t('privacyRequests.operator.error')}
        errorMessage={list.isError ? errorText(list.error, t, i18n.language) : ''}
        retryLabel={t('privacyRequests.operator.retry')}
      >
        {!items.length ? (
          <EmptyState
            icon={<InboxIcon className="size-7" />}
            title={t('privacyRequests.operator.emptyTitle')}
            description={t('privacyRequests.operator.empty')}
          />
        ) : (
          <>
            <ul className="space-y-3" data-testid="privacy-request-list">
              {items.map((r) => (
                <RequestRow key={r.id} r={r} />
              ))}
            </ul>
            {list.hasNextPage && (
              <div className="mt-6 flex justify-center">
                <Button variant="secondary" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
                  {t('privacyRequests.operator.more')}
                </Button>
              </div>
            )}
          </>
        )}
      </QueryState>
    </div>
  );
}
