import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { generationStatuses } from '../../../shared/api/generations';
import { FilmIcon, SparklesIcon, TrashIcon } from '../../components/icons';
import { Alert, Button, buttonClasses, EmptyState, Select, Spinner, useToast } from '../../components/ui';
import { fieldClasses } from '../../components/ui/Field';
import { cleanFilters, creationsQuery, deleteCreations, type CreationFilters } from '../../lib/creations';
import { creditsQuery } from '../../lib/credits';
import { hasFilters, isActive, useGenerationEvents, type GenerationStatus } from '../../lib/generations';
import { useModels } from '../../lib/models';
import { usePageTitle } from '../../lib/usePageTitle';
import { studioErrorText } from '../studio/shared';
import { CreationCard } from './CreationCard';
import { DeleteCreationsDialog } from './DeleteCreationsDialog';
import { PageHeader } from '../../components/layout/PageHeader';

/** A value that follows `value` once it has stopped changing for `ms`. */
function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** /creations: every video the user made, filtered, selectable, live while they render. */
export function CreationsPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('creations.title'));
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const models = useModels();
  const names = new Map((models.data ?? []).map((m) => [m.id, m.name]));
  const ids = { search: useId(), from: useId(), to: useId(), status: useId() };

  const [search, setSearch] = useState('');
  const [model, setModel] = useState('');
  const [status, setStatus] = useState<GenerationStatus | ''>('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const q = useDebounced(search, 300);
  const filters: CreationFilters = cleanFilters({ q, model, status: status || undefined, from, to });
  const filtered = hasFilters(filters);
  const badRange = !!from && !!to && from > to;

  const live = useGenerationEvents();
  const list = useInfiniteQuery({
    ...creationsQuery(filters),
    enabled: !badRange,
    refetchInterval: (query) => (!live && query.state.data?.pages.some((p) => p.items.some(isActive)) ? 5_000 : false),
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const nextPageError = list.error;

  // a video that finished was charged or refunded: the balance in the header may change
  const activeCount = items.filter(isActive).length;
  const lastActive = useRef(activeCount);
  useEffect(() => {
    if (activeCount < lastActive.current) void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
    lastActive.current = activeCount;
  }, [activeCount, queryClient]);

  // selection: only what is on screen counts, and only finished videos (the server refuses to
  // delete one that is still being made)
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const selectable = items.filter((g) => !isActive(g));
  const visibleSelected = selectable.filter((g) => selected.has(g.id)).map((g) => g.id);
  const allSelected = selectable.length > 0 && visibleSelected.length === selectable.length;
  const toggle = (id: string, on: boolean) =>
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const selectAllRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (selectAllRef.current) selectAllRef.current.indeterminate = visibleSelected.length > 0 && !allSelected;
  }, [visibleSelected.length, allSelected]);

  const [confirming, setConfirming] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const remove = useMutation({
    mutationFn: (idsToDelete: string[]) => deleteCreations(queryClient, idsToDelete),
    onSuccess: (result) => {
      setConfirming(false);
      setSelected(new Set());
      const text = t('creations.delete.done', { count: result.deleted.length });
      setAnnouncement(text);
      toast({ title: text, tone: 'success' });
    },
    onError: (err) => {
      setConfirming(false);
      toast({ title: t('creations.delete.failed'), description: studioErrorText(err, t, i18n.language), tone: 'error' });
      void queryClient.invalidateQueries({ queryKey: ['generations'] });
    },
  });

  // infinite scroll: the next page loads when the end of the grid comes into view
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage, isFetchNextPageError } = list;
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasNextPage || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting) && !isFetchingNextPage && !isFetchNextPageError) void fetchNextPage();
      },
      { rootMargin: '400px 0px' },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, isFetchNextPageError, fetchNextPage]);

  const resetFilters = () => {
    setSearch('');
    setModel('');
    setStatus('');
    setFrom('');
    setTo('');
  };

  const modelOptions = [...new Set([...(models.data ?? []).map((m) => m.id), ...(model ? [model] : [])])];

  return (
    <div className="mx-auto max-w-6xl px-4 py-10 sm:px-6 sm:py-12" data-testid="creations-page">
      <PageHeader title={t('creations.title')} lead={t('creations.lead')}>
        <Link to="/studio" className={buttonClasses({ variant: 'primary', className: 'self-start sm:self-auto' })}>
          <SparklesIcon className="size-4" />
          {t('creations.newVideo')}
        </Link>
      </PageHeader>

      <div className="mb-6">
        <form
          role="search"
          aria-label={t('creations.filters.label')}
          onSubmit={(e) => e.preventDefault()}
          className="grid gap-3 sm:grid-cols-2 lg:grid-cols-[2fr_1fr_1fr_1fr_1fr_auto] lg:items-end"
        >
          <div className="flex flex-col gap-1.5">
            <label htmlFor={ids.search} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
              {t('creations.filters.search')}
            </label>
            <input
              id={ids.search}
              type="search"
              value={search}
              maxLength={200}
              onChange={(e) => setSearch(e.target.value)}
              placeholder={t('creations.filters.searchPlaceholder')}
              className={fieldClasses(false)}
              data-testid="creations-search"
            />
          </div>
          <Select label={t('creations.filters.model')} value={model} onChange={(e) => setModel(e.target.value)} data-testid="creations-model">
            <option value="">{t('creations.filters.anyModel')}</option>
            {modelOptions.map((id) => (
              <option key={id} value={id}>
                {names.get(id) ?? id}
              </option>
            ))}
          </Select>
          <Select
            label={t('creations.filters.status')}
            value={status}
            onChange={(e) => setStatus(e.target.value as GenerationStatus | '')}
            data-testid="creations-status"
          >
            <option value="">{t('creations.filters.anyStatus')}</option>
            {generationStatuses.map((s) => (
              <option key={s} value={s}>
                {t(`generation.status.${s}`)}
              </option>
            ))}
          </Select>
          <div className="flex flex-col gap-1.5">
            <label htmlFor={ids.from} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
              {t('creations.filters.from')}
            </label>
            <input id={ids.from} type="date" value={from} max={to || undefined} onChange={(e) => setFrom(e.target.value)} className={fieldClasses(badRange)} />
          </div>
          <div className="flex flex-col gap-1.5">
            <label htmlFor={ids.to} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
              {t('creations.filters.to')}
            </label>
            <input
              id={ids.to}
              type="date"
              value={to}
              min={from || undefined}
              onChange={(e) => setTo(e.target.value)}
              className={fieldClasses(badRange)}
              aria-invalid={badRange || undefined}
              aria-describedby={badRange ? `${ids.to}-error` : undefined}
            />
          </div>
          {filtered || search ? (
            <Button variant="ghost" onClick={resetFilters}>
              {t('creations.filters.clear')}
            </Button>
          ) : (
            <span className="hidden lg:block" />
          )}
          {badRange && (
            <p id={`${ids.to}-error`} className="text-xs font-medium text-red-600 sm:col-span-2 lg:col-span-6 dark:text-red-400">
              {t('creations.filters.badRange')}
            </p>
          )}
        </form>
      </div>

      {items.length > 0 && (
        <div
          className="sticky top-16 z-30 mb-4 flex flex-wrap items-center gap-3 rounded-xl border border-zinc-200 bg-white/95 px-3 py-2 shadow-sm backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/95"
          data-testid="selection-bar"
        >
          <label className="inline-flex items-center gap-2 text-sm font-medium text-zinc-800 dark:text-zinc-200">
            <input
              ref={selectAllRef}
              type="checkbox"
              checked={allSelected}
              disabled={selectable.length === 0}
              onChange={(e) => setSelected(e.target.checked ? new Set(selectable.map((g) => g.id)) : new Set())}
              className="size-4 accent-brand-600"
              data-testid="select-all"
            />
            {t('creations.selectAll')}
          </label>
          <span className="text-sm text-zinc-600 dark:text-zinc-400" aria-live="polite">
            {visibleSelected.length > 0 ? t('creations.selected', { count: visibleSelected.length }) : t('creations.shown', { count: items.length })}
          </span>
          {visibleSelected.length > 0 && (
            <div className="ms-auto flex gap-2">
              <Button size="sm" variant="ghost" onClick={() => setSelected(new Set())}>
                {t('creations.clearSelection')}
              </Button>
              <Button size="sm" variant="danger" onClick={() => setConfirming(true)} data-testid="delete-selected">
                <TrashIcon className="size-4" />
                {t('creations.deleteN', { count: visibleSelected.length })}
              </Button>
            </div>
          )}
        </div>
      )}

      {badRange ? null : list.isPending ? (
        <p className="flex items-center gap-2 py-16 text-sm text-zinc-500 dark:text-zinc-400" role="status">
          <Spinner className="size-4" />
          {t('creations.loading')}
        </p>
      ) : list.isError && !list.isFetchNextPageError ? (
        <Alert
          tone="error"
          title={t('creations.error')}
          data-testid="creations-error"
          action={
            <Button size="sm" variant="secondary" onClick={() => void list.refetch()}>
              {t('studio.list.retry')}
            </Button>
          }
        >
          <p>{studioErrorText(list.error, t, i18n.language)}</p>
          <p className="mt-1">{t('creations.errorHint')}</p>
        </Alert>
      ) : items.length === 0 ? (
        <div className="rounded-2xl border border-dashed border-zinc-300 dark:border-zinc-700">
          {filtered ? (
            <EmptyState
              icon={<FilmIcon className="size-7" />}
              title={t('creations.noMatchTitle')}
              description={t('creations.noMatchBody')}
              action={
                <Button variant="secondary" onClick={resetFilters}>
                  {t('creations.filters.clear')}
                </Button>
              }
            />
          ) : (
            <EmptyState
              icon={<FilmIcon className="size-7" />}
              title={t('creations.emptyTitle')}
              description={t('creations.emptyBody')}
              action={
                <Link to="/studio" className={buttonClasses({ variant: 'primary' })} data-testid="empty-studio-link">
                  <SparklesIcon className="size-4" />
                  {t('creations.goToStudio')}
                </Link>
              }
            />
          )}
        </div>
      ) : (
        <>
          <ul className="grid grid-cols-1 gap-4 min-[480px]:grid-cols-2 lg:grid-cols-3 xl:grid-cols-4" data-testid="creations-grid">
            {items.map((g) => (
              <CreationCard
                key={g.id}
                generation={g}
                modelName={names.get(g.model) ?? g.model}
                selected={!isActive(g) && selected.has(g.id)}
                onSelect={(on) => toggle(g.id, on)}
              />
            ))}
          </ul>
          <div ref={sentinel} aria-hidden="true" className="h-px" />
          {list.hasNextPage && (
            <div className="mt-6 flex justify-center">
              <Button
                variant="secondary"
                onClick={() => void list.fetchNextPage()}
                loading={list.isFetchingNextPage}
                loadingText={t('creations.loadingMore')}
                data-testid="load-more"
              >
                {t('creations.loadMore')}
              </Button>
            </div>
          )}
          {list.isFetchNextPageError && (
            <Alert tone="error" className="mt-4">
              {studioErrorText(nextPageError, t, i18n.language)}
            </Alert>
          )}
        </>
      )}

      <DeleteCreationsDialog
        open={confirming}
        count={visibleSelected.length}
        pending={remove.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() => remove.mutate(visibleSelected)}
      />
      <div aria-live="polite" aria-atomic="true" className="sr-only">
        {announcement}
      </div>
    </div>
  );
}
