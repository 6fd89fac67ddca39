import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { errorText } from '../../lib/errors';
import { Alert, Button } from '../ui';
import { useResendVerification } from './CheckInbox';

/**
 * "Verify your email first", with a button that sends the link again: a warning before anything is
 * tried, an alert once the server refused (403 `email_not_verified`). The Studio and the developer
 * pages each say what the verification unlocks.
 */
export function VerifyEmailNotice({
  me,
  title,
  body,
  testId,
  tone = 'warning',
  className,
}: {
  me: Me;
  title: string;
  body: string;
  testId: string;
  tone?: 'warning' | 'error';
  className?: string;
}) {
  const { t, i18n } = useTranslation();
  const resend = useResendVerification();
  return (
    <Alert
      tone={tone}
      title={title}
      className={className}
      data-testid={testId}
      action={
        resend.isSuccess ? undefined : (
          <Button size="sm" variant="secondary" onClick={() => resend.mutate(me.email)} loading={resend.isPending}>
            {t('studio.verify.resend')}
          </Button>
        )
      }
    >
      <p>{body}</p>
      {resend.isSuccess && <p className="mt-1 font-medium">{t('studio.verify.resent')}</p>}
      {resend.isError && <p className="mt-1 font-medium">{errorText(resend.error, t, i18n.language)}</p>}
    </Alert>
  );
}
