import { useTranslation } from 'react-i18next';
import { Badge } from '../../components/ui';
import { cn } from '../../lib/cn';
import type { PrivacyRequestView } from '../../lib/privacy-requests';

/** The kind, status and (when past its due date) "Overdue" of a privacy request, as small labels. */
export function RequestBadges({ request: r }: { request: Pick<PrivacyRequestView, 'kind' | 'status' | 'overdue'> }) {
  const { t } = useTranslation();
  const closed = r.status === 'done' || r.status === 'rejected';
  return (
    <span className="flex flex-wrap items-center gap-1.5">
      <Badge tone={r.kind === 'child' ? 'warning' : 'neutral'}>{t(`privacyRequests.operator.kinds.${r.kind}`)}</Badge>
      <span data-testid="privacy-request-status" data-status={r.status}>
        <Badge tone={closed ? 'success' : 'brand'}>{t(`privacyRequests.operator.status.${r.status}`)}</Badge>
      </span>
      {r.overdue && (
        <span
          className={cn(
            'inline-flex items-center rounded-full px-2 py-0.5 text-xs font-semibold',
            'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
          )}
          data-testid="privacy-request-overdue"
        >
          {t('privacyRequests.operator.overdue')}
        </span>
      )}
    </span>
  );
}
