import { useMutation } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AuthShell, authLink } from '../components/auth/AuthShell';
import { KeyIcon, MailIcon } from '../components/icons';
import { Alert, Button, EmailInput } from '../components/ui';
import { apiFetch } from '../lib/api';
import { useBotChallenge } from '../lib/bot-challenge';
import { BotCheck } from '../components/auth/BotCheck';
import { errorText } from '../lib/errors';
import { usePageTitle } from '../lib/usePageTitle';

export function ForgotPasswordPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('auth.forgot.title'));
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | undefined>();

  const bot = useBotChallenge('reset');
  const request = useMutation({
    mutationFn: () =>
      bot.run((headers) =>
        apiFetch<unknown>('/api/auth/request-password-reset', { method: 'POST', headers, body: { email: email.trim(), redirectTo: '/reset-password' } }),
      ),
  });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) return setError(t('auth.errors.email'));
    setError(undefined);
    request.mutate();
  };

  const back = (
    <Link to="/sign-in" className={authLink}>
      {t('auth.backToSignIn')}
    </Link>
  );

  if (request.isSuccess) {
    return (
      <AuthShell testId="forgot-sent" focusTitle icon={<MailIcon className="size-6" />} title={t('auth.verify.checkInbox')} footer={back}>
        <Alert tone="success">{t('auth.forgot.sent', { email: email.trim() })}</Alert>
        <p className="mt-4 text-sm text-zinc-600 dark:text-zinc-400">{t('auth.forgot.sentHelp')}</p>
      </AuthShell>
    );
  }

  return (
    <AuthShell testId="forgot-password" icon={<KeyIcon className="size-6" />} title={t('auth.forgot.title')} description={t('auth.forgot.lead')} footer={back}>
      <form onSubmit={onSubmit} noValidate className="space-y-5">
        {request.isError && <Alert tone="error">{errorText(request.error, t, i18n.language)}</Alert>}
        <EmailInput label={t('auth.fields.email')} required value={email} onChange={(e) => setEmail(e.target.value)} error={error} />
        <BotCheck waiting={bot.waiting} widgetRef={bot.widgetRef} />
        <Button type="submit" size="lg" className="w-full" loading={request.isPending}>
          {t('auth.forgot.submit')}
        </Button>
      </form>
    </AuthShell>
  );
}
