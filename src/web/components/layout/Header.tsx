import { Link, useLocation } from '@tanstack/react-router';
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { isModerator, useMe, useSignOut } from '../../lib/auth';
import { isStaff } from '../../../shared/api/admin';
import { cn } from '../../lib/cn';
import { focusableWithin } from '../../lib/focus';
import { ActivityIcon, CloseIcon, CodeIcon, CreditCardIcon, FilmIcon, LogOutIcon, MenuIcon, ShieldIcon, SparklesIcon, UserIcon } from '../icons';
import { Avatar, buttonClasses } from '../ui';
import { AccountMenu } from './AccountMenu';
import { Logo } from './Logo';
import { ThemeToggle } from './ThemeToggle';

const navLink =
  'rounded-lg px-3 py-2 text-sm font-medium text-zinc-600 transition-colors hover:bg-zinc-100 hover:text-zinc-900 ' +
  'dark:text-zinc-400 dark:hover:bg-zinc-800/70 dark:hover:text-white';
const activeNavLink = 'text-zinc-900 dark:text-white';

const mobileLink =
  'block rounded-lg px-3 py-2.5 text-base font-medium text-zinc-700 hover:bg-zinc-100 hover:text-zinc-900 ' +
  'dark:text-zinc-300 dark:hover:bg-zinc-800 dark:hover:text-white';

export function Header() {
  const { t } = useTranslation();
  const [menuOpen, setMenuOpen] = useState(false);
  const menuId = useId();
  const toggleRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const pathname = useLocation({ select: (l) => l.pathname });
  const me = useMe();
  const signOut = useSignOut();
  const user = me.data;
  // until the server has said who is signed in, show neither the sign-in links nor the menu
  const signedOut = me.data === null || me.isError;

  const closeMenu = useCallback((restoreFocus: boolean) => {
    setMenuOpen(false);
    if (restoreFocus) toggleRef.current?.focus();
  }, []);

  // Close when the route changes (a link in the menu was followed): adjusted while rendering, as React advises.
  const [shownOn, setShownOn] = useState(pathname);
  if (shownOn !== pathname) {
    setShownOn(pathname);
    setMenuOpen(false);
  }

  useEffect(() => {
    if (!menuOpen) return;
    // move focus into the menu
    const first = panelRef.current ? focusableWithin(panelRef.current)[0] : undefined;
    first?.focus();

    const onKeyDown = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        closeMenu(true);
      }
    };
    const onPointerDown = (e: PointerEvent) => {
      const target = e.target as Node;
      if (!panelRef.current?.contains(target) && !toggleRef.current?.contains(target)) closeMenu(false);
    };
    // the menu is for small screens: close it if the window grows past the breakpoint
    const desktop = window.matchMedia('(min-width: 768px)');
    const onResize = () => desktop.matches && closeMenu(false);
    document.addEventListener('keydown', onKeyDown);
    document.addEventListener('pointerdown', onPointerDown);
    desktop.addEventListener('change', onResize);
    return () => {
      document.removeEventListener('keydown', onKeyDown);
      document.removeEventListener('pointerdown', onPointerDown);
      desktop.removeEventListener('change', onResize);
    };
  }, [menuOpen, closeMenu]);

  return (
    <header className="sticky top-0 z-40 border-b border-zinc-200/80 bg-white/80 backdrop-blur-lg dark:border-zinc-800/80 dark:bg-zinc-950/80">
      <div className="mx-auto flex h-16 max-w-6xl items-center gap-4 px-4 sm:px-6">
        <Logo />

        <nav aria-label={t('nav.label')} className="ms-6 hidden items-center gap-1 md:flex">
          <Link to="/" className={navLink} activeOptions={{ exact: true, includeHash: false }} activeProps={{ className: activeNavLink }}>
            {t('nav.home')}
          </Link>
          {user && (
            <Link to="/studio" className={navLink} activeProps={{ className: activeNavLink }}>
              {t('nav.studio')}
            </Link>
          )}
          {user && (
            <Link to="/creations" className={navLink} activeProps={{ className: activeNavLink }}>
              {t('nav.creations')}
            </Link>
          )}
          <Link to="/" hash="models" className={navLink}>
            {t('nav.models')}
          </Link>
          <Link to="/pricing" className={navLink} activeProps={{ className: activeNavLink }}>
            {t('nav.pricing')}
          </Link>
          <a href="/docs" className={navLink}>
            {t('nav.docs')}
          </a>
        </nav>

        <div className="ms-auto hidden items-center gap-2 md:flex">
          <ThemeToggle />
          {user && (
            <div className="ms-2">
              <AccountMenu me={user} />
            </div>
          )}
          {signedOut && (
            <>
              <Link to="/sign-in" className={buttonClasses({ variant: 'ghost', size: 'sm', className: 'ms-2' })}>
                {t('nav.signIn')}
              </Link>
              <Link to="/sign-up" className={buttonClasses({ variant: 'primary', size: 'sm' })}>
                {t('nav.signUp')}
              </Link>
            </>
          )}
        </div>

        <button
          ref={toggleRef}
          type="button"
          className="ms-auto inline-flex size-10 items-center justify-center rounded-lg text-zinc-700 hover:bg-zinc-100 md:hidden dark:text-zinc-300 dark:hover:bg-zinc-800"
          aria-expanded={menuOpen}
          aria-controls={menuId}
          aria-label={menuOpen ? t('nav.closeMenu') : t('nav.openMenu')}
          onClick={() => setMenuOpen((open) => !open)}
          data-testid="mobile-menu-button"
        >
          {menuOpen ? <CloseIcon className="size-6" /> : <MenuIcon className="size-6" />}
        </button>
      </div>

      <div
        ref={panelRef}
        id={menuId}
        hidden={!menuOpen}
        data-testid="mobile-menu"
        className={cn('border-t border-zinc-200 bg-white px-4 pt-3 pb-5 md:hidden dark:border-zinc-800 dark:bg-zinc-950', menuOpen && 'animate-fade-in')}
      >
        <nav aria-label={t('nav.mobileLabel')}>
          <ul className="space-y-1">
            <li>
              <Link to="/" className={mobileLink} onClick={() => closeMenu(false)}>
                {t('nav.home')}
              </Link>
            </li>
            <li>
              <Link to="/" hash="models" className={mobileLink} onClick={() => closeMenu(false)}>
                {t('nav.models')}
              </Link>
            </li>
            <li>
              <Link to="/pricing" className={mobileLink} onClick={() => closeMenu(false)}>
                {t('nav.pricing')}
              </Link>
            </li>
            <li>
              <a href="/docs" className={mobileLink}>
                {t('nav.docs')}
              </a>
            </li>
          </ul>
        </nav>
        <div className="mt-4 flex items-center justify-between gap-3 border-t border-zinc-200 pt-4 dark:border-zinc-800">
          <span className="text-sm font-medium text-zinc-600 dark:text-zinc-400">{t('theme.label')}</span>
          <ThemeToggle />
        </div>
        {user && (
          <div className="mt-4 border-t border-zinc-200 pt-4 dark:border-zinc-800">
            <div className="flex items-center gap-3 px-3 pb-3">
              <Avatar src={user.image} name={user.name} email={user.email} className="size-9 text-sm" />
              <div className="min-w-0">
                <p className="truncate text-sm font-semibold text-zinc-900 dark:text-white">{user.name}</p>
                <p className="truncate text-xs text-zinc-500 dark:text-zinc-400">{user.email}</p>
              </div>
            </div>
            <ul className="space-y-1">
              <li>
                <Link to="/studio" className={cn(mobileLink, 'flex items-center gap-3')} onClick={() => closeMenu(false)}>
                  <SparklesIcon className="size-5" />
                  {t('nav.studio')}
                </Link>
              </li>
              <li>
                <Link to="/creations" className={cn(mobileLink, 'flex items-center gap-3')} onClick={() => closeMenu(false)}>
                  <FilmIcon className="size-5" />
                  {t('nav.creations')}
                </Link>
              </li>
              <li>
                <Link to="/billing" className={cn(mobileLink, 'flex items-center gap-3')} onClick={() => closeMenu(false)}>
                  <CreditCardIcon className="size-5" />
                  {t('nav.billing')}
                </Link>
              </li>
              <li>
                <Link to="/developers" className={cn(mobileLink, 'flex items-center gap-3')} onClick={() => closeMenu(false)}>
                  <CodeIcon className="size-5" />
                  {t('nav.developers')}
                </Link>
              </li>
              {isStaff(user.role) && (
                <li>
                  <Link to="/admin" className={cn(mobileLink, 'flex items-center gap-3')} onClick={() => closeMenu(false)}>
                    <ActivityIcon className="size-5" />
                    {t('nav.console')}
                  </Link>
                </li>
              )}
              {isModerator(user) && (
                <li>
                  <Link to="/moderation" className={cn(mobileLink, 'flex items-center gap-3')} onClick={() => closeMenu(false)}>
                    <ShieldIcon className="size-5" />
                    {t('nav.moderation')}
                  </Link>
                </li>
              )}
              <li>
                <Link to="/account" className={cn(mobileLink, 'flex items-center gap-3')} onClick={() => closeMenu(false)}>
                  <UserIcon className="size-5" />
                  {t('nav.account')}
                </Link>
              </li>
              <li>
                <button
                  type="button"
                  className={cn(mobileLink, 'flex w-full items-center gap-3 text-start')}
                  onClick={() => signOut.mutate()}
                  disabled={signOut.isPending}
                >
                  <LogOutIcon className="size-5" />
                  {t('nav.signOut')}
                </button>
              </li>
            </ul>
          </div>
        )}
        {signedOut && (
          <div className="mt-4 grid grid-cols-2 gap-3">
            <Link to="/sign-in" className={buttonClasses({ variant: 'secondary' })} onClick={() => closeMenu(false)}>
              {t('nav.signIn')}
            </Link>
            <Link to="/sign-up" className={buttonClasses({ variant: 'primary' })} onClick={() => closeMenu(false)}>
              {t('nav.signUp')}
            </Link>
          </div>
        )}
      </div>
    </header>
  );
}
