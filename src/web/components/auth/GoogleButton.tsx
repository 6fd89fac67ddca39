import { useTranslation } from 'react-i18next';
import { GoogleMark } from '../icons';
import { Button } from '../ui';

export function GoogleButton({ onClick, loading }: { onClick: () => void; loading?: boolean }) {
  const { t } = useTranslation();
  return (
    <Button variant="secondary" size="lg" className="w-full" onClick={onClick} loading={loading} data-testid="google-button">
      {!loading && <GoogleMark className="size-5" />}
      {t('auth.google')}
    </Button>
  );
}
