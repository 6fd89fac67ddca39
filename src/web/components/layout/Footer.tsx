import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import type { Meta } from '../../../shared/api/system';
import { changeLanguage, isSupportedLanguage, supportedLanguages } from '../../i18n';
import { apiFetch } from '../../lib/api';
import { useMe } from '../../lib/auth';
import { LogoMark } from '../icons';

const footerLink = 'text-sm text-zinc-600 transition-colors hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-white';

export function Footer() {
  const { t, i18n } = useTranslation();
  const year = new Date().getFullYear();
  // signed-in users choose their language on the account page, where it is saved to the account
  const signedOut = useMe().data === null;
  const meta = useQuery({
    queryKey: ['meta'],
    queryFn: ({ signal }) => apiFetch<Meta>('/api/meta', { signal }),
    staleTime: Infinity,
    retry: false,
  });

  return (
    <footer className="border-t border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-950">
      <div className="mx-auto grid max-w-6xl gap-10 px-4 py-12 sm:px-6 grid-cols-2 md:grid-cols-[2fr_1fr_1fr]">
        <div className="col-span-2 max-w-sm md:col-span-1">
          <div className="flex items-center gap-2.5">
            <LogoMark className="size-7" />
            <span className="font-semibold text-zinc-900 dark:text-white">{t('app.name')}</span>
          </div>
          <p className="mt-3 text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{t('footer.blurb')}</p>
        </div>

        <nav aria-label={t('footer.productLabel')}>
          <h2 className="text-sm font-semibold text-zinc-900 dark:text-white">{t('footer.productLabel')}</h2>
          <ul className="mt-3 space-y-2">
            <li>
              <Link to="/" hash="models" className={footerLink}>
                {t('nav.models')}
              </Link>
            </li>
            <li>
              <Link to="/pricing" className={footerLink}>
                {t('nav.pricing')}
              </Link>
            </li>
            <li>
              <a href="/docs" className={footerLink}>
                {t('footer.apiReference')}
              </a>
            </li>
          </ul>
        </nav>

        <nav aria-label={t('footer.legalLabel')}>
          <h2 className="text-sm font-semibold text-zinc-900 dark:text-white">{t('footer.legalLabel')}</h2>
          <ul className="mt-3 space-y-2">
            <li>
              <Link to="/legal/privacy" className={footerLink}>
                {t('footer.privacy')}
              </Link>
            </li>
            <li>
              <Link to="/legal/terms" className={footerLink}>
                {t('footer.terms')}
              </Link>
            </li>
            <li>
              <Link to="/legal/acceptable-use" className={footerLink}>
                {t('footer.acceptableUse')}
              </Link>
            </li>
            <li>
              <Link to="/report" className={footerLink} data-testid="footer-report">
                {t('footer.report')}
              </Link>
            </li>
            <li>
              <Link to="/privacy-request" className={footerLink} data-testid="footer-privacy-request">
                {t('privacyRequests.footerLink')}
              </Link>
            </li>
            {meta.data && (
              <li>
                <a href={`mailto:${meta.data.supportEmail}`} className={`${footerLink} break-all`} data-testid="footer-support-email">
                  {t('privacyRequests.footerContact', { email: meta.data.supportEmail })}
                </a>
              </li>
            )}
          </ul>
        </nav>
      </div>

      <div className="border-t border-zinc-200 dark:border-zinc-800">
        <div className="mx-auto flex max-w-6xl flex-col gap-3 px-4 py-6 text-xs text-zinc-500 sm:flex-row sm:items-center sm:justify-between sm:px-6 dark:text-zinc-500">
          <p>{t('footer.copyright', { year })}</p>
          <div className="flex items-center gap-4">
            {signedOut && (
              <label className="flex items-center gap-2">
                <span>{t('language.label')}</span>
                <select
                  data-testid="footer-language"
                  value={i18n.resolvedLanguage}
                  onChange={(e) => isSupportedLanguage(e.target.value) && void changeLanguage(e.target.value)}
                  className="rounded-md border border-zinc-300 bg-white px-2 py-1 text-xs text-zinc-700 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300"
                >
                  {supportedLanguages.map((lng) => (
                    <option key={lng} value={lng} lang={lng}>
                      {t(`language.names.${lng}`)}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {meta.data && <p data-testid="app-version">{t('footer.version', { version: meta.data.version })}</p>}
          </div>
        </div>
      </div>
    </footer>
  );
}
