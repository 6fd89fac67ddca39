import { useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import type { AccountDeletionStatusView } from '../../../shared/api/account-deletion';
import { TrashIcon } from '../../components/icons';
import { Alert, Button, Dialog, PasswordInput, Spinner, useToast } from '../../components/ui';
import { ApiError, apiFetch } from '../../lib/api';
import { deletionDay, useAccountDeletion, useCancelDeletion, useRequestDeletion } from '../../lib/account-deletion';
import { clearUserQueries, meQuery } from '../../lib/auth';
import { errorText } from '../../lib/errors';
import { Section } from './shared';

/**
 * "Delete account" on the account page: what goes and what stays, then a confirmation with the
 * password (or, for an account without one, a fresh Google sign-in that comes back here with
 * `?confirmDeletion=1`). While a deletion is scheduled it shows the date and the way to cancel.
 */
export function DeleteAccountSection({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const search = useSearch({ from: '/account' });
  const status = useAccountDeletion();
  const [open, setOpen] = useState(search.confirmDeletion === '1');

  return (
    <Section id="delete-account" icon={<TrashIcon className="size-5" />} title={t('accountDeletion.title')} description={t('accountDeletion.lead')}>
      {status.isPending ? (
        <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
          <Spinner className="size-4" />
          {t('ui.loading')}
        </p>
      ) : status.isError ? (
        <Alert tone="error">{errorText(status.error, t, i18n.language)}</Alert>
      ) : status.data.scheduled ? (
        <Scheduled scheduled={status.data.scheduled} />
      ) : (
        <div className="space-y-5">
          <WhatGoesAndStays view={status.data} />
          <Button variant="danger" onClick={() => setOpen(true)} data-testid="delete-account">
            {t('accountDeletion.open')}
          </Button>
          <ConfirmDialog open={open} onClose={() => setOpen(false)} view={status.data} me={me} fromGoogle={search.confirmDeletion === '1'} />
        </div>
      )}
    </Section>
  );
}

function WhatGoesAndStays({ view }: { view: AccountDeletionStatusView }) {
  const { t } = useTranslation();
  const goes = ['profile', 'signIn', 'creations', 'developer', 'credits'] as const;
  const stays = ['orders', 'safety', 'holds', 'requests'] as const;
  return (
    <div className="space-y-4 text-sm text-zinc-700 dark:text-zinc-300">
      <p>{view.graceDays > 0 ? t('accountDeletion.when', { count: view.graceDays }) : t('accountDeletion.whenNow')}</p>
      <div className="grid gap-4 sm:grid-cols-2">
        <div>
          <h3 className="mb-1.5 font-semibold text-zinc-900 dark:text-white">{t('accountDeletion.goes.title')}</h3>
          <ul className="list-disc space-y-1 ps-5" data-testid="deletion-goes">
            {goes.map((k) => (
              <li key={k}>{t(`accountDeletion.goes.${k}`)}</li>
            ))}
          </ul>
        </div>
        <div>
          <h3 className="mb-1.5 font-semibold text-zinc-900 dark:text-white">{t('accountDeletion.stays.title')}</h3>
          <ul className="list-disc space-y-1 ps-5" data-testid="deletion-stays">
            {stays.map((k) => (
              <li key={k}>{t(`accountDeletion.stays.${k}`, { count: view.orderRetentionYears })}</li>
            ))}
          </ul>
        </div>
      </div>
      <p>{t('accountDeletion.subscriptions')}</p>
      <p>{t('accountDeletion.exportFirst')}</p>
    </div>
  );
}

function Scheduled({ scheduled }: { scheduled: NonNullable<AccountDeletionStatusView['scheduled']> }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const cancel = useCancelDeletion();
  return (
    <div className="space-y-4" data-testid="deletion-scheduled">
      <Alert
        tone="warning"
        title={
          scheduled.status === 'running'
            ? t('accountDeletion.banner.running')
            : t('accountDeletion.banner.scheduled', { date: deletionDay(scheduled.dueAt, i18n.language) })
        }
      >
        {scheduled.status === 'scheduled' && <p>{t('accountDeletion.banner.meanwhile')}</p>}
      </Alert>
      {scheduled.cancelable && (
        <Button
          variant="secondary"
          loading={cancel.isPending}
          onClick={() =>
            cancel.mutate(undefined, {
              onSuccess: () => toast({ tone: 'success', title: t('accountDeletion.canceled.title'), description: t('accountDeletion.canceled.body') }),
              onError: (err) => toast({ tone: 'error', title: errorText(err, t, i18n.language) }),
            })
          }
        >
          {t('accountDeletion.cancel')}
        </Button>
      )}
    </div>
  );
}

function ConfirmDialog({
  open,
  onClose,
  view,
  me,
  fromGoogle,
}: {
  open: boolean;
  onClose: () => void;
  view: AccountDeletionStatusView;
  me: Me;
  fromGoogle: boolean;
}) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const request = useRequestDeletion();
  const [password, setPassword] = useState('');
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [googleBusy, setGoogleBusy] = useState(false);
  const staleGoogle = request.error instanceof ApiError && request.error.code === 'reauth_required' && !view.reauth.password;
  const canConfirm = view.reauth.password || (view.reauth.google && fromGoogle && !staleGoogle);
  // the day it would run if confirmed now (the server's answer has the exact time)
  const [openedAt] = useState(() => Date.now());
  const dueDay = deletionDay(new Date(openedAt + view.graceDays * 86_400_000).toISOString(), i18n.language);

  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setFieldError(undefined);
    if (view.reauth.password && !password) {
      setFieldError(t('auth.errors.passwordRequired'));
      return;
    }
    request.mutate(view.reauth.password ? { password } : {}, {
      onSuccess: (result) => {
        const when = result.scheduled ? deletionDay(result.scheduled.dueAt, i18n.language) : dueDay;
        // every session was signed out: forget the user here too
        queryClient.setQueryData(meQuery.queryKey, null);
        clearUserQueries(queryClient);
        toast({
          tone: 'success',
          duration: 0,
          title: view.graceDays > 0 ? t('accountDeletion.done.title', { date: when }) : t('accountDeletion.done.titleNow'),
          description: t('accountDeletion.done.body', { email: me.email }),
        });
        void navigate({ to: '/' });
      },
      onError: (err) => {
        if (err instanceof ApiError && (err.code === 'invalid_password' || (err.code === 'reauth_required' && view.reauth.password))) {
          setFieldError(errorText(err, t, i18n.language));
        }
      },
    });
  };

  const google = async () => {
    setGoogleBusy(true);
    try {
      const { url } = await apiFetch<{ url: string }>('/api/auth/sign-in/social', {
        method: 'POST',
        body: { provider: 'google', callbackURL: '/account?confirmDeletion=1', errorCallbackURL: '/account' },
      });
      window.location.href = url;
    } catch (err) {
      setGoogleBusy(false);
      toast({ tone: 'error', title: errorText(err, t, i18n.language) });
    }
  };

  const formError = request.isError && !fieldError && !staleGoogle ? errorText(request.error, t, i18n.language) : null;

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={t('accountDeletion.dialog.title')}
      description={view.graceDays > 0 ? t('accountDeletion.dialog.later', { date: dueDay }) : t('accountDeletion.dialog.now')}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('account.cancel')}
          </Button>
          {canConfirm && (
            <Button variant="danger" type="submit" form="delete-account-form" loading={request.isPending} data-testid="confirm-delete-account">
              {t('accountDeletion.dialog.confirm')}
            </Button>
          )}
        </>
      }
    >
      <form id="delete-account-form" onSubmit={submit} noValidate className="space-y-4">
        {formError && <Alert tone="error">{formError}</Alert>}
        {view.reauth.password ? (
          <PasswordInput
            label={t('accountDeletion.dialog.password')}
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={fieldError}
          />
        ) : view.reauth.google ? (
          canConfirm ? (
            <p className="text-sm text-zinc-700 dark:text-zinc-300">{t('accountDeletion.dialog.googleDone')}</p>
          ) : (
            <div className="space-y-3">
              <p className="text-sm text-zinc-700 dark:text-zinc-300">
                {staleGoogle ? t('accountDeletion.dialog.googleAgain') : t('accountDeletion.dialog.google')}
              </p>
              <Button variant="secondary" onClick={() => void google()} loading={googleBusy}>
                {t('accountDeletion.dialog.googleButton')}
              </Button>
            </div>
          )
        ) : (
          <p className="text-sm text-zinc-700 dark:text-zinc-300">{t('accountDeletion.dialog.needsPassword')}</p>
        )}
      </form>
    </Dialog>
  );
}
