import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { AlertIcon } from '../../components/icons';
import { cn } from '../../lib/cn';
import { lowestRate, type ModelView } from '../../lib/models';

/** A sunset date (YYYY-MM-DD) in the user's language, e.g. "24 sept 2026". */
function formatDay(day: string, language: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return day;
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeZone: 'UTC' }).format(date);
}

/** The display name of a model id (the replacement of a deprecated model), or the id itself. */
function nameOf(models: ModelView[], id: string | undefined): string | undefined {
  if (!id) return undefined;
  return models.find((m) => m.id === id)?.name ?? id;
}

/**
 * The models as one group of radio buttons: available ones first (selectable, with their summary
 * and lowest rate), then the ones this server cannot run (disabled, with the reason). Arrow keys
 * move between the available ones, as in any radio group.
 */
export function ModelPicker({ models, value, onChange }: { models: ModelView[]; value: string | undefined; onChange: (id: string) => void }) {
  const { t } = useTranslation();
  const name = useId();
  const unavailableId = useId();
  const available = models.filter((m) => m.available);
  const unavailable = models.filter((m) => !m.available);

  return (
    <fieldset className="space-y-3" data-testid="model-picker">
      <legend className="mb-2 text-sm font-medium text-zinc-800 dark:text-zinc-200">{t('studio.model.legend')}</legend>
      <div className="grid gap-2">
        {available.map((m) => (
          <ModelOption key={m.id} model={m} models={models} name={name} checked={m.id === value} onChange={onChange} />
        ))}
      </div>
      {unavailable.length > 0 && (
        <div className="space-y-2 pt-1">
          <p id={unavailableId} className="text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">
            {t('studio.model.unavailable')}
          </p>
          <div role="group" aria-labelledby={unavailableId} className="grid gap-2 sm:grid-cols-2">
            {unavailable.map((m) => (
              <ModelOption key={m.id} model={m} models={models} name={name} checked={m.id === value} onChange={onChange} />
            ))}
          </div>
        </div>
      )}
    </fieldset>
  );
}

function ModelOption({
  model: m,
  models,
  name,
  checked,
  onChange,
}: {
  model: ModelView;
  models: ModelView[];
  name: string;
  checked: boolean;
  onChange: (id: string) => void;
}) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const rate = lowestRate(m);
  const replacement = nameOf(models, m.lifecycle.replacement);

  let reason: string | undefined;
  if (!m.available) {
    if (m.unavailableReason === 'retired' || m.lifecycle.state === 'retired') {
      reason = replacement ? t('studio.model.reason.retiredUse', { name: replacement }) : t('studio.model.reason.retired');
    } else if (m.unavailableReason === 'disabled') reason = t('studio.model.reason.disabled');
    else reason = t('studio.model.reason.no_provider');
  }

  let notice: string | undefined;
  if (m.lifecycle.state === 'deprecated') {
    const date = m.lifecycle.sunsetDate ? formatDay(m.lifecycle.sunsetDate, i18n.language) : undefined;
    if (date) notice = replacement ? t('studio.model.deprecatedUse', { date, name: replacement }) : t('studio.model.deprecated', { date });
    else notice = replacement ? t('studio.model.deprecatedNoDateUse', { name: replacement }) : t('studio.model.deprecatedNoDate');
  }

  const describedBy = [`${id}-desc`, notice && `${id}-notice`].filter(Boolean).join(' ');

  return (
    <label
      htmlFor={`${id}-radio`}
      data-testid="model-option"
      data-model={m.id}
      className={cn(
        'flex gap-3 rounded-xl border text-sm transition-colors',
        m.available ? 'cursor-pointer p-3' : 'cursor-not-allowed px-3 py-2',
        checked
          ? 'border-brand-500 bg-brand-50/70 ring-1 ring-brand-500 dark:border-brand-400 dark:bg-brand-950/40 dark:ring-brand-400'
          : m.available
            ? 'border-zinc-200 hover:border-zinc-300 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:border-zinc-700 dark:hover:bg-zinc-800/40'
            : 'border-dashed border-zinc-200 bg-zinc-50/60 dark:border-zinc-800 dark:bg-zinc-900/30',
      )}
    >
      <input
        id={`${id}-radio`}
        type="radio"
        name={name}
        value={m.id}
        checked={checked}
        disabled={!m.available}
        onChange={() => onChange(m.id)}
        aria-labelledby={`${id}-name`}
        aria-describedby={describedBy}
        className="mt-0.5 size-4 shrink-0 accent-brand-600 disabled:opacity-50"
      />
      <span className="min-w-0 flex-1">
        <span className="flex flex-wrap items-baseline gap-x-2">
          <span id={`${id}-name`} className={cn('font-medium', m.available ? 'text-zinc-900 dark:text-white' : 'text-zinc-500 dark:text-zinc-400')}>
            {m.name}
          </span>
          <span className="text-xs text-zinc-500 dark:text-zinc-400">{t('studio.model.by', { vendor: m.vendor })}</span>
        </span>
        {m.available ? (
          <span id={`${id}-desc`} className="mt-0.5 block text-xs leading-relaxed text-zinc-600 dark:text-zinc-400">
            {t(m.summaryKey as never, { defaultValue: '' }) as string}
            {rate !== null && <span className="mt-0.5 block font-medium text-zinc-700 dark:text-zinc-300">{t('studio.model.rate', { count: rate })}</span>}
          </span>
        ) : (
          <span id={`${id}-desc`} className="block text-xs text-zinc-500 dark:text-zinc-400" data-testid="model-unavailable-reason">
            {reason}
          </span>
        )}
        {notice && (
          <span id={`${id}-notice`} className="mt-1 flex items-start gap-1 text-xs text-amber-700 dark:text-amber-300" data-testid="model-deprecated">
            <AlertIcon className="mt-px size-3.5 shrink-0" />
            {notice}
          </span>
        )}
      </span>
    </label>
  );
}
