import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AuthShell, authLink, OrDivider } from '../components/auth/AuthShell';
import { GoogleButton } from '../components/auth/GoogleButton';
import { startGoogleSignIn } from '../components/auth/google';
import { Alert, Button, EmailInput, PasswordInput, TextArea } from '../components/ui';
import { ApiError, apiFetch } from '../lib/api';
import { useBotChallenge } from '../lib/bot-challenge';
import { BotCheck } from '../components/auth/BotCheck';
import { refreshMe, safeNext, useAuthConfig } from '../lib/auth';
import { errorText } from '../lib/errors';
import { APPEAL_MAX, APPEAL_MIN, appealSuspension } from '../lib/appeals';
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

/** The token a refused sign-in of a suspended account carries, to appeal the suspension once. */
function appealTokenOf(err: unknown): string | null {
  if (!(err instanceof ApiError) || err.code !== 'account_suspended') return null;
  const token = err.details?.appealToken;
  return typeof token === 'string' && token ? token : null;
}

/**
 * A suspended account's one appeal, offered right where its sign-in was refused. `token` comes with a
 * refused password sign-in; a refused Google sign-in left it in a cookie instead (null here).
 */
function SuspensionAppeal({ token }: { token: string | null }) {
  const { t, i18n } = useTranslation();
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const textRef = useRef<HTMLTextAreaElement>(null);
  const send = useMutation({ mutationFn: () => appealSuspension(token, text.trim()) });

  if (send.isSuccess) {
    return (
      <Alert tone="success" title={t('auth.signIn.appeal.title')} data-testid="appeal-received">
        {t('auth.signIn.appeal.done')}
      </Alert>
    );
  }
  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (text.trim().length < APPEAL_MIN) {
      setError(t('auth.signIn.appeal.tooShort', { min: APPEAL_MIN }));
      textRef.current?.focus();
      return;
    }
    send.mutate();
  };
  return (
    <section aria-labelledby="suspension-appeal" className="rounded-xl border border-zinc-200 p-4 dark:border-zinc-800" data-testid="suspension-appeal">
      <h2 id="suspension-appeal" className="text-base font-semibold text-zinc-900 dark:text-white">
        {t('auth.signIn.appeal.title')}
      </h2>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{t('auth.signIn.appeal.lead')}</p>
      <form onSubmit={onSubmit} noValidate className="mt-3 space-y-3">
        <TextArea
          ref={textRef}
          label={t('auth.signIn.appeal.text')}
          hint={t('auth.signIn.appeal.hint', { min: APPEAL_MIN, max: APPEAL_MAX })}
          required
          rows={4}
          maxLength={APPEAL_MAX}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setError(undefined);
          }}
          error={error}
          data-testid="suspension-appeal-text"
        />
        {send.isError && <Alert tone="error">{errorText(send.error, t, i18n.language)}</Alert>}
        <Button type="submit" variant="secondary" className="w-full" loading={send.isPending} loadingText={t('auth.signIn.appeal.submitting')}>
          {t('auth.signIn.appeal.submit')}
        </Button>
      </form>
    </section>
  );
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
  const [appealToken, setAppealToken] = useState<string | null>(null);
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  // only after failed sign-ins from this address does the server ask for the check
  const bot = useBotChallenge('signin');

  const signIn = useMutation({
    mutationFn: () =>
      bot.run((headers) =>
        apiFetch<unknown>('/api/auth/sign-in/email', { method: 'POST', headers, body: { email: email.trim(), password, rememberMe: true } }),
      ),
    onSuccess: async () => {
      await refreshMe(queryClient);
      await navigate({ href: safeNext(search.next), replace: true });
    },
    onError: (err) => {
      setFormError(errorText(err, t, i18n.language));
      setAppealToken(appealTokenOf(err));
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
          <BotCheck waiting={bot.waiting} widgetRef={bot.widgetRef} />
          <Button type="submit" size="lg" className="w-full" loading={signIn.isPending} loadingText={t('auth.signIn.submitting')}>
            {t('auth.signIn.submit')}
          </Button>
        </form>

        {appealToken ? (
          <SuspensionAppeal key={appealToken} token={appealToken} />
        ) : (
          search.error?.toLowerCase() === 'account_suspended' && <SuspensionAppeal token={null} />
        )}

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
