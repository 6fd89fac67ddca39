import { useMutation } from '@tanstack/react-query';
import { useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Alert, Button, Dialog, TextArea, useToast } from '../../components/ui';
import { cn } from '../../lib/cn';
import { errorText } from '../../lib/errors';
import { DETAILS_MAX, reportCreation, reportReasons, type ReportReason } from '../../lib/moderation';

/** "Report" on a creation: a reason, optional details, sent to the trust & safety team. */
export function ReportDialog({ generationId, open, onClose }: { generationId: string; open: boolean; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const legendId = useId();
  const [reason, setReason] = useState<ReportReason>('other');
  const [details, setDetails] = useState('');
  const firstRef = useRef<HTMLInputElement>(null);

  const send = useMutation({
    mutationFn: () => reportCreation(generationId, { reason, details: details.trim() }),
    onSuccess: (res) => {
      toast({ title: t('creations.report.done'), description: t('creations.report.doneBody', { reference: res.reference }), tone: 'success' });
      setDetails('');
      setReason('other');
      onClose();
    },
  });

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={t('creations.report.title')}
      description={t('creations.report.lead')}
      initialFocus={firstRef}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('account.cancel')}
          </Button>
          <Button onClick={() => send.mutate()} loading={send.isPending} loadingText={t('creations.report.submitting')} data-testid="report-submit">
            {t('creations.report.submit')}
          </Button>
        </>
      }
    >
      <div className="space-y-4" data-testid="report-dialog">
        <fieldset aria-labelledby={legendId}>
          <legend id={legendId} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
            {t('creations.report.reason')}
          </legend>
          <div className="mt-2 grid gap-1.5 sm:grid-cols-2">
            {reportReasons.map((r) => (
              <label
                key={r}
                className={cn(
                  'flex cursor-pointer items-center gap-2.5 rounded-lg border px-3 py-2 text-sm has-[input:focus-visible]:outline-2 has-[input:focus-visible]:outline-brand-500',
                  reason === r ? 'border-brand-500 bg-brand-50 dark:border-brand-400 dark:bg-brand-950/40' : 'border-zinc-200 dark:border-zinc-800',
                )}
              >
                <input
                  ref={reason === r ? firstRef : undefined}
                  type="radio"
                  name="report-reason"
                  value={r}
                  checked={reason === r}
                  onChange={() => setReason(r)}
                  className="size-4 shrink-0 accent-brand-600"
                />
                {t(`moderation.reasons.${r}`)}
              </label>
            ))}
          </div>
        </fieldset>
        <TextArea label={t('creations.report.details')} maxLength={DETAILS_MAX} value={details} onChange={(e) => setDetails(e.target.value)} rows={3} />
        {send.isError && (
          <Alert tone="error" title={t('creations.report.failed')}>
            {errorText(send.error, t, i18n.language)}
          </Alert>
        )}
      </div>
    </Dialog>
  );
}
