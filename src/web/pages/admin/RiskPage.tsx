import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { AlertIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Badge, Button, Card, EmptyState, Select } from '../../components/ui';
import { formatNumber } from '../../lib/billing';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { useUrlFilters } from './orders/url-filters';
import { clustersQuery, strongSignalKinds, type ClusterSort, type RiskCluster, type StrongKind } from './risk/api';
import { FreeCreditBadge, useKindName } from './risk/shared';
import { ScrollTable, StatusBadge, TableHead, td } from './users/shared';

const filterKeys = ['kind', 'sort'] as const;

/** One cluster: its figures, and its members behind a disclosure button. */
function ClusterCard({ cluster }: { cluster: RiskCluster }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const kindName = useKindName();
  const [open, setOpen] = useState(false);
  const membersId = useId();
  const figures: [string, number][] = [
    [t('admin.risk.clusters.size'), cluster.size],
    [t('admin.risk.clusters.suspended'), cluster.suspended],
    [t('admin.risk.clusters.terminated'), cluster.terminated],
    [t('admin.risk.clusters.freeCredits'), cluster.freeCredits],
  ];
  return (
    <Card padding="md" className="space-y-3" data-testid="admin-risk-cluster" data-kind={cluster.kind} data-size={cluster.size}>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h2 className="text-sm font-semibold text-zinc-900 dark:text-white">
            <Badge tone="warning">{kindName(cluster.kind)}</Badge>{' '}
            <span className="font-mono text-xs break-all">{cluster.label ?? t('admin.risk.masked')}</span>
          </h2>
          <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
            {t('admin.risk.clusters.newest', { date: dateTime(cluster.newestSignupAt, lang) })} ·{' '}
            {t('admin.risk.clusters.lastSeen', { date: dateTime(cluster.lastSeenAt, lang) })}
          </p>
        </div>
        <Button
          size="sm"
          variant="secondary"
          aria-expanded={open}
          aria-controls={membersId}
          onClick={() => setOpen((o) => !o)}
          data-testid="admin-risk-cluster-toggle"
        >
          {open ? t('admin.risk.clusters.hide') : t('admin.risk.clusters.show', { count: cluster.size })}
        </Button>
      </div>
      <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
        {figures.map(([label, value]) => (
          <div key={label}>
            <dt className="text-xs text-zinc-500 dark:text-zinc-400">{label}</dt>
            <dd className="text-lg font-semibold text-zinc-900 tabular-nums dark:text-white">{formatNumber(value, lang)}</dd>
          </div>
        ))}
      </dl>
      <div id={membersId} hidden={!open}>
        {open && (
          <>
            <ScrollTable label={t('admin.risk.clusters.members')} minWidth="36rem" testId="admin-risk-cluster-members">
              <TableHead columns={[t('admin.risk.col.account'), t('admin.risk.col.status'), t('admin.risk.col.freeCredits'), t('admin.risk.col.signedUp')]} />
              <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
                {cluster.members.map((m) => (
                  <tr key={m.id} data-testid="admin-risk-cluster-member">
                    <th scope="row" className={`${td} max-w-64 truncate text-start font-normal`}>
                      <Link to="/admin/users/$id" params={{ id: m.id }} className="text-brand-700 hover:underline dark:text-brand-300">
                        {m.email}
                      </Link>
                    </th>
                    <td className={td}>
                      <StatusBadge status={m.status} />
                    </td>
                    <td className={td}>
                      <FreeCreditBadge state={m.freeCredits} />
                    </td>
                    <td className={`${td} text-xs`}>
                      <time dateTime={m.createdAt}>{dateTime(m.createdAt, lang)}</time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </ScrollTable>
            {cluster.size > cluster.members.length && (
              <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">{t('admin.risk.clusters.moreMembers', { count: cluster.members.length })}</p>
            )}
          </>
        )}
      </div>
    </Card>
  );
}

/**
 * /admin/risk: the clusters of accounts linked by one strong signal (a device, fingerprint, card,
 * wallet or canonical address), largest or newest first, filtered by kind (support, admin).
 */
export function RiskPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('admin.risk.clusters.title'));
  const kindName = useKindName();
  const [filters, setFilters] = useUrlFilters(filterKeys);
  const kind = (strongSignalKinds as readonly string[]).includes(filters.kind) ? (filters.kind as StrongKind) : '';
  const sort: ClusterSort = filters.sort === 'newest' ? 'newest' : 'size';
  const list = useInfiniteQuery(clustersQuery({ kind, sort }));
  const clusters = list.data?.pages.flatMap((p) => p.clusters) ?? [];

  return (
    <div data-testid="admin-risk-page">
      <PageHeader title={t('admin.risk.clusters.title')} lead={t('admin.risk.clusters.lead')} />
      <Card padding="sm" className="mb-6">
        <form
          role="search"
          aria-label={t('admin.risk.clusters.filters')}
          onSubmit={(e) => e.preventDefault()}
          className="grid items-start gap-4 sm:grid-cols-2"
        >
          <Select
            label={t('admin.risk.clusters.kind')}
            value={kind}
            onChange={(e) => setFilters({ kind: e.target.value })}
            data-testid="admin-risk-filter-kind"
          >
            <option value="">{t('admin.risk.clusters.anyKind')}</option>
            {strongSignalKinds.map((k) => (
              <option key={k} value={k}>
                {kindName(k)}
              </option>
            ))}
          </Select>
          <Select label={t('admin.risk.clusters.sort')} value={sort} onChange={(e) => setFilters({ sort: e.target.value === 'newest' ? 'newest' : '' })}>
            <option value="size">{t('admin.risk.clusters.sortSize')}</option>
            <option value="newest">{t('admin.risk.clusters.sortNewest')}</option>
          </Select>
        </form>
      </Card>
      <p className="sr-only" aria-live="polite" aria-atomic="true" data-testid="admin-risk-status">
        {list.isSuccess ? t('admin.risk.clusters.found', { count: clusters.length }) : ''}
      </p>
      <QueryState
        pending={list.isPending}
        error={list.isError && !clusters.length ? list.error : null}
        onRetry={() => void list.refetch()}
        loadingText={t('admin.risk.loading')}
        errorTitle={t('admin.risk.error')}
        errorMessage={list.isError ? errorText(list.error, t, i18n.language) : ''}
        retryLabel={t('admin.users.retry')}
      >
        {!clusters.length ? (
          <EmptyState icon={<AlertIcon className="size-7" />} title={t('admin.risk.clusters.emptyTitle')} description={t('admin.risk.clusters.empty')} />
        ) : (
          <>
            <div className="space-y-4">
              {clusters.map((c) => (
                <ClusterCard key={c.id} cluster={c} />
              ))}
            </div>
            {list.hasNextPage && (
              <div className="mt-6 flex justify-center">
                <Button variant="secondary" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
                  {t('admin.risk.clusters.more')}
                </Button>
              </div>
            )}
          </>
        )}
      </QueryState>
    </div>
  );
}
