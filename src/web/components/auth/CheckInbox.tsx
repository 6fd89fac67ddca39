import { useMutation } from '@tanstack/react-query';
import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { apiFetch } from '../../lib/api';
import { errorText } from '../../lib/errors';
import { Alert, Button, EmailInput } from '../ui';

/** Ask the server to send the verification mail again. */
export function useResendVerification() {
  return useMutation({
    mutationFn: (email: string) => apiFetch<unknown>('/api/auth/send-verification-email', { method: 'POST', body: { email, callbackURL: '/account' } }),
  });
}

/**
 * "Check your inbox", with a way to get the mail again. With a known address it offers a resend
 * button; without one it asks for the address first.
 */
export function ResendVerification({ email: knownEmail }: { email?: string }) {
  const { t, i18n } = useTranslation();
  const [email, setEmail] = useState(knownEmail ?? '');
  const resend = useResendVerification();

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!email.trim()) return;
    resend.mutate(email.trim());
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" data-testid="resend-verification">
      {!knownEmail && <EmailInput label={t('auth.fields.email')} required value={email} onChange={(e) => setEmail(e.target.value)} />}
      {resend.isSuccess && <Alert tone="success">{t('auth.verify.resent')}</Alert>}
      {resend.isError && <Alert tone="error">{errorText(resend.error, t, i18n.language)}</Alert>}
      <div className="flex flex-wrap items-center gap-3">
        <span className="text-sm text-zinc-600 dark:text-zinc-400">{t('auth.verify.noMail')}</span>
        <Button type="submit" variant="secondary" size="sm" loading={resend.isPending} disabled={!email.trim()}>
          {t('auth.verify.resend')}
        </Button>
      </div>
    </form>
  );
}
