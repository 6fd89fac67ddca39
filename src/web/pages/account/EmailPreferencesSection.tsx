import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EmailPreferences } from '../../../shared/api/marketing';
import { MailIcon } from '../../components/icons';
import { Alert, Spinner, useToast } from '../../components/ui';
import { apiFetch } from '../../lib/api';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { Section } from './shared';

export const emailPreferencesKey = ['email-preferences'] as const;

/**
 * Product updates on or off (off until the person turns them on; privacy policy 2 and 5). Account
 * emails are not a choice, and the section says so.
 */
export function EmailPreferencesSection() {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const boxId = useId();
  const hintId = useId();
  // the choice shows at once (a controlled checkbox would otherwise snap back until the answer comes)
  const [pending, setPending] = useState<boolean | null>(null);
  const prefs = useQuery({
    queryKey: emailPreferencesKey,
    queryFn: ({ signal }) => apiFetch<EmailPreferences>('/api/me/email-preferences', { signal }),
  });
  const save = useMutation({
    mutationFn: (productUpdates: boolean) => apiFetch<EmailPreferences>('/api/me/email-preferences', { method: 'PUT', body: { productUpdates } }),
    onSuccess: (next) => {
      queryClient.setQueryData(emailPreferencesKey, next);
      toast({ title: t(next.productUpdates ? 'emailPreferences.turnedOn' : 'emailPreferences.turnedOff'), tone: 'success' });
    },
    onError: (err) => toast({ title: errorText(err, t, i18n.language), tone: 'error' }),
    onSettled: () => setPending(null),
  });

  return (
    <Section id="email-preferences" icon={<MailIcon className="size-5" />} title={t('emailPreferences.title')} description={t('emailPreferences.lead')}>
      {prefs.isPending ? (
        <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
          <Spinner className="size-4" />
          {t('ui.loading')}
        </p>
      ) : prefs.isError ? (
        <Alert tone="error">{errorText(prefs.error, t, i18n.language)}</Alert>
      ) : (
        <div className="space-y-4">
          <div className="flex items-start gap-3">
            <input
              id={boxId}
              type="checkbox"
              checked={pending ?? prefs.data.productUpdates}
              disabled={pending !== null}
              aria-describedby={hintId}
              onChange={(e) => {
                setPending(e.target.checked);
                save.mutate(e.target.checked);
              }}
              className="mt-0.5 size-4 shrink-0 rounded border-zinc-300 accent-brand-600 disabled:opacity-60 dark:border-zinc-600"
              data-testid="product-updates"
            />
            <div className="min-w-0">
              <label htmlFor={boxId} className="text-sm font-medium text-zinc-900 dark:text-white">
                {t('emailPreferences.productUpdates')}
              </label>
              <p id={hintId} className="mt-0.5 text-sm text-zinc-600 dark:text-zinc-400">
                {t('emailPreferences.productUpdatesHint')}
                {prefs.data.optedInAt && <> {t('emailPreferences.since', { date: dateTime(prefs.data.optedInAt, i18n.language) })}</>}
              </p>
            </div>
            {pending !== null && <Spinner className="ms-auto size-4 shrink-0 text-zinc-400" />}
          </div>
          {prefs.data.productUpdates && !prefs.data.emailVerified && (
            <Alert tone="warning" data-testid="product-updates-unverified">
              {t('emailPreferences.unverified')}
            </Alert>
          )}
          <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('emailPreferences.accountMail')}</p>
        </div>
      )}
    </Section>
  );
}
