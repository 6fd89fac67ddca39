import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useEffect, useEffectEvent, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { FilmIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Alert, Button, Card, Checkbox, EmptyState, Input, Select } from '../../components/ui';
import { formatNumber } from '../../lib/billing';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { adminGenerationStatuses, generationFilterKeys, generationListQuery, videoProviders, type AdminGenerationRow } from './generations/api';
import { GenerationStatusBadge } from './generations/shared';
import { useUrlFilters } from './orders/url-filters';
import { dash, ScrollTable, TableHead, td } from './users/shared';

/** How long typing pauses before the lookup runs (Enter runs it at once). */
const DEBOUNCE_MS = 300;
/** the text fields, applied as the operator types */
const typed = ['id', 'user', 'model'] as const;
type Typed = (typeof typed)[number];

function GenerationsTable({ rows }: { rows: AdminGenerationRow[] }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <ScrollTable label={t('admin.generations.results')} minWidth="60rem" testId="admin-generation-results">
      <TableHead
        columns={[
          t('admin.generations.col.generation'),
          t('admin.generations.col.user'),
          t('admin.generations.col.model'),
          t('admin.generations.col.provider'),
          t('admin.generations.col.status'),
          { label: t('admin.generations.col.price'), end: true },
          t('admin.generations.col.created'),
        ]}
      />
      <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
        {rows.map((g) => (
          <tr key={g.id} data-testid="admin-generation-row" data-generation-id={g.id} className={g.stuck ? 'bg-red-50/60 dark:bg-red-950/30' : undefined}>
            <th scope="row" className={`${td} max-w-80 text-start font-normal`}>
              <Link
                to="/admin/generations/$id"
                params={{ id: g.id }}
                className="font-mono font-medium text-brand-700 hover:underline dark:text-brand-300"
                aria-label={t('admin.generations.openLabel', { id: g.id })}
                title={g.id}
              >
                {g.id.slice(0, 8)}
              </Link>
              <span className="block truncate text-xs text-zinc-500 dark:text-zinc-400" title={g.promptStart}>
                {g.promptStart}
              </span>
            </th>
            <td className={`${td} max-w-56 truncate`}>
              <Link to="/admin/users/$id" params={{ id: g.user.id }} className="text-brand-700 hover:underline dark:text-brand-300">
                {g.user.email || g.user.id}
              </Link>
            </td>
            <td className={td}>{g.model}</td>
            <td className={td}>{g.provider ?? dash}</td>
            <td className={td}>
              <GenerationStatusBadge status={g.status} stuck={g.stuck} />
              {g.failureCode && <span className="block text-xs text-zinc-500 dark:text-zinc-400">{g.failureCode}</span>}
            </td>
            <td className={`${td} text-end tabular-nums`}>{formatNumber(g.priceCredits, lang)}</td>
            <td className={`${td} text-xs text-zinc-500 tabular-nums dark:text-zinc-400`}>
              <time dateTime={g.createdAt}>{dateTime(g.createdAt, lang)}</time>
            </td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

/** /admin/generations: look tasks up by id, user, model, provider, status, date, or the stuck ones (support, admin). */
export function GenerationsPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('admin.generations.title'));
  const [filters, setFilters] = useUrlFilters(generationFilterKeys);
  const pick = (f: Record<Typed, string>) => ({ id: f.id, user: f.user, model: f.model });
  const [text, setText] = useState(() => pick(filters));
  // the address changed by itself (back, a link): the fields follow
  const [seen, setSeen] = useState(() => pick(filters));
  if (typed.some((k) => seen[k] !== filters[k])) {
    setSeen(pick(filters));
    setText((now) => Object.fromEntries(typed.map((k) => [k, now[k].trim() === filters[k] ? now[k] : filters[k]])) as Record<Typed, string>);
  }
  // look up as the operator types, once they pause
  const apply = useEffectEvent(() => {
    if (typed.some((k) => text[k].trim() !== filters[k])) setFilters(text);
  });
  useEffect(() => {
    const timer = window.setTimeout(apply, DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [text]);
  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setFilters(text);
  };
  const field = (k: Typed) => ({
    value: text[k],
    onChange: (e: { target: { value: string } }) => setText((now) => ({ ...now, [k]: e.target.value })),
    autoComplete: 'off',
    spellCheck: false,
    autoCapitalize: 'off',
  });

  const list = useInfiniteQuery(generationListQuery(filters));
  const rows = list.data?.pages.flatMap((p) => p.generations) ?? [];
  const filtered = generationFilterKeys.some((k) => filters[k]);
  const stuckOnly = filters.stuck === '1';

  return (
    <div data-testid="admin-generations-page">
      <PageHeader title={t('admin.generations.title')} lead={t('admin.generations.lead')} />
      <Card padding="sm" className="mb-6">
        <form
          role="search"
          aria-label={t('admin.generations.searchLabel')}
          onSubmit={onSubmit}
          className="grid items-start gap-4 sm:grid-cols-2 lg:grid-cols-3"
        >
          <Input
            label={t('admin.generations.user')}
            hint={t('admin.generations.userHint')}
            type="search"
            maxLength={320}
            {...field('user')}
            data-testid="admin-generation-user"
          />
          <Input label={t('admin.generations.id')} type="search" maxLength={100} {...field('id')} data-testid="admin-generation-id" />
          <Input label={t('admin.generations.model')} hint={t('admin.generations.modelHint')} type="search" maxLength={100} {...field('model')} />
          <Select label={t('admin.generations.provider')} value={filters.provider} onChange={(e) => setFilters({ provider: e.target.value })}>
            <option value="">{t('admin.generations.anyProvider')}</option>
            {videoProviders.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </Select>
          <Select
            label={t('admin.generations.status')}
            value={filters.status}
            onChange={(e) => setFilters({ status: e.target.value })}
            data-testid="admin-generation-filter-status"
          >
            <option value="">{t('admin.generations.anyStatus')}</option>
            {adminGenerationStatuses.map((s) => (
              <option key={s} value={s}>
                {t(`admin.generations.statuses.${s}`)}
              </option>
            ))}
          </Select>
          <Checkbox
            label={t('admin.generations.stuckOnly')}
            checked={stuckOnly}
            onChange={(e) => setFilters({ stuck: e.target.checked ? '1' : '' })}
            className="sm:pt-8"
            data-testid="admin-generation-stuck-only"
          />
          <Input label={t('admin.generations.from')} type="date" value={filters.from} onChange={(e) => setFilters({ from: e.target.value })} />
          <Input label={t('admin.generations.to')} type="date" value={filters.to} onChange={(e) => setFilters({ to: e.target.value })} />
          {filtered && (
            <div className="flex items-end sm:pt-7">
              <Button
                type="button"
                variant="secondary"
                onClick={() => {
                  setText({ id: '', user: '', model: '' });
                  setFilters(Object.fromEntries(generationFilterKeys.map((k) => [k, ''])));
                }}
              >
                {t('admin.generations.clear')}
              </Button>
            </div>
          )}
        </form>
      </Card>
      {stuckOnly && (
        <Alert tone="warning" className="mb-6" title={t('admin.generations.stuckListTitle')}>
          {t('admin.generations.stuckList')}
        </Alert>
      )}
      {/* the outcome of each lookup, for screen readers */}
      <p className="sr-only" aria-live="polite" aria-atomic="true" data-testid="admin-generation-search-status">
        {list.isSuccess
          ? list.hasNextPage
            ? t('admin.generations.foundMore', { count: rows.length })
            : t('admin.generations.found', { count: rows.length })
          : ''}
      </p>
      <QueryState
        pending={list.isPending}
        error={list.isError && !rows.length ? list.error : null}
        onRetry={() => void list.refetch()}
        loadingText={t('admin.generations.loading')}
        errorTitle={t('admin.generations.error')}
        errorMessage={list.isError ? errorText(list.error, t, i18n.language) : ''}
        retryLabel={t('admin.generations.retry')}
      >
        {!rows.length ? (
          <EmptyState
            icon={<FilmIcon className="size-7" />}
            title={stuckOnly ? t('admin.generations.noStuckTitle') : filtered ? t('admin.generations.noMatchTitle') : t('admin.generations.emptyTitle')}
            description={stuckOnly ? t('admin.generations.noStuck') : filtered ? t('admin.generations.noMatch') : t('admin.generations.empty')}
          />
        ) : (
          <>
            <GenerationsTable rows={rows} />
            {list.hasNextPage && (
              <div className="mt-6 flex justify-center">
                <Button variant="secondary" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
                  {t('admin.generations.more')}
                </Button>
              </div>
            )}
          </>
        )}
      </QueryState>
    </div>
  );
}
