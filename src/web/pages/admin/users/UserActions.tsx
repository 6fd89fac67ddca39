import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useRef, useState, type ReactNode, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useReauth } from '../../../components/admin/useReauth';
import { Alert, Button, Card, Dialog, Input, Select, TextArea, useToast } from '../../../components/ui';
import { useCan } from '../../../lib/admin';
import { ApiError } from '../../../lib/api';
import { useMe } from '../../../lib/auth';
import { formatNumber } from '../../../lib/billing';
import { dateTime } from '../../../lib/format';
import {
  ADMIN_CREDITS_MAX,
  ADMIN_REASON_MAX,
  changeCredits,
  changeRole,
  changeStatus,
  deleteUser,
  newIdempotencyKey,
  refreshUsers,
  roles,
  signOutEverywhere,
  startExport,
  type AdminUserDetail,
  type UserRole,
} from './api';
import { usersErrorText } from './shared';

type Kind = 'credits' | 'suspend' | 'reactivate' | 'terminate' | 'role' | 'signOut' | 'export' | 'delete';
/** the actions that ask for the password when the sign-in is older than 10 minutes */
const sensitiveKinds: ReadonlySet<Kind> = new Set(['terminate', 'role', 'delete']);
/** the actions whose reason is required */
const reasonRequired: ReadonlySet<Kind> = new Set(['credits', 'suspend', 'reactivate', 'terminate', 'delete']);
const rank: Record<UserRole, number> = { user: 0, support: 1, moderator: 2, admin: 3 };

/**
 * What an operator can do to the account: each action opens a dialog that says what it does and
 * asks for a reason; role changes, terminations and deletions ask for the password again when the
 * sign-in is older than 10 minutes. The page refreshes after each action.
 */
export function UserActions({ user }: { user: AdminUserDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const can = useCan();
  const me = useMe().data;
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { toast } = useToast();
  const { run, dialog: reauthDialog } = useReauth();
  const p = user.profile;

  const [open, setOpen] = useState<Kind | null>(null);
  // hidden while the password dialog is up (two dialogs at once would fight over the focus)
  const [hidden, setHidden] = useState(false);
  const [reason, setReason] = useState('');
  const [amount, setAmount] = useState('');
  const [mode, setMode] = useState<'grant' | 'deduct'>('grant');
  const [role, setRole] = useState<UserRole>(p.role);
  const [when, setWhen] = useState<'grace' | 'now'>('grace');
  const [invalid, setInvalid] = useState<'amount' | 'reason' | null>(null);
  // one key per credits form: a double click or a retry of the same form grants once
  const idempotencyKey = useRef(newIdempotencyKey());
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const amountRef = useRef<HTMLInputElement>(null);
  // a second click before the button shows it is busy sends nothing (the key would make it a no-op anyway)
  const sending = useRef(false);

  const show = (kind: Kind) => {
    act.reset();
    setReason('');
    setAmount('');
    setMode('grant');
    setRole(p.role);
    setWhen('grace');
    setInvalid(null);
    setHidden(false);
    if (kind === 'credits') idempotencyKey.current = newIdempotencyKey();
    setOpen(kind);
  };
  const close = () => {
    setOpen(null);
    setHidden(false);
  };

  /** a sensitive call: through the password dialog when the server asks for it */
  const sensitive = <T,>(call: () => Promise<T>) =>
    run(async () => {
      try {
        return await call();
      } catch (err) {
        if (err instanceof ApiError && err.code === 'reauth_required') setHidden(true);
        throw err;
      }
    });

  const act = useMutation({
    mutationFn: async (kind: Kind): Promise<{ message: string; gone?: boolean }> => {
      const why = reason.trim();
      switch (kind) {
        case 'credits': {
          const n = Number(amount) * (mode === 'deduct' ? -1 : 1);
          const r = await changeCredits(p.id, { amount: n, reason: why }, idempotencyKey.current);
          const done = mode === 'grant' ? 'granted' : 'deducted';
          return { message: t(`admin.users.done.${done}`, { count: Math.abs(n), balance: formatNumber(r.balance, lang) }) };
        }
        case 'suspend':
        case 'reactivate':
          await changeStatus(p.id, kind, why);
          return { message: t(`admin.users.done.${kind}`) };
        case 'terminate':
          await sensitive(() => changeStatus(p.id, 'terminate', why));
          return { message: t('admin.users.done.terminate') };
        case 'role':
          await sensitive(() => changeRole(p.id, role, why));
          return { message: t('admin.users.done.role', { role: t(`admin.users.roles.${role}`) }) };
        case 'signOut': {
          const r = await signOutEverywhere(p.id, why);
          return { message: t('admin.users.done.signOut', { count: r.ended }) };
        }
        case 'export':
          await startExport(p.id);
          return { message: t('admin.users.done.export') };
        case 'delete': {
          const r = await sensitive(() => deleteUser(p.id, why, when));
          if (r.outcome === 'scheduled') return { message: t('admin.users.done.deleteScheduled', { date: dateTime(r.dueAt, lang) }) };
          return { message: r.outcome === 'deleted' ? t('admin.users.done.deleted') : t('admin.users.done.closed'), gone: r.outcome === 'deleted' };
        }
      }
    },
    onSuccess: async ({ message, gone }, kind) => {
      close();
      toast({ title: message, tone: 'success' });
      if (kind === 'credits') idempotencyKey.current = newIdempotencyKey();
      // the account is gone: back to the search
      if (gone) await navigate({ to: '/admin/users' });
      await refreshUsers(queryClient);
    },
    onError: () => setHidden(false),
  });

  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!open || sending.current) return;
    if (open === 'credits') {
      const n = Number(amount);
      if (!Number.isInteger(n) || n < 1 || n > ADMIN_CREDITS_MAX) {
        setInvalid('amount');
        amountRef.current?.focus();
        return;
      }
    }
    if (reasonRequired.has(open) && !reason.trim()) {
      setInvalid('reason');
      reasonRef.current?.focus();
      return;
    }
    sending.current = true;
    act.mutate(open, {
      onSettled: () => {
        sending.current = false;
      },
    });
  };

  const self = me?.id === p.id;
  const above = !!me && rank[p.role] > rank[me.role];
  const mayAct = can('users.act') && !above;
  const mayManage = can('users.manage') && !above;

  const buttons: { kind: Kind; label: string; variant: 'primary' | 'secondary' | 'danger'; testId: string; when: boolean }[] = [
    { kind: 'credits', label: t('admin.users.actions.credits'), variant: 'primary', testId: 'admin-user-grant', when: mayAct && !self },
    {
      kind: 'suspend',
      label: t('admin.users.actions.suspend'),
      variant: 'secondary',
      testId: 'admin-user-suspend',
      when: mayAct && !self && p.status === 'active',
    },
    {
      kind: 'reactivate',
      label: t('admin.users.actions.reactivate'),
      variant: 'secondary',
      testId: 'admin-user-reactivate',
      when: mayAct && !self && p.status !== 'active',
    },
    { kind: 'signOut', label: t('admin.users.actions.signOut'), variant: 'secondary', testId: 'admin-user-sign-out', when: mayAct && user.sessions.length > 0 },
    { kind: 'export', label: t('admin.users.actions.export'), variant: 'secondary', testId: 'admin-user-export', when: mayAct },
    { kind: 'role', label: t('admin.users.actions.role'), variant: 'secondary', testId: 'admin-user-role', when: mayManage && !self },
    {
      kind: 'terminate',
      label: t('admin.users.actions.terminate'),
      variant: 'danger',
      testId: 'admin-user-terminate',
      when: mayManage && !self && p.status !== 'terminated',
    },
    { kind: 'delete', label: t('admin.users.actions.delete'), variant: 'danger', testId: 'admin-user-delete', when: mayManage && !self },
  ];
  const visible = buttons.filter((b) => b.when);

  const reasonField = (kind: Kind) => (
    <TextArea
      ref={reasonRef}
      label={t('admin.users.reason')}
      hint={t('admin.users.reasonHint')}
      required={reasonRequired.has(kind)}
      rows={2}
      maxLength={ADMIN_REASON_MAX}
      value={reason}
      onChange={(e) => {
        setReason(e.target.value);
        if (invalid === 'reason') setInvalid(null);
      }}
      error={invalid === 'reason' ? t('admin.users.reasonRequired') : undefined}
      data-testid={kind === 'credits' ? 'admin-user-credits-reason' : 'admin-user-reason'}
    />
  );

  const fields: Record<Kind, ReactNode> = {
    credits: (
      <>
        <Select
          label={t('admin.users.creditsMode')}
          value={mode}
          onChange={(e) => setMode(e.target.value === 'deduct' ? 'deduct' : 'grant')}
          data-testid="admin-user-credits-mode"
        >
          <option value="grant">{t('admin.users.grant')}</option>
          <option value="deduct">{t('admin.users.deduct')}</option>
        </Select>
        <Input
          ref={amountRef}
          label={t('admin.users.amount')}
          hint={t('admin.users.amountHint', { max: formatNumber(ADMIN_CREDITS_MAX, lang), balance: formatNumber(user.credits.available, lang) })}
          type="number"
          inputMode="numeric"
          min={1}
          max={ADMIN_CREDITS_MAX}
          step={1}
          required
          value={amount}
          onChange={(e) => {
            setAmount(e.target.value);
            if (invalid === 'amount') setInvalid(null);
          }}
          error={invalid === 'amount' ? t('admin.users.amountInvalid', { max: formatNumber(ADMIN_CREDITS_MAX, lang) }) : undefined}
          data-testid="admin-user-credits-amount"
        />
        {reasonField('credits')}
      </>
    ),
    suspend: reasonField('suspend'),
    reactivate: reasonField('reactivate'),
    terminate: reasonField('terminate'),
    role: (
      <>
        <Select label={t('admin.users.newRole')} value={role} onChange={(e) => setRole(e.target.value as UserRole)} data-testid="admin-user-role-select">
          {roles.map((r) => (
            <option key={r} value={r}>
              {t(`admin.users.roles.${r}`)}
            </option>
          ))}
        </Select>
        {reasonField('role')}
      </>
    ),
    signOut: reasonField('signOut'),
    export: null,
    delete: (
      <>
        <Select
          label={t('admin.users.when')}
          value={when}
          onChange={(e) => setWhen(e.target.value === 'now' ? 'now' : 'grace')}
          data-testid="admin-user-delete-when"
        >
          <option value="grace">{t('admin.users.whenGrace')}</option>
          <option value="now">{t('admin.users.whenNow')}</option>
        </Select>
        {reasonField('delete')}
      </>
    ),
  };

  const submitLabel = (kind: Kind) =>
    kind === 'credits' ? (mode === 'grant' ? t('admin.users.grant') : t('admin.users.deduct')) : t(`admin.users.actions.${kind}`);

  return (
    <Card padding="md" className="space-y-3" data-testid="admin-user-actions">
      {visible.length ? (
        <div className="flex flex-wrap gap-2">
          {visible.map((b) => (
            <Button key={b.kind} size="sm" variant={b.variant} onClick={() => show(b.kind)} data-testid={b.testId}>
              {b.label}
            </Button>
          ))}
        </div>
      ) : null}
      {self && <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.users.ownAccount')}</p>}
      {above && <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.users.higherRole')}</p>}
      {!visible.length && !self && !above && <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.users.noActions')}</p>}
      {open && (
        <Dialog
          open={!hidden}
          onClose={close}
          title={open === 'credits' ? t('admin.users.dialog.credits.title', { email: p.email }) : t(`admin.users.dialog.${open}.title`, { email: p.email })}
          description={t(`admin.users.dialog.${open}.body`)}
          initialFocus={open === 'credits' ? amountRef : open === 'export' ? undefined : reasonRef}
        >
          <form onSubmit={submit} noValidate className="space-y-4" data-testid="admin-user-action-form">
            {fields[open]}
            {sensitiveKinds.has(open) && <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.users.sensitive')}</p>}
            {act.isError && <Alert tone="error">{usersErrorText(act.error, t, lang)}</Alert>}
            <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
              <Button type="button" variant="secondary" onClick={close}>
                {t('admin.users.cancel')}
              </Button>
              <Button
                type="submit"
                variant={open === 'terminate' || open === 'delete' ? 'danger' : 'primary'}
                loading={act.isPending}
                data-testid={open === 'credits' ? 'admin-user-credits-submit' : 'admin-user-action-submit'}
              >
                {submitLabel(open)}
              </Button>
            </div>
          </form>
        </Dialog>
      )}
      {reauthDialog}
    </Card>
  );
}
