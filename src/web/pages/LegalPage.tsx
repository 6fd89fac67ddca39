import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { CheckIcon, DocumentIcon } from '../components/icons';
import { Card } from '../components/ui';
import { usePageTitle } from '../lib/usePageTitle';

export type LegalDocument = 'privacy' | 'terms' | 'acceptableUse';

const privacyPoints = ['store', 'neverSell', 'providers', 'payments', 'delete'] as const;

const legalNav = [
  { doc: 'privacy', to: '/legal/privacy', label: 'footer.privacy' },
  { doc: 'terms', to: '/legal/terms', label: 'footer.terms' },
  { doc: 'acceptableUse', to: '/legal/acceptable-use', label: 'footer.acceptableUse' },
  { doc: 'report', to: '/report', label: 'footer.report' },
] as const;

/** Short placeholder legal pages; the operator of an installation publishes the full text. */
export function LegalPage({ doc }: { doc: LegalDocument }) {
  const { t } = useTranslation();
  const title = t(`legal.${doc}.title`);
  usePageTitle(title);

  return (
    <div className="mx-auto max-w-3xl px-4 py-12 sm:px-6 sm:py-16">
      <nav aria-label={t('footer.legalLabel')} className="mb-8 flex flex-wrap gap-2">
        {legalNav.map((item) => (
          <Link
            key={item.doc}
            to={item.to}
            className="rounded-full border border-zinc-200 px-3 py-1 text-sm text-zinc-600 hover:border-zinc-300 hover:text-zinc-900 dark:border-zinc-800 dark:text-zinc-400 dark:hover:border-zinc-700 dark:hover:text-white"
            activeProps={{
              className: 'border-brand-300 bg-brand-50 text-brand-800 dark:border-brand-800 dark:bg-brand-950/50 dark:text-brand-200',
              'aria-current': 'page',
            }}
          >
            {t(item.label)}
          </Link>
        ))}
      </nav>

      <article>
        <div className="flex items-center gap-3">
          <span className="flex size-10 items-center justify-center rounded-xl bg-brand-50 text-brand-600 dark:bg-brand-950/60 dark:text-brand-300">
            <DocumentIcon className="size-5" />
          </span>
          <h1 className="text-3xl font-semibold tracking-tight text-zinc-900 sm:text-4xl dark:text-white">{title}</h1>
        </div>

        <div className="mt-8 space-y-6 text-base leading-relaxed text-zinc-700 dark:text-zinc-300">
          <p>{t(`legal.${doc}.intro`)}</p>
          {doc === 'privacy' && (
            <ul className="space-y-3">
              {privacyPoints.map((point) => (
                <li key={point} className="flex gap-3">
                  <CheckIcon className="mt-1 size-5 shrink-0 text-emerald-600 dark:text-emerald-400" />
                  <span>{t(`legal.privacy.points.${point}`)}</span>
                </li>
              ))}
            </ul>
          )}
          <Card padding="sm" className="bg-zinc-50 text-sm dark:bg-zinc-900">
            <p>{t('legal.operatorNote')}</p>
            <p className="mt-2 text-zinc-500 dark:text-zinc-400">{t('legal.contact')}</p>
          </Card>
        </div>
      </article>
    </div>
  );
}

// one component per document, for the router's lazily loaded routes
export const PrivacyPolicyPage = () => <LegalPage doc="privacy" />;
export const TermsPage = () => <LegalPage doc="terms" />;
export const AcceptableUsePage = () => <LegalPage doc="acceptableUse" />;
