import type { Ref } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../../shared/api/account';
import { SparklesIcon } from '../../../components/icons';
import { Alert, Button } from '../../../components/ui';
import type { ModelView } from '../../../lib/models';
import { VerifyNotice } from '../shared';
import type { FormError } from './form';

export interface SubmitBarProps {
  me: Me;
  model: ModelView;
  /** the request's price in credits; null when it cannot be priced */
  price: number | null;
  /** spendable credits, when known */
  balance: number | undefined;
  verifyNeeded: boolean;
  formError: FormError | null;
  /** the message that gets the focus when the answer is an error about no field */
  errorRef: Ref<HTMLDivElement>;
  pending: boolean;
  /** the composer's id, which the ids of the price and the blocked reason start with */
  idBase: string;
}

/** The foot of the composer: the price, why it cannot be sent (unavailable model, too few credits), errors, and the button. */
export function SubmitBar({ me, model, price, balance, verifyNeeded, formError, errorRef, pending, idBase }: SubmitBarProps) {
  const { t } = useTranslation();
  const ids = { price: `${idBase}-price`, blocked: `${idBase}-blocked` };
  const short = balance !== undefined && price !== null && price > balance;
  const unavailable = !model.available;
  const blockedReason = unavailable ? t('studio.modelUnavailable', { model: model.name }) : short ? t('studio.price.notEnough', { price, balance }) : undefined;

  return (
    <div className="space-y-3 border-t border-zinc-200 pt-5 dark:border-zinc-800">
      {(verifyNeeded || !me.emailVerified) && (
        <div ref={verifyNeeded ? errorRef : undefined} tabIndex={-1} className="outline-none">
          <VerifyNotice me={me} tone={verifyNeeded ? 'error' : 'warning'} />
        </div>
      )}
      {formError && (
        <div ref={errorRef} tabIndex={-1} className="outline-none">
          <Alert tone="error" data-testid="composer-error">
            <p>{formError.message}</p>
            {formError.detail && <p className="mt-1">{formError.detail}</p>}
          </Alert>
        </div>
      )}
      <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
        <div role="status" className="min-w-0 text-sm">
          <p id={ids.price} className="font-medium text-zinc-900 dark:text-white" data-testid="price" data-credits={price ?? undefined}>
            {price === null ? t('studio.price.unknown') : t('studio.price.cost', { count: price })}
          </p>
          {blockedReason && (
            <p id={ids.blocked} className="mt-1 text-red-700 dark:text-red-300" data-testid="submit-blocked">
              {blockedReason}
              {short && !unavailable && <span className="block text-xs text-zinc-600 dark:text-zinc-400">{t('studio.price.notEnoughHint')}</span>}
            </p>
          )}
        </div>
        <Button
          type="submit"
          size="lg"
          className="shrink-0"
          loading={pending}
          loadingText={t('studio.submitting')}
          disabled={!!blockedReason}
          aria-describedby={blockedReason ? ids.blocked : ids.price}
        >
          <SparklesIcon className="size-5" />
          {t('studio.submit')}
        </Button>
      </div>
    </div>
  );
}
