import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { ExportList, ExportView } from '../../../shared/api/exports';
import { DownloadIcon } from '../../components/icons';
import { Alert, Badge, Button, buttonClasses, Spinner, useToast } from '../../components/ui';
import { ApiError, apiFetch } from '../../lib/api';
import { formatBytes } from '../../lib/developer';
import { errorText } from '../../lib/errors';
import { dateTime, relativeTime } from '../../lib/format';
import { Section } from './shared';

export const exportsKey = ['me', 'exports'] as const;

const inProgress = (e: ExportView) => e.status === 'queued' || e.status === 'building';

/**
 * "Your data" on the account page (privacy policy 5): ask for a ZIP of everything the account
 * holds, follow it while it is prepared, download it while its link works, see earlier ones.
 */
export function DataExportSection() {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const lang = i18n.language;

  const exports = useQuery({
    queryKey: exportsKey,
    queryFn: ({ signal }) => apiFetch<ExportList>('/api/me/exports', { signal }),
    // while one is being prepared, look again every few seconds
    refetchInterval: (query) => (query.state.data?.items.some(inProgress) ? 3000 : false),
  });

  const request = useMutation({
    mutationFn: () => apiFetch<ExportView>('/api/me/exports', { method: 'POST', body: {} }),
    onSuccess: () => toast({ title: t('dataExport.requested'), tone: 'success' }),
    onError: (err) => toast({ title: requestErrorText(err), tone: 'error' }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: exportsKey }),
  });

  function requestErrorText(err: unknown): string {
    if (err instanceof ApiError && err.code === 'export_in_progress') return t('dataExport.errors.inProgress');
    if (err instanceof ApiError && err.code === 'too_many_exports') {
      return t('dataExport.errors.tooMany', { count: Math.max(1, Math.ceil((err.retryAfter ?? 3600) / 3600)) });
    }
    return errorText(err, t, lang);
  }

  const items = exports.data?.items ?? [];
  const [latest, ...earlier] = items;
  const busy = items.some(inProgress);

  return (
    <Section id="data-export" icon={<DownloadIcon className="size-5" />} title={t('dataExport.title')} description={t('dataExport.lead')}>
      <div className="space-y-5">
        <div className="space-y-2 text-sm text-zinc-600 dark:text-zinc-400">
          <p>{t('dataExport.explain')}</p>
          {exports.data && (
            <p>
              {t('dataExport.linkDays', { count: exports.data.linkDays })} {t('dataExport.perDay', { count: exports.data.perDay })}
            </p>
          )}
        </div>

        <div className="flex flex-wrap items-center gap-3">
          <Button
            onClick={() => request.mutate()}
            loading={request.isPending}
            loadingText={t('dataExport.requesting')}
            disabled={busy || exports.isPending}
            data-testid="request-export"
          >
            {t('dataExport.request')}
          </Button>
          {busy && <span className="text-sm text-zinc-600 dark:text-zinc-400">{t('dataExport.inProgress')}</span>}
        </div>

        {exports.isPending ? (
          <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
            <Spinner className="size-4" />
            {t('ui.loading')}
          </p>
        ) : exports.isError ? (
          <Alert
            tone="error"
            action={
              <Button size="sm" variant="secondary" onClick={() => void exports.refetch()}>
                {t('dataExport.retry')}
              </Button>
            }
          >
            {errorText(exports.error, t, lang)}
          </Alert>
        ) : !latest ? (
          <p className="text-sm text-zinc-500 dark:text-zinc-400" data-testid="export-empty">
            {t('dataExport.empty')}
          </p>
        ) : (
          <>
            <ExportCard item={latest} />
            {earlier.length > 0 && (
              <div>
                <h3 className="mb-2 text-sm font-semibold text-zinc-900 dark:text-white">{t('dataExport.history')}</h3>
                <ul className="divide-y divide-zinc-200 dark:divide-zinc-800" data-testid="export-history">
                  {earlier.map((e) => (
                    <li key={e.id} className="py-3 first:pt-0 last:pb-0">
                      <ExportLine item={e} />
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </>
        )}
      </div>
    </Section>
  );
}

function StatusBadge({ status }: { status: ExportView['status'] }) {
  const { t } = useTranslation();
  const tone = status === 'ready' ? 'success' : status === 'failed' ? 'warning' : status === 'expired' ? 'neutral' : 'brand';
  return <Badge tone={tone}>{t(`dataExport.status.${status}`)}</Badge>;
}

/** The newest export, in full: progress while it is prepared, the download once it is ready. */
function ExportCard({ item }: { item: ExportView }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const asked = relativeTime(item.createdAt, lang);
  return (
    <div className="space-y-3 rounded-xl border border-zinc-200 p-4 dark:border-zinc-800" data-testid="export-latest" data-status={item.status}>
      <div className="flex flex-wrap items-center gap-2">
        <StatusBadge status={item.status} />
        <span className="text-sm text-zinc-600 dark:text-zinc-400">
          <time dateTime={item.createdAt} title={dateTime(item.createdAt, lang)}>
            {t('dataExport.askedAt', { when: asked })}
          </time>
        </span>
      </div>
      {item.byOperator && <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('dataExport.byOperator')}</p>}
      {(item.status === 'queued' || item.status === 'building') && <Progress item={item} />}
      {item.status === 'ready' && (
        <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
          <div className="text-sm text-zinc-700 dark:text-zinc-300">
            {item.sizeBytes !== null && <p>{t('dataExport.size', { size: formatBytes(item.sizeBytes, lang) })}</p>}
            {item.expiresAt && (
              <p>
                {t('dataExport.availableUntil')} <time dateTime={item.expiresAt}>{dateTime(item.expiresAt, lang)}</time>
              </p>
            )}
          </div>
          <DownloadLink item={item} />
        </div>
      )}
      {item.status === 'failed' && <Alert tone="error">{t('dataExport.failed')}</Alert>}
      {item.status === 'expired' && item.expiresAt && (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {t('dataExport.expiredOn')} <time dateTime={item.expiresAt}>{dateTime(item.expiresAt, lang)}</time>
        </p>
      )}
    </div>
  );
}

function Progress({ item }: { item: ExportView }) {
  const { t } = useTranslation();
  const p = item.progress;
  const known = p !== null && p.total > 0;
  const percent = known ? Math.min(100, Math.round((p.done / p.total) * 100)) : undefined;
  return (
    <div className="space-y-1.5">
      <div
        className="h-2 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
        role="progressbar"
        aria-label={t('dataExport.progressLabel')}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={known ? t('dataExport.progress', { done: p.done, total: p.total }) : t(`dataExport.status.${item.status}`)}
      >
        <div
          className={`h-full rounded-full bg-brand-600 transition-all dark:bg-brand-400 ${known ? '' : 'w-1/3 animate-pulse'}`}
          style={percent !== undefined ? { width: `${percent}%` } : undefined}
        />
      </div>
      <p className="flex items-center gap-2 text-xs text-zinc-500 dark:text-zinc-400" aria-live="polite">
        <Spinner className="size-3" />
        {known
          ? t('dataExport.progress', { done: p.done, total: p.total })
          : item.status === 'queued'
            ? t('dataExport.waiting')
            : t('dataExport.status.building')}
      </p>
    </div>
  );
}

function DownloadLink({ item, compact = false }: { item: ExportView; compact?: boolean }) {
  const { t, i18n } = useTranslation();
  return (
    <a
      href={`/api/me/exports/${encodeURIComponent(item.id)}/download`}
      className={buttonClasses({ variant: compact ? 'ghost' : 'primary', size: compact ? 'sm' : 'md', className: 'shrink-0' })}
      aria-label={t('dataExport.downloadLabel', { when: dateTime(item.createdAt, i18n.language) })}
      data-testid="export-download"
    >
      <DownloadIcon className="size-4" />
      {t('dataExport.download')}
    </a>
  );
}

/** An earlier export, in one line. */
function ExportLine({ item }: { item: ExportView }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  return (
    <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
      <time dateTime={item.createdAt} className="text-zinc-700 dark:text-zinc-300">
        {dateTime(item.createdAt, lang)}
      </time>
      <StatusBadge status={item.status} />
      {item.sizeBytes !== null && item.status === 'ready' && <span className="text-zinc-500 dark:text-zinc-400">{formatBytes(item.sizeBytes, lang)}</span>}
      {item.byOperator && <span className="text-xs text-zinc-500 dark:text-zinc-400">{t('dataExport.byOperatorShort')}</span>}
      {item.downloadable && (
        <span className="ms-auto">
          <DownloadLink item={item} compact />
        </span>
      )}
    </div>
  );
}
