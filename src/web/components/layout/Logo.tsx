import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import { LogoMark } from '../icons';

export function Logo({ onNavigate }: { onNavigate?: () => void }) {
  const { t } = useTranslation();
  return (
    <Link to="/" onClick={onNavigate} aria-label={t('app.homeLink')} className="flex items-center gap-2.5 rounded-lg text-zinc-900 dark:text-white">
      <LogoMark className="size-8 shrink-0" />
      <span className="text-lg font-semibold tracking-tight" data-testid="wordmark">
        {t('app.name')}
      </span>
    </Link>
  );
}
