import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useReauth } from '../../../components/admin/useReauth';
import { Alert, Button, Dialog, TextArea } from '../../../components/ui';
import { ApiError } from '../../../lib/api';
import { errorText } from '../../../lib/errors';
import { ADMIN_GENERATION_REASON_MAX, generationAction, refreshGenerations } from './api';

/**
 * The confirmation of a cancel or a release, with its reason. A release is sensitive: it goes
 * through the password dialog when the server asks for a recent sign-in.
 */
export function ActionDialog({
  generationId,
  action,
  onClose,
  onDone,
}: {
  generationId: string;
  action: 'cancel' | 'release' | null;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const { run, dialog: reauthDialog } = useReauth();
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState(false);
  // hidden while the password dialog is up (two dialogs at once would fight over the focus)
  const [hidden, setHidden] = useState(false);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const [shown, setShown] = useState(action);
  if (shown !== action) {
    setShown(action);
    setReason('');
    setInvalid(false);
    setHidden(false);
  }

  const act = useMutation({
    mutationFn: async (which: 'cancel' | 'release') =>
      run(async () => {
        try {
          return await generationAction(generationId, which, reason.trim());
        } catch (err) {
          if (err instanceof ApiError && err.code === 'reauth_required') setHidden(true);
          throw err;
        }
      }),
    onSuccess: async (r, which) => {
      const upstream =
        r.upstreamCanceled === null ? '' : r.upstreamCanceled ? t('admin.generations.upstreamStopped') : t('admin.generations.upstreamNotStopped');
      onDone(`${t(which === 'cancel' ? 'admin.generations.canceled' : 'admin.generations.released')} ${upstream}`.trim());
      await refreshGenerations(queryClient);
    },
    onError: () => setHidden(false),
  });

  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!action || act.isPending) return;
    if (reason.trim().length < 3) {
      setInvalid(true);
      reasonRef.current?.focus();
      return;
    }
    act.mutate(action);
  };

  const release = action === 'release';
  return (
    <>
      <Dialog
        open={action !== null && !hidden}
        onClose={() => !act.isPending && onClose()}
        title={release ? t('admin.generations.releaseTitle') : t('admin.generations.cancelTitle')}
        description={release ? t('admin.generations.releaseDescription') : t('admin.generations.cancelDescription')}
      >
        <form onSubmit={submit} className="space-y-4" noValidate data-testid="admin-generation-action-form">
          {act.isError && <Alert tone="error">{errorText(act.error, t, i18n.language)}</Alert>}
          <TextArea
            ref={reasonRef}
            label={t('admin.generations.reason')}
            hint={t('admin.generations.reasonHint')}
            rows={3}
            maxLength={ADMIN_GENERATION_REASON_MAX}
            value={reason}
            onChange={(e) => {
              setReason(e.target.value);
              setInvalid(false);
            }}
            error={invalid ? t('admin.generations.reasonRequired') : undefined}
            required
            data-testid="admin-generation-reason"
          />
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <Button type="button" variant="secondary" onClick={onClose} disabled={act.isPending}>
              {t('admin.generations.keep')}
            </Button>
            <Button type="submit" variant="danger" loading={act.isPending} data-testid="admin-generation-confirm">
              {release ? t('admin.generations.releaseConfirm') : t('admin.generations.cancelConfirm')}
            </Button>
          </div>
        </form>
      </Dialog>
      {reauthDialog}
    </>
  );
}
