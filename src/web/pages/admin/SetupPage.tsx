import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { AlertIcon, ArrowRightIcon, CheckCircleIcon, ShieldIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Alert, Button, Card } from '../../components/ui';
import { meQuery, useMe } from '../../lib/auth';
import { errorText } from '../../lib/errors';
import { usePageTitle } from '../../lib/usePageTitle';
import { claimAdmin, setupQuery, type SetupChecklist, type SetupItem } from './settings/api';
import { tk } from './settings/SettingsGroup';

const CLI_CLAIM = 'npm run cli -- user:role --email you@example.com --role admin';

/**
 * /admin/setup. For the first account of a fresh install (no admin yet): the one-time screen that
 * offers the admin role. For admins: the checklist of what is configured, each line linking to its
 * setting or page.
 */
export function SetupPage() {
  const { t } = useTranslation();
  usePageTitle(t('admin.setup.title'));
  const me = useMe().data;
  const [claimed, setClaimed] = useState(false);
  if (me?.canClaimAdmin && me.role !== 'admin') return <ClaimScreen onClaimed={() => setClaimed(true)} />;
  return (
    <div data-testid="admin-setup">
      <PageHeader title={t('admin.setup.title')} lead={t('admin.setup.lead')} />
      {claimed && (
        <Alert tone="success" className="mb-6" data-testid="setup-claimed">
          {t('admin.setup.claim.done')}
        </Alert>
      )}
      <Checklist />
    </div>
  );
}

function ClaimScreen({ onClaimed }: { onClaimed: () => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const claim = useMutation({
    mutationFn: claimAdmin,
    onSuccess: async () => {
      onClaimed();
      // the role changed: the navigation and every guard follow the fresh user
      await queryClient.refetchQueries({ queryKey: meQuery.queryKey });
    },
  });
  return (
    <div className="mx-auto max-w-2xl" data-testid="setup-claim">
      <Card padding="lg">
        <div className="flex items-start gap-4">
          <span className="hidden size-10 shrink-0 items-center justify-center rounded-full bg-brand-100 text-brand-700 sm:flex dark:bg-brand-500/15 dark:text-brand-200">
            <ShieldIcon className="size-5" />
          </span>
          <div className="min-w-0 space-y-4">
            <h1 className="text-2xl font-semibold tracking-tight text-zinc-900 dark:text-white">{t('admin.setup.claim.title')}</h1>
            <p className="text-sm leading-relaxed text-zinc-700 dark:text-zinc-300">{t('admin.setup.claim.body')}</p>
            <div aria-live="polite">
              {claim.isError && (
                <Alert tone="error" title={t('admin.setup.claim.failed')}>
                  {errorText(claim.error, t, i18n.language)}
                </Alert>
              )}
            </div>
            <Button onClick={() => claim.mutate()} loading={claim.isPending} loadingText={t('admin.setup.claim.claiming')} data-testid="setup-claim-admin">
              {t('admin.setup.claim.button')}
            </Button>
            <div className="space-y-1.5 border-t border-zinc-200 pt-4 dark:border-zinc-800">
              <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.setup.claim.cli')}</p>
              <pre className="overflow-x-auto rounded-lg bg-zinc-100 px-3 py-2 text-xs text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200">
                <code>{CLI_CLAIM}</code>
              </pre>
            </div>
          </div>
        </div>
      </Card>
    </div>
  );
}

const groupOrder = ['providers', 'payments', 'mail', 'storage', 'policies', 'moderation'] as const;

function Checklist() {
  const { t, i18n } = useTranslation();
  const checklist = useQuery(setupQuery);
  const data = checklist.data;
  return (
    <QueryState
      pending={checklist.isPending}
      error={checklist.isError ? checklist.error : null}
      onRetry={() => void checklist.refetch()}
      loadingText={t('admin.setup.loading')}
      errorTitle={t('admin.setup.error')}
      errorMessage={errorText(checklist.error, t, i18n.language)}
      retryLabel={t('admin.setup.retry')}
    >
      {data && <ChecklistBody data={data} />}
    </QueryState>
  );
}

function ChecklistBody({ data }: { data: SetupChecklist }) {
  const { t } = useTranslation();
  const done = data.items.filter((i) => i.configured).length;
  return (
    <div className="space-y-6">
      <div>
        <p className="text-sm font-medium text-zinc-800 dark:text-zinc-200" id="setup-progress-label">
          {t('admin.setup.summary', { done, total: data.items.length })}
        </p>
        <progress
          className="mt-2 h-2 w-full overflow-hidden rounded-full accent-brand-600"
          max={data.items.length}
          value={done}
          aria-labelledby="setup-progress-label"
          data-testid="setup-progress"
        />
      </div>
      {groupOrder.map((group) => {
        const items = data.items.filter((i) => i.group === group);
        if (!items.length) return null;
        return (
          <section key={group} aria-labelledby={`setup-group-${group}`}>
            <h2 id={`setup-group-${group}`} className="mb-2 text-base font-semibold text-zinc-900 dark:text-white">
              {t(`admin.setup.groups.${group}`)}
            </h2>
            <Card padding="none">
              <ul className="divide-y divide-zinc-200 dark:divide-zinc-800">
                {items.map((item) => (
                  <ChecklistItem key={item.id} item={item} />
                ))}
              </ul>
            </Card>
          </section>
        );
      })}
    </div>
  );
}

function ChecklistItem({ item }: { item: SetupItem }) {
  const { t } = useTranslation();
  const Icon = item.configured ? CheckCircleIcon : AlertIcon;
  return (
    <li className="flex flex-col gap-3 p-4 sm:flex-row sm:items-start" data-testid={`setup-check-${item.id}`} data-configured={item.configured}>
      <Icon className={`mt-0.5 size-5 shrink-0 ${item.configured ? 'text-emerald-600 dark:text-emerald-400' : 'text-amber-600 dark:text-amber-400'}`} />
      <div className="min-w-0 flex-1">
        <p className="font-medium text-zinc-900 dark:text-white">
          {tk(t, `admin.setup.items.${item.id}.title`)}
          <span className="sr-only">
            {' — '}
            {t(item.configured ? 'admin.setup.configured' : 'admin.setup.notConfigured')}
          </span>
        </p>
        <p className="mt-0.5 text-sm break-words text-zinc-600 dark:text-zinc-400">{explanation(t, item)}</p>
      </div>
      <ItemLink link={item.link} />
    </li>
  );
}

/** the line under an item: what is there, or what is missing */
function explanation(t: TFunction, item: SetupItem): string {
  const base = `admin.setup.items.${item.id}`;
  if (item.id === 'storage') return tk(t, `${base}.${item.facts.driver === 's3' ? 's3' : 'disk'}`, item.facts);
  const line = tk(t, `${base}.${item.configured ? 'yes' : 'no'}`, item.facts);
  if (item.id === 'policies' && item.facts.hostingLocation === 'unset') return `${line} ${tk(t, `${base}.noHosting`)}`;
  return line;
}

function ItemLink({ link }: { link: string }) {
  const { t } = useTranslation();
  const className =
    'inline-flex shrink-0 items-center gap-1 self-start rounded-md text-sm font-medium text-brand-700 hover:underline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-500 dark:text-brand-300';
  const settingHash = /^\/admin\/settings#([A-Z0-9_]+)$/.exec(link)?.[1];
  const content = (
    <>
      {t(settingHash ? 'admin.setup.openSetting' : 'admin.setup.open')}
      <ArrowRightIcon className="size-4 rtl:rotate-180" />
    </>
  );
  if (settingHash)
    return (
      <Link to="/admin/settings" hash={settingHash} className={className}>
        {content}
      </Link>
    );
  // the other pages the checklist names (published policies, moderation)
  if (link === '/legal/privacy' || link === '/moderation')
    return (
      <Link to={link} className={className}>
        {content}
      </Link>
    );
  return null;
}
