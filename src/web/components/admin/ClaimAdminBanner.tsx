import { Link, useLocation } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { useMe } from '../../lib/auth';
import { buttonClasses } from '../ui';
import { ShieldIcon } from '../icons';

/**
 * On every page for the first account of a fresh install while no admin exists (GET /api/me says
 * `canClaimAdmin`): it may take the admin role at /admin/setup. Gone once anyone is admin.
 */
export function ClaimAdminBanner() {
  const { t } = useTranslation();
  const me = useMe().data;
  const onSetup = useLocation({ select: (l) => l.pathname === '/admin/setup' });
  if (!me?.canClaimAdmin || me.role === 'admin' || onSetup) return null;
  return (
    <div
      role="region"
      aria-label={t('admin.setup.banner.label')}
      className="border-b border-brand-200 bg-brand-50 text-brand-900 dark:border-brand-900 dark:bg-brand-950/50 dark:text-brand-100"
      data-testid="setup-banner"
    >
      <div className="mx-auto flex max-w-7xl flex-col gap-3 px-4 py-3 sm:flex-row sm:items-center sm:px-6">
        <ShieldIcon className="hidden size-5 shrink-0 sm:block" />
        <p className="flex-1 text-sm">{t('admin.setup.banner.text')}</p>
        <Link to="/admin/setup" className={buttonClasses({ size: 'sm', className: 'shrink-0 self-start sm:self-auto' })} data-testid="setup-banner-link">
          {t('admin.setup.banner.action')}
        </Link>
      </div>
    </div>
  );
}
