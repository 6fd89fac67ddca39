import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { useRef, useState, type ReactNode, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useReauth } from '../../components/admin/useReauth';
import { InboxIcon } from '../../components/icons';
import { BackLink, PageLoadFailed, PageLoading } from '../../components/PageStates';
import { Alert, Button, Card, DetailSection, Dialog, Select, TextArea, useToast } from '../../components/ui';
import { useMe } from '../../lib/auth';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import {
  canConfirmChild,
  confirmChildReport,
  deleteAccountFor,
  PRIVACY_RESOLUTION_MAX,
  privacyRequestQuery,
  privacyRequestStatuses,
  startExportFor,
  updatePrivacyRequest,
  type PrivacyRequestDetail,
  type PrivacyRequestStatus,
} from '../../lib/privacy-requests';
import { usePageTitle } from '../../lib/usePageTitle';
import { RequestBadges } from './privacy-shared';

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="flex flex-col gap-0.5 py-1.5 sm:flex-row sm:justify-between sm:gap-4">
      <dt className="text-zinc-500 dark:text-zinc-400">{term}</dt>
      <dd className="min-w-0 font-medium break-all text-zinc-900 sm:text-end dark:text-zinc-100">{children}</dd>
    </div>
  );
}

/** A dialog that asks for a reason before an action that deletes an account. */
function ReasonDialog(props: {
  open: boolean;
  onClose: () => void;
  title: string;
  description: string;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  onSubmit: (reason: string) => void;
  children?: ReactNode;
}) {
  const { t, i18n } = useTranslation();
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const submit = () => {
    if (!reason.trim()) {
      setMissing(true);
      ref.current?.focus();
      return;
    }
    props.onSubmit(reason.trim());
  };
  return (
    <Dialog
      open={props.open}
      onClose={props.onClose}
      title={props.title}
      description={props.description}
      initialFocus={ref}
      footer={
        <>
          <Button variant="secondary" onClick={props.onClose}>
            {t('privacyRequests.operator.cancel')}
          </Button>
          <Button variant="danger" onClick={submit} loading={props.pending} data-testid="reason-dialog-submit">
            {props.submitLabel}
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        {props.children}
        <TextArea
          ref={ref}
          label={t('privacyRequests.operator.reason')}
          hint={t('privacyRequests.operator.reasonHint')}
          required
          rows={2}
          maxLength={2000}
          value={reason}
          onChange={(e) => {
            setReason(e.target.value);
            setMissing(false);
          }}
          error={missing ? t('privacyRequests.operator.reasonRequired') : undefined}
        />
        {props.error ? <Alert tone="error">{errorText(props.error, t, i18n.language)}</Alert> : null}
      </div>
    </Dialog>
  );
}

/** The account the request is about, and what an operator can do for it (export, delete, confirm a child report). */
function AccountCard({ request: r }: { request: PrivacyRequestDetail }) {
  const { t, i18n } = useTranslation();
  const me = useMe().data;
  const admin = canConfirmChild(me);
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const [dialog, setDialog] = useState<'delete' | 'child' | null>(null);
  const [when, setWhen] = useState<'now' | 'grace'>('grace');
  const open = r.status === 'open' || r.status === 'in_progress';
  const account = r.account;
  // deleting an account asks for a recent sign-in or the password again (the server answers reauth_required)
  const reauth = useReauth();

  const exportFor = useMutation({
    mutationFn: (userId: string) => startExportFor(userId),
    onSuccess: () => toast({ title: t('privacyRequests.operator.exportStarted'), tone: 'success' }),
  });
  const deleteFor = useMutation({
    mutationFn: ({ userId, reason }: { userId: string; reason: string }) => reauth.run(() => deleteAccountFor(userId, reason, when)),
    onSuccess: async () => {
      setDialog(null);
      toast({ title: when === 'now' ? t('privacyRequests.operator.deleted') : t('privacyRequests.operator.deletionScheduled'), tone: 'success' });
      await queryClient.invalidateQueries({ queryKey: privacyRequestQuery(r.id).queryKey });
    },
  });
  const confirm = useMutation({
    mutationFn: (reason: string) => reauth.run(() => confirmChildReport(queryClient, r.id, reason)),
    onSuccess: (result) => {
      setDialog(null);
      toast({
        title: result.deletion.outcome === 'deleted' ? t('privacyRequests.operator.childConfirmed') : t('privacyRequests.operator.childConfirmedHeld'),
        tone: 'success',
      });
    },
  });

  return (
    <DetailSection id="request-account" title={t('privacyRequests.operator.accountTitle')}>
      {reauth.dialog}
      <Card padding="md" className="space-y-4" data-testid="privacy-request-account">
        {!account ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('privacyRequests.operator.noAccount')}</p>
        ) : (
          <>
            <dl className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
              <Row term={t('privacyRequests.operator.accountEmail')}>{account.email}</Row>
              <Row term={t('privacyRequests.operator.accountName')}>{account.name || '—'}</Row>
              <Row term={t('privacyRequests.operator.accountRole')}>{account.role}</Row>
              <Row term={t('privacyRequests.operator.accountStatus')}>{account.status}</Row>
              <Row term={t('privacyRequests.operator.accountId')}>
                <span className="font-mono text-xs">{account.id}</span>
              </Row>
            </dl>
            <Alert tone={account.match === 'linked' ? 'info' : 'warning'}>
              {account.match === 'linked' ? t('privacyRequests.operator.matchLinked') : t('privacyRequests.operator.matchEmail')}
            </Alert>
            {exportFor.isError && <Alert tone="error">{errorText(exportFor.error, t, i18n.language)}</Alert>}
            <div className="flex flex-wrap gap-2">
              <Button size="sm" variant="secondary" onClick={() => exportFor.mutate(account.id)} loading={exportFor.isPending} data-testid="start-export">
                {t('privacyRequests.operator.startExport')}
              </Button>
              {admin && r.kind !== 'child' && (
                <Button size="sm" variant="danger" onClick={() => setDialog('delete')} data-testid="delete-account">
                  {t('privacyRequests.operator.deleteAccount')}
                </Button>
              )}
              {admin && r.kind === 'child' && open && (
                <Button size="sm" variant="danger" onClick={() => setDialog('child')} data-testid="confirm-child">
                  {t('privacyRequests.operator.confirmChild')}
                </Button>
              )}
            </div>
            {!admin && <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('privacyRequests.operator.adminOnly')}</p>}
          </>
        )}
      </Card>
      {account && (
        <>
          <ReasonDialog
            open={dialog === 'delete'}
            onClose={() => setDialog(null)}
            title={t('privacyRequests.operator.deleteTitle', { email: account.email })}
            description={t('privacyRequests.operator.deleteLead')}
            submitLabel={when === 'now' ? t('privacyRequests.operator.deleteNow') : t('privacyRequests.operator.deleteGrace')}
            pending={deleteFor.isPending}
            error={deleteFor.isError ? deleteFor.error : null}
            onSubmit={(reason) => deleteFor.mutate({ userId: account.id, reason })}
          >
            <Select label={t('privacyRequests.operator.when')} value={when} onChange={(e) => setWhen(e.target.value === 'now' ? 'now' : 'grace')}>
              <option value="grace">{t('privacyRequests.operator.whenGrace')}</option>
              <option value="now">{t('privacyRequests.operator.whenNow')}</option>
            </Select>
          </ReasonDialog>
          <ReasonDialog
            open={dialog === 'child'}
            onClose={() => setDialog(null)}
            title={t('privacyRequests.operator.childTitle', { email: account.email })}
            description={t('privacyRequests.operator.childLead')}
            submitLabel={t('privacyRequests.operator.childSubmit')}
            pending={confirm.isPending}
            error={confirm.isError ? confirm.error : null}
            onSubmit={(reason) => confirm.mutate(reason)}
          />
        </>
      )}
    </DetailSection>
  );
}

/** Move the request on, or close it with what was done. */
function AnswerForm({ request: r }: { request: PrivacyRequestDetail }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const [status, setStatus] = useState<PrivacyRequestStatus>(r.status);
  const [resolution, setResolution] = useState(r.resolution ?? '');
  const [missing, setMissing] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const closing = status === 'done' || status === 'rejected';
  const save = useMutation({
    mutationFn: () => updatePrivacyRequest(queryClient, r.id, { status, resolution: resolution.trim() }),
    onSuccess: () => toast({ title: t('privacyRequests.operator.saved'), tone: 'success' }),
  });
  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (closing && !resolution.trim()) {
      setMissing(true);
      ref.current?.focus();
      return;
    }
    save.mutate();
  };
  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" data-testid="privacy-request-answer">
      <Select label={t('privacyRequests.operator.statusLabel')} value={status} onChange={(e) => setStatus(e.target.value as PrivacyRequestStatus)}>
        {privacyRequestStatuses.map((s) => (
          <option key={s} value={s}>
            {t(`privacyRequests.operator.status.${s}`)}
          </option>
        ))}
      </Select>
      <TextArea
        ref={ref}
        label={t('privacyRequests.operator.resolution')}
        hint={t('privacyRequests.operator.resolutionHint')}
        required={closing}
        rows={3}
        maxLength={PRIVACY_RESOLUTION_MAX}
        value={resolution}
        onChange={(e) => {
          setResolution(e.target.value);
          setMissing(false);
        }}
        error={missing ? t('privacyRequests.operator.resolutionRequired') : undefined}
      />
      {save.isError && <Alert tone="error">{errorText(save.error, t, i18n.language)}</Alert>}
      <div className="flex justify-end">
        <Button type="submit" loading={save.isPending} data-testid="privacy-request-save">
          {t('privacyRequests.operator.save')}
        </Button>
      </div>
    </form>
  );
}

/** /operator/privacy-requests/$id: one request, the account it is about, and the operator's answer. */
export function PrivacyRequestDetailPage() {
  const { t, i18n } = useTranslation();
  const { id } = useParams({ from: '/operator/privacy-requests/$id' });
  const query = useQuery(privacyRequestQuery(id));
  usePageTitle(t('privacyRequests.operator.detailTitle', { reference: id }));
  const back = <BackLink to="/operator/privacy-requests">{t('privacyRequests.operator.back')}</BackLink>;

  if (query.isPending) return <PageLoading />;
  if (query.isError)
    return (
      <PageLoadFailed
        back={back}
        error={query.error}
        notFound={{
          icon: <InboxIcon className="size-7" />,
          title: t('privacyRequests.operator.notFoundTitle'),
          body: t('privacyRequests.operator.notFoundBody'),
        }}
        errorTitle={t('privacyRequests.operator.error')}
        errorMessage={errorText(query.error, t, i18n.language)}
        retryLabel={t('privacyRequests.operator.retry')}
        onRetry={() => void query.refetch()}
      />
    );
  const r = query.data;
  const open = r.status === 'open' || r.status === 'in_progress';
  return (
    <div className="mx-auto max-w-3xl px-4 py-8 sm:px-6 sm:py-10" data-testid="privacy-request-detail">
      {back}
      <header className="mt-4 mb-6 space-y-2">
        <h1 className="font-mono text-2xl font-semibold tracking-tight text-zinc-900 sm:text-3xl dark:text-white">{r.id}</h1>
        <RequestBadges request={r} />
      </header>
      <div className="space-y-8">
        <DetailSection id="request-facts" title={t('privacyRequests.operator.factsTitle')}>
          <Card padding="md">
            <dl className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
              <Row term={t('privacyRequests.operator.from')}>{r.name ? `${r.name} <${r.email}>` : r.email}</Row>
              {r.subjectEmail && <Row term={t('privacyRequests.operator.subjectEmail')}>{r.subjectEmail}</Row>}
              <Row term={t('privacyRequests.operator.signedIn')}>{r.userId ? t('privacyRequests.operator.yes') : t('privacyRequests.operator.no')}</Row>
              <Row term={t('privacyRequests.operator.language')}>{t(`language.names.${r.language}`, { defaultValue: r.language })}</Row>
              <Row term={t('privacyRequests.operator.receivedLabel')}>{dateTime(r.createdAt, i18n.language)}</Row>
              <Row term={t('privacyRequests.operator.dueLabel')}>
                <span className={r.overdue ? 'text-red-700 dark:text-red-300' : undefined}>{dateTime(r.dueAt, i18n.language)}</span>
              </Row>
              {r.closedAt && <Row term={t('privacyRequests.operator.closedLabel')}>{dateTime(r.closedAt, i18n.language)}</Row>}
            </dl>
          </Card>
          <Card padding="md">
            <h3 className="text-sm font-semibold text-zinc-900 dark:text-white">{t('privacyRequests.operator.message')}</h3>
            <p className="mt-2 text-sm whitespace-pre-wrap break-words text-zinc-800 dark:text-zinc-200" data-testid="privacy-request-message">
              {r.message}
            </p>
          </Card>
        </DetailSection>
        <AccountCard request={r} />
        <DetailSection id="request-answer" title={t('privacyRequests.operator.answerTitle')}>
          <Card padding="md">
            {open ? (
              <AnswerForm key={`${r.status}:${r.resolution ?? ''}`} request={r} />
            ) : (
              <div className="space-y-2 text-sm" data-testid="privacy-request-closed">
                <p className="text-zinc-600 dark:text-zinc-400">{t('privacyRequests.operator.closedNote')}</p>
                <p className="whitespace-pre-wrap break-words text-zinc-900 dark:text-zinc-100">{r.resolution}</p>
              </div>
            )}
          </Card>
        </DetailSection>
      </div>
    </div>
  );
}
