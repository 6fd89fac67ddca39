import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { AlertIcon, DownloadIcon, FilmIcon, ImageIcon, ShieldIcon, SparklesIcon, TrashIcon } from '../../components/icons';
import { Alert, Button, buttonClasses, Card, Spinner, useToast } from '../../components/ui';
import { creationQuery, deleteCreation, draftOf } from '../../lib/creations';
import { dateTime } from '../../lib/format';
import { generationKey, isActive, useGenerationEvents } from '../../lib/generations';
import { useModels } from '../../lib/models';
import { formatBytes, referenceFromCreation } from '../../lib/uploads';
import { usePageTitle } from '../../lib/usePageTitle';
import { shortPrompt, StatusBadge, studioErrorText } from '../studio/shared';
import { cssRatio, ProgressBar } from './CreationCard';
import { DeleteCreationsDialog } from './DeleteCreationsDialog';
import { ReportDialog } from './ReportDialog';
import { BackLink, PageLoadFailed, PageLoading } from '../../components/PageStates';

function Row({ term, children, testId }: { term: string; children: ReactNode; testId?: string }) {
  return (
    <div className="flex justify-between gap-4 py-1.5" data-testid={testId}>
      <dt className="text-zinc-500 dark:text-zinc-400">{term}</dt>
      <dd className="text-end font-medium break-all text-zinc-900 dark:text-zinc-100">{children}</dd>
    </div>
  );
}

/** /creations/$id: the player, everything the video was made with and of, and what to do with it. */
export function CreationDetailPage() {
  const { t, i18n } = useTranslation();
  const { id } = useParams({ from: '/creations/$id' });
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const { toast } = useToast();
  const models = useModels();
  useGenerationEvents();
  const query = useQuery(creationQuery(id, queryClient));
  const g = query.data;
  usePageTitle(g ? shortPrompt(g.prompt, 40) : t('creations.detail.title'));
  const [confirming, setConfirming] = useState(false);
  const [reporting, setReporting] = useState(false);

  const remove = useMutation({
    mutationFn: () => deleteCreation(queryClient, id),
    onSuccess: async () => {
      setConfirming(false);
      toast({ title: t('creations.delete.done', { count: 1 }), tone: 'success' });
      await navigate({ to: '/creations' });
      queryClient.removeQueries({ queryKey: generationKey(id), exact: true });
    },
    onError: (err) => {
      setConfirming(false);
      toast({ title: t('creations.delete.failed'), description: studioErrorText(err, t, i18n.language), tone: 'error' });
    },
  });

  const reuse = useMutation({
    mutationFn: (as: 'image' | 'video') => referenceFromCreation(id, as),
    onSuccess: (media) => {
      void navigate({ to: '/studio', search: { refs: [{ kind: media.kind, mediaId: media.id }] } });
    },
    onError: (err) => toast({ title: t('creations.detail.reuseFailed'), description: studioErrorText(err, t, i18n.language), tone: 'error' }),
  });

  const back = <BackLink to="/creations">{t('creations.detail.back')}</BackLink>;

  if (query.isPending) return <PageLoading />;
  if (query.isError || !g) {
    return (
      <PageLoadFailed
        back={back}
        error={query.error}
        notFound={{ icon: <FilmIcon className="size-7" />, title: t('creations.detail.notFound'), body: t('creations.detail.notFoundBody') }}
        errorTitle={t('creations.detail.error')}
        errorMessage={studioErrorText(query.error, t, i18n.language)}
        retryLabel={t('studio.list.retry')}
        onRetry={() => void query.refetch()}
      />
    );
  }

  const model = models.data?.find((m) => m.id === g.model);
  const out = g.output;
  const active = isActive(g);
  const underReview = g.status === 'under_review';

  return (
    <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6 sm:py-10" data-testid="creation-detail" data-id={g.id}>
      {back}
      <div className="mt-4 grid gap-8 lg:grid-cols-[3fr_2fr] lg:items-start">
        <div className="min-w-0 space-y-4">
          {g.status === 'succeeded' && out ? (
            <video
              controls
              playsInline
              preload="metadata"
              src={out.videoUrl}
              poster={out.thumbnailUrl ?? undefined}
              aria-label={t('studio.list.videoLabel', { prompt: shortPrompt(g.prompt) })}
              className="max-h-[70vh] w-full rounded-xl bg-black object-contain"
              style={{ aspectRatio: out.width && out.height ? `${out.width} / ${out.height}` : cssRatio(g.aspectRatio) }}
              data-testid="creation-player"
            />
          ) : (
            <div
              className="flex w-full flex-col items-center justify-center gap-4 rounded-xl bg-gradient-to-br from-brand-100 via-zinc-100 to-fuchsia-100 p-6 dark:from-brand-950 dark:via-zinc-900 dark:to-fuchsia-950"
              style={{ aspectRatio: cssRatio(g.aspectRatio) }}
            >
              {active ? (
                <Spinner className="size-8 text-brand-600 dark:text-brand-300" />
              ) : underReview ? (
                <ShieldIcon className="size-8 text-amber-600 dark:text-amber-300" />
              ) : (
                <AlertIcon className="size-8 text-zinc-500" />
              )}
              {active && (
                <div className="w-full max-w-xs">
                  <ProgressBar generation={g} />
                </div>
              )}
            </div>
          )}
          {underReview && (
            <Alert
              tone="warning"
              title={t('creations.detail.underReviewTitle')}
              data-testid="creation-under-review"
              action={
                <Link to="/account/cases" className="font-medium underline">
                  {t('studio.list.underReviewLink')}
                </Link>
              }
            >
              {t('creations.detail.underReview')}
            </Alert>
          )}
          {g.failure && g.status !== 'succeeded' && (
            <Alert tone={g.status === 'canceled' ? 'info' : 'error'} data-testid="creation-failure">
              <p>{t(`generation.failure.${g.failure.code}`, { defaultValue: g.failure.message })}</p>
              {g.failure.refunded && g.price > 0 && <p className="mt-1 font-medium">{t('studio.list.refunded', { count: g.price })}</p>}
            </Alert>
          )}
          <div className="flex flex-wrap gap-2">
            {g.status === 'succeeded' && out && (
              <a href={`${out.videoUrl}?download=1`} download className={buttonClasses({ variant: 'primary' })} data-testid="creation-download">
                <DownloadIcon className="size-4" />
                {t('creations.detail.download')}
              </a>
            )}
            <Link to="/studio" search={draftOf(g)} className={buttonClasses({ variant: 'secondary' })} data-testid="creation-regenerate">
              <SparklesIcon className="size-4" />
              {t('creations.detail.regenerate')}
            </Link>
            {g.status === 'succeeded' && out && (
              <Button
                variant="secondary"
                onClick={() => reuse.mutate('image')}
                loading={reuse.isPending && reuse.variables === 'image'}
                data-testid="creation-reuse-image"
              >
                <ImageIcon className="size-4" />
                {t('creations.detail.useAsImage')}
              </Button>
            )}
            {g.status === 'succeeded' && out && (
              <Button
                variant="secondary"
                onClick={() => reuse.mutate('video')}
                loading={reuse.isPending && reuse.variables === 'video'}
                data-testid="creation-reuse-video"
              >
                <FilmIcon className="size-4" />
                {t('creations.detail.useAsVideo')}
              </Button>
            )}
            {g.status === 'succeeded' && out && (
              <Button variant="secondary" onClick={() => setReporting(true)} data-testid="creation-report">
                <AlertIcon className="size-4" />
                {t('creations.report.button')}
              </Button>
            )}
            <Button
              variant="danger"
              onClick={() => setConfirming(true)}
              disabled={active}
              aria-describedby={active ? 'creation-busy' : undefined}
              data-testid="creation-delete"
            >
              <TrashIcon className="size-4" />
              {t('creations.detail.delete')}
            </Button>
          </div>
          {active && (
            <p id="creation-busy" className="text-xs text-zinc-500 dark:text-zinc-400">
              {t('creations.busy')}
            </p>
          )}
        </div>

        <Card padding="none" className="min-w-0">
          <div className="space-y-4 p-5">
            <div className="flex items-center justify-between gap-2">
              <StatusBadge status={g.status} />
              <span className="text-sm font-medium text-zinc-700 dark:text-zinc-300">{model?.name ?? g.model}</span>
            </div>
            <div>
              <h1 className="text-sm font-semibold text-zinc-500 dark:text-zinc-400">{t('creations.detail.prompt')}</h1>
              <p className="mt-1 text-sm whitespace-pre-wrap break-words text-zinc-900 dark:text-zinc-100" data-testid="creation-prompt">
                {g.prompt}
              </p>
              {g.negativePrompt && (
                <p className="mt-2 text-xs text-zinc-600 dark:text-zinc-400">
                  <span className="font-semibold">{t('studio.fields.negativePrompt')}: </span>
                  {g.negativePrompt}
                </p>
              )}
            </div>
            <section aria-labelledby="creation-settings">
              <h2 id="creation-settings" className="text-sm font-semibold text-zinc-900 dark:text-white">
                {t('creations.detail.settings')}
              </h2>
              <dl className="mt-1 divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
                <Row term={t('studio.fields.mode')}>{t(`generation.mode.${g.mode}`)}</Row>
                <Row term={t('studio.fields.duration')}>{t('studio.fields.seconds', { count: g.durationSeconds })}</Row>
                <Row term={t('studio.fields.resolution')}>{g.resolution}</Row>
                <Row term={t('studio.fields.aspectRatio')}>{g.aspectRatio}</Row>
                <Row term={t('creations.detail.audio')}>{g.audio ? t('creations.detail.yes') : t('creations.detail.no')}</Row>
                <Row term={t('studio.fields.seed')}>{g.seed ?? t('creations.detail.random')}</Row>
                <Row term={t('studio.references.legend')}>
                  {g.references.length ? g.references.map((r) => t(`studio.references.kinds.${r.kind}`)).join(', ') : t('creations.detail.none')}
                </Row>
                <Row term={t('creations.detail.price')}>{t('studio.list.charged', { count: g.price })}</Row>
              </dl>
            </section>
            {out && (
              <section aria-labelledby="creation-file">
                <h2 id="creation-file" className="text-sm font-semibold text-zinc-900 dark:text-white">
                  {t('creations.detail.file')}
                </h2>
                <dl className="mt-1 divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
                  {out.durationSeconds !== null && (
                    <Row term={t('creations.detail.length')}>{t('creations.detail.secondsExact', { value: out.durationSeconds.toFixed(1) })}</Row>
                  )}
                  {out.width && out.height && <Row term={t('creations.detail.dimensions')}>{`${out.width} × ${out.height}`}</Row>}
                  {out.codec && <Row term={t('creations.detail.codec')}>{out.codec}</Row>}
                  {out.sizeBytes !== null && <Row term={t('creations.detail.size')}>{formatBytes(out.sizeBytes, i18n.language)}</Row>}
                </dl>
              </section>
            )}
            <section aria-labelledby="creation-times">
              <h2 id="creation-times" className="text-sm font-semibold text-zinc-900 dark:text-white">
                {t('creations.detail.times')}
              </h2>
              <dl className="mt-1 divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
                <Row term={t('creations.detail.created')}>
                  <time dateTime={g.createdAt}>{dateTime(g.createdAt, i18n.language)}</time>
                </Row>
                {g.finishedAt && (
                  <Row term={t('creations.detail.finished')}>
                    <time dateTime={g.finishedAt}>{dateTime(g.finishedAt, i18n.language)}</time>
                  </Row>
                )}
              </dl>
            </section>
          </div>
        </Card>
      </div>
      <ReportDialog generationId={g.id} open={reporting} onClose={() => setReporting(false)} />
      <DeleteCreationsDialog open={confirming} count={1} pending={remove.isPending} onCancel={() => setConfirming(false)} onConfirm={() => remove.mutate()} />
    </div>
  );
}
