import { Link, Outlet, useLocation } from '@tanstack/react-router';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { ConsolePermission } from '../../../shared/api/admin';
import {
  ActivityIcon,
  AlertIcon,
  CheckCircleIcon,
  CreditCardIcon,
  DocumentIcon,
  FilmIcon,
  InboxIcon,
  LibraryIcon,
  ServerIcon,
  ShieldIcon,
  UserIcon,
} from '../../components/icons';
import { useCan } from '../../lib/admin';

/**
 * The console's sections, in navigation order, each shown to the roles that may use it (the
 * same table as the server's: src/shared/api/admin.ts). Moderation and privacy requests keep
 * their own pages and are linked from here.
 */
export const consoleSections = [
  { to: '/admin', key: 'dashboard', icon: ActivityIcon, permission: 'dashboard.view', exact: true },
  { to: '/admin/users', key: 'users', icon: UserIcon, permission: 'users.view', exact: false },
  { to: '/admin/orders', key: 'orders', icon: CreditCardIcon, permission: 'orders.view', exact: false },
  { to: '/admin/generations', key: 'generations', icon: FilmIcon, permission: 'generations.view', exact: false },
  { to: '/admin/risk', key: 'risk', icon: AlertIcon, permission: 'risk.view', exact: false },
  { to: '/moderation', key: 'moderation', icon: ShieldIcon, permission: 'moderation.review', exact: false },
  { to: '/operator/privacy-requests', key: 'privacy', icon: InboxIcon, permission: 'privacy.handle', exact: false },
  { to: '/admin/catalog', key: 'catalog', icon: LibraryIcon, permission: 'catalog.view', exact: false },
  { to: '/admin/settings', key: 'settings', icon: ServerIcon, permission: 'settings.view', exact: false },
  { to: '/admin/audit', key: 'audit', icon: DocumentIcon, permission: 'audit.view', exact: false },
  { to: '/admin/setup', key: 'setup', icon: CheckCircleIcon, permission: 'setup.manage', exact: false },
] as const satisfies readonly { to: string; key: string; icon: unknown; permission: ConsolePermission; exact: boolean }[];

const tabClass =
  'inline-flex shrink-0 items-center gap-2 rounded-lg px-3 py-2 text-sm font-medium whitespace-nowrap text-zinc-600 transition-colors ' +
  'hover:bg-zinc-100 hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-500 ' +
  'dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-white ' +
  'data-[status=active]:bg-brand-50 data-[status=active]:text-brand-800 dark:data-[status=active]:bg-brand-950/60 dark:data-[status=active]:text-brand-200';

/** /admin/*: the console's navigation (only what the role may use) around the page. */
export function AdminLayout() {
  const { t } = useTranslation();
  const can = useCan();
  const pathname = useLocation({ select: (l) => l.pathname });
  const listRef = useRef<HTMLUListElement>(null);
  // on a narrow screen the navigation scrolls sideways: bring the current section into view
  useEffect(() => {
    const list = listRef.current;
    const active = list?.querySelector<HTMLElement>('[aria-current="page"]');
    if (!list || !active || list.scrollWidth <= list.clientWidth) return;
    const start = active.offsetLeft - list.offsetLeft;
    if (start < list.scrollLeft || start + active.offsetWidth > list.scrollLeft + list.clientWidth) list.scrollLeft = start - 16;
  }, [pathname]);
  const sections = consoleSections.filter((s) => can(s.permission));
  return (
    <div className="mx-auto flex max-w-7xl flex-col gap-6 px-4 py-8 sm:px-6 lg:flex-row lg:gap-10" data-testid="admin-console">
      <nav aria-label={t('admin.navLabel')} className="lg:w-52 lg:shrink-0">
        <p className="mb-2 hidden px-3 text-xs font-semibold tracking-wide text-zinc-500 uppercase lg:block dark:text-zinc-400">{t('admin.title')}</p>
        <ul ref={listRef} className="flex gap-1 overflow-x-auto lg:flex-col lg:overflow-visible">
          {sections.map(({ to, key, icon: Icon, exact }) => (
            <li key={to} className="flex">
              <Link
                to={to}
                className={`${tabClass} lg:w-full`}
                activeOptions={{ exact, includeSearch: false }}
                activeProps={{ 'aria-current': 'page' }}
                data-testid={`admin-nav-${key}`}
              >
                <Icon className="size-4" />
                {t(`admin.nav.${key}`)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="min-w-0 flex-1">
        <Outlet />
      </div>
    </div>
  );
}
