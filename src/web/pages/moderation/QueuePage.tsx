import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useEffect, useEffectEvent, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ArrowRightIcon, CheckCircleIcon, ShieldIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { Button, buttonClasses, Dialog, EmptyState, useToast } from '../../components/ui';
import { cn } from '../../lib/cn';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { queueQuery, type ModerationDecision, type QueueItem, type QueueStatus } from '../../lib/moderation';
import { usePageTitle } from '../../lib/usePageTitle';
import { QueryState } from '../../components/PageStates';
import { CaseTags, CaseTexts, categoryLabel, DecisionForm, decisionKeys, EvidencePreview, isTyping, openedText } from './shared';

function Kbd({ children }: { children: string }) {
  return (
    <kbd className="rounded border border-zinc-300 bg-white px-1.5 py-0.5 font-mono text-[11px] text-zinc-700 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300">
      {children}
    </kbd>
  );
}

/**
 * /moderation: the review queue. Open cases come most severe first, then oldest (the server's
 * order). Keyboard: j/k move, Enter opens, a/r/s/u/t decide (a dialog asks for the reason), c
 * escalates as CSAM (the dialog asks to confirm), v reveals or blurs the previews.
 */
export function QueuePage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('moderation.queue.title'));
  const navigate = useNavigate();
  const { toast } = useToast();
  const [status, setStatus] = useState<QueueStatus>('open');
  const list = useInfiniteQuery(queueQuery(status));
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const [index, setIndex] = useState(0);
  const [revealed, setRevealed] = useState<Set<string>>(new Set());
  const [deciding, setDeciding] = useState<{ item: QueueItem; decision: ModerationDecision } | null>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const current = items[Math.min(index, Math.max(0, items.length - 1))];

  const toggleReveal = (id: string) =>
    setRevealed((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const focusItem = (i: number) => {
    setIndex(i);
    listRef.current?.children[i]?.querySelector<HTMLElement>('[data-case-link]')?.focus();
  };

  const onKey = useEffectEvent((e: KeyboardEvent) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || deciding || isTyping(e.target)) return;
    if (document.querySelector('[role="dialog"]')) return;
    const key = e.key.toLowerCase();
    if (!items.length) return;
    const i = Math.min(index, items.length - 1);
    if (key === 'j' || key === 'k') {
      e.preventDefault();
      focusItem(key === 'j' ? Math.min(items.length - 1, i + 1) : Math.max(0, i - 1));
      return;
    }
    const item = items[i];
    if (!item) return;
    if (key === 'enter') {
      // a focused link or button does its own thing
      if (e.target instanceof HTMLAnchorElement || e.target instanceof HTMLButtonElement) return;
      e.preventDefault();
      void navigate({ to: '/moderation/cases/$id', params: { id: item.id } });
    } else if (key === 'v') {
      e.preventDefault();
      toggleReveal(item.id);
    } else if (decisionKeys[key] && item.status === 'open') {
      e.preventDefault();
      setDeciding({ item, decision: decisionKeys[key] });
    }
  });

  useEffect(() => {
    const handler = (e: KeyboardEvent) => onKey(e);
    document.addEventListener('keydown', handler);
    return () => document.removeEventListener('keydown', handler);
  }, []);

  const switchTo = (next: QueueStatus) => {
    setStatus(next);
    setIndex(0);
  };

  const tab = (value: QueueStatus) => (
    <button
      type="button"
      aria-pressed={status === value}
      onClick={() => switchTo(value)}
      className={cn(
        'rounded-md px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-brand-500',
        status === value
          ? 'bg-white text-zinc-900 shadow-sm dark:bg-zinc-700 dark:text-white'
          : 'text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-white',
      )}
      data-testid={`queue-tab-${value}`}
    >
      {t(`moderation.queue.${value}`)}
    </button>
  );

  return (
    <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6 sm:py-10" data-testid="moderation-queue">
      <PageHeader title={t('moderation.queue.title')} lead={t('moderation.queue.lead')}>
        <Link to="/moderation/holds" className={buttonClasses({ variant: 'secondary', size: 'sm' })}>
          <ShieldIcon className="size-4" />
          {t('moderation.queue.holds')}
        </Link>
      </PageHeader>

      <div className="mb-4 flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
        <div role="group" aria-label={t('moderation.queue.tabsLabel')} className="inline-flex gap-1 self-start rounded-lg bg-zinc-100 p-1 dark:bg-zinc-800">
          {tab('open')}
          {tab('closed')}
        </div>
        <details className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="queue-keys">
          <summary className="cursor-pointer font-medium">{t('moderation.queue.keysTitle')}</summary>
          <ul className="mt-2 space-y-1">
            <li>
              <Kbd>j</Kbd> <Kbd>k</Kbd> {t('moderation.queue.keys.move')}
            </li>
            <li>
              <Kbd>Enter</Kbd> {t('moderation.queue.keys.open')}
            </li>
            <li>
              <Kbd>a</Kbd> <Kbd>r</Kbd> <Kbd>s</Kbd> <Kbd>u</Kbd> <Kbd>t</Kbd> {t('moderation.queue.keys.decide')}
            </li>
            <li>
              <Kbd>c</Kbd> {t('moderation.queue.keys.escalate')}
            </li>
            <li>
              <Kbd>v</Kbd> {t('moderation.queue.keys.reveal')}
            </li>
          </ul>
        </details>
      </div>

      <QueryState
        pending={list.isPending}
        error={list.isError && !items.length ? list.error : null}
        onRetry={() => void list.refetch()}
        loadingText={t('moderation.queue.loading')}
        errorTitle={t('moderation.queue.error')}
        errorMessage={errorText(list.error, t, i18n.language)}
        retryLabel={t('moderation.queue.retry')}
      >
        {!items.length ? (
          <EmptyState
            icon={<CheckCircleIcon className="size-7" />}
            title={status === 'open' ? t('moderation.queue.emptyTitle') : t('moderation.queue.emptyClosedTitle')}
            description={status === 'open' ? t('moderation.queue.emptyBody') : t('moderation.queue.emptyClosedBody')}
          />
        ) : (
          <>
            <ol ref={listRef} aria-label={t('moderation.queue.listLabel')} className="space-y-3" data-testid="queue-list">
              {items.map((item, i) => {
                const selected = item.id === current?.id;
                const shown = revealed.has(item.id);
                return (
                  <li
                    key={item.id}
                    data-testid="queue-item"
                    data-id={item.id}
                    data-selected={selected}
                    aria-current={selected ? 'true' : undefined}
                    onClick={() => setIndex(i)}
                    className={cn(
                      'rounded-xl border bg-white p-4 shadow-sm dark:bg-zinc-900',
                      selected ? 'border-brand-500 ring-2 ring-brand-500 dark:border-brand-400 dark:ring-brand-400' : 'border-zinc-200 dark:border-zinc-800',
                    )}
                  >
                    <div className="flex flex-col gap-4 sm:flex-row">
                      {item.previews.length > 0 && (
                        <div className="flex shrink-0 gap-2 overflow-x-auto">
                          {item.previews.slice(0, 2).map((p) => (
                            <EvidencePreview
                              key={p.evidenceId}
                              caseId={item.id}
                              preview={p}
                              revealed={shown}
                              onToggle={() => toggleReveal(item.id)}
                              size="sm"
                            />
                          ))}
                        </div>
                      )}
                      <div className="min-w-0 flex-1 space-y-2">
                        <div className="flex flex-wrap items-start justify-between gap-2">
                          <CaseTags item={item} />
                          <time dateTime={item.openedAt} title={dateTime(item.openedAt, i18n.language)} className="text-xs text-zinc-500 dark:text-zinc-400">
                            {openedText(t, item.openedAt, i18n.language)}
                          </time>
                        </div>
                        <p className="text-sm text-zinc-700 dark:text-zinc-300">
                          <span className="font-medium">{item.userEmail ?? t('moderation.queue.noUser')}</span>
                          {item.topCategory && <> · {categoryLabel(t, item.topCategory)}</>}
                        </p>
                        <CaseTexts texts={item.texts} clamp />
                        <Link
                          to="/moderation/cases/$id"
                          params={{ id: item.id }}
                          data-case-link=""
                          onFocus={() => setIndex(i)}
                          className="inline-flex items-center gap-1 rounded-md text-sm font-medium text-brand-700 hover:underline focus-visible:outline-2 focus-visible:outline-brand-500 dark:text-brand-300"
                          data-testid="queue-open"
                        >
                          {t('moderation.case.title')} {item.id.slice(0, 8)}
                          <ArrowRightIcon className="size-4 rtl:rotate-180" />
                        </Link>
                      </div>
                    </div>
                  </li>
                );
              })}
            </ol>
            {list.hasNextPage && (
              <div className="mt-6 flex justify-center">
                <Button
                  variant="secondary"
                  onClick={() => void list.fetchNextPage()}
                  loading={list.isFetchingNextPage}
                  loadingText={t('moderation.queue.loadingMore')}
                >
                  {t('moderation.queue.loadMore')}
                </Button>
              </div>
            )}
          </>
        )}
      </QueryState>

      <Dialog
        open={!!deciding}
        onClose={() => setDeciding(null)}
        size="lg"
        initialFocus={reasonRef}
        title={deciding ? t('moderation.decide.dialogTitle', { decision: t(`moderation.decision.${deciding.decision}`) }) : ''}
        description={
          deciding
            ? t('moderation.decide.dialogLead', {
                subject: t(`moderation.subject.${deciding.item.subject}`),
                time: dateTime(deciding.item.openedAt, i18n.language),
              })
            : undefined
        }
      >
        {deciding && (
          <DecisionForm
            key={`${deciding.item.id}-${deciding.decision}`}
            item={deciding.item}
            initial={deciding.decision}
            reasonRef={reasonRef}
            onCancel={() => setDeciding(null)}
            onDone={(detail) => {
              setDeciding(null);
              toast({ title: t('moderation.decide.done', { decision: detail.outcome ? t(`moderation.outcome.${detail.outcome}`) : '' }), tone: 'success' });
            }}
          />
        )}
      </Dialog>
    </div>
  );
}
