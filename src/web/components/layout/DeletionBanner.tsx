import { useTranslation } from 'react-i18next';
import { deletionDay, useAccountDeletion, useCancelDeletion } from '../../lib/account-deletion';
import { useMe } from '../../lib/auth';
import { errorText } from '../../lib/errors';
import { AlertIcon } from '../icons';
import { Button, useToast } from '../ui';

/**
 * On every page while the signed-in account is scheduled for deletion: the date, and the button
 * that cancels it (signing in and confirming is how a deletion is stopped during the grace period).
 */
export function DeletionBanner() {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const me = useMe();
  const deletion = useAccountDeletion(Boolean(me.data));
  const cancel = useCancelDeletion();
  const scheduled = me.data ? deletion.data?.scheduled : null;
  if (!scheduled) return null;
  const day = deletionDay(scheduled.dueAt, i18n.language);

  return (
    <div
      role="region"
      aria-label={t('accountDeletion.banner.label')}
      className="border-b border-red-200 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950/50 dark:text-red-100"
      data-testid="deletion-banner"
    >
      <div className="mx-auto flex max-w-7xl flex-col gap-3 px-4 py-3 sm:flex-row sm:items-center sm:px-6">
        <AlertIcon className="hidden size-5 shrink-0 sm:block" />
        <p className="flex-1 text-sm">
          <span className="font-semibold">
            {scheduled.status === 'running' ? t('accountDeletion.banner.running') : t('accountDeletion.banner.scheduled', { date: day })}
          </span>{' '}
          {scheduled.status === 'scheduled' && t('accountDeletion.banner.meanwhile')}
        </p>
        {scheduled.cancelable && (
          <Button
            size="sm"
            variant="secondary"
            className="shrink-0 self-start sm:self-auto"
            loading={cancel.isPending}
            onClick={() =>
              cancel.mutate(undefined, {
                onSuccess: () => toast({ tone: 'success', title: t('accountDeletion.canceled.title'), description: t('accountDeletion.canceled.body') }),
                onError: (err) => toast({ tone: 'error', title: errorText(err, t, i18n.language) }),
              })
            }
            data-testid="cancel-deletion"
          >
            {t('accountDeletion.cancel')}
          </Button>
        )}
      </div>
    </div>
  );
}
