import { useSearch } from '@tanstack/react-router';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { useResendVerification } from '../../components/auth/CheckInbox';
import { CopyIcon, GiftIcon } from '../../components/icons';
import { Alert, Avatar, Button, fieldClasses, Spinner, useToast } from '../../components/ui';
import { useMe } from '../../lib/auth';
import { errorText } from '../../lib/errors';
import { usePageTitle } from '../../lib/usePageTitle';
import { CasesLink } from './CasesPage';
import { ProfileSection } from './ProfileSection';
import { EmailSection, PasswordSection } from './SecuritySections';
import { SessionsSection } from './SessionsSection';
import { DeleteAccountSection } from './DeleteAccountSection';
import { DataExportSection } from './DataExportSection';
import { EmailPreferencesSection } from './EmailPreferencesSection';
import { Section } from './shared';

export function AccountPage() {
  const { t } = useTranslation();
  usePageTitle(t('account.title'));
  const me = useMe();
  const search = useSearch({ from: '/account' });

  if (!me.data) {
    // the route waits for the user before rendering; this is only seen while signing out
    return (
      <div className="flex justify-center py-24" role="status">
        <Spinner className="size-6 text-brand-600" />
        <span className="sr-only">{t('ui.loading')}</span>
      </div>
    );
  }
  const user = me.data;

  return (
    <div className="mx-auto max-w-3xl px-4 py-10 sm:px-6 sm:py-14" data-testid="account-page">
      <header className="mb-8 flex items-center gap-4">
        <Avatar src={user.image} name={user.name} email={user.email} className="size-14 text-lg" />
        <div className="min-w-0">
          <h1 className="text-2xl font-semibold tracking-tight text-zinc-900 sm:text-3xl dark:text-white">{t('account.title')}</h1>
          <p className="truncate text-sm text-zinc-600 dark:text-zinc-400">{t('account.lead', { name: user.name })}</p>
        </div>
      </header>

      <div className="space-y-6">
        {search.error && (
          <Alert tone="error" title={t('account.linkFailed')} data-testid="link-error">
            {t(/token|expired/i.test(search.error) ? 'account.linkExpired' : 'errors.unexpected')}
          </Alert>
        )}
        {!user.emailVerified && <VerifyNotice me={user} />}
        <ProfileSection me={user} />
        <EmailSection me={user} />
        <PasswordSection me={user} />
        <EmailPreferencesSection />
        <SessionsSection />
        <DataExportSection />
        <ReferralSection me={user} />
        <CasesLink />
        <DeleteAccountSection me={user} />
      </div>
    </div>
  );
}

function VerifyNotice({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const resend = useResendVerification();
  return (
    <Alert
      tone="warning"
      title={t('account.verify.title')}
      data-testid="verify-notice"
      action={
        resend.isSuccess ? undefined : (
          <Button size="sm" variant="secondary" onClick={() => resend.mutate(me.email)} loading={resend.isPending}>
            {t('auth.verify.resend')}
          </Button>
        )
      }
    >
      <p>{t('account.verify.body', { email: me.email })}</p>
      {resend.isSuccess && <p className="mt-1 font-medium">{t('auth.verify.resent')}</p>}
      {resend.isError && <p className="mt-1 font-medium">{errorText(resend.error, t, i18n.language)}</p>}
    </Alert>
  );
}

function ReferralSection({ me }: { me: Me }) {
  const { t } = useTranslation();
  const { toast } = useToast();
  const linkId = useId();

  const copy = async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      toast({ title: t('account.referral.copied'), tone: 'success', duration: 2500 });
    } catch {
      // no clipboard access (permissions, insecure context): select the text so it can be copied by hand
      const field = document.getElementById(linkId) as HTMLInputElement | null;
      field?.select();
      toast({ title: t('account.referral.copyFailed'), tone: 'info' });
    }
  };

  return (
    <Section id="referral" icon={<GiftIcon className="size-5" />} title={t('account.referral.title')} description={t('account.referral.lead')}>
      <div className="space-y-4">
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {t('account.referral.code')}{' '}
          <code
            className="rounded-md bg-zinc-100 px-2 py-1 font-mono text-sm font-semibold text-zinc-900 dark:bg-zinc-800 dark:text-white"
            data-testid="referral-code"
          >
            {me.referralCode}
          </code>
        </p>
        <div className="flex flex-col gap-1.5">
          <label htmlFor={linkId} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
            {t('account.referral.link')}
          </label>
          <div className="flex flex-col gap-2 sm:flex-row">
            <input id={linkId} readOnly value={me.referralLink} onFocus={(e) => e.target.select()} className={`${fieldClasses(false)} font-mono text-xs`} />
            <Button variant="secondary" onClick={() => void copy(me.referralLink)} className="shrink-0">
              <CopyIcon className="size-4" />
              {t('account.referral.copy')}
            </Button>
          </div>
        </div>
      </div>
    </Section>
  );
}
