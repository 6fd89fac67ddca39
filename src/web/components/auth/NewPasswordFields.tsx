import { useTranslation } from 'react-i18next';
import { PasswordInput } from '../ui';

export interface NewPasswordFieldsProps {
  password: string;
  confirm: string;
  onPasswordChange: (value: string) => void;
  onConfirmChange: (value: string) => void;
  minLength: number;
  errors: { password?: string | undefined; confirm?: string | undefined };
  /** classes of the wrapper, e.g. a two-column grid */
  className?: string;
}

/** "New password" + "Confirm password", as used by the reset page and the account page. */
export function NewPasswordFields({
  password,
  confirm,
  onPasswordChange,
  onConfirmChange,
  minLength,
  errors,
  className = 'space-y-5',
}: NewPasswordFieldsProps) {
  const { t } = useTranslation();
  return (
    <div className={className}>
      <PasswordInput
        label={t('auth.fields.newPassword')}
        name="newPassword"
        autoComplete="new-password"
        required
        value={password}
        onChange={(e) => onPasswordChange(e.target.value)}
        hint={t('auth.fields.passwordHint', { count: minLength })}
        error={errors.password}
      />
      <PasswordInput
        label={t('auth.fields.confirmPassword')}
        name="confirmPassword"
        autoComplete="new-password"
        required
        value={confirm}
        onChange={(e) => onConfirmChange(e.target.value)}
        error={errors.confirm}
      />
    </div>
  );
}
