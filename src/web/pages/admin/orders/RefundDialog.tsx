import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useReauth } from '../../../components/admin/useReauth';
import { Alert, Button, Dialog, Input, TextArea } from '../../../components/ui';
import { ApiError } from '../../../lib/api';
import { formatMoney } from '../../../lib/billing';
import { errorText } from '../../../lib/errors';
import { newIdempotencyKey } from '../../../lib/generations';
import { ADMIN_ORDER_REASON_MAX, amountText, parseAmount, refreshOrders, refundOrder, type AdminOrderDetail } from './api';
import { providerName } from './shared';

/**
 * The refund dialog: all that is left, or part of it, in the order's currency, and a reason. It
 * goes through the password dialog when the server asks for a recent sign-in, and carries an
 * Idempotency-Key that changes only once a refund went through (or was refused for good), so a
 * double click, a retry after a network failure or a reopened dialog refunds once.
 */
export function RefundDialog({
  detail,
  open,
  onClose,
  onDone,
}: {
  detail: AdminOrderDetail;
  open: boolean;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const queryClient = useQueryClient();
  const { run, dialog: reauthDialog } = useReauth();
  const o = detail.order;
  const remaining = detail.refund.remainingMinor;
  const [amount, setAmount] = useState(() => amountText(remaining, o.currency));
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<'amount' | 'reason' | null>(null);
  // hidden while the password dialog is up (two dialogs at once would fight over the focus)
  const [hidden, setHidden] = useState(false);
  const idempotencyKey = useRef(newIdempotencyKey());
  const amountRef = useRef<HTMLInputElement>(null);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const [wasOpen, setWasOpen] = useState(open);
  if (open !== wasOpen) {
    setWasOpen(open);
    if (open) {
      // a fresh form: everything that is left, unless the operator types less
      setAmount(amountText(remaining, o.currency));
      setReason('');
      setInvalid(null);
      setHidden(false);
    }
  }

  const refund = useMutation({
    mutationFn: async (amountMinor: number | undefined) =>
      run(async () => {
        try {
          return await refundOrder(o.id, { ...(amountMinor !== undefined ? { amountMinor } : {}), reason: reason.trim() }, idempotencyKey.current);
        } catch (err) {
          if (err instanceof ApiError && err.code === 'reauth_required') setHidden(true);
          throw err;
        }
      }),
    onSuccess: async (r) => {
      idempotencyKey.current = newIdempotencyKey();
      onDone(
        r.replayed
          ? t('admin.orders.refund.replayed', { amount: formatMoney(r.refundedNowMinor, o.currency, lang) })
          : t('admin.orders.refund.done', { amount: formatMoney(r.refundedNowMinor, o.currency, lang), provider: providerName(o.provider) }),
      );
      await refreshOrders(queryClient);
    },
    onError: (err) => {
      setHidden(false);
      // refused for good (not a network or provider failure, whose retry must reuse the key): the next try is a new refund
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.code !== 'reauth_required') idempotencyKey.current = newIdempotencyKey();
    },
  });

  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (refund.isPending) return;
    const parsed = parseAmount(amount, o.currency);
    if (parsed === null || parsed > remaining) {
      setInvalid('amount');
      amountRef.current?.focus();
      return;
    }
    // the whole remainder is a full refund (no amount: the server refunds what is left then)
    const amountMinor = parsed === remaining ? undefined : parsed;
    if (reason.trim().length < 3) {
      setInvalid('reason');
      reasonRef.current?.focus();
      return;
    }
    refund.mutate(amountMinor);
  };

  const currency = o.currency.toUpperCase();
  return (
    <>
      <Dialog
        open={open && !hidden}
        onClose={() => !refund.isPending && onClose()}
        title={t('admin.orders.refund.title')}
        description={t('admin.orders.refund.description', { remaining: formatMoney(remaining, o.currency, lang), provider: providerName(o.provider) })}
      >
        <form onSubmit={submit} className="space-y-4" noValidate data-testid="admin-refund-form">
          {refund.isError && <Alert tone="error">{errorText(refund.error, t, lang)}</Alert>}
          <Input
            ref={amountRef}
            label={t('admin.orders.refund.amount', { currency })}
            hint={t('admin.orders.refund.amountHint', { max: amountText(remaining, o.currency), currency })}
            inputMode="decimal"
            autoComplete="off"
            value={amount}
            onChange={(e) => {
              setAmount(e.target.value);
              if (invalid === 'amount') setInvalid(null);
            }}
            error={invalid === 'amount' ? t('admin.orders.refund.amountInvalid', { max: amountText(remaining, o.currency), currency }) : undefined}
            required
            data-testid="admin-refund-amount"
          />
          <p className="text-sm text-zinc-700 dark:text-zinc-300" aria-live="polite" data-testid="admin-refund-kind">
            {parseAmount(amount, o.currency) === remaining
              ? t('admin.orders.refund.full', { amount: formatMoney(remaining, o.currency, lang) })
              : t('admin.orders.refund.partial')}
          </p>
          <TextArea
            ref={reasonRef}
            label={t('admin.orders.refund.reason')}
            hint={t('admin.orders.refund.reasonHint')}
            rows={3}
            maxLength={ADMIN_ORDER_REASON_MAX}
            value={reason}
            onChange={(e) => {
              setReason(e.target.value);
              if (invalid === 'reason') setInvalid(null);
            }}
            error={invalid === 'reason' ? t('admin.orders.refund.reasonRequired') : undefined}
            required
            data-testid="admin-refund-reason"
          />
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.orders.refund.credits')}</p>
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <Button type="button" variant="secondary" onClick={onClose} disabled={refund.isPending}>
              {t('admin.orders.cancel')}
            </Button>
            <Button
              type="submit"
              variant="danger"
              loading={refund.isPending}
              loadingText={t('admin.orders.refund.submitting')}
              data-testid="admin-refund-submit"
            >
              {t('admin.orders.refund.submit')}
            </Button>
          </div>
        </form>
      </Dialog>
      {reauthDialog}
    </>
  );
}
