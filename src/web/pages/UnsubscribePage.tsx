import { useMutation, useQuery } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import type { UnsubscribeResult, UnsubscribeStatus } from '../../shared/api/marketing';
import { AuthShell, authLink } from '../components/auth/AuthShell';
import { MailIcon } from '../components/icons';
import { Alert, Button, Spinner } from '../components/ui';
import { ApiError, apiFetch } from '../lib/api';
import { errorText } from '../lib/errors';
import { usePageTitle } from '../lib/usePageTitle';

/**
 * Where the unsubscribe link of a product-update email leads (`GET /api/unsubscribe/:token` sends
 * people here): it asks before unsubscribing, because link scanners open links too. The button
 * sends the same one-click POST a mail client sends (RFC 8058). No sign-in needed.
 */
export function UnsubscribePage() {
  const { t, i18n } = useTranslation();
  const { token } = useParams({ from: '/unsubscribe/$token' });
  const path = `/api/unsubscribe/${encodeURIComponent(token)}`;
  const status = useQuery({
    queryKey: ['unsubscribe', token],
    queryFn: ({ signal }) => apiFetch<UnsubscribeStatus>(`${path}/status`, { signal }),
    retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
  });
  const unsubscribe = useMutation({
    mutationFn: () =>
      apiFetch<UnsubscribeResult>(path, {
        method: 'POST',
        body: 'List-Unsubscribe=One-Click',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
  });

  const invalid = status.error instanceof ApiError && (status.error.status === 404 || status.error.status === 400);
  const state = unsubscribe.isSuccess
    ? 'done'
    : invalid
      ? 'invalid'
      : status.isPending
        ? 'loading'
        : status.isError
          ? 'error'
          : status.data.productUpdates
            ? 'confirm'
            : 'already';
  const title = {
    loading: t('unsubscribe.title'),
    confirm: t('unsubscribe.title'),
    error: t('unsubscribe.title'),
    done: t('unsubscribe.doneTitle'),
    already: t('unsubscribe.alreadyTitle'),
    invalid: t('unsubscribe.invalidTitle'),
  }[state];
  const lead = {
    loading: undefined,
    confirm: t('unsubscribe.lead'),
    error: undefined,
    done: t('unsubscribe.doneLead'),
    already: t('unsubscribe.alreadyLead'),
    invalid: t('unsubscribe.invalidLead'),
  }[state];
  usePageTitle(title);

  return (
    <AuthShell
      testId="unsubscribe-page"
      icon={<MailIcon className="size-6" />}
      title={title}
      description={lead}
      focusTitle={state === 'done'}
      footer={
        <Link to="/account" hash="email-preferences" className={authLink}>
          {t('unsubscribe.preferences')}
        </Link>
      }
    >
      {state === 'loading' && (
        <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
          <Spinner className="size-4" />
          {t('ui.loading')}
        </p>
      )}
      {state === 'error' && <Alert tone="error">{errorText(status.error, t, i18n.language)}</Alert>}
      {state === 'confirm' && (
        <div className="space-y-4">
          {unsubscribe.isError && <Alert tone="error">{errorText(unsubscribe.error, t, i18n.language)}</Alert>}
          <Button className="w-full" onClick={() => unsubscribe.mutate()} loading={unsubscribe.isPending} data-testid="unsubscribe-confirm">
            {t('unsubscribe.confirm')}
          </Button>
        </div>
      )}
      {(state === 'done' || state === 'already') && (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" role="status" data-testid="unsubscribe-result">
          {t('unsubscribe.accountMail')}
        </p>
      )}
    </AuthShell>
  );
}
