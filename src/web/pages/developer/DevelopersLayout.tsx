import { Link, Outlet, useLocation } from '@tanstack/react-router';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { ActivityIcon, CodeIcon, KeyIcon, WebhookIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';

const tabs = [
  { to: '/developers', key: 'quickStart', icon: CodeIcon, exact: true },
  { to: '/developers/keys', key: 'keys', icon: KeyIcon, exact: false },
  { to: '/developers/usage', key: 'usage', icon: ActivityIcon, exact: false },
  { to: '/developers/webhooks', key: 'webhooks', icon: WebhookIcon, exact: false },
] as const;

// the router marks the current tab with data-status="active" (and aria-current="page")
const tabClass =
  'inline-flex shrink-0 items-center gap-2 border-b-2 border-transparent px-3 py-2.5 text-sm font-medium whitespace-nowrap text-zinc-600 transition-colors ' +
  'hover:border-zinc-300 hover:text-zinc-900 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-brand-500 ' +
  'dark:text-zinc-400 dark:hover:border-zinc-600 dark:hover:text-white ' +
  'data-[status=active]:border-brand-600 data-[status=active]:text-brand-700 dark:data-[status=active]:border-brand-400 dark:data-[status=active]:text-brand-300';

/** /developers/*: the heading and the sub-navigation (Quick start, API keys, Usage, Webhooks) around the page. */
export function DevelopersLayout() {
  const { t } = useTranslation();
  const pathname = useLocation({ select: (l) => l.pathname });
  const tabsRef = useRef<HTMLUListElement>(null);
  // on a narrow screen the tab bar scrolls sideways: bring the current tab into view
  useEffect(() => {
    const list = tabsRef.current;
    const active = list?.querySelector<HTMLElement>('[aria-current="page"]');
    if (!list || !active) return;
    const start = active.offsetLeft - list.offsetLeft;
    if (start < list.scrollLeft || start + active.offsetWidth > list.scrollLeft + list.clientWidth) list.scrollLeft = start - 16;
  }, [pathname]);
  return (
    <div className="mx-auto max-w-6xl px-4 py-10 sm:px-6 sm:py-12" data-testid="developers-page">
      <PageHeader title={t('developers.title')} lead={t('developers.lead')} className="gap-2">
        <a href="/docs" className="text-sm font-medium text-brand-700 hover:underline dark:text-brand-300">
          {t('developers.apiReference')}
        </a>
      </PageHeader>

      <nav aria-label={t('developers.navLabel')} className="mb-8 border-b border-zinc-200 dark:border-zinc-800">
        {/* scrolls sideways on narrow screens rather than wrapping */}
        <ul ref={tabsRef} className="relative -mb-px flex gap-1 overflow-x-auto">
          {tabs.map(({ to, key, icon: Icon, exact }) => (
            <li key={to} className="flex">
              <Link
                to={to}
                className={tabClass}
                activeOptions={{ exact, includeSearch: false }}
                activeProps={{ 'aria-current': 'page' }}
                data-testid={`developers-tab-${key}`}
              >
                <Icon className="size-4" />
                {t(`developers.tabs.${key}`)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>

      <Outlet />
    </div>
  );
}
