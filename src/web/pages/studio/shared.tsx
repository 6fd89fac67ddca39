import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { VerifyEmailNotice } from '../../components/auth/VerifyEmailNotice';
import { ApiError } from '../../lib/api';
import { cn } from '../../lib/cn';
import { errorText } from '../../lib/errors';
import type { GenerationStatus } from '../../lib/generations';

/**
 * What to say about a failed studio request. Like `errorText`, English readers see the server's
 * message and other languages our translation of the code (`studio.errors.<code>`), but a 429
 * here means "too many videos in progress", not "too many attempts", so it keeps its own text.
 */
export function studioErrorText(err: unknown, t: TFunction, language: string): string {
  if (!(err instanceof ApiError) || err.code === 'network_error') return errorText(err, t, language);
  const translated = t(`studio.errors.${err.code}` as never, { defaultValue: '' }) as string;
  if (!language.startsWith('en') && translated) return translated;
  if (err.message) return err.message;
  return translated || errorText(err, t, language);
}

/** A short version of a prompt, for labels and announcements. */
export function shortPrompt(prompt: string, max = 60): string {
  const flat = prompt.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}

const statusTones: Record<GenerationStatus, string> = {
  queued: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
  submitting: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  running: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  finalizing: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  succeeded: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300',
  failed: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
  canceled: 'bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400',
  blocked: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
  under_review: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
};

export function StatusBadge({ status }: { status: GenerationStatus }) {
  const { t } = useTranslation();
  return (
    <span
      className={cn('inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-semibold', statusTones[status])}
      data-testid="generation-status"
      data-status={status}
    >
      {(status === 'submitting' || status === 'running' || status === 'finalizing') && (
        <span className="size-1.5 animate-pulse rounded-full bg-current" aria-hidden="true" />
      )}
      {t(`generation.status.${status}`)}
    </span>
  );
}

/** "Verify your email first", with a button that sends the link again (as on the account page). */
export function VerifyNotice({ me, tone = 'warning', className }: { me: Me; tone?: 'warning' | 'error'; className?: string }) {
  const { t } = useTranslation();
  return (
    <VerifyEmailNotice
      me={me}
      tone={tone}
      {...(className ? { className } : {})}
      title={t('studio.verify.title')}
      body={t('studio.verify.body', { email: me.email })}
      testId="studio-verify-notice"
    />
  );
}
