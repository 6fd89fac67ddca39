import { useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Button, Dialog } from '../../components/ui';

/** "Delete N creations?": the videos go for good (the confirm button is not the default focus). */
export function DeleteCreationsDialog({
  open,
  count,
  pending,
  onCancel,
  onConfirm,
}: {
  open: boolean;
  count: number;
  pending: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const { t } = useTranslation();
  const cancelRef = useRef<HTMLButtonElement>(null);
  return (
    <Dialog
      open={open}
      onClose={pending ? () => undefined : onCancel}
      title={t('creations.delete.title', { count })}
      description={t('creations.delete.body', { count })}
      initialFocus={cancelRef}
      size="sm"
      footer={
        <>
          <Button ref={cancelRef} variant="secondary" onClick={onCancel} disabled={pending}>
            {t('creations.delete.cancel')}
          </Button>
          <Button variant="danger" onClick={onConfirm} loading={pending} data-testid="confirm-delete">
            {t('creations.delete.confirm', { count })}
          </Button>
        </>
      }
    />
  );
}
