import { useMutation } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ledgerEntryView } from '../../../../shared/api/credits';
import { Alert, Badge, Button, Card, DetailSection } from '../../../components/ui';
import { useCan } from '../../../lib/admin';
import { formatMoney, formatNumber } from '../../../lib/billing';
import { dateTime, relativeTime } from '../../../lib/format';
import type { z } from 'zod';
import { ledgerPage, type AdminUserDetail } from './api';
import { dash, RoleBadge, Row, ScrollTable, StatusBadge, TableHead, td, usersErrorText } from './shared';

type LedgerEntry = z.infer<typeof ledgerEntryView>;

function When({ at, relative = false }: { at: string | null; relative?: boolean }) {
  const { i18n } = useTranslation();
  if (!at) return <>{dash}</>;
  return (
    <time dateTime={at} title={dateTime(at, i18n.language)}>
      {relative ? relativeTime(at, i18n.language) : dateTime(at, i18n.language)}
    </time>
  );
}

function Empty({ children }: { children: string }) {
  return (
    <Card padding="sm">
      <p className="text-sm text-zinc-600 dark:text-zinc-400">{children}</p>
    </Card>
  );
}

export function ProfileSection({ user }: { user: AdminUserDetail }) {
  const { t } = useTranslation();
  const p = user.profile;
  return (
    <DetailSection id="user-profile" title={t('admin.users.sections.profile')}>
      <Card padding="md">
        <dl className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800" data-testid="admin-user-profile">
          <Row term={t('admin.users.profile.email')}>{p.email}</Row>
          <Row term={t('admin.users.profile.name')}>{p.name || dash}</Row>
          <Row term={t('admin.users.profile.id')}>
            <span className="font-mono text-xs">{p.id}</span>
          </Row>
          <Row term={t('admin.users.profile.role')}>
            <RoleBadge role={p.role} />
          </Row>
          <Row term={t('admin.users.profile.status')}>
            <span className="inline-flex flex-col items-start gap-1 sm:items-end">
              <StatusBadge status={p.status} />
              {p.statusReason && <span className="text-xs font-normal text-zinc-600 dark:text-zinc-400">{p.statusReason}</span>}
            </span>
          </Row>
          <Row term={t('admin.users.profile.emailVerified')}>{p.emailVerified ? t('admin.users.yes') : t('admin.users.no')}</Row>
          <Row term={t('admin.users.profile.language')}>{t(`language.names.${p.language}`, { defaultValue: p.language })}</Row>
          <Row term={t('admin.users.profile.region')}>{p.region ?? dash}</Row>
          <Row term={t('admin.users.profile.signInMethods')}>
            {p.signInMethods.length ? p.signInMethods.map((m) => t(`admin.users.methods.${m}`, { defaultValue: m })).join(', ') : dash}
          </Row>
          <Row term={t('admin.users.profile.referralCode')}>
            <span className="font-mono text-xs">{p.referralCode}</span>
          </Row>
          <Row term={t('admin.users.profile.referredBy')}>
            {p.referredBy ? (
              <Link to="/admin/users/$id" params={{ id: p.referredBy.id }} className="text-brand-700 hover:underline dark:text-brand-300">
                {p.referredBy.email}
              </Link>
            ) : (
              dash
            )}
          </Row>
          <Row term={t('admin.users.profile.createdAt')}>
            <When at={p.createdAt} />
          </Row>
          <Row term={t('admin.users.profile.lastSignInAt')}>
            <When at={p.lastSignInAt} />
          </Row>
        </dl>
      </Card>
    </DetailSection>
  );
}

function LedgerTable({ entries }: { entries: LedgerEntry[] }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <ScrollTable label={t('admin.users.ledger')} minWidth="44rem" testId="admin-user-ledger">
      <TableHead
        columns={[
          t('admin.users.col.when'),
          t('admin.users.col.kind'),
          { label: t('admin.users.col.amount'), end: true },
          { label: t('admin.users.col.balanceAfter'), end: true },
          t('admin.users.col.reason'),
        ]}
      />
      <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
        {entries.map((e) => (
          <tr key={e.id} data-testid="admin-user-ledger-row">
            <td className={`${td} text-xs text-zinc-500 tabular-nums dark:text-zinc-400`}>
              <When at={e.createdAt} />
            </td>
            <td className={td}>{t(`admin.users.ledgerKinds.${e.kind}`, { defaultValue: e.kind })}</td>
            <td className={`${td} text-end tabular-nums ${e.amount < 0 ? 'text-red-700 dark:text-red-300' : ''}`}>
              {e.amount > 0 ? '+' : ''}
              {formatNumber(e.amount, lang)}
              {e.heldChange !== 0 && (
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">{t('admin.users.heldChange', { count: e.heldChange })}</span>
              )}
            </td>
            <td className={`${td} text-end tabular-nums`}>{formatNumber(e.balanceAfter, lang)}</td>
            <td className={`${td} max-w-80 truncate whitespace-normal`}>{e.reason}</td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

export function CreditsSection({ user }: { user: AdminUserDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [more, setMore] = useState<{ items: LedgerEntry[]; cursor: string | null } | null>(null);
  const cursor = more ? more.cursor : user.credits.nextLedgerCursor;
  const load = useMutation({
    mutationFn: (from: string) => ledgerPage(user.profile.id, from),
    onSuccess: (page) => setMore((m) => ({ items: [...(m?.items ?? []), ...page.history.items], cursor: page.history.nextCursor })),
  });
  // a refreshed page (after an action) starts the extra pages again
  const [seen, setSeen] = useState(user.credits.ledger[0]?.id);
  if (seen !== user.credits.ledger[0]?.id) {
    setSeen(user.credits.ledger[0]?.id);
    setMore(null);
  }
  const entries = [...user.credits.ledger, ...(more?.items ?? [])];
  return (
    <DetailSection id="user-credits" title={t('admin.users.sections.credits')}>
      <Card padding="md">
        <dl className="grid grid-cols-2 gap-4 text-sm">
          <div>
            <dt className="text-zinc-500 dark:text-zinc-400">{t('admin.users.available')}</dt>
            <dd
              className="text-2xl font-semibold text-zinc-900 tabular-nums dark:text-white"
              data-testid="admin-user-balance"
              data-balance={user.credits.available}
            >
              {formatNumber(user.credits.available, lang)}
            </dd>
          </div>
          <div>
            <dt className="text-zinc-500 dark:text-zinc-400">{t('admin.users.held')}</dt>
            <dd className="text-2xl font-semibold text-zinc-900 tabular-nums dark:text-white" data-testid="admin-user-held">
              {formatNumber(user.credits.held, lang)}
            </dd>
          </div>
        </dl>
      </Card>
      {entries.length ? <LedgerTable entries={entries} /> : <Empty>{t('admin.users.noLedger')}</Empty>}
      {load.isError && <Alert tone="error">{usersErrorText(load.error, t, lang)}</Alert>}
      {cursor && (
        <div className="flex justify-center">
          <Button size="sm" variant="secondary" onClick={() => load.mutate(cursor)} loading={load.isPending} data-testid="admin-user-ledger-more">
            {t('admin.users.moreLedger')}
          </Button>
        </div>
      )}
    </DetailSection>
  );
}

export function SessionsSection({ user }: { user: AdminUserDetail }) {
  const { t } = useTranslation();
  const device = (d: { deviceType: string | null; browser: string | null; os: string | null }) =>
    [d.deviceType ? t(`admin.users.deviceTypes.${d.deviceType}`, { defaultValue: d.deviceType }) : null, d.browser, d.os].filter(Boolean).join(' · ') || dash;
  return (
    <DetailSection id="user-sessions" title={t('admin.users.sections.sessions')}>
      {user.sessions.length ? (
        <ScrollTable label={t('admin.users.sessions')} minWidth="44rem" testId="admin-user-sessions">
          <TableHead
            columns={[
              t('admin.users.col.ip'),
              t('admin.users.col.device'),
              t('admin.users.col.region'),
              t('admin.users.col.signedIn'),
              t('admin.users.col.lastSeen'),
            ]}
          />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {user.sessions.map((s) => (
              <tr key={s.id}>
                <td className={`${td} font-mono text-xs`}>{s.ip ?? dash}</td>
                <td className={td}>{device(s)}</td>
                <td className={td}>{s.region ?? dash}</td>
                <td className={`${td} text-xs`}>
                  <When at={s.createdAt} />
                </td>
                <td className={`${td} text-xs`}>
                  <When at={s.lastSeenAt} relative />
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      ) : (
        <Empty>{t('admin.users.noSessions')}</Empty>
      )}
      <h3 className="pt-2 text-sm font-semibold text-zinc-900 dark:text-white">{t('admin.users.devices')}</h3>
      {user.devices.length ? (
        <ScrollTable label={t('admin.users.devices')} minWidth="36rem" testId="admin-user-devices">
          <TableHead columns={[t('admin.users.col.device'), t('admin.users.col.firstSeen'), t('admin.users.col.lastSeen')]} />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {user.devices.map((d) => (
              <tr key={d.id}>
                <td className={td}>{device(d)}</td>
                <td className={`${td} text-xs`}>
                  <When at={d.firstSeenAt} />
                </td>
                <td className={`${td} text-xs`}>
                  <When at={d.lastSeenAt} relative />
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      ) : (
        <Empty>{t('admin.users.noDevices')}</Empty>
      )}
    </DetailSection>
  );
}

export function OrdersSection({ user }: { user: AdminUserDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <DetailSection id="user-orders" title={t('admin.users.sections.orders')}>
      {user.orders.length ? (
        <ScrollTable label={t('admin.users.sections.orders')} minWidth="48rem" testId="admin-user-orders">
          <TableHead
            columns={[
              t('admin.users.col.order'),
              t('admin.users.col.status'),
              { label: t('admin.users.col.amount'), end: true },
              { label: t('admin.users.col.credits'), end: true },
              t('admin.users.col.provider'),
              t('admin.users.col.created'),
            ]}
          />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {user.orders.map((o) => (
              <tr key={o.id}>
                <th scope="row" className={`${td} text-start font-normal`}>
                  <Link to="/admin/orders/$id" params={{ id: o.id }} className="font-medium text-brand-700 hover:underline dark:text-brand-300">
                    {o.planName}
                  </Link>
                  <span className="block font-mono text-xs text-zinc-500 dark:text-zinc-400">{o.id}</span>
                </th>
                <td className={td}>{t(`admin.users.orderStatuses.${o.status}`, { defaultValue: o.status })}</td>
                <td className={`${td} text-end tabular-nums`}>
                  {formatMoney(o.amountMinor, o.currency, lang)}
                  {o.refundedMinor > 0 && (
                    <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                      {t('admin.users.refunded', { amount: formatMoney(o.refundedMinor, o.currency, lang) })}
                    </span>
                  )}
                </td>
                <td className={`${td} text-end tabular-nums`}>{formatNumber(o.credits, lang)}</td>
                <td className={td}>{o.provider}</td>
                <td className={`${td} text-xs`}>
                  <When at={o.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      ) : (
        <Empty>{t('admin.users.noOrders')}</Empty>
      )}
    </DetailSection>
  );
}

export function GenerationsSection({ user }: { user: AdminUserDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <DetailSection id="user-generations" title={t('admin.users.sections.generations')}>
      {user.generations.length ? (
        <ScrollTable label={t('admin.users.sections.generations')} minWidth="44rem" testId="admin-user-generations">
          <TableHead
            columns={[
              t('admin.users.col.generation'),
              t('admin.users.col.model'),
              t('admin.users.col.status'),
              { label: t('admin.users.col.credits'), end: true },
              t('admin.users.col.created'),
            ]}
          />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {user.generations.map((g) => (
              <tr key={g.id}>
                <th scope="row" className={`${td} text-start font-normal`}>
                  <Link to="/admin/generations/$id" params={{ id: g.id }} className="font-mono text-xs text-brand-700 hover:underline dark:text-brand-300">
                    {g.id}
                  </Link>
                  {g.deleted && (
                    <Badge tone="neutral" className="ms-2">
                      {t('admin.users.deleted')}
                    </Badge>
                  )}
                </th>
                <td className={td}>{g.modelId}</td>
                <td className={td}>{t(`admin.users.generationStatuses.${g.status}`, { defaultValue: g.status })}</td>
                <td className={`${td} text-end tabular-nums`}>{formatNumber(g.priceCredits, lang)}</td>
                <td className={`${td} text-xs`}>
                  <When at={g.createdAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      ) : (
        <Empty>{t('admin.users.noGenerations')}</Empty>
      )}
    </DetailSection>
  );
}

export function ApiKeysSection({ user }: { user: AdminUserDetail }) {
  const { t } = useTranslation();
  // (when the page was loaded is close enough to tell an expired key)
  const [now] = useState(() => Date.now());
  const state = (k: AdminUserDetail['apiKeys'][number]) =>
    k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) <= now ? 'expired' : ('active' as const);
  return (
    <DetailSection id="user-keys" title={t('admin.users.sections.apiKeys')}>
      {user.apiKeys.length ? (
        <ScrollTable label={t('admin.users.sections.apiKeys')} minWidth="48rem" testId="admin-user-keys">
          <TableHead
            columns={[
              t('admin.users.col.key'),
              t('admin.users.col.scopes'),
              t('admin.users.col.status'),
              t('admin.users.col.created'),
              t('admin.users.col.lastUsed'),
            ]}
          />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {user.apiKeys.map((k) => (
              <tr key={k.id}>
                <th scope="row" className={`${td} text-start font-normal`}>
                  <span className="block font-medium text-zinc-900 dark:text-white">{k.name}</span>
                  <span className="block font-mono text-xs text-zinc-500 dark:text-zinc-400">{k.prefix}…</span>
                </th>
                <td className={`${td} font-mono text-xs`}>{k.scopes.join(', ')}</td>
                <td className={td}>
                  <Badge tone={state(k) === 'active' ? 'success' : 'neutral'}>{t(`admin.users.keyStates.${state(k)}`)}</Badge>
                </td>
                <td className={`${td} text-xs`}>
                  <When at={k.createdAt} />
                </td>
                <td className={`${td} text-xs`}>{k.lastUsedAt ? <When at={k.lastUsedAt} relative /> : t('admin.users.never')}</td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      ) : (
        <Empty>{t('admin.users.noKeys')}</Empty>
      )}
    </DetailSection>
  );
}

export function SafetySection({ user }: { user: AdminUserDetail }) {
  const { t } = useTranslation();
  const can = useCan();
  const s = user.safety;
  return (
    <DetailSection id="user-safety" title={t('admin.users.sections.safety')}>
      {s.billingFlag && (
        <Alert tone="warning" title={t('admin.users.billingFlag')} data-testid="admin-user-billing-flag">
          {s.billingFlag}
        </Alert>
      )}
      <Card padding="md">
        <dl className="text-sm">
          <Row term={t('admin.users.strikes')}>{s.strikes}</Row>
        </dl>
      </Card>
      {s.cases.length ? (
        <ScrollTable label={t('admin.users.cases')} minWidth="40rem" testId="admin-user-cases">
          <TableHead columns={[t('admin.users.col.case'), t('admin.users.col.status'), t('admin.users.col.outcome'), t('admin.users.col.opened')]} />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {s.cases.map((c) => (
              <tr key={c.id}>
                <th scope="row" className={`${td} text-start font-normal`}>
                  {can('moderation.review') ? (
                    <Link to="/moderation/cases/$id" params={{ id: c.id }} className="font-mono text-xs text-brand-700 hover:underline dark:text-brand-300">
                      {c.id}
                    </Link>
                  ) : (
                    <span className="font-mono text-xs">{c.id}</span>
                  )}
                  <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                    {t(`admin.users.caseSubjects.${c.subject}`, { defaultValue: c.subject })}
                    {c.topCategory ? ` · ${c.topCategory}` : ''}
                  </span>
                </th>
                <td className={td}>
                  <Badge tone={c.status === 'open' ? 'warning' : 'neutral'}>{t(`admin.users.caseStatuses.${c.status}`, { defaultValue: c.status })}</Badge>
                </td>
                <td className={td}>{c.outcome ?? dash}</td>
                <td className={`${td} text-xs`}>
                  <When at={c.openedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      ) : (
        <Empty>{t('admin.users.noCases')}</Empty>
      )}
    </DetailSection>
  );
}

export function ConsentSection({ user }: { user: AdminUserDetail }) {
  const { t } = useTranslation();
  const c = user.consent;
  return (
    <DetailSection id="user-consent" title={t('admin.users.sections.consent')}>
      <Card padding="md">
        <dl className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800" data-testid="admin-user-consent">
          <Row term={t('admin.users.marketing')}>{c.marketingOptInAt ? <When at={c.marketingOptInAt} /> : t('admin.users.notOptedIn')}</Row>
          <Row term={t('admin.users.noticesDismissed')}>
            {c.policyNoticeDismissals.length ? (
              <ul className="space-y-0.5">
                {c.policyNoticeDismissals.map((d) => (
                  <li key={`${d.document}:${d.version}`}>
                    {t(`admin.users.documents.${d.document}`, { defaultValue: d.document })} {d.version} · <When at={d.dismissedAt} />
                  </li>
                ))}
              </ul>
            ) : (
              t('admin.users.none')
            )}
          </Row>
        </dl>
      </Card>
    </DetailSection>
  );
}

export function PrivacySection({ user }: { user: AdminUserDetail }) {
  const { t, i18n } = useTranslation();
  const p = user.privacy;
  return (
    <DetailSection id="user-privacy" title={t('admin.users.sections.privacy')}>
      {p.pendingDeletion && (
        <Alert tone="warning" title={t('admin.users.deletionPending')} data-testid="admin-user-deletion">
          <p>
            {t('admin.users.deletionDue', {
              date: dateTime(p.pendingDeletion.dueAt, i18n.language),
              origin: t(`admin.users.deletionOrigins.${p.pendingDeletion.origin}`, { defaultValue: p.pendingDeletion.origin }),
            })}
          </p>
          {p.pendingDeletion.reason && <p>{t('admin.users.deletionReason', { reason: p.pendingDeletion.reason })}</p>}
        </Alert>
      )}
      {p.closedForDeletionAt && (
        <Alert tone="warning" title={t('admin.users.closedForDeletion')}>
          {t('admin.users.closedForDeletionBody', { date: dateTime(p.closedForDeletionAt, i18n.language) })}
        </Alert>
      )}
      {p.exports.length ? (
        <ScrollTable label={t('admin.users.exports')} minWidth="36rem" testId="admin-user-exports">
          <TableHead columns={[t('admin.users.col.requested'), t('admin.users.col.status'), t('admin.users.col.by'), t('admin.users.col.expires')]} />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {p.exports.map((e) => (
              <tr key={e.id}>
                <td className={`${td} text-xs`}>
                  <When at={e.createdAt} />
                </td>
                <td className={td}>{t(`admin.users.exportStatuses.${e.status}`, { defaultValue: e.status })}</td>
                <td className={td}>{e.byOperator ? t('admin.users.byOperator') : t('admin.users.byUser')}</td>
                <td className={`${td} text-xs`}>
                  <When at={e.expiresAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      ) : (
        <Empty>{t('admin.users.noExports')}</Empty>
      )}
    </DetailSection>
  );
}
