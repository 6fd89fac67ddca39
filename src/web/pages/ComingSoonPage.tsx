import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { ClockIcon } from '../components/icons';
import { buttonClasses, Card, EmptyState } from '../components/ui';
import { usePageTitle } from '../lib/usePageTitle';

/** Sign-in and sign-up, until accounts arrive. */
export function ComingSoonPage({ kind }: { kind: 'signIn' | 'signUp' }) {
  const { t } = useTranslation();
  const title = t(`auth.${kind}.title`);
  usePageTitle(title);
  return (
    <div className="mx-auto max-w-xl px-4 py-12 sm:py-20">
      <Card padding="none" data-testid={`coming-soon-${kind === 'signIn' ? 'sign-in' : 'sign-up'}`}>
        <EmptyState
          headingLevel={1}
          icon={<ClockIcon className="size-7" />}
          title={title}
          description={t(`auth.${kind}.description`)}
          action={
            <>
              <Link to="/" className={buttonClasses({ variant: 'primary' })}>
                {t('auth.backHome')}
              </Link>
              <a href="/docs" className={buttonClasses({ variant: 'secondary' })}>
                {t('auth.readDocs')}
              </a>
            </>
          }
        >
          <span className="order-first mb-4 inline-flex items-center rounded-full bg-amber-100 px-3 py-1 text-xs font-semibold text-amber-800 dark:bg-amber-500/15 dark:text-amber-300">
            {t('auth.comingSoon')}
          </span>
        </EmptyState>
      </Card>
    </div>
  );
}
