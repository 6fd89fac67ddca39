import { Outlet } from '@tanstack/react-router';
import { useEffect, useEffectEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { changeLanguage, isSupportedLanguage } from '../../i18n';
import { useMe } from '../../lib/auth';
import { Footer } from './Footer';
import { Header } from './Header';
import { DeletionBanner } from './DeletionBanner';
import { PolicyNoticeBanner } from './PolicyNoticeBanner';
import { ClaimAdminBanner } from '../admin/ClaimAdminBanner';

/** The signed-in user's language (stored on the account) wins over this browser's choice. */
function useAccountLanguage() {
  const { i18n } = useTranslation();
  const language = useMe().data?.language;
  // an Effect Event: it reads the UI language without running again when the UI language changes
  const adopt = useEffectEvent((next: typeof language) => {
    if (isSupportedLanguage(next) && next !== i18n.resolvedLanguage) void changeLanguage(next);
  });
  useEffect(() => adopt(language), [language]);
}

export function AppLayout() {
  const { t } = useTranslation();
  useAccountLanguage();
  return (
    <div className="flex min-h-dvh flex-col">
      <a
        href="#main"
        className="sr-only z-50 rounded-lg bg-brand-600 px-4 py-2 text-sm font-medium text-white focus:not-sr-only focus:fixed focus:top-3 focus:left-3"
      >
        {t('app.skipToContent')}
      </a>
      <Header />
      <DeletionBanner />
      <PolicyNoticeBanner />
      <ClaimAdminBanner />
      <main id="main" tabIndex={-1} className="flex-1 outline-none">
        <Outlet />
      </main>
      <Footer />
    </div>
  );
}
