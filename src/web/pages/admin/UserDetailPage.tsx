import { useQuery } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { UserIcon } from '../../components/icons';
import { BackLink, PageLoadFailed, PageLoading } from '../../components/PageStates';
import { DetailSection } from '../../components/ui';
import { errorText } from '../../lib/errors';
import { useCan } from '../../lib/admin';
import { usePageTitle } from '../../lib/usePageTitle';
import { userDetailQuery } from './users/api';
import { FlagBadges, RoleBadge, StatusBadge } from './users/shared';
import { RiskSection } from './users/RiskSection';
import { UserActions } from './users/UserActions';
import {
  ApiKeysSection,
  ConsentSection,
  CreditsSection,
  GenerationsSection,
  OrdersSection,
  PrivacySection,
  ProfileSection,
  SafetySection,
  SessionsSection,
} from './users/UserSections';

/**
 * /admin/users/$id: everything about one account (profile, devices and sessions, credits and
 * ledger, orders, generations, API keys, flags and cases, consent, privacy) and what support and
 * admins can do to it. Support and admins; the server checks every call.
 */
export function UserDetailPage() {
  const { t, i18n } = useTranslation();
  const { id } = useParams({ from: '/admin/users/$id' });
  const query = useQuery(userDetailQuery(id));
  const can = useCan();
  usePageTitle(query.data ? t('admin.users.detailTitle', { email: query.data.profile.email }) : t('admin.users.title'));
  const back = <BackLink to="/admin/users">{t('admin.users.back')}</BackLink>;

  if (query.isPending) return <PageLoading />;
  if (query.isError)
    return (
      <PageLoadFailed
        back={back}
        error={query.error}
        notFound={{ icon: <UserIcon className="size-7" />, title: t('admin.users.notFoundTitle'), body: t('admin.users.notFoundBody') }}
        errorTitle={t('admin.users.error')}
        errorMessage={errorText(query.error, t, i18n.language)}
        retryLabel={t('admin.users.retry')}
        onRetry={() => void query.refetch()}
      />
    );
  const user = query.data;
  const p = user.profile;
  return (
    <div data-testid="admin-user-detail" data-user-id={p.id}>
      {back}
      <header className="mt-4 mb-6 space-y-2">
        <h1 className="text-2xl font-semibold tracking-tight break-all text-zinc-900 sm:text-3xl dark:text-white">{p.email}</h1>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{p.name || t('admin.users.noName')}</p>
        <div className="flex flex-wrap items-center gap-1.5">
          <RoleBadge role={p.role} />
          <StatusBadge status={p.status} />
          <FlagBadges flags={user.flags} />
        </div>
      </header>
      <div className="space-y-8">
        <DetailSection id="user-actions" title={t('admin.users.sections.actions')}>
          <UserActions key={p.id} user={user} />
        </DetailSection>
        <ProfileSection user={user} />
        <CreditsSection key={`credits-${p.id}`} user={user} />
        <SessionsSection user={user} />
        <OrdersSection user={user} />
        <GenerationsSection user={user} />
        <ApiKeysSection user={user} />
        <SafetySection user={user} />
        {can('risk.view') && <RiskSection key={`risk-${p.id}`} userId={p.id} email={p.email} />}
        <ConsentSection user={user} />
        <PrivacySection user={user} />
      </div>
    </div>
  );
}
