import { useTranslation } from 'react-i18next';
import { PageHeader } from '../../components/layout/PageHeader';

/** Placeholder: replaced by the page of this console section (issue 18). */
export function UsersPage() {
  const { t } = useTranslation();
  return <PageHeader title={t('admin.nav.users')} lead="" />;
}
