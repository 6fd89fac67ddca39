import { useMutation } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { useMemo, useRef, useState, type SubmitEvent } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { AuthShell, authLink, OrDivider } from '../components/auth/AuthShell';
import { ResendVerification } from '../components/auth/CheckInbox';
import { GoogleButton } from '../components/auth/GoogleButton';
import { startGoogleSignIn } from '../components/auth/google';
import { MailIcon } from '../components/icons';
import { Alert, Button, Checkbox, EmailInput, Input, PasswordInput, Select } from '../components/ui';
import { isSupportedLanguage } from '../i18n';
import { apiFetch } from '../lib/api';
import { useBotChallenge } from '../lib/bot-challenge';
import { BotCheck } from '../components/auth/BotCheck';
import { minimumAge, useAuthConfig } from '../lib/auth';
import { errorText, fieldOf } from '../lib/errors';
import { guessRegion, sortedRegions } from '../lib/regions';
import { usePageTitle } from '../lib/usePageTitle';

type Field = 'name' | 'email' | 'password' | 'region' | 'age' | 'referralCode';
type FieldErrors = Partial<Record<Field, string>>;

const fieldByCode: Record<string, Field> = {
  invalid_email: 'email',
  password_too_short: 'password',
  password_too_long: 'password',
  region_required: 'region',
  age_confirmation_required: 'age',
  invalid_referral_code: 'referralCode',
};

const REFERRAL = /^[A-Za-z0-9]{4,32}$/;

export function SignUpPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('auth.signUp.title'));
  const search = useSearch({ from: '/sign-up' });
  const config = useAuthConfig();

  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [region, setRegion] = useState(guessRegion);
  const [age, setAge] = useState(false);
  const [referralCode, setReferralCode] = useState(search.ref ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const bot = useBotChallenge('signup');

  const regions = useMemo(() => sortedRegions(i18n.language), [i18n.language]);
  const minAge = minimumAge(region, config.data);
  const minLength = config.data?.passwordMinLength ?? 8;
  const maxLength = config.data?.passwordMaxLength ?? 128;
  const language = isSupportedLanguage(i18n.resolvedLanguage) ? i18n.resolvedLanguage : undefined;
  const referral = referralCode.trim() || undefined;

  const focusFirstError = (found: FieldErrors) => {
    const first = (['name', 'email', 'password', 'region', 'age', 'referralCode'] as const).find((f) => found[f]);
    if (first) formRef.current?.querySelector<HTMLElement>(`[name="${first}"]`)?.focus();
  };

  /** The age gate and region: needed for both ways of signing up. */
  const checkAgeAndRegion = (found: FieldErrors) => {
    if (!region) found.region = t('auth.signUp.errors.region');
    if (!age) found.age = t('auth.signUp.errors.age', { age: minAge });
    if (referral && !REFERRAL.test(referral)) found.referralCode = t('auth.signUp.errors.referral');
  };

  const signUp = useMutation({
    mutationFn: () =>
      bot.run((headers) =>
        apiFetch<unknown>('/api/auth/sign-up/email', {
          method: 'POST',
          headers,
          // callbackURL: where the verification link signs the new user in (as for the resend below)
          body: { email: email.trim(), password, name: name.trim(), region, ageConfirmed: true, referralCode: referral, language, callbackURL: '/account' },
        }),
      ),
    onSuccess: () => setSentTo(email.trim()),
    onError: (err) => {
      const text = errorText(err, t, i18n.language);
      const field = fieldOf(err, fieldByCode);
      if (field) {
        setErrors({ [field]: text });
        focusFirstError({ [field]: text });
      } else setFormError(text);
    },
  });

  const google = useMutation({
    mutationFn: async () => {
      await apiFetch<unknown>('/api/signup-intent', { method: 'POST', body: { region, ageConfirmed: true, referralCode: referral, language } });
      await startGoogleSignIn();
    },
    onError: (err) => setFormError(errorText(err, t, i18n.language)),
  });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>): void => {
    e.preventDefault();
    setFormError(null);
    const found: FieldErrors = {};
    if (!name.trim()) found.name = t('auth.signUp.errors.name');
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) found.email = t('auth.errors.email');
    if (password.length < minLength) found.password = t('auth.errors.passwordShort', { count: minLength });
    else if (password.length > maxLength) found.password = t('auth.errors.passwordLong', { count: maxLength });
    checkAgeAndRegion(found);
    setErrors(found);
    if (Object.keys(found).length) return focusFirstError(found);
    signUp.mutate();
  };

  const onGoogle = (): void => {
    setFormError(null);
    const found: FieldErrors = {};
    checkAgeAndRegion(found);
    setErrors(found);
    if (Object.keys(found).length) {
      setFormError(t('auth.signUp.googleNeedsAge'));
      return focusFirstError(found);
    }
    google.mutate();
  };

  if (sentTo) {
    return (
      <AuthShell
        testId="check-inbox"
        focusTitle
        icon={<MailIcon className="size-6" />}
        title={t('auth.verify.checkInbox')}
        description={t('auth.verify.sentTo', { email: sentTo })}
        footer={
          <Link to="/sign-in" className={authLink}>
            {t('auth.signIn.title')}
          </Link>
        }
      >
        <p className="mb-5 text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{t('auth.verify.explain')}</p>
        <ResendVerification email={sentTo} />
      </AuthShell>
    );
  }

  const busy = signUp.isPending || google.isPending;
  const clear = (field: Field) => errors[field] && setErrors((prev) => ({ ...prev, [field]: undefined }));

  return (
    <AuthShell
      testId="sign-up"
      title={t('auth.signUp.title')}
      description={t('auth.signUp.lead')}
      footer={
        <>
          {t('auth.signUp.haveAccount')}{' '}
          <Link to="/sign-in" className={authLink}>
            {t('auth.signIn.title')}
          </Link>
        </>
      }
    >
      <form ref={formRef} onSubmit={onSubmit} noValidate className="space-y-5" aria-describedby={formError ? 'sign-up-error' : undefined}>
        {formError && (
          <div id="sign-up-error">
            <Alert tone="error" data-testid="form-error">
              {formError}
            </Alert>
          </div>
        )}
        <Input
          label={t('auth.fields.name')}
          name="name"
          autoComplete="name"
          required
          maxLength={100}
          value={name}
          onChange={(e) => (setName(e.target.value), clear('name'))}
          error={errors.name}
        />
        <EmailInput label={t('auth.fields.email')} required value={email} onChange={(e) => (setEmail(e.target.value), clear('email'))} error={errors.email} />
        <PasswordInput
          label={t('auth.fields.password')}
          name="password"
          autoComplete="new-password"
          required
          minLength={minLength}
          maxLength={maxLength}
          value={password}
          onChange={(e) => (setPassword(e.target.value), clear('password'))}
          hint={t('auth.fields.passwordHint', { count: minLength })}
          error={errors.password}
        />
        <Select
          label={t('auth.fields.region')}
          name="region"
          autoComplete="country"
          required
          value={region}
          onChange={(e) => (setRegion(e.target.value), clear('region'))}
          error={errors.region}
          hint={t('auth.fields.regionHint')}
        >
          <option value="">{t('auth.fields.regionPlaceholder')}</option>
          {regions.map((r) => (
            <option key={r.code} value={r.code}>
              {r.name}
            </option>
          ))}
        </Select>
        <Checkbox
          name="age"
          label={t('auth.signUp.age', { age: minAge })}
          required
          checked={age}
          onChange={(e) => (setAge(e.target.checked), clear('age'))}
          error={errors.age}
          data-testid="age-checkbox"
        />
        <Input
          label={t('auth.fields.referral')}
          name="referralCode"
          autoComplete="off"
          spellCheck={false}
          autoCapitalize="off"
          maxLength={32}
          value={referralCode}
          onChange={(e) => (setReferralCode(e.target.value), clear('referralCode'))}
          hint={t('auth.fields.referralHint')}
          error={errors.referralCode}
        />
        <p className="text-xs leading-relaxed text-zinc-500 dark:text-zinc-400">
          <Trans
            i18nKey="auth.signUp.legal"
            components={{
              terms: <Link to="/legal/terms" className={authLink} />,
              privacy: <Link to="/legal/privacy" className={authLink} />,
            }}
          />
        </p>
        <BotCheck waiting={bot.waiting} widgetRef={bot.widgetRef} />
        <Button type="submit" size="lg" className="w-full" loading={signUp.isPending} disabled={busy} loadingText={t('auth.signUp.submitting')}>
          {t('auth.signUp.submit')}
        </Button>
      </form>

      {config.data?.google && (
        <>
          <OrDivider label={t('auth.or')} />
          <GoogleButton onClick={onGoogle} loading={google.isPending} />
          <p className="mt-2 text-center text-xs text-zinc-500 dark:text-zinc-400">{t('auth.signUp.googleNote')}</p>
        </>
      )}
    </AuthShell>
  );
}
