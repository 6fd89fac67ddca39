import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FilmIcon } from '../../components/icons';
import { Alert, Button, EmptyState, Spinner } from '../../components/ui';
import { creditsQuery } from '../../lib/credits';
import { generationListQuery, isActive } from '../../lib/generations';
import type { ModelView } from '../../lib/models';
import { GenerationCard } from './GenerationCard';
import { studioErrorText } from './shared';

/**
 * The user's generations, newest first, with "Load more". The event stream keeps them current;
 * while it is not connected and something is still rendering, the list is fetched every few seconds.
 */
export function GenerationList({ models, live }: { models: ModelView[]; live: boolean }) {
  const { t, i18n } = useTranslation();
  const list = useInfiniteQuery({
    ...generationListQuery,
    refetchInterval: (query) => (!live && query.state.data?.pages.some((p) => p.items.some(isActive)) ? 5_000 : false),
  });
  const names = new Map(models.map((m) => [m.id, m.name]));
  const queryClient = useQueryClient();

  // a video that finished was charged or refunded: fetch the balance again (also when the list was polled)
  const activeCount = list.data?.pages.reduce((n, p) => n + p.items.filter(isActive).length, 0) ?? 0;
  const lastActive = useRef(activeCount);
  useEffect(() => {
    if (activeCount < lastActive.current) void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
    lastActive.current = activeCount;
  }, [activeCount, queryClient]);
  const listRef = useRef<HTMLUListElement>(null);
  // after "Load more", the first of the newly loaded videos gets the focus (the button may be gone);
  // a ref, not state, so that moving the focus does not render again
  const focusIndex = useRef<number | null>(null);
  const [loadedMore, setLoadedMore] = useState(0);
  const count = list.data?.pages.reduce((n, p) => n + p.items.length, 0) ?? 0;
  useEffect(() => {
    const index = focusIndex.current;
    if (index === null || count <= index) return;
    listRef.current?.children[index]?.querySelector<HTMLElement>('article')?.focus();
    focusIndex.current = null;
  }, [loadedMore, count]);

  const loadMore = async () => {
    const before = count;
    const result = await list.fetchNextPage();
    if (result.isError) return;
    focusIndex.current = before;
    setLoadedMore((n) => n + 1);
  };

  if (list.isPending) {
    return (
      <p className="flex items-center gap-2 py-10 text-sm text-zinc-500 dark:text-zinc-400" role="status">
        <Spinner className="size-4" />
        {t('studio.list.loading')}
      </p>
    );
  }
  if (list.isError && !list.isFetchNextPageError) {
    return (
      <Alert
        tone="error"
        title={t('studio.list.error')}
        action={
          <Button size="sm" variant="secondary" onClick={() => void list.refetch()}>
            {t('studio.list.retry')}
          </Button>
        }
      >
        {studioErrorText(list.error, t, i18n.language)}
      </Alert>
    );
  }

  const items = list.data.pages.flatMap((p) => p.items);
  if (items.length === 0) {
    return (
      <div className="rounded-2xl border border-dashed border-zinc-300 dark:border-zinc-700">
        <EmptyState
          icon={<FilmIcon className="size-7" />}
          title={t('studio.list.emptyTitle')}
          description={t('studio.list.emptyBody')}
          headingLevel={3}
          className="py-12"
        />
      </div>
    );
  }

  return (
    <div className="space-y-4">
      <ul ref={listRef} className="grid gap-4 sm:grid-cols-2" data-testid="generation-list">
        {items.map((g) => (
          <GenerationCard key={g.id} generation={g} modelName={names.get(g.model) ?? g.model} />
        ))}
      </ul>
      {list.hasNextPage && (
        <div className="flex justify-center">
          <Button variant="secondary" onClick={() => void loadMore()} loading={list.isFetchingNextPage}>
            {t('studio.list.loadMore')}
          </Button>
        </div>
      )}
      {list.isFetchNextPageError && <Alert tone="error">{t('studio.list.error')}</Alert>}
    </div>
  );
}
