import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AuthShell, authLink, OrDivider } from '../components/auth/AuthShell';
import { GoogleButton } from '../components/auth/GoogleButton';
import { startGoogleSignIn } from '../components/auth/google';
import { Alert, Button, EmailInput, PasswordInput } from '../components/ui';
import { apiFetch } from '../lib/api';
import { refreshMe, safeNext, useAuthConfig } from '../lib/auth';
import { errorText } from '../lib/errors';
import { usePageTitle } from '../lib/usePageTitle';

/** The message for `?error=` when Google sign-in sent the browser back here. */
function useReturnedError(code: string | undefined): { title: string; body: string; signUp: boolean } | null {
  const { t } = useTranslation();
  if (!code) return null;
  const c = code.toLowerCase();
  if (c === 'age_confirmation_required' || c === 'region_required' || c === 'signup_disabled' || c === 'signup_intent_required')
    return { title: t('auth.signIn.returned.newHere.title'), body: t('auth.signIn.returned.newHere.body'), signUp: true };
  if (c === 'account_suspended') return { title: t('auth.signIn.returned.suspended.title'), body: t('auth.signIn.returned.suspended.body'), signUp: false };
  if (c === 'account_terminated') return { title: t('auth.signIn.returned.terminated.title'), body: t('auth.signIn.returned.terminated.body'), signUp: false };
  return { title: t('auth.signIn.returned.generic.title'), body: t('auth.signIn.returned.generic.body'), signUp: false };
}

export function SignInPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('auth.signIn.title'));
  const search = useSearch({ from: '/sign-in' });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const config = useAuthConfig();
  const returned = useReturnedError(search.error);

  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string; password?: string }>({});
  const [formError, setFormError] = useState<string | null>(null);
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  const signIn = useMutation({
    mutationFn: () => apiFetch<unknown>('/api/auth/sign-in/email', { method: 'POST', body: { email: email.trim(), password, rememberMe: true } }),
    onSuccess: async () => {
      await refreshMe(queryClient);
      await navigate({ href: safeNext(search.next), replace: true });
    },
    onError: (err) => {
      setFormError(errorText(err, t, i18n.language));
      passwordRef.current?.select();
    },
  });

  const google = useMutation({ mutationFn: startGoogleSignIn, onError: (err) => setFormError(errorText(err, t, i18n.language)) });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setFormError(null);
    const found: typeof errors = {};
    if (!email.trim()) found.email = t('auth.errors.emailRequired');
    if (!password) found.password = t('auth.errors.passwordRequired');
    setErrors(found);
    if (found.email) return emailRef.current?.focus();
    if (found.password) return passwordRef.current?.focus();
    signIn.mutate();
  };

  return (
    <AuthShell
      testId="sign-in"
      title={t('auth.signIn.title')}
      description={t('auth.signIn.lead')}
      footer={
        <>
          {t('auth.signIn.noAccount')}{' '}
          <Link to="/sign-up" className={authLink}>
            {t('auth.signIn.createAccount')}
          </Link>
        </>
      }
    >
      <div className="space-y-5">
        {returned && (
          <Alert
            tone={returned.signUp ? 'info' : 'error'}
            title={returned.title}
            data-testid="returned-error"
            action={
              returned.signUp ? (
                <Link to="/sign-up" className={authLink}>
                  {t('auth.signIn.createAccount')}
                </Link>
              ) : undefined
            }
          >
            {returned.body}
          </Alert>
        )}
        {search.emailChanged && <Alert tone="success">{t('auth.signIn.emailChanged')}</Alert>}
        {search.reset && <Alert tone="success">{t('auth.reset.done')}</Alert>}

        <form onSubmit={onSubmit} noValidate className="space-y-5">
          {formError && (
            <Alert tone="error" data-testid="form-error">
              {formError}
            </Alert>
          )}
          <EmailInput ref={emailRef} label={t('auth.fields.email')} required value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} />
          <PasswordInput
            ref={passwordRef}
            label={t('auth.fields.password')}
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.password}
            labelAside={
              <Link to="/forgot-password" className={`text-sm ${authLink}`}>
                {t('auth.signIn.forgot')}
              </Link>
            }
          />
          <Button type="submit" size="lg" className="w-full" loading={signIn.isPending} loadingText={t('auth.signIn.submitting')}>
            {t('auth.signIn.submit')}
          </Button>
        </form>

        {config.data?.google && (
          <>
            <OrDivider label={t('auth.or')} />
            <GoogleButton
              onClick={() => {
                setFormError(null);
                google.mutate();
              }}
              loading={google.isPending}
            />
          </>
        )}
      </div>
    </AuthShell>
  );
}
