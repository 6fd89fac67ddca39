import { Link, useLocation } from '@tanstack/react-router';
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { isModerator, useSignOut } from '../../lib/auth';
import { isStaff } from '../../../shared/api/admin';
import { cn } from '../../lib/cn';
import { ActivityIcon, ChevronDownIcon, CodeIcon, CreditCardIcon, InboxIcon, LogOutIcon, ShieldIcon, SparklesIcon, UserIcon } from '../icons';
import { Avatar, Spinner } from '../ui';

const item =
  'flex w-full items-center gap-2.5 rounded-lg px-3 py-2 text-start text-sm font-medium text-zinc-700 hover:bg-zinc-100 hover:text-zinc-900 ' +
  'focus-visible:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800 dark:hover:text-white dark:focus-visible:bg-zinc-800';

/** The signed-in user's button in the header: avatar and name, opening Studio, Billing, Developers, Account and "Sign out". */
export function AccountMenu({ me }: { me: Me }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const buttonRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const pathname = useLocation({ select: (l) => l.pathname });
  const signOut = useSignOut();

  const close = useCallback((restoreFocus: boolean) => {
    setOpen(false);
    if (restoreFocus) buttonRef.current?.focus();
  }, []);

  // close when the route changes (a link in the menu was followed): adjusted while rendering, as React advises
  const [shownOn, setShownOn] = useState(pathname);
  if (shownOn !== pathname) {
    setShownOn(pathname);
    setOpen(false);
  }

  useEffect(() => {
    if (!open) return;
    panelRef.current?.querySelector<HTMLElement>('a,button')?.focus();
    const onKeyDown = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        close(true);
      } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        // move between the items with the arrow keys, too
        const items = Array.from(panelRef.current?.querySelectorAll<HTMLElement>('a,button') ?? []);
        const at = items.indexOf(document.activeElement as HTMLElement);
        if (at === -1) return;
        e.preventDefault();
        items[(at + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
      }
    };
    const onPointerDown = (e: PointerEvent) => {
      const target = e.target as Node;
      if (!panelRef.current?.contains(target) && !buttonRef.current?.contains(target)) close(false);
    };
    const onFocusOut = (e: FocusEvent) => {
      const next = e.relatedTarget as Node | null;
      if (next && !panelRef.current?.contains(next) && !buttonRef.current?.contains(next)) setOpen(false);
    };
    const panel = panelRef.current;
    document.addEventListener('keydown', onKeyDown);
    document.addEventListener('pointerdown', onPointerDown);
    panel?.addEventListener('focusout', onFocusOut);
    return () => {
      document.removeEventListener('keydown', onKeyDown);
      document.removeEventListener('pointerdown', onPointerDown);
      panel?.removeEventListener('focusout', onFocusOut);
    };
  }, [open, close]);

  return (
    <div className="relative">
      <button
        ref={buttonRef}
        type="button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={t('nav.accountMenu', { name: me.name })}
        onClick={() => setOpen((o) => !o)}
        className="flex items-center gap-2 rounded-full py-1 ps-1 pe-2 text-sm font-medium text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
        data-testid="account-menu-button"
      >
        <Avatar src={me.image} name={me.name} email={me.email} className="size-8 text-sm" />
        <span className="max-w-36 truncate">{me.name}</span>
        <ChevronDownIcon className={cn('size-4 transition-transform', open && 'rotate-180')} />
      </button>
      <div
        ref={panelRef}
        id={panelId}
        hidden={!open}
        className="absolute end-0 top-full mt-2 w-64 animate-fade-in rounded-xl border border-zinc-200 bg-white p-1.5 shadow-lg dark:border-zinc-800 dark:bg-zinc-900"
        data-testid="account-menu"
      >
        <div className="border-b border-zinc-200 px-3 pt-1.5 pb-2.5 dark:border-zinc-800">
          <p className="truncate text-sm font-semibold text-zinc-900 dark:text-white">{me.name}</p>
          <p className="truncate text-xs text-zinc-500 dark:text-zinc-400">{me.email}</p>
        </div>
        <ul className="pt-1.5">
          <li>
            <Link to="/studio" className={item} onClick={() => close(false)}>
              <SparklesIcon className="size-4" />
              {t('nav.studio')}
            </Link>
          </li>
          <li>
            <Link to="/billing" className={item} onClick={() => close(false)} data-testid="account-menu-billing">
              <CreditCardIcon className="size-4" />
              {t('nav.billing')}
            </Link>
          </li>
          <li>
            <Link to="/developers" className={item} onClick={() => close(false)} data-testid="account-menu-developers">
              <CodeIcon className="size-4" />
              {t('nav.developers')}
            </Link>
          </li>
          {isStaff(me.role) && (
            <li>
              <Link to="/admin" className={item} onClick={() => close(false)} data-testid="account-menu-console">
                <ActivityIcon className="size-4" />
                {t('nav.console')}
              </Link>
            </li>
          )}
          {isModerator(me) && (
            <li>
              <Link to="/moderation" className={item} onClick={() => close(false)} data-testid="account-menu-moderation">
                <ShieldIcon className="size-4" />
                {t('nav.moderation')}
              </Link>
            </li>
          )}
          {(me.role === 'support' || me.role === 'admin') && (
            <li>
              <Link to="/operator/privacy-requests" className={item} onClick={() => close(false)} data-testid="account-menu-privacy-requests">
                <InboxIcon className="size-4" />
                {t('privacyRequests.operator.nav')}
              </Link>
            </li>
          )}
          <li>
            <Link to="/account" className={item} onClick={() => close(false)}>
              <UserIcon className="size-4" />
              {t('nav.account')}
            </Link>
          </li>
          <li>
            <button type="button" className={item} onClick={() => signOut.mutate()} disabled={signOut.isPending}>
              {signOut.isPending ? <Spinner className="size-4" /> : <LogOutIcon className="size-4" />}
              {t('nav.signOut')}
            </button>
          </li>
        </ul>
      </div>
    </div>
  );
}
