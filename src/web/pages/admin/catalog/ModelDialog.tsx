import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { LifecycleState } from '../../../../shared/catalog/vocabulary';
import { Alert, Button, Checkbox, Dialog, Input, Select, TextArea, useToast } from '../../../components/ui';
import { errorText } from '../../../lib/errors';
import { lifecycleStates, patchModel, rate, resetModel, type AdminModelPatch, type AdminModelView } from './api';

interface Draft {
  enabled: boolean;
  perSecond: Record<string, string>;
  audioPerSecond: string;
  perReference: string;
  minimum: string;
  state: LifecycleState;
  sunsetDate: string;
  replacement: string;
  note: string;
  routes: { provider: string; included: boolean }[];
  reason: string;
}

const text = (n: number | undefined) => (n === undefined ? '' : String(n));

function draftOf(m: AdminModelView): Draft {
  const tried = m.routes.map((r) => r.provider);
  return {
    enabled: m.enabled,
    perSecond: Object.fromEntries(m.resolutions.map((r) => [r, text(m.price.perSecond[r])])),
    audioPerSecond: text(m.price.audioPerSecond),
    perReference: text(m.price.perReference),
    minimum: text(m.price.minimum),
    state: m.lifecycle.state,
    sunsetDate: m.lifecycle.sunsetDate ?? '',
    replacement: m.lifecycle.replacement ?? '',
    note: m.lifecycle.note ?? '',
    // the providers tried, in order, then those the operator left out
    routes: [
      ...tried.map((p) => ({ provider: p, included: true })),
      ...m.providers.filter((p) => !tried.includes(p)).map((p) => ({ provider: p, included: false })),
    ],
    reason: '',
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Edit one model: on or off, its price per second, its lifecycle (retire it with a sunset date and a
 * replacement) and the order its providers are tried in. Only what changed is sent; the server
 * checks it all again and writes the audit entry.
 */
export function ModelDialog({ model, models, onClose }: { model: AdminModelView | null; models: readonly AdminModelView[]; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const [draft, setDraft] = useState<Draft | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const firstRef = useRef<HTMLInputElement>(null);
  const [shownFor, setShownFor] = useState<string | null>(null);
  if (model && shownFor !== model.id) {
    setShownFor(model.id);
    setDraft(draftOf(model));
    setProblem(null);
  }
  if (!model && shownFor !== null) setShownFor(null);

  const save = useMutation({
    mutationFn: (patch: AdminModelPatch) => patchModel(queryClient, model?.id ?? '', patch),
    onSuccess: (m) => {
      toast({ title: t('admin.catalog.model.saved', { name: m.name }), tone: 'success' });
      onClose();
    },
  });
  const reset = useMutation({
    mutationFn: () => resetModel(queryClient, model?.id ?? '', draft?.reason.trim() ?? ''),
    onSuccess: (m) => {
      toast({ title: t('admin.catalog.model.resetDone', { name: m.name }), tone: 'success' });
      onClose();
    },
  });

  if (!model || !draft) return <Dialog open={false} onClose={onClose} title="" />;
  const set = (next: Partial<Draft>) => setDraft({ ...draft, ...next });

  function build(m: AdminModelView, d: Draft): AdminModelPatch | string {
    const patch: Partial<AdminModelPatch> = {};
    if (d.enabled !== m.enabled) patch.enabled = d.enabled;
    const perSecond: Record<string, number> = {};
    for (const r of m.resolutions) {
      const v = rate(d.perSecond[r] ?? '');
      if (v === null) return t('admin.catalog.model.badRate', { resolution: r });
      perSecond[r] = v;
    }
    const price: NonNullable<AdminModelPatch['price']> = { perSecond };
    for (const k of ['audioPerSecond', 'perReference', 'minimum'] as const) {
      if (!d[k].trim()) continue;
      const v = rate(d[k]);
      if (v === null) return t('admin.catalog.model.badNumber', { field: t(`admin.catalog.model.${k}`) });
      price[k] = v;
    }
    if (!same(price, { ...m.price, perSecond: Object.fromEntries(m.resolutions.map((r) => [r, m.price.perSecond[r]])) })) patch.price = price;
    const lifecycle: NonNullable<AdminModelPatch['lifecycle']> = {
      state: d.state,
      ...(d.replacement ? { replacement: d.replacement } : {}),
      ...(d.sunsetDate ? { sunsetDate: d.sunsetDate } : {}),
      ...(d.note.trim() ? { note: d.note.trim() } : {}),
    };
    const current = {
      state: m.lifecycle.state,
      ...(m.lifecycle.replacement ? { replacement: m.lifecycle.replacement } : {}),
      ...(m.lifecycle.sunsetDate ? { sunsetDate: m.lifecycle.sunsetDate } : {}),
      ...(m.lifecycle.note ? { note: m.lifecycle.note } : {}),
    };
    if (!same(lifecycle, current)) patch.lifecycle = lifecycle;
    const order = d.routes.filter((r) => r.included).map((r) => r.provider);
    if (!order.length) return t('admin.catalog.model.noRoute');
    if (
      !same(
        order,
        m.routes.map((r) => r.provider),
      )
    )
      patch.routeOrder = order;
    if (!Object.keys(patch).length) return t('admin.catalog.model.nothing');
    return { ...patch, ...(d.reason.trim() ? { reason: d.reason.trim() } : {}) };
  }

  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const patch = build(model, draft);
    if (typeof patch === 'string') {
      setProblem(patch);
      return;
    }
    setProblem(null);
    save.mutate(patch);
  };

  const move = (i: number, by: -1 | 1) => {
    const routes = [...draft.routes];
    const [r] = routes.splice(i, 1);
    if (!r) return;
    routes.splice(i + by, 0, r);
    set({ routes });
  };
  const failure = save.error ?? reset.error;
  const overridden = Object.values(model.overridden).some(Boolean);

  return (
    <Dialog
      open
      onClose={onClose}
      title={t('admin.catalog.model.title', { name: model.name })}
      description={t('admin.catalog.model.lead', { id: model.id })}
      initialFocus={firstRef}
      size="lg"
    >
      <form onSubmit={submit} noValidate className="space-y-6" data-testid="model-form">
        <Checkbox
          ref={firstRef}
          label={t('admin.catalog.model.enabled')}
          checked={draft.enabled}
          onChange={(e) => set({ enabled: e.target.checked })}
          data-testid="model-enabled"
        />

        <fieldset className="space-y-3">
          <legend className="text-sm font-semibold text-zinc-900 dark:text-white">{t('admin.catalog.model.price')}</legend>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.catalog.model.priceHint')}</p>
          <div className="grid gap-3 sm:grid-cols-3">
            {model.resolutions.map((r) => (
              <Input
                key={r}
                label={t('admin.catalog.model.perSecond', { resolution: r })}
                inputMode="decimal"
                value={draft.perSecond[r] ?? ''}
                onChange={(e) => set({ perSecond: { ...draft.perSecond, [r]: e.target.value } })}
                data-testid={`model-rate-${r}`}
              />
            ))}
            {(['audioPerSecond', 'perReference', 'minimum'] as const).map((k) => (
              <Input
                key={k}
                label={t(`admin.catalog.model.${k}`)}
                hint={t('admin.catalog.model.optional')}
                inputMode="decimal"
                value={draft[k]}
                onChange={(e) => set({ [k]: e.target.value })}
              />
            ))}
          </div>
        </fieldset>

        <fieldset className="space-y-3">
          <legend className="text-sm font-semibold text-zinc-900 dark:text-white">{t('admin.catalog.model.lifecycle')}</legend>
          <div className="grid gap-3 sm:grid-cols-3">
            <Select
              label={t('admin.catalog.model.state')}
              value={draft.state}
              onChange={(e) => set({ state: e.target.value as LifecycleState })}
              data-testid="model-state"
            >
              {lifecycleStates.map((s) => (
                <option key={s} value={s}>
                  {t(`admin.catalog.lifecycle.${s}`)}
                </option>
              ))}
            </Select>
            <Input type="date" label={t('admin.catalog.model.sunset')} value={draft.sunsetDate} onChange={(e) => set({ sunsetDate: e.target.value })} />
            <Select label={t('admin.catalog.model.replacement')} value={draft.replacement} onChange={(e) => set({ replacement: e.target.value })}>
              <option value="">{t('admin.catalog.model.noReplacement')}</option>
              {models
                .filter((m) => m.id !== model.id)
                .map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name}
                  </option>
                ))}
            </Select>
          </div>
          <Input
            label={t('admin.catalog.model.note')}
            hint={t('admin.catalog.model.noteHint')}
            maxLength={500}
            value={draft.note}
            onChange={(e) => set({ note: e.target.value })}
          />
        </fieldset>

        <fieldset className="space-y-2">
          <legend className="text-sm font-semibold text-zinc-900 dark:text-white">{t('admin.catalog.model.routes')}</legend>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.catalog.model.routesHint')}</p>
          <ol className="space-y-2">
            {draft.routes.map((r, i) => (
              <li key={r.provider} className="flex flex-wrap items-center gap-3 rounded-lg border border-zinc-200 px-3 py-2 dark:border-zinc-800">
                <Checkbox
                  label={t(`admin.catalog.providers.${r.provider}` as never, { defaultValue: r.provider }) as string}
                  checked={r.included}
                  onChange={(e) => set({ routes: draft.routes.map((x) => (x.provider === r.provider ? { ...x, included: e.target.checked } : x)) })}
                  className="flex-1"
                />
                <span className="flex gap-1">
                  <Button
                    type="button"
                    size="sm"
                    variant="ghost"
                    disabled={i === 0}
                    onClick={() => move(i, -1)}
                    aria-label={t('admin.catalog.model.routeUp', { provider: r.provider })}
                  >
                    ↑
                  </Button>
                  <Button
                    type="button"
                    size="sm"
                    variant="ghost"
                    disabled={i === draft.routes.length - 1}
                    onClick={() => move(i, 1)}
                    aria-label={t('admin.catalog.model.routeDown', { provider: r.provider })}
                  >
                    ↓
                  </Button>
                </span>
              </li>
            ))}
          </ol>
        </fieldset>

        <TextArea
          label={t('admin.catalog.reason')}
          hint={t('admin.catalog.reasonHint')}
          maxLength={500}
          rows={2}
          value={draft.reason}
          onChange={(e) => set({ reason: e.target.value })}
        />

        <div aria-live="polite">
          {problem && <Alert tone="error">{problem}</Alert>}
          {!problem && failure && <Alert tone="error">{errorText(failure, t, i18n.language)}</Alert>}
        </div>

        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:items-center sm:justify-between">
          <Button
            type="button"
            variant="ghost"
            disabled={!overridden}
            loading={reset.isPending}
            onClick={() => reset.mutate()}
            title={overridden ? undefined : t('admin.catalog.model.nothingToReset')}
            data-testid="model-reset"
          >
            {t('admin.catalog.model.reset')}
          </Button>
          <div className="flex flex-col-reverse gap-2 sm:flex-row">
            <Button type="button" variant="secondary" onClick={onClose}>
              {t('admin.catalog.cancel')}
            </Button>
            <Button type="submit" loading={save.isPending} data-testid="model-save">
              {t('admin.catalog.save')}
            </Button>
          </div>
        </div>
      </form>
    </Dialog>
  );
}
