import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { KeyIcon, MailIcon } from '../../components/icons';
import { NewPasswordFields } from '../../components/auth/NewPasswordFields';
import { Alert, Badge, Button, EmailInput, PasswordInput, useToast } from '../../components/ui';
import { apiFetch } from '../../lib/api';
import { useBotChallenge } from '../../lib/bot-challenge';
import { BotCheck } from '../../components/auth/BotCheck';
import { useAuthConfig } from '../../lib/auth';
import { errorText, fieldOf } from '../../lib/errors';
import { Section } from './shared';

export function EmailSection({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const [newEmail, setNewEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ newEmail?: string; currentPassword?: string }>({});
  const [sentTo, setSentTo] = useState<string | null>(null);

  const change = useMutation({
    mutationFn: () => apiFetch<unknown>('/api/me/email', { method: 'POST', body: { newEmail: newEmail.trim(), currentPassword: password } }),
    onSuccess: () => {
      setSentTo(newEmail.trim());
      setNewEmail('');
      setPassword('');
    },
    onError: (err) => {
      const field = fieldOf(err, {
        email_taken: 'newEmail',
        invalid_email: 'newEmail',
        invalid_password: 'currentPassword',
        password_required: 'currentPassword',
      } as const);
      if (field) setErrors({ [field]: errorText(err, t, i18n.language) });
    },
  });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSentTo(null);
    const found: typeof errors = {};
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(newEmail.trim())) found.newEmail = t('auth.errors.email');
    else if (newEmail.trim().toLowerCase() === me.email.toLowerCase()) found.newEmail = t('account.email.same');
    if (!password) found.currentPassword = t('auth.errors.passwordRequired');
    setErrors(found);
    if (Object.keys(found).length === 0) change.mutate();
  };

  const formError = change.isError && !errors.newEmail && !errors.currentPassword ? errorText(change.error, t, i18n.language) : null;

  return (
    <Section id="email" icon={<MailIcon className="size-5" />} title={t('account.email.title')}>
      <div className="space-y-6">
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
          <span className="text-sm text-zinc-600 dark:text-zinc-400">{t('account.email.current')}</span>
          <span className="font-medium break-all text-zinc-900 dark:text-white" data-testid="current-email">
            {me.email}
          </span>
          {me.emailVerified ? (
            <Badge tone="success">
              <span data-testid="email-verified">{t('account.email.verified')}</span>
            </Badge>
          ) : (
            <Badge tone="warning">
              <span data-testid="email-unverified">{t('account.email.unverified')}</span>
            </Badge>
          )}
        </div>

        <form onSubmit={onSubmit} noValidate className="space-y-4">
          <h3 className="text-sm font-semibold text-zinc-900 dark:text-white">{t('account.email.changeTitle')}</h3>
          {sentTo && <Alert tone="success">{t('account.email.sent', { email: sentTo })}</Alert>}
          {formError && <Alert tone="error">{formError}</Alert>}
          {me.hasPassword ? (
            <>
              <div className="grid gap-4 sm:grid-cols-2">
                <EmailInput
                  label={t('account.email.new')}
                  name="newEmail"
                  required
                  value={newEmail}
                  onChange={(e) => setNewEmail(e.target.value)}
                  error={errors.newEmail}
                />
                <PasswordInput
                  label={t('auth.fields.currentPassword')}
                  name="currentPassword"
                  autoComplete="current-password"
                  required
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  error={errors.currentPassword}
                />
              </div>
              <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('account.email.changeHelp')}</p>
              <Button type="submit" variant="secondary" loading={change.isPending}>
                {t('account.email.submit')}
              </Button>
            </>
          ) : (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('account.email.needsPassword')}</p>
          )}
        </form>
      </div>
    </Section>
  );
}

export function PasswordSection({ me }: { me: Me }) {
  const { t } = useTranslation();
  return (
    <Section id="password" icon={<KeyIcon className="size-5" />} title={t('account.password.title')}>
      {me.hasPassword ? <ChangePasswordForm /> : <SetPasswordNote me={me} />}
    </Section>
  );
}

function ChangePasswordForm() {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const config = useAuthConfig();
  const minLength = config.data?.passwordMinLength ?? 8;
  const maxLength = config.data?.passwordMaxLength ?? 128;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<{ current?: string; next?: string; confirm?: string }>({});

  const change = useMutation({
    mutationFn: () => apiFetch<unknown>('/api/me/password', { method: 'POST', body: { currentPassword: current, newPassword: next } }),
    onSuccess: () => {
      setCurrent('');
      setNext('');
      setConfirm('');
      toast({ title: t('account.password.changed'), description: t('account.password.changedBody'), tone: 'success' });
      void queryClient.invalidateQueries({ queryKey: ['sessions'] });
    },
    onError: (err) => {
      const field = fieldOf(err, { invalid_password: 'current', password_too_short: 'next', password_too_long: 'next' } as const);
      if (field) setErrors({ [field]: errorText(err, t, i18n.language) });
    },
  });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const found: typeof errors = {};
    if (!current) found.current = t('auth.errors.passwordRequired');
    if (next.length < minLength) found.next = t('auth.errors.passwordShort', { count: minLength });
    else if (next.length > maxLength) found.next = t('auth.errors.passwordLong', { count: maxLength });
    if (confirm !== next) found.confirm = t('auth.errors.mismatch');
    setErrors(found);
    if (Object.keys(found).length === 0) change.mutate();
  };

  const formError = change.isError && !errors.current && !errors.next ? errorText(change.error, t, i18n.language) : null;

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4">
      {formError && <Alert tone="error">{formError}</Alert>}
      <PasswordInput
        label={t('auth.fields.currentPassword')}
        name="currentPassword"
        autoComplete="current-password"
        required
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
        error={errors.current}
        className="sm:max-w-[calc(50%-0.5rem)]"
      />
      <NewPasswordFields
        className="grid gap-4 sm:grid-cols-2"
        password={next}
        confirm={confirm}
        onPasswordChange={setNext}
        onConfirmChange={setConfirm}
        minLength={minLength}
        errors={{ password: errors.next, confirm: errors.confirm }}
      />
      <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('account.password.help')}</p>
      <Button type="submit" variant="secondary" loading={change.isPending}>
        {t('account.password.submit')}
      </Button>
    </form>
  );
}

/** Google-only accounts have no password; the reset mail sets one. */
function SetPasswordNote({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const bot = useBotChallenge('reset');
  const send = useMutation({
    mutationFn: () =>
      bot.run((headers) =>
        apiFetch<unknown>('/api/auth/request-password-reset', { method: 'POST', headers, body: { email: me.email, redirectTo: '/reset-password' } }),
      ),
  });
  return (
    <div className="space-y-4">
      <p className="text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{t('account.password.none')}</p>
      {send.isSuccess && <Alert tone="success">{t('account.password.linkSent', { email: me.email })}</Alert>}
      {send.isError && <Alert tone="error">{errorText(send.error, t, i18n.language)}</Alert>}
      <BotCheck waiting={bot.waiting} widgetRef={bot.widgetRef} />
      <Button variant="secondary" onClick={() => send.mutate()} loading={send.isPending} disabled={send.isSuccess}>
        {t('account.password.setLink')}
      </Button>
    </div>
  );
}
