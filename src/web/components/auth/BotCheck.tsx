import { useTranslation } from 'react-i18next';
import type { BotChallengeHandle } from '../../lib/bot-challenge';

/**
 * The bot check's place in a form (issue 19): Turnstile's widget when that mode is on (empty
 * otherwise), and a polite live region that says "Checking your browser…" while a submitted form
 * waits for the proof of work, so screen-reader users hear why nothing happened yet.
 */
export function BotCheck({ waiting, widgetRef }: Pick<BotChallengeHandle, 'waiting' | 'widgetRef'>) {
  const { t } = useTranslation();
  return (
    <>
      <div ref={widgetRef} className="empty:hidden" data-testid="bot-check-widget" />
      <p role="status" aria-live="polite" data-testid="bot-check-status" className={waiting ? 'text-sm text-zinc-600 dark:text-zinc-400' : 'sr-only'}>
        {waiting ? t('auth.botCheck.checking') : ''}
      </p>
    </>
  );
}
