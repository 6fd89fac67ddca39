import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { FilmIcon } from '../../components/icons';
import { BackLink, PageLoadFailed, PageLoading } from '../../components/PageStates';
import { Alert, Button, Card, DetailSection, useToast } from '../../components/ui';
import { useCan } from '../../lib/admin';
import { formatNumber } from '../../lib/billing';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { generationDetailQuery, type AdminGenerationDetail } from './generations/api';
import { ActionDialog } from './generations/ActionDialog';
import { GenerationStatusBadge } from './generations/shared';
import { dash, Row, ScrollTable, TableHead, td } from './users/shared';

const when = (value: string | null, lang: string) => (value ? <time dateTime={value}>{dateTime(value, lang)}</time> : dash);
const mono = (value: string | null) => (value ? <span className="font-mono text-xs break-all">{value}</span> : dash);

/** The loud notice on a task stuck past its deadline: it should never happen, and what to check. */
function StuckNotice() {
  const { t } = useTranslation();
  return (
    <Alert tone="error" title={t('admin.generations.stuckTitle')} data-testid="admin-generation-stuck-notice">
      <p>{t('admin.generations.stuckBody')}</p>
      <ul className="mt-2 list-disc space-y-1 ps-5">
        <li>{t('admin.generations.stuckCheck.workers')}</li>
        <li>{t('admin.generations.stuckCheck.logs')}</li>
        <li>{t('admin.generations.stuckCheck.queue')}</li>
        <li>{t('admin.generations.stuckCheck.provider')}</li>
        <li>{t('admin.generations.stuckCheck.clock')}</li>
      </ul>
      <p className="mt-2">{t('admin.generations.stuckRelease')}</p>
    </Alert>
  );
}

function Facts({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <DetailSection id={id} title={title}>
      <Card padding="sm">
        <dl className="grid gap-x-8 text-sm md:grid-cols-2">{children}</dl>
      </Card>
    </DetailSection>
  );
}

function Request({ detail }: { detail: AdminGenerationDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const g = detail.generation;
  const yesNo = (v: boolean) => (v ? t('admin.generations.yes') : t('admin.generations.no'));
  return (
    <>
      <DetailSection id="generation-prompt" title={t('admin.generations.sections.prompt')}>
        <Card padding="sm" className="space-y-3 text-sm">
          <p className="break-words whitespace-pre-wrap text-zinc-900 dark:text-zinc-100" data-testid="admin-generation-prompt">
            {g.prompt}
          </p>
          {g.negativePrompt && (
            <p className="break-words whitespace-pre-wrap text-zinc-600 dark:text-zinc-400">
              <span className="font-medium">{t('admin.generations.field.negativePrompt')}: </span>
              {g.negativePrompt}
            </p>
          )}
        </Card>
      </DetailSection>
      <Facts id="generation-request" title={t('admin.generations.sections.request')}>
        <Row term={t('admin.generations.field.user')}>
          <Link to="/admin/users/$id" params={{ id: detail.user.id }} className="break-all text-brand-700 hover:underline dark:text-brand-300">
            {detail.user.email || detail.user.id}
          </Link>
        </Row>
        <Row term={t('admin.generations.field.model')}>{g.model}</Row>
        <Row term={t('admin.generations.field.mode')}>{g.mode}</Row>
        <Row term={t('admin.generations.field.duration')}>{t('admin.generations.seconds', { count: g.durationSeconds })}</Row>
        <Row term={t('admin.generations.field.resolution')}>
          {g.resolution} · {g.aspectRatio}
        </Row>
        <Row term={t('admin.generations.field.audio')}>{yesNo(g.audio)}</Row>
        <Row term={t('admin.generations.field.seed')}>{g.seed ?? dash}</Row>
        <Row term={t('admin.generations.field.price')}>
          {t('admin.generations.credits', { count: g.priceCredits, formatted: formatNumber(g.priceCredits, lang) })}
        </Row>
        <Row term={t('admin.generations.field.source')}>{g.source}</Row>
        <Row term={t('admin.generations.field.apiKey')}>{mono(g.apiKeyId)}</Row>
        <Row term={t('admin.generations.field.remixedFrom')}>{mono(g.remixedFrom)}</Row>
        <Row term={t('admin.generations.field.references')}>
          {g.references.length
            ? g.references.map((r, i) => (
                <span key={i} className="block">
                  {r.kind} · {r.role ?? dash} · {r.mediaId ? mono(r.mediaId) : r.url ? <span className="break-all">{r.url}</span> : dash}
                </span>
              ))
            : dash}
        </Row>
      </Facts>
    </>
  );
}

function Processing({ detail }: { detail: AdminGenerationDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const g = detail.generation;
  return (
    <>
      <Facts id="generation-processing" title={t('admin.generations.sections.processing')}>
        <Row term={t('admin.generations.field.provider')}>{g.provider ?? dash}</Row>
        <Row term={t('admin.generations.field.upstreamModel')}>{g.upstreamModel ?? dash}</Row>
        <Row term={t('admin.generations.field.upstreamId')}>{mono(g.upstreamId)}</Row>
        <Row term={t('admin.generations.field.callbackKey')}>{mono(g.callbackKey)}</Row>
        <Row term={t('admin.generations.field.progress')}>{`${String(g.progress)} %`}</Row>
        <Row term={t('admin.generations.field.dispatchAttempts')}>{g.dispatchAttempts}</Row>
        <Row term={t('admin.generations.field.pollCount')}>{g.pollCount}</Row>
        <Row term={t('admin.generations.field.nextPoll')}>{when(g.nextPollAt, lang)}</Row>
        <Row term={t('admin.generations.field.outcomeUnknown')}>{when(g.outcomeUnknownSince, lang)}</Row>
        <Row term={t('admin.generations.field.created')}>{when(g.createdAt, lang)}</Row>
        <Row term={t('admin.generations.field.started')}>{when(g.startedAt, lang)}</Row>
        <Row term={t('admin.generations.field.deadline')}>{when(g.deadlineAt, lang)}</Row>
        <Row term={t('admin.generations.field.finished')}>{when(g.finishedAt, lang)}</Row>
        <Row term={t('admin.generations.field.updated')}>{when(g.updatedAt, lang)}</Row>
        <Row term={t('admin.generations.field.deleted')}>{when(g.deletedAt, lang)}</Row>
      </Facts>
      <DetailSection id="generation-attempts" title={t('admin.generations.sections.attempts')}>
        {!g.routeAttempts.length ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.generations.noAttempts')}</p>
        ) : (
          <ScrollTable label={t('admin.generations.sections.attempts')} minWidth="36rem" testId="admin-generation-attempts">
            <TableHead columns={[t('admin.generations.col.provider'), t('admin.generations.col.upstreamModel'), t('admin.generations.col.failure')]} />
            <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
              {g.routeAttempts.map((a, i) => (
                <tr key={i}>
                  <th scope="row" className={`${td} text-start font-normal`}>
                    {a.provider}
                  </th>
                  <td className={td}>{a.upstreamModel}</td>
                  <td className={`${td} whitespace-normal`}>
                    {a.failure ? `${a.failure.kind}${a.failure.upstreamCode ? ` (${a.failure.upstreamCode})` : ''}: ${a.failure.message}` : dash}
                  </td>
                </tr>
              ))}
            </tbody>
          </ScrollTable>
        )}
      </DetailSection>
    </>
  );
}

function Outcome({ detail }: { detail: AdminGenerationDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const g = detail.generation;
  const out = g.output;
  return (
    <DetailSection id="generation-outcome" title={t('admin.generations.sections.outcome')}>
      <Card padding="sm" className="space-y-3 text-sm">
        {g.failureCode && (
          <dl>
            <Row term={t('admin.generations.field.failure')}>{g.failureCode}</Row>
            <Row term={t('admin.generations.field.failureMessage')}>{g.failureMessage ?? dash}</Row>
            <Row term={t('admin.generations.field.refunded')}>{g.refunded ? t('admin.generations.yes') : t('admin.generations.no')}</Row>
          </dl>
        )}
        {g.failureDetail && (
          <div>
            <p className="font-medium text-zinc-800 dark:text-zinc-200">{t('admin.generations.field.failureDetail')}</p>
            <pre className="mt-1 overflow-x-auto rounded-lg bg-zinc-100 p-2 text-xs whitespace-pre-wrap dark:bg-zinc-800">{g.failureDetail}</pre>
          </div>
        )}
        {out ? (
          <dl>
            <Row term={t('admin.generations.field.video')}>
              {out.videoUrl ? (
                // a link, never an embedded player: the operator opens the user's video on purpose (and it is logged)
                <a
                  href={out.videoUrl}
                  target="_blank"
                  rel="noopener noreferrer"
                  className="text-brand-700 hover:underline dark:text-brand-300"
                  data-testid="admin-generation-video-link"
                >
                  {t('admin.generations.openVideo')}
                </a>
              ) : (
                t('admin.generations.videoNotStored')
              )}
            </Row>
            <Row term={t('admin.generations.field.format')}>
              {[out.contentType, out.codec, out.width && out.height ? `${String(out.width)}×${String(out.height)}` : null].filter(Boolean).join(' · ') || dash}
            </Row>
            <Row term={t('admin.generations.field.length')}>
              {out.durationSeconds !== null ? t('admin.generations.seconds', { count: Math.round(out.durationSeconds * 10) / 10 }) : dash}
            </Row>
            <Row term={t('admin.generations.field.size')}>{out.sizeBytes !== null ? `${formatNumber(Math.round(out.sizeBytes / 1024), lang)} KB` : dash}</Row>
            <Row term={t('admin.generations.field.sha256')}>{mono(out.sha256)}</Row>
          </dl>
        ) : (
          !g.failureCode && <p className="text-zinc-600 dark:text-zinc-400">{t('admin.generations.noOutput')}</p>
        )}
      </Card>
    </DetailSection>
  );
}

function Ledger({ detail }: { detail: AdminGenerationDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <DetailSection id="generation-ledger" title={t('admin.generations.sections.ledger')}>
      {!detail.ledger.length ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.generations.noLedger')}</p>
      ) : (
        <ScrollTable label={t('admin.generations.sections.ledger')} minWidth="40rem" testId="admin-generation-ledger">
          <TableHead
            columns={[
              t('admin.generations.col.when'),
              t('admin.generations.col.kind'),
              { label: t('admin.generations.col.balance'), end: true },
              { label: t('admin.generations.col.held'), end: true },
              t('admin.generations.col.reason'),
            ]}
          />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {detail.ledger.map((r) => (
              <tr key={r.id}>
                <td className={`${td} text-xs tabular-nums`}>{when(r.createdAt, lang)}</td>
                <th scope="row" className={`${td} text-start font-normal`}>
                  {t(`admin.generations.ledgerKinds.${r.kind}`, { defaultValue: r.kind })}
                </th>
                <td className={`${td} text-end tabular-nums`}>{r.amount > 0 ? `+${formatNumber(r.amount, lang)}` : formatNumber(r.amount, lang)}</td>
                <td className={`${td} text-end tabular-nums`}>
                  {r.heldChange > 0 ? `+${formatNumber(r.heldChange, lang)}` : formatNumber(r.heldChange, lang)}
                </td>
                <td className={`${td} whitespace-normal`}>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
    </DetailSection>
  );
}

function Callbacks({ detail }: { detail: AdminGenerationDetail }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <DetailSection id="generation-callbacks" title={t('admin.generations.sections.callbacks')}>
      {!detail.callbacks.length ? (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="admin-generation-callbacks">
          {t('admin.generations.noCallbacks')}
        </p>
      ) : (
        <ScrollTable label={t('admin.generations.sections.callbacks')} minWidth="44rem" testId="admin-generation-callbacks">
          <TableHead
            columns={[
              t('admin.generations.col.received'),
              t('admin.generations.col.provider'),
              t('admin.generations.col.said'),
              t('admin.generations.col.outcome'),
              t('admin.generations.col.body'),
            ]}
          />
          <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
            {detail.callbacks.map((c) => (
              <tr key={c.id}>
                <th scope="row" className={`${td} text-start text-xs font-normal tabular-nums`}>
                  {when(c.receivedAt, lang)}
                </th>
                <td className={td}>{c.provider}</td>
                <td className={td}>{c.state ?? dash}</td>
                <td className={td}>{t(`admin.generations.callbackOutcomes.${c.outcome}`, { defaultValue: c.outcome })}</td>
                <td className={`${td} max-w-96 whitespace-normal`}>
                  {c.detail ? (
                    <details>
                      <summary className="cursor-pointer text-brand-700 dark:text-brand-300">{t('admin.generations.showBody')}</summary>
                      <pre className="mt-1 max-h-64 overflow-auto rounded-lg bg-zinc-100 p-2 text-xs break-all whitespace-pre-wrap dark:bg-zinc-800">
                        {c.detail}
                      </pre>
                    </details>
                  ) : (
                    dash
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </ScrollTable>
      )}
    </DetailSection>
  );
}

/**
 * /admin/generations/$id: everything about one task (request and prompt, provider and upstream task,
 * route attempts, callbacks, credits, outcome) and cancel or release (support and admins; the server
 * checks every call). The video is a link, never loaded by the page itself.
 */
export function GenerationDetailPage() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const can = useCan();
  const { toast } = useToast();
  const { id } = useParams({ from: '/admin/generations/$id' });
  const query = useQuery(generationDetailQuery(id));
  const [action, setAction] = useState<'cancel' | 'release' | null>(null);
  const [announce, setAnnounce] = useState('');
  usePageTitle(query.data ? t('admin.generations.detailTitle', { id: id.slice(0, 8) }) : t('admin.generations.title'));
  const back = <BackLink to="/admin/generations">{t('admin.generations.back')}</BackLink>;

  if (query.isPending) return <PageLoading />;
  if (query.isError)
    return (
      <PageLoadFailed
        back={back}
        error={query.error}
        notFound={{ icon: <FilmIcon className="size-7" />, title: t('admin.generations.notFoundTitle'), body: t('admin.generations.notFoundBody') }}
        errorTitle={t('admin.generations.errorOne')}
        errorMessage={errorText(query.error, t, lang)}
        retryLabel={t('admin.generations.retry')}
        onRetry={() => void query.refetch()}
      />
    );
  const detail = query.data;
  const g = detail.generation;
  const mayAct = can('generations.act');
  return (
    <div data-testid="admin-generation-detail" data-generation-id={g.id}>
      {back}
      <header className="mt-4 mb-6 space-y-2">
        <h1 className="text-2xl font-semibold tracking-tight break-all text-zinc-900 sm:text-3xl dark:text-white">
          {t('admin.generations.heading', { id: g.id.slice(0, 8) })}
        </h1>
        <p className="font-mono text-xs break-all text-zinc-500 dark:text-zinc-400">{g.id}</p>
        <div className="flex flex-wrap items-center gap-1.5">
          <GenerationStatusBadge status={g.status} stuck={g.stuck} testId="admin-generation-status" />
        </div>
      </header>
      <div className="space-y-8">
        {g.stuck && <StuckNotice />}
        <DetailSection id="generation-actions" title={t('admin.generations.sections.actions')}>
          {!mayAct ? (
            <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.generations.readOnly')}</p>
          ) : (
            <Card padding="sm" className="space-y-3">
              <div className="flex flex-wrap gap-2">
                {detail.actions.cancel && (
                  <Button variant="secondary" onClick={() => setAction('cancel')} data-testid="admin-generation-cancel">
                    {t('admin.generations.cancel')}
                  </Button>
                )}
                {detail.actions.release && (
                  <Button variant="danger" onClick={() => setAction('release')} data-testid="admin-generation-release">
                    {t('admin.generations.release')}
                  </Button>
                )}
              </div>
              {!detail.actions.cancel && !detail.actions.release && (
                <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.generations.noActions')}</p>
              )}
              <p className="sr-only" aria-live="polite" aria-atomic="true" data-testid="admin-generation-action-status">
                {announce}
              </p>
            </Card>
          )}
        </DetailSection>
        <Request detail={detail} />
        <Processing detail={detail} />
        <Outcome detail={detail} />
        <Ledger detail={detail} />
        <Callbacks detail={detail} />
      </div>
      <ActionDialog
        generationId={g.id}
        action={action}
        onClose={() => setAction(null)}
        onDone={(message) => {
          setAction(null);
          setAnnounce(message);
          toast({ title: message, tone: 'success' });
        }}
      />
    </div>
  );
}
