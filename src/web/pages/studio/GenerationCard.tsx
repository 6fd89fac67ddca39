import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { ProgressBar } from '../creations/CreationCard';
import { AlertIcon, DownloadIcon, ShieldIcon } from '../../components/icons';
import { Button, Card, Spinner, useToast } from '../../components/ui';
import { ApiError } from '../../lib/api';
import { cn } from '../../lib/cn';
import { creditsQuery } from '../../lib/credits';
import { dateTime, relativeTime } from '../../lib/format';
import { applyGeneration, cancelGeneration, generationsKey, isActive, type GenerationView } from '../../lib/generations';
import { shortPrompt, StatusBadge, studioErrorText } from './shared';

/** An output URL the browser may play here: same-origin or http(s), never file: or the like. */
function playable(url: string): boolean {
  try {
    const { protocol } = new URL(url, window.location.href);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** CSS aspect-ratio of "16:9" ("16 / 9"); 16 / 9 when it cannot be read. */
function cssRatio(ratio: string): string {
  const [w, h] = ratio.split(':').map(Number);
  return w && h ? `${w} / ${h}` : '16 / 9';
}

/** One generation: status, live progress, the video once it is there, or why it is not. */
export function GenerationCard({ generation: g, modelName }: { generation: GenerationView; modelName: string }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const promptId = useId();
  const active = isActive(g);

  const cancel = useMutation({
    mutationFn: () => cancelGeneration(g.id),
    onSuccess: (next) => {
      applyGeneration(queryClient, next);
      void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
      toast({ title: t('studio.list.canceled'), tone: 'success' });
    },
    onError: (err) => {
      const tooLate = err instanceof ApiError && err.status === 409;
      toast({ title: tooLate ? t('studio.list.cannotCancel') : studioErrorText(err, t, i18n.language), tone: 'error' });
      void queryClient.invalidateQueries({ queryKey: generationsKey });
    },
  });

  const meta = [
    t('studio.fields.seconds', { count: g.durationSeconds }),
    g.resolution,
    g.aspectRatio,
    g.audio ? t('studio.list.withSound') : t('studio.list.silent'),
  ].join(' · ');

  return (
    <li data-testid="generation" data-id={g.id} data-status={g.status}>
      <Card padding="none" className="flex h-full flex-col overflow-hidden">
        <article
          aria-labelledby={promptId}
          tabIndex={-1}
          className="flex h-full flex-col outline-none focus-visible:ring-2 focus-visible:ring-brand-500 focus-visible:ring-inset"
        >
          {g.status === 'succeeded' && g.output && playable(g.output.videoUrl) && (
            <video
              controls
              playsInline
              preload="metadata"
              src={g.output.videoUrl}
              poster={g.output.thumbnailUrl ?? undefined}
              aria-label={t('studio.list.videoLabel', { prompt: shortPrompt(g.prompt) })}
              className="max-h-96 w-full bg-black object-contain"
              style={{ aspectRatio: cssRatio(g.aspectRatio) }}
              data-testid="generation-video"
            />
          )}
          {g.status === 'under_review' && (
            <div
              className="flex max-h-96 w-full items-center justify-center bg-amber-50 dark:bg-amber-950/30"
              style={{ aspectRatio: cssRatio(g.aspectRatio) }}
              aria-hidden="true"
            >
              <ShieldIcon className="size-8 text-amber-600 dark:text-amber-300" />
            </div>
          )}
          {active && (
            <div
              className="flex max-h-96 w-full items-center justify-center bg-gradient-to-br from-brand-100 via-zinc-100 to-fuchsia-100 dark:from-brand-950 dark:via-zinc-900 dark:to-fuchsia-950"
              style={{ aspectRatio: cssRatio(g.aspectRatio) }}
              aria-hidden="true"
            >
              <Spinner className="size-8 text-brand-600 dark:text-brand-300" />
            </div>
          )}
          <div className="flex flex-1 flex-col gap-3 p-4">
            <div className="flex flex-wrap items-center justify-between gap-2">
              <StatusBadge status={g.status} />
              <span className="text-xs text-zinc-500 dark:text-zinc-400">
                <span className="font-medium text-zinc-700 dark:text-zinc-300">{modelName}</span>
                {' · '}
                <time dateTime={g.createdAt} title={dateTime(g.createdAt, i18n.language)}>
                  {relativeTime(g.createdAt, i18n.language)}
                </time>
              </span>
            </div>

            <p id={promptId} className="line-clamp-3 text-sm break-words text-zinc-900 dark:text-zinc-100" title={g.prompt}>
              {g.prompt}
            </p>
            <p className="text-xs text-zinc-500 dark:text-zinc-400">
              {meta}
              {(active || g.status === 'succeeded') && <> · {t('studio.list.charged', { count: g.price })}</>}
            </p>

            {active && (
              <div className="space-y-2">
                <ProgressBar generation={g} size="md" testId="generation-progress" />
                {g.status === 'queued' && (
                  <div className="flex items-center justify-between gap-3">
                    <span className="text-xs text-zinc-500 dark:text-zinc-400">{t('studio.list.queuedNote')}</span>
                    <Button
                      size="sm"
                      variant="secondary"
                      onClick={() => cancel.mutate()}
                      loading={cancel.isPending}
                      aria-label={t('studio.list.cancelLabel', { prompt: shortPrompt(g.prompt) })}
                    >
                      {t('studio.list.cancel')}
                    </Button>
                  </div>
                )}
              </div>
            )}

            {g.status === 'succeeded' && g.output && playable(g.output.videoUrl) && (
              <a
                href={g.output.videoUrl}
                download
                className="inline-flex items-center gap-1.5 self-start rounded-md text-sm font-medium text-brand-700 hover:text-brand-900 hover:underline dark:text-brand-300 dark:hover:text-brand-100"
                aria-label={t('studio.list.downloadLabel', { prompt: shortPrompt(g.prompt) })}
              >
                <DownloadIcon className="size-4" />
                {t('studio.list.download')}
              </a>
            )}

            {g.status === 'under_review' && (
              <div
                className="space-y-1 rounded-lg bg-amber-50 p-3 text-sm text-amber-900 dark:bg-amber-950/40 dark:text-amber-100"
                data-testid="generation-under-review"
              >
                <p>{t('studio.list.underReview')}</p>
                <Link to="/account/cases" className="font-medium underline">
                  {t('studio.list.underReviewLink')}
                </Link>
              </div>
            )}

            {g.status === 'succeeded' && g.output && !playable(g.output.videoUrl) && (
              <p className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="generation-not-playable">
                {t('studio.list.notPlayable')}
              </p>
            )}

            {g.failure && g.status !== 'succeeded' && (
              <div
                className={cn(
                  'flex gap-2 rounded-lg p-3 text-sm',
                  g.status === 'canceled'
                    ? 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800/70 dark:text-zinc-300'
                    : 'bg-red-50 text-red-900 dark:bg-red-950/40 dark:text-red-100',
                )}
                data-testid="generation-failure"
                data-code={g.failure.code}
              >
                <AlertIcon className="mt-0.5 size-4 shrink-0" />
                <div className="space-y-0.5">
                  <p>{t(`generation.failure.${g.failure.code}`, { defaultValue: g.failure.message })}</p>
                  {g.failure.refunded && g.price > 0 && (
                    <p className="font-medium" data-testid="generation-refunded">
                      {t('studio.list.refunded', { count: g.price })}
                    </p>
                  )}
                </div>
              </div>
            )}
          </div>
        </article>
      </Card>
    </li>
  );
}
