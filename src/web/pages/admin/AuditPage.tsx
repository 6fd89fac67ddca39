import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { DocumentIcon, DownloadIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Badge, Button, buttonClasses, Card, EmptyState, Input } from '../../components/ui';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { auditCsvHref, auditFilterKeys, auditListQuery, auditTargetTypes, changedFields, showValue, type AuditEntryView, type AuditFilters } from './audit/api';
import { useUrlFilters } from './orders/url-filters';
import { ScrollTable, TableHead, td } from './users/shared';

const linkClass = 'font-medium break-all text-brand-700 hover:underline dark:text-brand-300';

/** The target of an entry, linked to its console page where there is one. */
function Target({ type, id }: { type: string | null; id: string | null }) {
  const { t } = useTranslation();
  if (!type) return <span className="text-zinc-400">—</span>;
  const label = t(`admin.audit.targets.${type}` as never, { defaultValue: type }) as string;
  const idText = id ? <span className="font-mono text-xs">{id}</span> : null;
  const link = (() => {
    if (!id) return null;
    switch (type) {
      case 'user':
        return (
          <Link to="/admin/users/$id" params={{ id }} className={linkClass}>
            {idText}
          </Link>
        );
      case 'order':
        return (
          <Link to="/admin/orders/$id" params={{ id }} className={linkClass}>
            {idText}
          </Link>
        );
      case 'generation':
        return (
          <Link to="/admin/generations/$id" params={{ id }} className={linkClass}>
            {idText}
          </Link>
        );
      case 'case':
        return (
          <Link to="/moderation/cases/$id" params={{ id }} className={linkClass}>
            {idText}
          </Link>
        );
      case 'privacy_request':
        return (
          <Link to="/operator/privacy-requests/$id" params={{ id }} className={linkClass}>
            {idText}
          </Link>
        );
      default:
        return <span className="break-all text-zinc-700 dark:text-zinc-300">{idText}</span>;
    }
  })();
  return (
    <span className="flex max-w-64 flex-col gap-0.5 whitespace-normal">
      <span className="text-xs text-zinc-500 dark:text-zinc-400">{label}</span>
      {link}
    </span>
  );
}

/** What changed, folded away until asked for: one line per field, before and after. */
function Changes({ entry }: { entry: AuditEntryView }) {
  const { t } = useTranslation();
  const fields = changedFields(entry.before, entry.after);
  if (!fields.length) return <span className="text-zinc-400">—</span>;
  return (
    <details className="group max-w-md whitespace-normal" data-testid="audit-changes">
      <summary className="cursor-pointer rounded text-sm font-medium text-brand-700 select-none hover:underline focus-visible:outline-2 focus-visible:outline-brand-500 dark:text-brand-300">
        {t('admin.audit.changes', { count: fields.length })}
      </summary>
      <dl className="mt-2 space-y-2 text-xs">
        {fields.map((f) => (
          <div key={f.key} className="rounded-lg bg-zinc-50 p-2 dark:bg-zinc-800/60">
            {f.key && <dt className="font-mono font-semibold text-zinc-700 dark:text-zinc-200">{f.key}</dt>}
            <dd className="mt-1 grid grid-cols-[auto_1fr] gap-x-2 gap-y-0.5">
              <span className="text-zinc-500 dark:text-zinc-400">{t('admin.audit.before')}</span>
              <span className="font-mono break-all text-red-700 dark:text-red-300">
                {f.before === undefined || f.before === null ? t('admin.audit.none') : showValue(f.before)}
              </span>
              <span className="text-zinc-500 dark:text-zinc-400">{t('admin.audit.after')}</span>
              <span className="font-mono break-all text-emerald-700 dark:text-emerald-300">
                {f.after === undefined || f.after === null ? t('admin.audit.none') : showValue(f.after)}
              </span>
            </dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

function EntriesTable({ entries }: { entries: AuditEntryView[] }) {
  const { t, i18n } = useTranslation();
  return (
    <ScrollTable label={t('admin.audit.tableLabel')} minWidth="60rem" testId="audit-table">
      <TableHead
        columns={[
          t('admin.audit.col.when'),
          t('admin.audit.col.who'),
          t('admin.audit.col.action'),
          t('admin.audit.col.target'),
          t('admin.audit.col.reason'),
          t('admin.audit.col.changes'),
        ]}
      />
      <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
        {entries.map((e) => (
          <tr key={e.id} data-testid="audit-row" data-action={e.action} data-target-id={e.targetId ?? ''}>
            <td className={`${td} text-xs text-zinc-500 tabular-nums dark:text-zinc-400`}>
              <time dateTime={e.at}>{dateTime(e.at, i18n.language)}</time>
            </td>
            <th scope="row" className={`${td} max-w-64 text-start font-normal whitespace-normal`}>
              <span className="block font-medium break-all text-zinc-900 dark:text-zinc-100">{e.actor.label}</span>
              <span className="mt-1 flex flex-wrap items-center gap-1 text-xs text-zinc-500 dark:text-zinc-400">
                {e.actor.role && <Badge tone="brand">{t(`admin.audit.roles.${e.actor.role}` as never, { defaultValue: e.actor.role }) as string}</Badge>}
                <Badge>{t(`admin.audit.via.${e.actor.via}`)}</Badge>
                {e.actor.ip && <span className="font-mono">{e.actor.ip === 'local' ? t('admin.audit.local') : e.actor.ip}</span>}
              </span>
            </th>
            <td className={td}>
              <code className="rounded bg-zinc-100 px-1.5 py-0.5 text-xs text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200">{e.action}</code>
            </td>
            <td className={td}>
              <Target type={e.targetType} id={e.targetId} />
            </td>
            <td className={`${td} max-w-64 whitespace-normal`}>
              {e.reason ? <span className="break-words">{e.reason}</span> : <span className="text-zinc-400">—</span>}
            </td>
            <td className={td}>
              <Changes entry={e} />
            </td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

/** /admin/audit: every operator action, in the console or the CLI — filterable, loadable page by page, downloadable as CSV (admins). */
export function AuditPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('admin.audit.title'));
  const [filters, setFilters] = useUrlFilters(auditFilterKeys);
  // the form edits a draft; applying it puts the filters in the address
  const [draft, setDraft] = useState<AuditFilters>(filters);
  const [applied, setApplied] = useState(filters);
  if (applied !== filters) {
    // the address changed (applied, cleared, back button): the form shows it
    setApplied(filters);
    setDraft(filters);
  }
  const list = useInfiniteQuery(auditListQuery(filters));
  const entries = list.data?.pages.flatMap((p) => p.entries) ?? [];
  const filtered = auditFilterKeys.some((k) => filters[k]);
  const rangeInvalid = !!(draft.from && draft.to && draft.from > draft.to);

  const apply = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!rangeInvalid) setFilters(draft);
  };
  const clear = () => setFilters(Object.fromEntries(auditFilterKeys.map((k) => [k, ''])));
  const field = (k: keyof AuditFilters) => ({
    value: draft[k],
    onChange: (ev: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: ev.target.value })),
    'data-testid': `audit-filter-${k === 'targetType' ? 'target-type' : k === 'targetId' ? 'target-id' : k}`,
  });

  return (
    <div data-testid="admin-audit-page">
      <PageHeader title={t('admin.audit.title')} lead={t('admin.audit.lead')}>
        <a href={auditCsvHref(filters)} download className={buttonClasses({ variant: 'secondary', className: 'shrink-0' })} data-testid="audit-csv">
          <DownloadIcon className="size-4" />
          {t('admin.audit.csv')}
        </a>
      </PageHeader>
      <Card padding="sm" className="mb-6">
        <form role="search" aria-label={t('admin.audit.filters')} onSubmit={apply} noValidate className="space-y-4">
          <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
            <Input
              label={t('admin.audit.filter.actor')}
              hint={t('admin.audit.filter.actorHint')}
              maxLength={320}
              autoComplete="off"
              spellCheck={false}
              {...field('actor')}
            />
            <Input
              label={t('admin.audit.filter.action')}
              hint={t('admin.audit.filter.actionHint')}
              maxLength={100}
              autoComplete="off"
              spellCheck={false}
              autoCapitalize="off"
              {...field('action')}
            />
            <Input
              label={t('admin.audit.filter.targetType')}
              hint={t('admin.audit.filter.targetTypeHint')}
              list="audit-target-types"
              maxLength={50}
              autoComplete="off"
              spellCheck={false}
              autoCapitalize="off"
              {...field('targetType')}
            />
            <datalist id="audit-target-types">
              {auditTargetTypes.map((type) => (
                <option key={type} value={type} />
              ))}
            </datalist>
            <Input label={t('admin.audit.filter.targetId')} maxLength={200} autoComplete="off" spellCheck={false} autoCapitalize="off" {...field('targetId')} />
            <Input type="date" label={t('admin.audit.filter.from')} {...field('from')} />
            <Input type="date" label={t('admin.audit.filter.to')} error={rangeInvalid ? t('admin.audit.filter.rangeInvalid') : undefined} {...field('to')} />
          </div>
          <div className="flex flex-wrap justify-end gap-2">
            {filtered && (
              <Button type="button" variant="ghost" onClick={clear} data-testid="audit-filter-clear">
                {t('admin.audit.filter.clear')}
              </Button>
            )}
            <Button type="submit" disabled={rangeInvalid} data-testid="audit-filter-apply">
              {t('admin.audit.filter.apply')}
            </Button>
          </div>
        </form>
      </Card>
      <p className="sr-only" aria-live="polite" aria-atomic="true" data-testid="audit-status">
        {list.isSuccess ? t(list.hasNextPage ? 'admin.audit.shownMore' : 'admin.audit.shown', { count: entries.length }) : ''}
      </p>
      <QueryState
        pending={list.isPending}
        error={list.isError && !entries.length ? list.error : null}
        onRetry={() => void list.refetch()}
        loadingText={t('admin.audit.loading')}
        errorTitle={t('admin.audit.error')}
        errorMessage={list.isError ? errorText(list.error, t, i18n.language) : ''}
        retryLabel={t('admin.audit.retry')}
      >
        {!entries.length ? (
          <EmptyState
            icon={<DocumentIcon className="size-7" />}
            title={filtered ? t('admin.audit.noMatchTitle') : t('admin.audit.emptyTitle')}
            description={filtered ? t('admin.audit.noMatch') : t('admin.audit.empty')}
          />
        ) : (
          <>
            <EntriesTable entries={entries} />
            {list.hasNextPage && (
              <div className="mt-6 flex justify-center">
                <Button variant="secondary" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage} data-testid="audit-more">
                  {t('admin.audit.more')}
                </Button>
              </div>
            )}
            {list.isError && <p className="mt-4 text-center text-sm text-red-600 dark:text-red-400">{errorText(list.error, t, i18n.language)}</p>}
          </>
        )}
      </QueryState>
    </div>
  );
}
