import { useQuery } from '@tanstack/react-query';
import { useLocation } from '@tanstack/react-router';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useReauth } from '../../components/admin/useReauth';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Alert } from '../../components/ui';
import { errorText } from '../../lib/errors';
import { usePageTitle } from '../../lib/usePageTitle';
import { settingsQuery } from './settings/api';
import { SettingsGroup, tk } from './settings/SettingsGroup';

/**
 * /admin/settings: every console setting by group. Support reads; admins change a group at a time
 * (after re-entering the password when the sign-in is older than 10 minutes) and test the
 * connections. Values the environment sets are shown and locked; secrets are write-only.
 * `/admin/settings#KEY` (the setup checklist's links) scrolls to that setting and focuses it.
 */
export function SettingsPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('admin.settings.title'));
  const settings = useQuery(settingsQuery);
  const { run, dialog } = useReauth();
  const hash = useLocation({ select: (l) => l.hash });

  // the content arrives after the navigation: bring the setting the link names into view once it is there
  const loaded = Boolean(settings.data);
  useEffect(() => {
    if (!loaded || !hash) return;
    const target = document.getElementById(decodeURIComponent(hash));
    if (!target) return;
    target.scrollIntoView({ block: 'center' });
    target.querySelector<HTMLElement>('input, select, button')?.focus({ preventScroll: true });
  }, [loaded, hash]);

  const data = settings.data;
  return (
    <div data-testid="admin-settings">
      <PageHeader title={t('admin.settings.title')} lead={t('admin.settings.lead')} />
      <QueryState
        pending={settings.isPending}
        error={settings.isError ? settings.error : null}
        onRetry={() => void settings.refetch()}
        loadingText={t('admin.settings.loading')}
        errorTitle={t('admin.settings.error')}
        errorMessage={errorText(settings.error, t, i18n.language)}
        retryLabel={t('admin.settings.retry')}
      >
        {data && (
          <div className="space-y-6">
            {!data.canEdit && (
              <Alert tone="info" data-testid="admin-settings-read-only">
                {t('admin.settings.readOnly')}
              </Alert>
            )}
            <nav aria-label={t('admin.settings.sections')}>
              <ul className="flex flex-wrap gap-2">
                {data.groups.map((g) => (
                  <li key={g.id}>
                    <a
                      href={`#group-${g.id}`}
                      className="inline-flex rounded-full border border-zinc-200 px-3 py-1 text-sm text-zinc-700 hover:border-brand-300 hover:text-brand-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-500 dark:border-zinc-700 dark:text-zinc-300 dark:hover:text-brand-200"
                    >
                      {tk(t, `admin.settings.groups.${g.id}.title`)}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            {data.groups.map((g) => (
              <SettingsGroup key={g.id} group={g} run={run} />
            ))}
          </div>
        )}
      </QueryState>
      {dialog}
    </div>
  );
}
