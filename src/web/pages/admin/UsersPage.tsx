import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useEffect, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { UserIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Button, Card, EmptyState, Input, Select } from '../../components/ui';
import { formatNumber } from '../../lib/billing';
import { errorText } from '../../lib/errors';
import { dateTime, relativeTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { roles, statuses, userSearchQuery, type AdminUserRow, type UserFilters, type UserRole, type UserStatus } from './users/api';
import { dash, FlagBadges, RoleBadge, ScrollTable, TableHead, StatusBadge, td } from './users/shared';

/** How long typing pauses before the search runs (Enter runs it at once). */
const DEBOUNCE_MS = 300;

function ResultsTable({ users }: { users: AdminUserRow[] }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <ScrollTable label={t('admin.users.results')} minWidth="52rem" testId="admin-user-results">
      <TableHead
        columns={[
          t('admin.users.col.account'),
          t('admin.users.col.role'),
          t('admin.users.col.status'),
          { label: t('admin.users.col.credits'), end: true },
          t('admin.users.col.created'),
          t('admin.users.col.lastSeen'),
          t('admin.users.col.flags'),
        ]}
      />
      <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
        {users.map((u) => (
          <tr key={u.id} data-testid="admin-user-row" data-user-id={u.id} data-email={u.email}>
            <th scope="row" className={`${td} max-w-72 text-start font-normal`}>
              <Link
                to="/admin/users/$id"
                params={{ id: u.id }}
                className="block truncate font-medium text-brand-700 hover:underline dark:text-brand-300"
                data-testid="admin-user-link"
              >
                {u.email}
              </Link>
              <span className="block truncate text-xs text-zinc-500 dark:text-zinc-400">{u.name || dash}</span>
            </th>
            <td className={td}>
              <RoleBadge role={u.role} />
            </td>
            <td className={td}>
              <StatusBadge status={u.status} />
            </td>
            <td className={`${td} text-end tabular-nums`}>{formatNumber(u.credits, lang)}</td>
            <td className={`${td} text-xs text-zinc-500 tabular-nums dark:text-zinc-400`}>
              <time dateTime={u.createdAt}>{dateTime(u.createdAt, lang)}</time>
            </td>
            <td className={`${td} text-xs text-zinc-500 dark:text-zinc-400`}>
              {u.lastSeenAt ? (
                <time dateTime={u.lastSeenAt} title={dateTime(u.lastSeenAt, lang)}>
                  {relativeTime(u.lastSeenAt, lang)}
                </time>
              ) : (
                t('admin.users.never')
              )}
            </td>
            <td className={td}>
              <FlagBadges flags={u.flags} />
            </td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

/** /admin/users: find an account by email, name, id, IP address or referral code (support, admin). */
export function UsersPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('admin.users.title'));
  const [term, setTerm] = useState('');
  const [q, setQ] = useState('');
  const [role, setRole] = useState<UserRole | ''>('');
  const [status, setStatus] = useState<UserStatus | ''>('');

  // search as the operator types, once they pause
  useEffect(() => {
    const timer = window.setTimeout(() => setQ(term.trim()), DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [term]);
  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setQ(term.trim());
  };

  const filters: UserFilters = { q, role, status };
  const list = useInfiniteQuery(userSearchQuery(filters));
  const users = list.data?.pages.flatMap((p) => p.users) ?? [];
  const filtered = !!(q || role || status);

  return (
    <div data-testid="admin-users-page">
      <PageHeader title={t('admin.users.title')} lead={t('admin.users.lead')} />
      <Card padding="sm" className="mb-6">
        <form role="search" aria-label={t('admin.users.searchLabel')} onSubmit={onSubmit} className="grid items-end gap-4 sm:grid-cols-[1fr_10rem_10rem]">
          <Input
            label={t('admin.users.search')}
            hint={t('admin.users.searchHint')}
            type="search"
            value={term}
            onChange={(e) => setTerm(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            autoCapitalize="off"
            maxLength={320}
            data-testid="admin-user-search"
          />
          <Select label={t('admin.users.role')} value={role} onChange={(e) => setRole(e.target.value as UserRole | '')} className="sm:self-start">
            <option value="">{t('admin.users.anyRole')}</option>
            {roles.map((r) => (
              <option key={r} value={r}>
                {t(`admin.users.roles.${r}`)}
              </option>
            ))}
          </Select>
          <Select label={t('admin.users.status')} value={status} onChange={(e) => setStatus(e.target.value as UserStatus | '')} className="sm:self-start">
            <option value="">{t('admin.users.anyStatus')}</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {t(`admin.users.statuses.${s}`)}
              </option>
            ))}
          </Select>
        </form>
      </Card>
      {/* the outcome of each search, for screen readers */}
      <p className="sr-only" aria-live="polite" aria-atomic="true" data-testid="admin-user-search-status">
        {list.isSuccess ? (list.hasNextPage ? t('admin.users.foundMore', { count: users.length }) : t('admin.users.found', { count: users.length })) : ''}
      </p>
      <QueryState
        pending={list.isPending}
        error={list.isError && !users.length ? list.error : null}
        onRetry={() => void list.refetch()}
        loadingText={t('admin.users.loading')}
        errorTitle={t('admin.users.error')}
        errorMessage={list.isError ? errorText(list.error, t, i18n.language) : ''}
        retryLabel={t('admin.users.retry')}
      >
        {!users.length ? (
          <EmptyState
            icon={<UserIcon className="size-7" />}
            title={filtered ? t('admin.users.noMatchTitle') : t('admin.users.emptyTitle')}
            description={filtered ? t('admin.users.noMatch') : t('admin.users.empty')}
          />
        ) : (
          <>
            <ResultsTable users={users} />
            {list.hasNextPage && (
              <div className="mt-6 flex justify-center">
                <Button variant="secondary" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage} data-testid="admin-user-more">
                  {t('admin.users.more')}
                </Button>
              </div>
            )}
          </>
        )}
      </QueryState>
    </div>
  );
}
