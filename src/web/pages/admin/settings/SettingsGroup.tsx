import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CheckCircleIcon, AlertIcon } from '../../../components/icons';
import { Alert, Badge, Button, Card, Input, Select } from '../../../components/ui';
import { ApiError } from '../../../lib/api';
import { errorText } from '../../../lib/errors';
import { dateTime, relativeTime } from '../../../lib/format';
import { connectionTestKeys, saveSettings, settingsQuery, testConnection, type ConnectionTestResult, type SettingGroupView, type SettingView } from './api';

/** A translation whose key is built from server data (setting names, groups, option values). */
export const tk = (t: TFunction, key: string, options?: Record<string, unknown>): string => t(key as never, options as never) as unknown as string;

type Run = <T>(action: () => Promise<T>) => Promise<T>;

/** What a field's draft does: undefined = untouched, null = clear the saved value, text = the new value. */
type Draft = string | null | undefined;

/** the draft changes something worth sending */
function changes(s: SettingView, draft: Draft): boolean {
  if (draft === undefined || !s.editable) return false;
  if (draft === null) return s.source === 'database';
  if (s.secret) return draft.trim() !== '';
  return draft.trim() !== (s.value ?? '');
}

/** One group of settings (a card): its fields, its Save button and, for a connection, its test button. */
export function SettingsGroup({ group, run }: { group: SettingGroupView; run: Run }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const [drafts, setDrafts] = useState<Record<string, Draft>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [outcome, setOutcome] = useState<{ tone: 'success' | 'error' | 'info'; text: string; title?: string } | null>(null);
  const [tested, setTested] = useState<ConnectionTestResult | null>(null);

  const pending = group.settings.filter((s) => changes(s, drafts[s.key]));
  const editable = group.settings.some((s) => s.editable);
  const titleId = `group-${group.id}-title`;

  const save = useMutation({
    mutationFn: () => run(() => saveSettings(Object.fromEntries(pending.map((s) => [s.key, drafts[s.key]?.trim() ?? null])))),
    onSuccess: (result) => {
      queryClient.setQueryData(settingsQuery.queryKey, { groups: result.groups, canEdit: result.canEdit });
      setDrafts({});
      setFieldErrors({});
      const restart = result.changed.some((k) => group.settings.find((s) => s.key === k)?.apply === 'restart');
      setOutcome({ tone: 'success', text: t(restart ? 'admin.settings.savedRestart' : 'admin.settings.saved') });
    },
    onError: (err) => {
      const fields = err instanceof ApiError ? (err.details?.fields as { field: string; message: string }[] | undefined) : undefined;
      setFieldErrors(Object.fromEntries((fields ?? []).map((f) => [f.field, f.message])));
      // cancelling the password dialog is not worth a message
      if (err instanceof ApiError && err.code === 'reauth_required') {
        setOutcome(null);
        return;
      }
      setOutcome({ tone: 'error', title: t('admin.settings.saveFailed'), text: errorText(err, t, i18n.language) });
    },
  });

  const test = useMutation({
    mutationFn: () => {
      const provider = group.test;
      if (!provider) throw new Error('this group has no connection to test');
      const typed = connectionTestKeys[provider].flatMap((key) => {
        const d = drafts[key];
        return typeof d === 'string' && d.trim() ? [[key, d.trim()] as const] : [];
      });
      return testConnection(provider, Object.fromEntries(typed));
    },
    onMutate: () => setTested(null),
    onSuccess: setTested,
    onError: (err) => setTested({ ok: false, detail: errorText(err, t, i18n.language), ms: 0 }),
  });

  const setDraft = (key: string, value: Draft) => {
    setDrafts((d) => ({ ...d, [key]: value }));
    setOutcome(null);
    if (fieldErrors[key]) setFieldErrors(({ [key]: _gone, ...rest }) => rest);
  };

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (pending.length) save.mutate();
    else setOutcome({ tone: 'info', text: t('admin.settings.noChanges') });
  };

  return (
    <section id={`group-${group.id}`} aria-labelledby={titleId} className="scroll-mt-24" data-testid={`admin-settings-group-${group.id}`}>
      <Card padding="md">
        <h2 id={titleId} className="text-lg font-semibold text-zinc-900 dark:text-white">
          {tk(t, `admin.settings.groups.${group.id}.title`)}
        </h2>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{tk(t, `admin.settings.groups.${group.id}.description`)}</p>
        {group.id === 'storage' && (
          <Alert tone="warning" className="mt-4">
            {t('admin.settings.storageNote')}
          </Alert>
        )}
        <form onSubmit={onSubmit} noValidate className="mt-5 space-y-5">
          <div className="grid gap-x-6 gap-y-5 md:grid-cols-2">
            {group.settings.map((s) => (
              <SettingField key={s.key} setting={s} draft={drafts[s.key]} error={fieldErrors[s.key]} onChange={(v) => setDraft(s.key, v)} />
            ))}
          </div>

          {(editable || group.test) && (
            <div className="flex flex-col gap-3 border-t border-zinc-200 pt-4 sm:flex-row sm:items-center sm:justify-between dark:border-zinc-800">
              <p className="text-sm text-zinc-600 dark:text-zinc-400">{pending.length > 0 && t('admin.settings.unsaved', { count: pending.length })}</p>
              <div className="flex flex-wrap gap-2">
                {group.test && editable && (
                  <Button
                    variant="secondary"
                    onClick={() => test.mutate()}
                    loading={test.isPending}
                    loadingText={t('admin.settings.testing')}
                    title={t('admin.settings.testHint')}
                    data-testid={`admin-settings-test-${group.test}`}
                  >
                    {t('admin.settings.test')}
                  </Button>
                )}
                {editable && (
                  <Button type="submit" loading={save.isPending} loadingText={t('admin.settings.saving')} data-testid={`admin-settings-save-${group.id}`}>
                    {t('admin.settings.save')}
                  </Button>
                )}
              </div>
            </div>
          )}
        </form>

        {/* results of saving and testing, announced as they arrive */}
        <div aria-live="polite" className="mt-3 space-y-3 empty:hidden">
          {outcome && (
            <p
              className={
                outcome.tone === 'error'
                  ? 'text-sm font-medium text-red-700 dark:text-red-300'
                  : outcome.tone === 'success'
                    ? 'text-sm font-medium text-emerald-700 dark:text-emerald-300'
                    : 'text-sm text-zinc-600 dark:text-zinc-400'
              }
              data-testid={`admin-settings-outcome-${group.id}`}
              data-tone={outcome.tone}
            >
              {outcome.title && <span className="font-semibold">{outcome.title}: </span>}
              {outcome.text}
            </p>
          )}
          {tested && group.test && (
            <p
              className={`flex items-start gap-2 text-sm ${tested.ok ? 'text-emerald-700 dark:text-emerald-300' : 'text-red-700 dark:text-red-300'}`}
              data-testid={`admin-settings-test-result-${group.test}`}
              data-ok={tested.ok}
            >
              {tested.ok ? <CheckCircleIcon className="mt-0.5 size-4 shrink-0" /> : <AlertIcon className="mt-0.5 size-4 shrink-0" />}
              <span>
                <span className="font-semibold">{t(tested.ok ? 'admin.settings.testOk' : 'admin.settings.testFailed')}</span>
                {tested.ms > 0 && <span className="text-zinc-500 dark:text-zinc-400"> · {t('admin.settings.testMs', { ms: tested.ms })}</span>}
                <span className="block break-words text-zinc-700 dark:text-zinc-300">{tested.detail}</span>
              </span>
            </p>
          )}
        </div>
      </Card>
    </section>
  );
}

const sourceTone = { environment: 'warning', database: 'brand', default: 'neutral' } as const;

function SettingField({
  setting: s,
  draft,
  error,
  onChange,
}: {
  setting: SettingView;
  draft: Draft;
  error?: string | undefined;
  onChange: (v: Draft) => void;
}) {
  const { t, i18n } = useTranslation();
  const label = tk(t, `admin.settings.fields.${s.key}`, { defaultValue: s.key });
  const help = tk(t, `admin.settings.hints.${s.key}`, { defaultValue: '' });
  const clearing = draft === null;
  const testId = `admin-settings-${s.key}`;

  const notes: string[] = [];
  if (help) notes.push(help);
  if (s.source === 'environment') notes.push(t('admin.settings.envLocked'));
  else if (!s.secret && !s.readOnly)
    notes.push(s.defaultValue !== null ? t('admin.settings.defaultIs', { value: optionText(t, s, s.defaultValue) }) : t('admin.settings.noDefault'));
  if (s.pendingRestart) notes.push(t('admin.settings.pendingRestart'));
  if (clearing) notes.push(t(s.secret ? 'admin.settings.secret.willRemove' : 'admin.settings.willReset'));
  const hint = notes.join(' ');

  let field;
  if (s.input === 'secret') {
    const status = s.set
      ? s.hint
        ? t('admin.settings.secret.setWithHint', { hint: s.hint })
        : t('admin.settings.secret.set')
      : t('admin.settings.secret.notSet');
    field = (
      <Input
        type="password"
        label={
          <>
            {label} <span className="font-normal text-zinc-500 dark:text-zinc-400">· {status}</span>
          </>
        }
        value={typeof draft === 'string' ? draft : ''}
        placeholder={s.editable ? t(s.set ? 'admin.settings.secret.replace' : 'admin.settings.secret.enter') : ''}
        autoComplete="new-password"
        spellCheck={false}
        autoCapitalize="off"
        disabled={!s.editable || clearing}
        onChange={(e) => onChange(e.target.value)}
        hint={hint}
        error={error}
        maxLength={4096}
        data-testid={testId}
      />
    );
  } else if (s.input === 'select' || s.input === 'boolean') {
    const value = typeof draft === 'string' ? draft : (s.value ?? '');
    field = (
      <Select
        label={label}
        value={value}
        disabled={!s.editable || clearing}
        onChange={(e) => onChange(e.target.value)}
        hint={hint}
        error={error}
        data-testid={testId}
      >
        {value === '' && <option value="">{s.key === 'STORAGE_DRIVER' ? t('admin.settings.storageAuto') : '—'}</option>}
        {(s.options ?? []).map((o) => (
          <option key={o} value={o}>
            {optionText(t, s, o)}
          </option>
        ))}
      </Select>
    );
  } else {
    field = (
      <Input
        type={s.input === 'number' ? 'text' : s.input === 'url' ? 'url' : 'text'}
        inputMode={s.input === 'number' ? (s.key.includes('THRESHOLD') ? 'decimal' : 'numeric') : s.input === 'url' ? 'url' : undefined}
        label={label}
        value={typeof draft === 'string' ? draft : (s.value ?? '')}
        disabled={!s.editable || clearing}
        spellCheck={false}
        autoCapitalize="off"
        onChange={(e) => onChange(e.target.value)}
        hint={hint}
        error={error}
        maxLength={4096}
        data-testid={testId}
      />
    );
  }

  return (
    <div id={s.key} className="flex scroll-mt-24 flex-col gap-2" data-source={s.source}>
      {field}
      <div className="flex flex-wrap items-center gap-1.5">
        <code className="rounded bg-zinc-100 px-1.5 py-0.5 text-xs text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">{s.key}</code>
        <Badge tone={sourceTone[s.source]}>{t(`admin.settings.source.${s.source}`)}</Badge>
        <Badge tone={s.apply === 'live' ? 'success' : 'neutral'}>{t(`admin.settings.apply.${s.apply}`)}</Badge>
        {s.editable && s.source === 'database' && !clearing && (
          <Button variant="ghost" size="sm" onClick={() => onChange(null)} data-testid={`${testId}-clear`}>
            {s.secret ? t('admin.settings.secret.remove') : t('admin.settings.useDefault')}
          </Button>
        )}
        {(clearing || (typeof draft === 'string' && draft !== (s.secret ? '' : (s.value ?? '')))) && (
          <Button variant="ghost" size="sm" onClick={() => onChange(undefined)}>
            {t('admin.settings.undo')}
          </Button>
        )}
      </div>
      {s.source === 'database' && s.updatedAt && (
        <p className="text-xs text-zinc-500 dark:text-zinc-400">
          <time dateTime={s.updatedAt} title={dateTime(s.updatedAt, i18n.language)}>
            {t('admin.settings.updated', { when: relativeTime(s.updatedAt, i18n.language), who: s.updatedBy ?? '—' })}
          </time>
        </p>
      )}
    </div>
  );
}

/** an option's label: yes/no, the named choices; anything else as it is */
function optionText(t: TFunction, s: SettingView, value: string): string {
  if (s.input !== 'select' && s.input !== 'boolean') return value;
  return tk(t, `admin.settings.options.${value}`, { defaultValue: value });
}
