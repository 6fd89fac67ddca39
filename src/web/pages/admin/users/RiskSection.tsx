import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ADMIN_REASON_MAX } from '../../../../shared/api/admin-users';
import { useReauth } from '../../../components/admin/useReauth';
import { QueryState } from '../../../components/PageStates';
import { Alert, Button, Card, DetailSection, Dialog, TextArea, useToast } from '../../../components/ui';
import { useCan } from '../../../lib/admin';
import { ApiError } from '../../../lib/api';
import { useMe } from '../../../lib/auth';
import { formatMoney, formatNumber } from '../../../lib/billing';
import { dateTime } from '../../../lib/format';
import { grantFreeCredits, refreshRisk, userRiskQuery, type AdminUserRisk } from '../risk/api';
import { FreeCreditBadge, KindList, StrengthBadge, useKindName } from '../risk/shared';
import { refreshUsers } from './api';
import { dash, Row, ScrollTable, StatusBadge, TableHead, td, usersErrorText } from './shared';

function At({ at }: { at: string | null }) {
  const { i18n } = useTranslation();
  if (!at) return <>{dash}</>;
  return <time dateTime={at}>{dateTime(at, i18n.language)}</time>;
}

const muted = 'text-sm text-zinc-600 dark:text-zinc-400';

/** The flags on the account, each with the reason a person can read. */
function Flags({ risk, onGrant }: { risk: AdminUserRisk; onGrant: (() => void) | null }) {
  const { t, i18n } = useTranslation();
  const f = risk.flags;
  const fc = f.freeCredits;
  const none = !f.generationHold && !f.billingFlag && !fc && !f.openCases.length && !f.riskyOrders.length;
  return (
    <Card padding="md">
      {none ? (
        <p className={muted}>{t('admin.risk.noFlags')}</p>
      ) : (
        <dl className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800" data-testid="admin-risk-flags">
          {f.generationHold && (
            <Row term={t('admin.risk.flags.generationHold')}>
              <span className="block">{f.generationHold.reason}</span>
              {f.generationHold.since && (
                <span className="block text-xs font-normal text-zinc-500 dark:text-zinc-400">
                  {t('admin.risk.since', { date: dateTime(f.generationHold.since, i18n.language) })}
                </span>
              )}
            </Row>
          )}
          {f.billingFlag && <Row term={t('admin.risk.flags.billingFlag')}>{f.billingFlag}</Row>}
          {fc && (
            <Row term={t('admin.risk.flags.freeCredits')}>
              <span className="inline-flex flex-col items-start gap-1 sm:items-end" data-testid="admin-risk-free-credits" data-state={fc.state}>
                <span className="inline-flex items-center gap-2">
                  <FreeCreditBadge state={fc.state} />
                  <span className="tabular-nums">{t('admin.risk.creditsCount', { count: fc.credits, n: formatNumber(fc.credits, i18n.language) })}</span>
                </span>
                {fc.reason && <span className="text-xs font-normal text-zinc-600 dark:text-zinc-400">{fc.reason}</span>}
                {fc.matchedUser && (
                  <span className="text-xs font-normal">
                    {t('admin.risk.matched')}{' '}
                    <Link to="/admin/users/$id" params={{ id: fc.matchedUser.id }} className="text-brand-700 hover:underline dark:text-brand-300">
                      {fc.matchedUser.email ?? t('admin.risk.deletedAccount')}
                    </Link>
                  </span>
                )}
                {onGrant && (
                  <Button size="sm" variant="secondary" onClick={onGrant} data-testid="admin-risk-grant">
                    {t('admin.risk.grant.button')}
                  </Button>
                )}
              </span>
            </Row>
          )}
          {f.openCases.map((c) => (
            <Row key={c.id} term={t('admin.risk.flags.openCase')}>
              <span className="block">{c.reason ?? c.topCategory ?? t('admin.risk.noReason')}</span>
              <span className="block text-xs font-normal text-zinc-500 dark:text-zinc-400">
                <Link to="/moderation/cases/$id" params={{ id: c.id }} className="text-brand-700 hover:underline dark:text-brand-300">
                  {t('admin.risk.openCaseLink')}
                </Link>{' '}
                · <At at={c.openedAt} />
              </span>
            </Row>
          ))}
          {f.riskyOrders.map((o) => (
            <Row key={o.id} term={t('admin.risk.flags.riskyOrder')}>
              <span className="block">
                {t('admin.risk.radar', {
                  level: t(`admin.risk.riskLevels.${o.riskLevel}`, { defaultValue: o.riskLevel }),
                  outcome: o.riskOutcome ?? dash,
                })}
              </span>
              <span className="block text-xs font-normal text-zinc-500 dark:text-zinc-400">
                <Link to="/admin/orders/$id" params={{ id: o.id }} className="text-brand-700 hover:underline dark:text-brand-300">
                  {formatMoney(o.amountMinor, o.currency, i18n.language)}
                </Link>{' '}
                · <At at={o.createdAt} />
              </span>
            </Row>
          ))}
        </dl>
      )}
    </Card>
  );
}

function Signals({ risk }: { risk: AdminUserRisk }) {
  const { t, i18n } = useTranslation();
  const kindName = useKindName();
  if (!risk.signals.length) return <p className={muted}>{t('admin.risk.noSignals')}</p>;
  return (
    <ScrollTable label={t('admin.risk.signals')} minWidth="44rem" testId="admin-risk-signals">
      <TableHead
        columns={[
          t('admin.risk.col.kind'),
          t('admin.risk.col.value'),
          t('admin.risk.col.source'),
          t('admin.risk.col.firstSeen'),
          t('admin.risk.col.lastSeen'),
          { label: t('admin.risk.col.shared'), end: true },
        ]}
      />
      <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
        {risk.signals.map((s, i) => (
          <tr key={`${s.kind}-${i}`} data-testid="admin-risk-signal" data-kind={s.kind}>
            <th scope="row" className={`${td} text-start font-medium`}>
              {kindName(s.kind)}
            </th>
            <td className={`${td} font-mono text-xs`}>{s.label ?? t('admin.risk.masked')}</td>
            <td className={td}>{t(`admin.risk.sources.${s.source}`)}</td>
            <td className={`${td} text-xs`}>
              <At at={s.firstSeenAt} />
            </td>
            <td className={`${td} text-xs`}>
              <At at={s.lastSeenAt} />
            </td>
            <td className={`${td} text-end tabular-nums ${s.sharedWith ? 'font-semibold text-amber-700 dark:text-amber-300' : ''}`}>
              {formatNumber(s.sharedWith, i18n.language)}
            </td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

function Linked({ risk }: { risk: AdminUserRisk }) {
  const { t } = useTranslation();
  if (!risk.linked.length) return <p className={muted}>{t('admin.risk.noLinked')}</p>;
  return (
    <>
      <ScrollTable label={t('admin.risk.linked')} minWidth="48rem" testId="admin-risk-linked">
        <TableHead
          columns={[
            t('admin.risk.col.account'),
            t('admin.risk.col.link'),
            t('admin.risk.col.shares'),
            t('admin.risk.col.status'),
            t('admin.risk.col.freeCredits'),
            t('admin.risk.col.lastShared'),
          ]}
        />
        <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
          {risk.linked.map((l) => (
            <tr key={l.id} data-testid="admin-risk-linked-row" data-user-id={l.id} data-strength={l.strength}>
              <th scope="row" className={`${td} max-w-64 truncate text-start font-normal`}>
                <Link to="/admin/users/$id" params={{ id: l.id }} className="text-brand-700 hover:underline dark:text-brand-300">
                  {l.email}
                </Link>
              </th>
              <td className={td}>
                <StrengthBadge strength={l.strength} />
              </td>
              <td className={td}>
                <KindList kinds={l.kinds} />
              </td>
              <td className={td}>
                <StatusBadge status={l.status} />
              </td>
              <td className={td}>
                <FreeCreditBadge state={l.freeCredits} />
              </td>
              <td className={`${td} text-xs`}>
                <At at={l.lastSharedAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </ScrollTable>
      {risk.linkedTruncated && <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.risk.linkedTruncated', { count: risk.linked.length })}</p>}
    </>
  );
}

/** The grant of withheld free credits: a reason, the password when the sign-in is older than 10 minutes. */
function GrantDialog({ userId, email, credits, onClose }: { userId: string; email: string; credits: number; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const { run, dialog: reauthDialog } = useReauth();
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState(false);
  // hidden while the password dialog is up (two dialogs at once would fight over the focus)
  const [hidden, setHidden] = useState(false);
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const grant = useMutation({
    mutationFn: () =>
      run(async () => {
        try {
          return await grantFreeCredits(userId, reason.trim());
        } catch (err) {
          if (err instanceof ApiError && err.code === 'reauth_required') setHidden(true);
          throw err;
        }
      }),
    onSuccess: async (r) => {
      onClose();
      toast({
        title: r.replayed ? t('admin.risk.grant.already') : t('admin.risk.grant.done', { count: r.credits, n: formatNumber(r.credits, i18n.language) }),
        tone: 'success',
      });
      await Promise.all([refreshRisk(queryClient), refreshUsers(queryClient)]);
    },
    onError: () => setHidden(false),
  });
  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!reason.trim()) {
      setInvalid(true);
      reasonRef.current?.focus();
      return;
    }
    grant.mutate();
  };
  return (
    <>
      <Dialog
        open={!hidden}
        onClose={onClose}
        title={t('admin.risk.grant.title', { email })}
        description={t('admin.risk.grant.body', { count: credits, n: formatNumber(credits, i18n.language) })}
        initialFocus={reasonRef}
      >
        <form onSubmit={submit} noValidate className="space-y-4" data-testid="admin-risk-grant-form">
          <TextArea
            ref={reasonRef}
            label={t('admin.users.reason')}
            hint={t('admin.users.reasonHint')}
            required
            rows={2}
            maxLength={ADMIN_REASON_MAX}
            value={reason}
            onChange={(e) => {
              setReason(e.target.value);
              setInvalid(false);
            }}
            error={invalid ? t('admin.users.reasonRequired') : undefined}
            data-testid="admin-risk-grant-reason"
          />
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.users.sensitive')}</p>
          {grant.isError && <Alert tone="error">{usersErrorText(grant.error, t, i18n.language)}</Alert>}
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <Button type="button" variant="secondary" onClick={onClose}>
              {t('admin.users.cancel')}
            </Button>
            <Button type="submit" loading={grant.isPending} data-testid="admin-risk-grant-submit">
              {t('admin.risk.grant.confirm')}
            </Button>
          </div>
        </form>
      </Dialog>
      {reauthDialog}
    </>
  );
}

/**
 * The user page's Risk section (issue 19): the flags with their reasons (and the grant of withheld
 * free credits, admins), the account's signals, masked, and the accounts that share them. Support and
 * admins; the server checks every call.
 */
export function RiskSection({ userId, email }: { userId: string; email: string }) {
  const { t, i18n } = useTranslation();
  const can = useCan();
  const me = useMe().data;
  const query = useQuery(userRiskQuery(userId));
  const [granting, setGranting] = useState(false);
  const risk = query.data;
  const fc = risk?.flags.freeCredits;
  const mayGrant = can('risk.manage') && me?.id !== userId && fc?.state === 'withheld';
  return (
    <DetailSection id="user-risk" title={t('admin.risk.section')}>
      <div data-testid="admin-user-risk" className="space-y-3">
        <QueryState
          pending={query.isPending}
          error={query.isError ? query.error : null}
          onRetry={() => void query.refetch()}
          loadingText={t('admin.risk.loading')}
          errorTitle={t('admin.risk.error')}
          errorMessage={query.isError ? usersErrorText(query.error, t, i18n.language) : ''}
          retryLabel={t('admin.users.retry')}
        >
          {risk && (
            <>
              <h3 className="text-sm font-semibold text-zinc-800 dark:text-zinc-200">{t('admin.risk.flagsTitle')}</h3>
              <Flags risk={risk} onGrant={mayGrant ? () => setGranting(true) : null} />
              <h3 className="pt-2 text-sm font-semibold text-zinc-800 dark:text-zinc-200">{t('admin.risk.signals')}</h3>
              <Signals risk={risk} />
              <h3 className="pt-2 text-sm font-semibold text-zinc-800 dark:text-zinc-200">{t('admin.risk.linked')}</h3>
              <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.risk.linkedHint', { count: risk.ipWindowDays })}</p>
              <Linked risk={risk} />
            </>
          )}
        </QueryState>
      </div>
      {granting && fc && <GrantDialog userId={userId} email={email} credits={fc.credits} onClose={() => setGranting(false)} />}
    </DetailSection>
  );
}
