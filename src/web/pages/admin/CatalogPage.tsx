import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { LibraryIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { QueryState } from '../../components/PageStates';
import { Alert, Badge, Button, EmptyState, useToast } from '../../components/ui';
import { useCan } from '../../lib/admin';
import { formatMoney, formatNumber } from '../../lib/billing';
import { errorText } from '../../lib/errors';
import { usePageTitle } from '../../lib/usePageTitle';
import { catalogQuery, patchModel, reorderModels, type AdminModelView, type AdminPlanView } from './catalog/api';
import { ModelDialog } from './catalog/ModelDialog';
import { PlanDialog } from './catalog/PlanDialog';
import { ScrollTable, td, th } from './users/shared';

function ModelStatus({ m }: { m: AdminModelView }) {
  const { t } = useTranslation();
  return (
    <span className="flex flex-wrap gap-1">
      {m.available ? (
        <Badge tone="success">{t('admin.catalog.available')}</Badge>
      ) : (
        <Badge tone="warning">{t(`admin.catalog.unavailable.${m.unavailableReason ?? 'no_provider'}`)}</Badge>
      )}
      {m.lifecycle.state !== 'active' && (
        <Badge>
          {t(`admin.catalog.lifecycle.${m.lifecycle.state}`)}
          {m.lifecycle.sunsetDate ? ` · ${m.lifecycle.sunsetDate}` : ''}
        </Badge>
      )}
    </span>
  );
}

function Price({ m }: { m: AdminModelView }) {
  const { t, i18n } = useTranslation();
  const parts = m.resolutions.map((r) => `${r} ${formatNumber(m.price.perSecond[r] ?? 0, i18n.language)}`);
  return (
    <span className="block text-xs whitespace-normal">
      <span className="tabular-nums">{parts.join(' · ')}</span>
      <span className="text-zinc-500 dark:text-zinc-400"> {t('admin.catalog.perSecondUnit')}</span>
      {m.overridden.price && (
        <Badge tone="brand" className="ms-1">
          {t('admin.catalog.changed')}
        </Badge>
      )}
    </span>
  );
}

function Routes({ m }: { m: AdminModelView }) {
  const { t } = useTranslation();
  if (!m.routes.length) return <span className="text-zinc-400">{t('admin.catalog.noRoutes')}</span>;
  return (
    <ol className="flex flex-wrap items-center gap-1 text-xs">
      {m.routes.map((r, i) => (
        <li key={r.provider} className="flex items-center gap-1">
          {i > 0 && <span aria-hidden="true">›</span>}
          <span
            className={r.available && !r.unhealthyUntil ? 'font-medium text-zinc-800 dark:text-zinc-200' : 'text-zinc-400 line-through'}
            title={r.unavailableReason ?? (r.unhealthyUntil ? t('admin.catalog.resting') : undefined)}
          >
            {r.provider}
          </span>
          {!r.available && <span className="sr-only">({t('admin.catalog.notConfigured')})</span>}
        </li>
      ))}
    </ol>
  );
}

function ModelsTable({ models, onEdit }: { models: AdminModelView[]; onEdit: (m: AdminModelView) => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const canEdit = useCan()('catalog.edit');
  const [announce, setAnnounce] = useState('');
  const [focus, setFocus] = useState<string | null>(null);
  const reorder = useMutation({
    mutationFn: (ids: string[]) => reorderModels(queryClient, ids),
  });
  const toggle = useMutation({
    mutationFn: (m: AdminModelView) => patchModel(queryClient, m.id, { enabled: !m.enabled }),
    onSuccess: (m) => toast({ title: t(m.enabled ? 'admin.catalog.enabledDone' : 'admin.catalog.disabledDone', { name: m.name }), tone: 'success' }),
    onError: (err) => toast({ title: errorText(err, t, i18n.language), tone: 'error' }),
  });
  // the moved row's button keeps the focus (the row itself moved in the page)
  useEffect(() => {
    if (focus) document.querySelector<HTMLButtonElement>(`[data-move="${focus}"]`)?.focus();
  }, [focus, models]);

  const move = (index: number, by: -1 | 1) => {
    const ids = models.map((m) => m.id);
    const [id] = ids.splice(index, 1);
    if (!id) return;
    ids.splice(index + by, 0, id);
    const name = models[index]?.name ?? id;
    reorder.mutate(ids, {
      onSuccess: () => {
        setAnnounce(t('admin.catalog.moved', { name, position: index + by + 1, count: ids.length }));
        setFocus(`${id}:${by < 0 ? 'up' : 'down'}`);
      },
      onError: (err) => setAnnounce(errorText(err, t, i18n.language)),
    });
  };

  return (
    <>
      <p className="sr-only" aria-live="polite" aria-atomic="true" data-testid="catalog-order-status">
        {announce}
      </p>
      {reorder.isError && (
        <Alert tone="error" className="mb-3">
          {errorText(reorder.error, t, i18n.language)}
        </Alert>
      )}
      <ScrollTable label={t('admin.catalog.modelsLabel')} minWidth="58rem" testId="catalog-models">
        <thead className="border-b border-zinc-200 dark:border-zinc-800">
          <tr>
            <th scope="col" className={th}>
              {t('admin.catalog.col.order')}
            </th>
            <th scope="col" className={th}>
              {t('admin.catalog.col.model')}
            </th>
            <th scope="col" className={th}>
              {t('admin.catalog.col.status')}
            </th>
            <th scope="col" className={th}>
              {t('admin.catalog.col.price')}
            </th>
            <th scope="col" className={th}>
              {t('admin.catalog.col.routes')}
            </th>
            <th scope="col" className={`${th} text-end`}>
              <span className="sr-only">{t('admin.catalog.col.actions')}</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
          {models.map((m, i) => (
            <tr key={m.id} data-testid="catalog-model-row" data-model-id={m.id} data-enabled={m.enabled ? 'true' : 'false'}>
              <td className={td}>
                <span className="flex items-center gap-1">
                  <span className="w-5 text-end text-xs text-zinc-500 tabular-nums">{i + 1}</span>
                  {canEdit && (
                    <>
                      <Button
                        size="sm"
                        variant="ghost"
                        disabled={i === 0 || reorder.isPending}
                        onClick={() => move(i, -1)}
                        aria-label={t('admin.catalog.moveUp', { name: m.name })}
                        data-move={`${m.id}:up`}
                        data-testid="catalog-move-up"
                      >
                        ↑
                      </Button>
                      <Button
                        size="sm"
                        variant="ghost"
                        disabled={i === models.length - 1 || reorder.isPending}
                        onClick={() => move(i, 1)}
                        aria-label={t('admin.catalog.moveDown', { name: m.name })}
                        data-move={`${m.id}:down`}
                        data-testid="catalog-move-down"
                      >
                        ↓
                      </Button>
                    </>
                  )}
                </span>
              </td>
              <th scope="row" className={`${td} text-start font-normal`}>
                <span className="block font-medium text-zinc-900 dark:text-zinc-100">{m.name}</span>
                <span className="block font-mono text-xs text-zinc-500 dark:text-zinc-400">
                  {m.id} · {m.vendor}
                </span>
              </th>
              <td className={td}>
                <ModelStatus m={m} />
              </td>
              <td className={`${td} max-w-60`}>
                <Price m={m} />
              </td>
              <td className={td}>
                <Routes m={m} />
              </td>
              <td className={`${td} text-end`}>
                {canEdit && (
                  <span className="inline-flex gap-2">
                    <Button
                      size="sm"
                      variant="secondary"
                      loading={toggle.isPending && toggle.variables.id === m.id}
                      onClick={() => toggle.mutate(m)}
                      aria-label={t(m.enabled ? 'admin.catalog.disableLabel' : 'admin.catalog.enableLabel', { name: m.name })}
                      data-testid="catalog-model-toggle"
                    >
                      {t(m.enabled ? 'admin.catalog.disable' : 'admin.catalog.enable')}
                    </Button>
                    <Button size="sm" onClick={() => onEdit(m)} aria-label={t('admin.catalog.editLabel', { name: m.name })} data-testid="catalog-model-edit">
                      {t('admin.catalog.edit')}
                    </Button>
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </ScrollTable>
    </>
  );
}

function PlansTable({ plans, onEdit }: { plans: AdminPlanView[]; onEdit: (p: AdminPlanView) => void }) {
  const { t, i18n } = useTranslation();
  const canEdit = useCan()('catalog.edit');
  const lang = i18n.language;
  return (
    <ScrollTable label={t('admin.catalog.plansLabel')} minWidth="48rem" testId="catalog-plans">
      <thead className="border-b border-zinc-200 dark:border-zinc-800">
        <tr>
          <th scope="col" className={th}>
            {t('admin.catalog.col.plan')}
          </th>
          <th scope="col" className={th}>
            {t('admin.catalog.col.kind')}
          </th>
          <th scope="col" className={`${th} text-end`}>
            {t('admin.catalog.col.credits')}
          </th>
          <th scope="col" className={th}>
            {t('admin.catalog.col.prices')}
          </th>
          <th scope="col" className={th}>
            {t('admin.catalog.col.sale')}
          </th>
          <th scope="col" className={`${th} text-end`}>
            <span className="sr-only">{t('admin.catalog.col.actions')}</span>
          </th>
        </tr>
      </thead>
      <tbody className="divide-y divide-zinc-200 text-zinc-700 dark:divide-zinc-800 dark:text-zinc-300">
        {plans.map((p) => (
          <tr key={p.id} data-testid="catalog-plan-row" data-plan-id={p.id} data-active={p.active ? 'true' : 'false'}>
            <th scope="row" className={`${td} text-start font-normal`}>
              <span className="block font-medium text-zinc-900 dark:text-zinc-100">
                {p.name}
                {p.highlighted && (
                  <Badge tone="brand" className="ms-2">
                    {t('admin.catalog.highlighted')}
                  </Badge>
                )}
              </span>
              <span className="block font-mono text-xs text-zinc-500 dark:text-zinc-400">{p.id}</span>
            </th>
            <td className={td}>
              {p.kind === 'pack' ? t('admin.catalog.pack') : t(p.interval === 'year' ? 'admin.catalog.yearly' : 'admin.catalog.monthly')}
              {p.kind === 'subscription' && p.rollover && <span className="block text-xs text-zinc-500 dark:text-zinc-400">{t('admin.catalog.rollover')}</span>}
            </td>
            <td className={`${td} text-end tabular-nums`}>{formatNumber(p.credits, lang)}</td>
            <td className={`${td} text-xs tabular-nums`}>
              {Object.entries(p.prices)
                .map(([c, a]) => formatMoney(a, c, lang))
                .join(' · ')}
            </td>
            <td className={td}>{p.active ? <Badge tone="success">{t('admin.catalog.onSale')}</Badge> : <Badge>{t('admin.catalog.offSale')}</Badge>}</td>
            <td className={`${td} text-end`}>
              {canEdit && (
                <Button size="sm" onClick={() => onEdit(p)} aria-label={t('admin.catalog.editLabel', { name: p.name })} data-testid="catalog-plan-edit">
                  {t('admin.catalog.edit')}
                </Button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </ScrollTable>
  );
}

/** /admin/catalog: the video models (on or off, price, lifecycle, providers, order) and the plans and credit packs (admins). */
export function CatalogPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('admin.catalog.title'));
  const catalog = useQuery(catalogQuery);
  const [editingModel, setEditingModel] = useState<string | null>(null);
  const [editingPlan, setEditingPlan] = useState<string | null>(null);
  const models = catalog.data?.models ?? [];
  const plans = catalog.data?.plans ?? [];

  return (
    <div data-testid="admin-catalog-page">
      <PageHeader title={t('admin.catalog.title')} lead={t('admin.catalog.lead')} />
      <QueryState
        pending={catalog.isPending}
        error={catalog.isError ? catalog.error : null}
        onRetry={() => void catalog.refetch()}
        loadingText={t('admin.catalog.loading')}
        errorTitle={t('admin.catalog.error')}
        errorMessage={catalog.isError ? errorText(catalog.error, t, i18n.language) : ''}
        retryLabel={t('admin.catalog.retry')}
      >
        <div className="space-y-10">
          <section aria-labelledby="catalog-models-title" className="space-y-3">
            <div>
              <h2 id="catalog-models-title" className="text-lg font-semibold text-zinc-900 dark:text-white">
                {t('admin.catalog.models')}
              </h2>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.catalog.modelsLead')}</p>
            </div>
            {models.length ? (
              <ModelsTable models={models} onEdit={(m) => setEditingModel(m.id)} />
            ) : (
              <EmptyState icon={<LibraryIcon className="size-7" />} title={t('admin.catalog.noModels')} description="" />
            )}
          </section>
          <section aria-labelledby="catalog-plans-title" className="space-y-3">
            <div>
              <h2 id="catalog-plans-title" className="text-lg font-semibold text-zinc-900 dark:text-white">
                {t('admin.catalog.plans')}
              </h2>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('admin.catalog.plansLead')}</p>
            </div>
            {plans.length ? (
              <PlansTable plans={plans} onEdit={(p) => setEditingPlan(p.id)} />
            ) : (
              <EmptyState icon={<LibraryIcon className="size-7" />} title={t('admin.catalog.noPlans')} description={t('admin.catalog.noPlansHint')} />
            )}
          </section>
        </div>
      </QueryState>
      <ModelDialog model={models.find((m) => m.id === editingModel) ?? null} models={models} onClose={() => setEditingModel(null)} />
      <PlanDialog plan={plans.find((p) => p.id === editingPlan) ?? null} onClose={() => setEditingPlan(null)} />
    </div>
  );
}
