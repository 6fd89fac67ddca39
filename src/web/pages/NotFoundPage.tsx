import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { CompassIcon } from '../components/icons';
import { buttonClasses, EmptyState } from '../components/ui';
import { usePageTitle } from '../lib/usePageTitle';

export function NotFoundPage() {
  const { t } = useTranslation();
  usePageTitle(t('notFound.title'));
  return (
    <div className="px-4 py-12 sm:py-20" data-testid="not-found">
      <EmptyState
        headingLevel={1}
        icon={<CompassIcon className="size-7" />}
        title={t('notFound.title')}
        description={t('notFound.description')}
        action={
          <Link to="/" className={buttonClasses({ variant: 'primary' })}>
            {t('notFound.action')}
          </Link>
        }
      >
        <p className="mt-4 font-mono text-sm text-zinc-400 dark:text-zinc-500" aria-hidden="true">
          404
        </p>
      </EmptyState>
    </div>
  );
}
