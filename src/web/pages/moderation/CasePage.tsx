import { useQuery } from '@tanstack/react-query';
import { useParams } from '@tanstack/react-router';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ShieldIcon } from '../../components/icons';
import { Alert, Card, DetailSection, useToast } from '../../components/ui';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { caseQuery, type CaseEvent } from '../../lib/moderation';
import { usePageTitle } from '../../lib/usePageTitle';
import { CaseTags, CaseTexts, categoryLabel, DecisionForm, EvidencePreview, inputLabel } from './shared';
import { BackLink, PageLoadFailed, PageLoading } from '../../components/PageStates';

function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="flex justify-between gap-4 py-1.5">
      <dt className="text-zinc-500 dark:text-zinc-400">{term}</dt>
      <dd className="min-w-0 text-end font-medium break-all text-zinc-900 dark:text-zinc-100">{children}</dd>
    </div>
  );
}

/** One entry of the audit timeline: what happened, who did it (or "automatic"), when, and the evidence of it. */
function TimelineEntry({ event: e }: { event: CaseEvent }) {
  const { t, i18n } = useTranslation();
  const scores = Object.entries(e.scores ?? {})
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1]);
  const decision = e.kind === 'decision' && typeof e.details?.decision === 'string' ? e.details.decision : null;
  return (
    <li className="relative ps-6" data-testid="case-event" data-kind={e.kind}>
      <span className="absolute start-0 top-1.5 size-2.5 rounded-full bg-brand-500 ring-4 ring-brand-100 dark:ring-brand-950" aria-hidden="true" />
      <div className="flex flex-wrap items-baseline gap-x-2 gap-y-0.5 text-sm">
        <span className="font-semibold text-zinc-900 dark:text-white">{t(`moderation.event.${e.kind}` as never, { defaultValue: e.kind }) as string}</span>
        {e.input && <span className="text-zinc-600 dark:text-zinc-400">· {inputLabel(t, e.input)}</span>}
        {e.source && <span className="text-zinc-600 dark:text-zinc-400">· {e.source}</span>}
        {(decision ?? e.action) && (
          <span className="rounded bg-zinc-100 px-1.5 text-xs font-medium text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
            {decision ? (t(`moderation.decision.${decision}` as never, { defaultValue: decision }) as string) : e.action}
          </span>
        )}
      </div>
      <p className="text-xs text-zinc-500 dark:text-zinc-400">
        <time dateTime={e.createdAt}>{dateTime(e.createdAt, i18n.language)}</time>
        {' · '}
        {e.actorId ? t('moderation.case.by', { actor: e.actorEmail ?? e.actorId }) : t('moderation.case.automatic')}
      </p>
      {e.note && (
        <p className="mt-1 text-sm whitespace-pre-wrap break-words text-zinc-800 dark:text-zinc-200" data-testid="case-event-note">
          {e.note}
        </p>
      )}
      {e.reasons && e.reasons.length > 0 && (
        <ul className="mt-1 list-inside list-disc text-xs text-zinc-700 dark:text-zinc-300">
          {e.reasons.map((r, i) => (
            <li key={i}>
              {categoryLabel(t, r.category)}: {r.detail}
            </li>
          ))}
        </ul>
      )}
      {scores.length > 0 && (
        <p className="mt-1 text-xs text-zinc-600 tabular-nums dark:text-zinc-400">
          <span className="font-medium">{t('moderation.case.scores')}:</span> {scores.map(([k, v]) => `${categoryLabel(t, k)} ${v.toFixed(2)}`).join(' · ')}
        </p>
      )}
    </li>
  );
}

/** /moderation/cases/$id: the evidence (blurred until revealed), the audit timeline and the decision. */
export function CasePage() {
  const { t, i18n } = useTranslation();
  const { id } = useParams({ from: '/moderation/cases/$id' });
  const { toast } = useToast();
  const query = useQuery(caseQuery(id));
  const c = query.data;
  usePageTitle(`${t('moderation.case.title')} ${id.slice(0, 8)}`);
  const [revealed, setRevealed] = useState<Set<string>>(new Set());

  const back = <BackLink to="/moderation">{t('moderation.case.back')}</BackLink>;

  if (query.isPending) return <PageLoading />;
  if (query.isError || !c) {
    return (
      <PageLoadFailed
        back={back}
        error={query.error}
        notFound={{ icon: <ShieldIcon className="size-7" />, title: t('moderation.case.notFound'), body: t('moderation.case.notFoundBody') }}
        errorTitle={t('moderation.case.error')}
        errorMessage={errorText(query.error, t, i18n.language)}
        retryLabel={t('moderation.case.retry')}
        onRetry={() => void query.refetch()}
      />
    );
  }

  const toggle = (evidenceId: string) =>
    setRevealed((s) => {
      const next = new Set(s);
      if (next.has(evidenceId)) next.delete(evidenceId);
      else next.add(evidenceId);
      return next;
    });

  return (
    <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6 sm:py-10" data-testid="moderation-case" data-id={c.id} data-status={c.status}>
      {back}
      <header className="mt-4 mb-6 space-y-2">
        <h1 className="text-2xl font-semibold tracking-tight text-zinc-900 sm:text-3xl dark:text-white">
          {t('moderation.case.title')} <span className="font-mono text-xl text-zinc-500">{c.id.slice(0, 8)}</span>
        </h1>
        <CaseTags item={c} />
      </header>

      <div className="grid gap-8 lg:grid-cols-[3fr_2fr] lg:items-start">
        <div className="min-w-0 space-y-8">
          {(c.previews.length > 0 || c.texts.length > 0) && (
            <DetailSection id="case-evidence" title={t('moderation.case.evidence')}>
              {c.previews.length > 0 && (
                <div className="grid gap-4 sm:grid-cols-2">
                  {c.previews.map((p) => (
                    <EvidencePreview key={p.evidenceId} caseId={c.id} preview={p} revealed={revealed.has(p.evidenceId)} onToggle={() => toggle(p.evidenceId)} />
                  ))}
                </div>
              )}
              <CaseTexts texts={c.texts} />
            </DetailSection>
          )}

          {c.appealText && (
            <DetailSection id="case-appeal" title={t('moderation.case.appeal')}>
              <blockquote className="rounded-lg border-s-4 border-fuchsia-400 bg-fuchsia-50 p-3 text-sm whitespace-pre-wrap break-words text-zinc-900 dark:bg-fuchsia-950/30 dark:text-zinc-100">
                {c.appealText}
              </blockquote>
            </DetailSection>
          )}

          <DetailSection id="case-decision" title={t('moderation.decide.legend')}>
            {c.status === 'open' ? (
              <Card padding="md">
                <DecisionForm
                  key={c.updatedAt}
                  item={c}
                  onDone={(detail) =>
                    toast({
                      title: t('moderation.decide.done', { decision: detail.outcome ? t(`moderation.outcome.${detail.outcome}`) : '' }),
                      tone: 'success',
                    })
                  }
                />
              </Card>
            ) : (
              <Alert tone="info" data-testid="case-closed">
                {t('moderation.decide.closed', { outcome: c.outcome ? t(`moderation.outcome.${c.outcome}`) : t('moderation.status.closed') })}
              </Alert>
            )}
          </DetailSection>

          <DetailSection id="case-timeline" title={t('moderation.case.timeline')}>
            {c.events.length ? (
              <ol className="space-y-4 border-s border-zinc-200 ps-0 dark:border-zinc-800" data-testid="case-timeline">
                {c.events.map((e) => (
                  <TimelineEntry key={e.id} event={e} />
                ))}
              </ol>
            ) : (
              <p className="text-sm text-zinc-500">{t('moderation.case.noEvents')}</p>
            )}
          </DetailSection>
        </div>

        <Card padding="none" className="min-w-0">
          <div className="space-y-5 p-5">
            <section aria-labelledby="case-summary">
              <h2 id="case-summary" className="text-sm font-semibold text-zinc-900 dark:text-white">
                {t('moderation.case.summary')}
              </h2>
              <dl className="mt-1 divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
                <Row term={t('moderation.case.status')}>{t(`moderation.status.${c.status}`)}</Row>
                <Row term={t('moderation.case.user')}>{c.userEmail ?? c.userId ?? t('moderation.queue.noUser')}</Row>
                <Row term={t('moderation.case.strikes')}>{c.strikes}</Row>
                <Row term={t('moderation.case.category')}>{categoryLabel(t, c.topCategory)}</Row>
                <Row term={t('moderation.case.action')}>{t(`moderation.action.${c.action}`)}</Row>
                <Row term={t('moderation.case.severity')}>{c.severity}</Row>
                {c.generationId && (
                  <Row term={t('moderation.case.generation')}>
                    <span className="font-mono text-xs">{c.generationId}</span>
                  </Row>
                )}
                {c.mediaId && (
                  <Row term={t('moderation.case.media')}>
                    <span className="font-mono text-xs">{c.mediaId}</span>
                  </Row>
                )}
                <Row term={t('moderation.case.opened')}>
                  <time dateTime={c.openedAt}>{dateTime(c.openedAt, i18n.language)}</time>
                </Row>
                <Row term={t('moderation.case.updated')}>
                  <time dateTime={c.updatedAt}>{dateTime(c.updatedAt, i18n.language)}</time>
                </Row>
              </dl>
            </section>

            <section aria-labelledby="case-holds">
              <h2 id="case-holds" className="text-sm font-semibold text-zinc-900 dark:text-white">
                {t('moderation.case.holds')}
              </h2>
              {c.holds.length ? (
                <ul className="mt-1 space-y-2 text-sm" data-testid="case-holds">
                  {c.holds.map((h) => (
                    <li key={h.id} className="text-zinc-800 dark:text-zinc-200">
                      <p>{h.reason}</p>
                      <p className="text-xs text-zinc-500 dark:text-zinc-400">
                        {dateTime(h.placedAt, i18n.language)} ·{' '}
                        {h.expiresAt ? t('moderation.case.holdUntil', { date: dateTime(h.expiresAt, i18n.language) }) : t('moderation.case.holdForever')}
                      </p>
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">{t('moderation.case.noHolds')}</p>
              )}
            </section>

            {c.report && (
              <section aria-labelledby="case-report">
                <h2 id="case-report" className="text-sm font-semibold text-zinc-900 dark:text-white">
                  {t('moderation.case.report')}
                </h2>
                <div className="mt-1 space-y-0.5 text-sm text-zinc-800 dark:text-zinc-200" data-testid="case-report">
                  <p>{t('moderation.case.reportStatus', { status: c.report.status })}</p>
                  {c.report.reportId && <p>{t('moderation.case.reportId', { id: c.report.reportId })}</p>}
                  {c.report.lastError && <p className="text-red-700 dark:text-red-300">{t('moderation.case.reportError', { error: c.report.lastError })}</p>}
                </div>
              </section>
            )}
          </div>
        </Card>
      </div>
    </div>
  );
}
