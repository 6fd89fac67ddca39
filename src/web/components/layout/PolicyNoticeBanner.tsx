import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useTranslation } from 'react-i18next';
import type { PolicyNotice } from '../../../shared/api/legal';
import { useMe } from '../../lib/auth';
import { errorText } from '../../lib/errors';
import { dismissPolicyNotice, legalDate, policyNoticesQuery } from '../../lib/legal';
import { CloseIcon, DocumentIcon } from '../icons';

const pageOf = { privacy: '/legal/privacy', terms: '/legal/terms', 'acceptable-use': '/legal/acceptable-use' } as const;

function Notice({ notice }: { notice: PolicyNotice }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const dismiss = useMutation({
    mutationFn: () => dismissPolicyNotice(queryClient, notice.document, notice.version),
    // the button goes away with the notice: keep the keyboard in the page rather than lost on <body>
    onSuccess: () => document.getElementById('main')?.focus({ preventScroll: true }),
  });
  return (
    <li className="flex flex-col gap-3 py-3 sm:flex-row sm:items-start sm:gap-4" data-testid="policy-notice">
      <DocumentIcon className="hidden size-5 shrink-0 text-amber-700 sm:mt-0.5 sm:block dark:text-amber-300" />
      <div className="min-w-0 flex-1 text-sm">
        <p className="font-semibold">{t('policyNotice.title', { title: notice.title })}</p>
        <p className="mt-1 leading-relaxed opacity-90">
          {notice.summary ? `${notice.summary} ` : ''}
          {t('policyNotice.updated', { date: legalDate(notice.lastUpdated, i18n.language) })}
        </p>
        {dismiss.isError && (
          <p role="alert" className="mt-1 font-medium text-red-700 dark:text-red-300">
            {t('policyNotice.dismissFailed')} {errorText(dismiss.error, t, i18n.language)}
          </p>
        )}
      </div>
      <div className="flex shrink-0 items-center gap-2">
        <Link
          to={pageOf[notice.document]}
          search={{ version: notice.version }}
          aria-label={t('policyNotice.readLabel', { title: notice.title })}
          className="rounded-lg bg-amber-900 px-3 py-1.5 text-sm font-semibold text-white hover:bg-amber-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-amber-900 dark:bg-amber-200 dark:text-amber-950 dark:hover:bg-amber-100"
        >
          {t('policyNotice.read')}
        </Link>
        <button
          type="button"
          onClick={() => dismiss.mutate()}
          disabled={dismiss.isPending}
          aria-label={t('policyNotice.dismissLabel', { title: notice.title })}
          className="inline-flex items-center gap-1 rounded-lg px-2 py-1.5 text-sm font-medium hover:bg-amber-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-amber-900 disabled:opacity-60 dark:hover:bg-amber-900/40"
          data-testid="policy-notice-dismiss"
        >
          <CloseIcon className="size-4" />
          <span>{t('policyNotice.dismiss')}</span>
        </button>
      </div>
    </li>
  );
}

/**
 * Material changes to the legal documents (privacy policy 11): shown to a signed-in user whose
 * account is older than the change, on every page, until they dismiss it.
 */
export function PolicyNoticeBanner() {
  const { t } = useTranslation();
  const signedIn = Boolean(useMe().data);
  const notices = useQuery({ ...policyNoticesQuery, enabled: signedIn });
  const items = signedIn ? (notices.data?.notices ?? []) : [];
  if (!items.length) return null;
  return (
    <section
      aria-label={t('policyNotice.label')}
      className="border-b border-amber-200 bg-amber-50 text-amber-950 dark:border-amber-900 dark:bg-amber-950/40 dark:text-amber-100"
      data-testid="policy-notices"
    >
      <ul className="mx-auto max-w-6xl divide-y divide-amber-200 px-4 sm:px-6 dark:divide-amber-900">
        {items.map((n) => (
          <Notice key={`${n.document}@${n.version}`} notice={n} />
        ))}
      </ul>
    </section>
  );
}
