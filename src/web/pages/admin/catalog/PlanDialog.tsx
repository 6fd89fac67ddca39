import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { TrashIcon } from '../../../components/icons';
import { Alert, Button, Checkbox, Dialog, Input, Select, TextArea, useToast } from '../../../components/ui';
import { formatMoney } from '../../../lib/billing';
import { errorText } from '../../../lib/errors';
import { patchPlan, wholeNumber, type AdminPlanPatch, type AdminPlanView } from './api';

interface Draft {
  name: string;
  credits: string;
  prices: { currency: string; amount: string }[];
  interval: 'month' | 'year';
  rollover: boolean;
  active: boolean;
  highlighted: boolean;
  sort: string;
  apiRate: string;
  stripePriceId: string;
  creemProductId: string;
  reason: string;
}

const draftOf = (p: AdminPlanView): Draft => ({
  name: p.name,
  credits: String(p.credits),
  prices: Object.entries(p.prices).map(([currency, amount]) => ({ currency, amount: String(amount) })),
  interval: p.interval ?? 'month',
  rollover: p.rollover,
  active: p.active,
  highlighted: p.highlighted,
  sort: String(p.sort),
  apiRate: p.apiRequestsPerMinute === null ? '' : String(p.apiRequestsPerMinute),
  stripePriceId: p.providerRefs.stripePriceId ?? '',
  creemProductId: p.providerRefs.creemProductId ?? '',
  reason: '',
});

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Edit a plan or a credit pack: what it is called, what it gives, what it costs, and whether it is on sale. */
export function PlanDialog({ plan, onClose }: { plan: AdminPlanView | null; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const [draft, setDraft] = useState<Draft | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [shownFor, setShownFor] = useState<string | null>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  if (plan && shownFor !== plan.id) {
    setShownFor(plan.id);
    setDraft(draftOf(plan));
    setProblem(null);
  }
  if (!plan && shownFor !== null) setShownFor(null);

  const save = useMutation({
    mutationFn: (patch: AdminPlanPatch) => patchPlan(queryClient, plan?.id ?? '', patch),
    onSuccess: (p) => {
      toast({ title: t('admin.catalog.plan.saved', { name: p.name }), tone: 'success' });
      onClose();
    },
  });

  if (!plan || !draft) return <Dialog open={false} onClose={onClose} title="" />;
  const set = (next: Partial<Draft>) => setDraft({ ...draft, ...next });
  const subscription = plan.kind === 'subscription';

  function build(p: AdminPlanView, d: Draft): AdminPlanPatch | string {
    const patch: Partial<AdminPlanPatch> = {};
    const name = d.name.trim();
    if (!name) return t('admin.catalog.plan.nameRequired');
    if (name !== p.name) patch.name = name;
    const credits = wholeNumber(d.credits);
    if (!credits) return t('admin.catalog.plan.badCredits');
    if (credits !== p.credits) patch.credits = credits;
    const prices: Record<string, number> = {};
    for (const row of d.prices) {
      const currency = row.currency.trim().toLowerCase();
      if (!currency && !row.amount.trim()) continue;
      const amount = wholeNumber(row.amount);
      if (!/^[a-z]{3}$/.test(currency)) return t('admin.catalog.plan.badCurrency', { currency: row.currency });
      if (!amount) return t('admin.catalog.plan.badAmount', { currency });
      if (currency in prices) return t('admin.catalog.plan.twice', { currency });
      prices[currency] = amount;
    }
    if (!Object.keys(prices).length) return t('admin.catalog.plan.noPrice');
    if (!same(Object.entries(prices).sort(), Object.entries(p.prices).sort())) patch.prices = prices;
    if (subscription && d.interval !== p.interval) patch.interval = d.interval;
    if (subscription && d.rollover !== p.rollover) patch.rollover = d.rollover;
    if (d.active !== p.active) patch.active = d.active;
    if (d.highlighted !== p.highlighted) patch.highlighted = d.highlighted;
    const sort = wholeNumber(d.sort);
    if (sort === null) return t('admin.catalog.plan.badSort');
    if (sort !== p.sort) patch.sort = sort;
    const apiRate = d.apiRate.trim() ? wholeNumber(d.apiRate) : null;
    if (d.apiRate.trim() && !apiRate) return t('admin.catalog.plan.badRate');
    if (apiRate !== p.apiRequestsPerMinute) patch.apiRequestsPerMinute = apiRate;
    const refs: NonNullable<AdminPlanPatch['providerRefs']> = {};
    if (d.stripePriceId.trim() !== (p.providerRefs.stripePriceId ?? '')) refs.stripePriceId = d.stripePriceId.trim() || null;
    if (d.creemProductId.trim() !== (p.providerRefs.creemProductId ?? '')) refs.creemProductId = d.creemProductId.trim() || null;
    if (Object.keys(refs).length) patch.providerRefs = refs;
    if (!Object.keys(patch).length) return t('admin.catalog.plan.nothing');
    return { ...patch, ...(d.reason.trim() ? { reason: d.reason.trim() } : {}) };
  }

  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const patch = build(plan, draft);
    if (typeof patch === 'string') {
      setProblem(patch);
      return;
    }
    setProblem(null);
    save.mutate(patch);
  };

  return (
    <Dialog
      open
      onClose={onClose}
      title={t('admin.catalog.plan.title', { name: plan.name })}
      description={t(subscription ? 'admin.catalog.plan.leadSubscription' : 'admin.catalog.plan.leadPack', { id: plan.id })}
      initialFocus={nameRef}
      size="lg"
    >
      <form onSubmit={submit} noValidate className="space-y-6" data-testid="plan-form">
        <div className="grid gap-3 sm:grid-cols-2">
          <Input
            ref={nameRef}
            label={t('admin.catalog.plan.name')}
            maxLength={100}
            value={draft.name}
            onChange={(e) => set({ name: e.target.value })}
            data-testid="plan-name"
          />
          <Input
            label={t(subscription ? 'admin.catalog.plan.creditsPerPeriod' : 'admin.catalog.plan.credits')}
            inputMode="numeric"
            value={draft.credits}
            onChange={(e) => set({ credits: e.target.value })}
            data-testid="plan-credits"
          />
        </div>

        <fieldset className="space-y-2">
          <legend className="text-sm font-semibold text-zinc-900 dark:text-white">{t('admin.catalog.plan.prices')}</legend>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('admin.catalog.plan.pricesHint')}</p>
          <ul className="space-y-2">
            {draft.prices.map((row, i) => {
              const amount = wholeNumber(row.amount);
              const currency = row.currency.trim().toLowerCase();
              return (
                <li key={i} className="grid grid-cols-[6rem_1fr_auto] items-start gap-2">
                  <Input
                    label={t('admin.catalog.plan.currency')}
                    maxLength={3}
                    autoCapitalize="off"
                    spellCheck={false}
                    value={row.currency}
                    onChange={(e) => set({ prices: draft.prices.map((x, j) => (j === i ? { ...x, currency: e.target.value } : x)) })}
                  />
                  <Input
                    label={t('admin.catalog.plan.amount')}
                    hint={amount && /^[a-z]{3}$/.test(currency) ? formatMoney(amount, currency, i18n.language) : undefined}
                    inputMode="numeric"
                    value={row.amount}
                    onChange={(e) => set({ prices: draft.prices.map((x, j) => (j === i ? { ...x, amount: e.target.value } : x)) })}
                    data-testid={`plan-price-${currency || i}`}
                  />
                  <Button
                    type="button"
                    variant="ghost"
                    size="sm"
                    className="mt-7"
                    onClick={() => set({ prices: draft.prices.filter((_, j) => j !== i) })}
                    aria-label={t('admin.catalog.plan.removePrice', { currency: currency || '?' })}
                  >
                    <TrashIcon className="size-4" />
                  </Button>
                </li>
              );
            })}
          </ul>
          <Button type="button" variant="secondary" size="sm" onClick={() => set({ prices: [...draft.prices, { currency: '', amount: '' }] })}>
            {t('admin.catalog.plan.addPrice')}
          </Button>
        </fieldset>

        {subscription && (
          <div className="grid items-end gap-3 sm:grid-cols-2">
            <Select label={t('admin.catalog.plan.interval')} value={draft.interval} onChange={(e) => set({ interval: e.target.value as 'month' | 'year' })}>
              <option value="month">{t('admin.catalog.plan.month')}</option>
              <option value="year">{t('admin.catalog.plan.year')}</option>
            </Select>
            <Checkbox
              label={t('admin.catalog.plan.rollover')}
              checked={draft.rollover}
              onChange={(e) => set({ rollover: e.target.checked })}
              className="sm:pb-2.5"
            />
          </div>
        )}

        <div className="grid gap-3 sm:grid-cols-2">
          <Checkbox
            label={t('admin.catalog.plan.active')}
            checked={draft.active}
            onChange={(e) => set({ active: e.target.checked })}
            data-testid="plan-active"
          />
          <Checkbox label={t('admin.catalog.plan.highlighted')} checked={draft.highlighted} onChange={(e) => set({ highlighted: e.target.checked })} />
          <Input
            label={t('admin.catalog.plan.sort')}
            hint={t('admin.catalog.plan.sortHint')}
            inputMode="numeric"
            value={draft.sort}
            onChange={(e) => set({ sort: e.target.value })}
          />
          {subscription && (
            <Input
              label={t('admin.catalog.plan.apiRate')}
              hint={t('admin.catalog.plan.apiRateHint')}
              inputMode="numeric"
              value={draft.apiRate}
              onChange={(e) => set({ apiRate: e.target.value })}
            />
          )}
          <Input
            label={t('admin.catalog.plan.stripePrice')}
            hint={t('admin.catalog.plan.optional')}
            maxLength={200}
            spellCheck={false}
            autoCapitalize="off"
            value={draft.stripePriceId}
            onChange={(e) => set({ stripePriceId: e.target.value })}
          />
          <Input
            label={t('admin.catalog.plan.creemProduct')}
            hint={t('admin.catalog.plan.optional')}
            maxLength={200}
            spellCheck={false}
            autoCapitalize="off"
            value={draft.creemProductId}
            onChange={(e) => set({ creemProductId: e.target.value })}
          />
        </div>

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
          {!problem && save.error && <Alert tone="error">{errorText(save.error, t, i18n.language)}</Alert>}
        </div>

        <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
          <Button type="button" variant="secondary" onClick={onClose}>
            {t('admin.catalog.cancel')}
          </Button>
          <Button type="submit" loading={save.isPending} data-testid="plan-save">
            {t('admin.catalog.save')}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
