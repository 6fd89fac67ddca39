import { Link } from '@tanstack/react-router';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { AlertIcon, FilmIcon, ShieldIcon } from '../../components/icons';
import { Spinner } from '../../components/ui';
import { cn } from '../../lib/cn';
import { dateTime, relativeTime } from '../../lib/format';
import { isActive, type GenerationView } from '../../lib/generations';
import { shortPrompt, StatusBadge } from '../studio/shared';

/** CSS aspect-ratio of "16:9" ("16 / 9"); 16 / 9 when it cannot be read. */
export function cssRatio(ratio: string): string {
  const [w, h] = ratio.split(':').map(Number);
  return w && h ? `${w} / ${h}` : '16 / 9';
}

/** The progress of a generation on its way, as a bar (the studio's cards use the larger size). */
export function ProgressBar({ generation: g, size = 'sm', testId = 'creation-progress' }: { generation: GenerationView; size?: 'sm' | 'md'; testId?: string }) {
  const { t } = useTranslation();
  return (
    <div className={cn('flex items-center', size === 'md' ? 'gap-3' : 'gap-2')}>
      <div
        role="progressbar"
        aria-label={t('studio.list.progress')}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={g.progress}
        aria-valuetext={g.status === 'queued' ? t('studio.list.queuedNote') : `${g.progress}%`}
        className={cn('flex-1 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800', size === 'md' ? 'h-2' : 'h-1.5')}
        data-testid={testId}
      >
        <div
          className={cn('h-full rounded-full bg-brand-600 transition-[width] duration-500 dark:bg-brand-400', g.status === 'queued' && 'animate-pulse')}
          style={{ width: `${Math.max(g.status === 'queued' ? 4 : 2, g.progress)}%` }}
        />
      </div>
      <span className={cn('text-end text-xs text-zinc-600 tabular-nums dark:text-zinc-400', size === 'md' ? 'w-10' : 'w-9')} aria-hidden="true">
        {g.progress}%
      </span>
    </div>
  );
}

/**
 * One creation in the grid: its poster (the short preview plays, muted, on hover and on keyboard
 * focus), its status, live progress or why it failed, and a checkbox to select it.
 */
export function CreationCard({
  generation: g,
  modelName,
  selected,
  onSelect,
}: {
  generation: GenerationView;
  modelName: string;
  selected: boolean;
  onSelect: (selected: boolean) => void;
}) {
  const { t, i18n } = useTranslation();
  const titleId = useId();
  const [previewing, setPreviewing] = useState(false);
  const active = isActive(g);
  const poster = g.output?.thumbnailUrl ?? undefined;
  const preview = g.output?.previewUrl ?? undefined;
  const start = () => setPreviewing(true);
  const stop = () => setPreviewing(false);

  return (
    <li data-testid="creation" data-id={g.id} data-status={g.status} className="min-w-0">
      <article
        aria-labelledby={titleId}
        className={cn(
          'relative flex h-full flex-col overflow-hidden rounded-xl border bg-white shadow-sm transition-shadow dark:bg-zinc-900',
          selected ? 'border-brand-500 ring-2 ring-brand-500 dark:border-brand-400 dark:ring-brand-400' : 'border-zinc-200 dark:border-zinc-800',
        )}
        onMouseEnter={start}
        onMouseLeave={stop}
      >
        <Link
          to="/creations/$id"
          params={{ id: g.id }}
          className="group block outline-none focus-visible:ring-2 focus-visible:ring-brand-500 focus-visible:ring-inset"
          onFocus={start}
          onBlur={stop}
          aria-labelledby={titleId}
          data-testid="creation-open"
        >
          <div
            className="relative flex w-full items-center justify-center overflow-hidden bg-zinc-100 dark:bg-zinc-800"
            style={{ aspectRatio: cssRatio(g.aspectRatio) }}
          >
            {poster ? (
              <img src={poster} alt="" loading="lazy" className="size-full object-cover" data-testid="creation-poster" />
            ) : active ? (
              <Spinner className="size-7 text-brand-600 dark:text-brand-300" />
            ) : g.status === 'under_review' ? (
              <ShieldIcon className="size-8 text-amber-600 dark:text-amber-300" />
            ) : (
              <FilmIcon className="size-8 text-zinc-400" />
            )}
            {previewing && preview && (
              <video
                src={preview}
                muted
                loop
                autoPlay
                playsInline
                preload="auto"
                aria-hidden="true"
                tabIndex={-1}
                className="absolute inset-0 size-full object-cover"
                data-testid="creation-preview"
              />
            )}
          </div>
        </Link>

        <label className="absolute start-2 top-2 flex size-9 cursor-pointer items-center has-[input:disabled]:cursor-not-allowed has-[input:disabled]:opacity-60 justify-center rounded-lg bg-white/85 shadow-sm backdrop-blur has-[input:focus-visible]:outline-2 has-[input:focus-visible]:outline-brand-500 dark:bg-zinc-900/85">
          <input
            type="checkbox"
            checked={selected}
            disabled={active}
            title={active ? t('creations.busy') : undefined}
            onChange={(e) => onSelect(e.target.checked)}
            className="size-4 accent-brand-600"
            aria-label={t('creations.select', { prompt: shortPrompt(g.prompt, 40) })}
            data-testid="creation-select"
          />
        </label>

        <div className="flex flex-1 flex-col gap-2 p-3">
          <div className="flex flex-wrap items-center justify-between gap-2">
            <StatusBadge status={g.status} />
            <time dateTime={g.createdAt} title={dateTime(g.createdAt, i18n.language)} className="text-xs text-zinc-500 dark:text-zinc-400">
              {relativeTime(g.createdAt, i18n.language)}
            </time>
          </div>
          <p id={titleId} className="line-clamp-2 text-sm break-words text-zinc-900 dark:text-zinc-100" title={g.prompt}>
            {g.prompt}
          </p>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">
            {modelName} · {t('studio.fields.seconds', { count: g.durationSeconds })} · {g.resolution}
          </p>
          {active && <ProgressBar generation={g} />}
          {g.status === 'under_review' && (
            <p className="flex gap-1.5 text-xs text-amber-800 dark:text-amber-200" data-testid="creation-under-review">
              <ShieldIcon className="mt-px size-3.5 shrink-0" />
              <span>{t('studio.list.underReview')}</span>
            </p>
          )}
          {g.failure && g.status !== 'succeeded' && (
            <p className="flex gap-1.5 text-xs text-red-700 dark:text-red-300" data-testid="creation-failure">
              <AlertIcon className="mt-px size-3.5 shrink-0" />
              <span>{t(`generation.failure.${g.failure.code}`, { defaultValue: g.failure.message })}</span>
            </p>
          )}
        </div>
      </article>
    </li>
  );
}
