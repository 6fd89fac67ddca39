import { useRef, useState, type ReactNode, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { REAUTH_MINUTES, type AdminReauthResultBody } from '../../../shared/api/admin';
import { ApiError, apiFetch } from '../../lib/api';
import { Alert, Button, Dialog, PasswordInput } from '../ui';

interface Pending {
  resolve: () => void;
  reject: (err: unknown) => void;
  error: unknown;
}

/**
 * Sensitive console actions (refunds, role changes, settings, deletions) need a sign-in or the
 * password within the last minutes. `run(action)` calls the action; when the server answers 403
 * `reauth_required`, it asks for the password in a dialog, confirms it with POST /api/admin/reauth
 * and calls the action again. Cancelling rejects with the server's error. Render `dialog` once.
 */
export function useReauth(): { run: <T>(action: () => Promise<T>) => Promise<T>; dialog: ReactNode } {
  const { t } = useTranslation();
  const [pending, setPending] = useState<Pending | null>(null);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);

  const ask = (original: unknown) =>
    new Promise<void>((resolve, reject) => {
      setPassword('');
      setError(null);
      setPending({ resolve, reject, error: original });
    });

  async function run<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'reauth_required') throw err;
      await ask(err);
      return action();
    }
  }

  function submit(e: SubmitEvent<HTMLFormElement>) {
    e.preventDefault();
    void confirm();
  }

  async function confirm() {
    if (!pending || !password) return;
    setBusy(true);
    setError(null);
    try {
      await apiFetch<AdminReauthResultBody>('/api/admin/reauth', { method: 'POST', body: { password } });
      const p = pending;
      setPending(null);
      p.resolve();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : t('admin.reauth.failed'));
    } finally {
      setBusy(false);
    }
  }

  const cancel = () => {
    const p = pending;
    setPending(null);
    p?.reject(p.error);
  };

  const dialog = (
    <Dialog
      open={pending !== null}
      onClose={cancel}
      title={t('admin.reauth.title')}
      description={t('admin.reauth.description', { minutes: REAUTH_MINUTES })}
      initialFocus={inputRef}
      size="sm"
    >
      <form onSubmit={submit} className="space-y-4" data-testid="reauth-form">
        {error && <Alert tone="error">{error}</Alert>}
        <PasswordInput
          ref={inputRef}
          label={t('admin.reauth.password')}
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        <div className="flex justify-end gap-2">
          <Button type="button" variant="secondary" onClick={cancel}>
            {t('admin.reauth.cancel')}
          </Button>
          <Button type="submit" loading={busy} data-testid="reauth-submit">
            {t('admin.reauth.confirm')}
          </Button>
        </div>
      </form>
    </Dialog>
  );
  return { run, dialog };
}
