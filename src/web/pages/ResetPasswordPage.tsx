import { useMutation } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AuthShell, authLink } from '../components/auth/AuthShell';
import { AlertIcon, CheckCircleIcon, KeyIcon } from '../components/icons';
import { NewPasswordFields } from '../components/auth/NewPasswordFields';
import { Alert, Button, buttonClasses } from '../components/ui';
import { ApiError, apiFetch } from '../lib/api';
import { useAuthConfig } from '../lib/auth';
import { errorText } from '../lib/errors';
import { usePageTitle } from '../lib/usePageTitle';

export function ResetPasswordPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('auth.reset.title'));
  const search = useSearch({ from: '/reset-password' });
  const config = useAuthConfig();
  const minLength = config.data?.passwordMinLength ?? 8;
  const maxLength = config.data?.passwordMaxLength ?? 128;

  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<{ password?: string; confirm?: string }>({});

  const reset = useMutation({
    mutationFn: () => apiFetch<unknown>('/api/auth/reset-password', { method: 'POST', body: { newPassword: password, token: search.token ?? '' } }),
    onError: (err) => {
      if (err instanceof ApiError && /^password_too_(short|long)$/.test(err.code)) setErrors({ password: errorText(err, t, i18n.language) });
    },
  });

  const expired = Boolean(search.error) || !search.token || (reset.error instanceof ApiError && reset.error.code === 'invalid_token');

  if (expired) {
    return (
      <AuthShell
        testId="reset-expired"
        focusTitle
        icon={<AlertIcon className="size-6" />}
        title={t('auth.reset.expiredTitle')}
        description={t('auth.reset.expiredBody')}
        footer={
          <Link to="/sign-in" className={authLink}>
            {t('auth.backToSignIn')}
          </Link>
        }
      >
        <Link to="/forgot-password" className={buttonClasses({ size: 'lg', className: 'w-full' })}>
          {t('auth.reset.requestNew')}
        </Link>
      </AuthShell>
    );
  }

  if (reset.isSuccess) {
    return (
      <AuthShell
        testId="reset-done"
        focusTitle
        icon={<CheckCircleIcon className="size-6" />}
        title={t('auth.reset.doneTitle')}
        description={t('auth.reset.done')}
      >
        <Link to="/sign-in" className={buttonClasses({ size: 'lg', className: 'w-full' })}>
          {t('auth.signIn.title')}
        </Link>
      </AuthShell>
    );
  }

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const found: typeof errors = {};
    if (password.length < minLength) found.password = t('auth.errors.passwordShort', { count: minLength });
    else if (password.length > maxLength) found.password = t('auth.errors.passwordLong', { count: maxLength });
    if (confirm !== password) found.confirm = t('auth.errors.mismatch');
    setErrors(found);
    if (Object.keys(found).length === 0) reset.mutate();
  };

  const formError = reset.isError && !errors.password ? errorText(reset.error, t, i18n.language) : null;

  return (
    <AuthShell testId="reset-password" icon={<KeyIcon className="size-6" />} title={t('auth.reset.title')} description={t('auth.reset.lead')}>
      <form onSubmit={onSubmit} noValidate className="space-y-5">
        {formError && <Alert tone="error">{formError}</Alert>}
        <NewPasswordFields
          password={password}
          confirm={confirm}
          onPasswordChange={setPassword}
          onConfirmChange={setConfirm}
          minLength={minLength}
          errors={{ password: errors.password, confirm: errors.confirm }}
        />
        <Button type="submit" size="lg" className="w-full" loading={reset.isPending}>
          {t('auth.reset.submit')}
        </Button>
      </form>
    </AuthShell>
  );
}
