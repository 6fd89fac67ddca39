import { Link, useSearch } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { AuthShell, authLink } from '../components/auth/AuthShell';
import { ResendVerification } from '../components/auth/CheckInbox';
import { MailIcon } from '../components/icons';
import { Alert } from '../components/ui';
import { usePageTitle } from '../lib/usePageTitle';

/** "We sent you a link": explains the verification mail and sends it again on request. */
export function VerifyEmailPage() {
  const { t } = useTranslation();
  usePageTitle(t('auth.verify.title'));
  const search = useSearch({ from: '/verify-email' });
  return (
    <AuthShell
      testId="verify-email"
      icon={<MailIcon className="size-6" />}
      title={t('auth.verify.title')}
      description={search.email ? t('auth.verify.sentTo', { email: search.email }) : t('auth.verify.lead')}
      footer={
        <Link to="/sign-in" className={authLink}>
          {t('auth.backToSignIn')}
        </Link>
      }
    >
      {search.error && (
        <Alert tone="error" className="mb-5">
          {t('auth.verify.invalidLink')}
        </Alert>
      )}
      <p className="mb-5 text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{t('auth.verify.explain')}</p>
      <ResendVerification email={search.email} />
    </AuthShell>
  );
}
