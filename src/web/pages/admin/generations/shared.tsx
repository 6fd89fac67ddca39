import { useTranslation } from 'react-i18next';
import { cn } from '../../../lib/cn';
import type { AdminGenerationStatus } from './api';

const tones: Record<AdminGenerationStatus, string> = {
  queued: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  submitting: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  running: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  finalizing: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  succeeded: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300',
  failed: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
  canceled: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
  blocked: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
  under_review: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
};

/** A task's status as a coloured badge, and a red "stuck" badge beside it when it is past its deadline. */
export function GenerationStatusBadge({ status, stuck, testId }: { status: AdminGenerationStatus; stuck: boolean; testId?: string }) {
  const { t } = useTranslation();
  return (
    <span className="inline-flex flex-wrap items-center gap-1">
      <span className={cn('inline-flex items-center rounded-full px-2 py-0.5 text-xs font-semibold whitespace-nowrap', tones[status])} data-testid={testId}>
        {t(`admin.generations.statuses.${status}`)}
      </span>
      {stuck && (
        <span
          className="inline-flex items-center rounded-full bg-red-600 px-2 py-0.5 text-xs font-semibold whitespace-nowrap text-white"
          data-testid="admin-generation-stuck"
        >
          {t('admin.generations.stuckBadge')}
        </span>
      )}
    </span>
  );
}
