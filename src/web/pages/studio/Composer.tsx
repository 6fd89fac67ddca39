import { useId, type ClipboardEvent, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { Alert, Checkbox, Select } from '../../components/ui';
import { cn } from '../../lib/cn';
import type { ModelView } from '../../lib/models';
import { AspectRatioPicker, ModePicker } from './composer/pickers';
import { SubmitBar } from './composer/SubmitBar';
import { useComposerForm } from './composer/useComposerForm';
import { useSubmitGeneration } from './composer/useSubmitGeneration';
import { ModelPicker } from './ModelPicker';
import { ReferencesField } from './references/ReferencesField';
import { useMentions } from './references/useMentions';

const textareaClasses = (error: unknown) =>
  cn(
    'block w-full resize-y rounded-lg border bg-white px-3 py-2 text-sm leading-relaxed text-zinc-900 shadow-sm transition-colors placeholder:text-zinc-400',
    'focus:outline-2 focus:outline-offset-0 disabled:cursor-not-allowed disabled:opacity-60',
    'dark:bg-zinc-900 dark:text-zinc-100 dark:placeholder:text-zinc-500',
    error
      ? 'border-red-500 focus:outline-red-500 dark:border-red-400'
      : 'border-zinc-300 focus:border-brand-500 focus:outline-brand-500/40 dark:border-zinc-700',
  );

export interface ComposerProps {
  me: Me;
  models: ModelView[];
  /** spendable credits, when known */
  balance: number | undefined;
}

/**
 * The form that starts a generation with the chosen model, mode, options and references. Its state
 * and rules are in composer/useComposerForm, the sending in composer/useSubmitGeneration.
 */
export function Composer({ me, models, balance }: ComposerProps) {
  const { t } = useTranslation();
  const formId = useId();
  const ids = {
    prompt: `${formId}-prompt`,
    counter: `${formId}-prompt-count`,
    promptError: `${formId}-prompt-error`,
    negative: `${formId}-negative`,
    negativeHint: `${formId}-negative-hint`,
    negativeError: `${formId}-negative-error`,
    mentions: `${formId}-mentions`,
    seed: `${formId}-seed`,
    seedError: `${formId}-seed-error`,
  };

  const form = useComposerForm(models);
  const { model, mode, opts, slots, showReferences, references, tokens, unknown, prompt, setPrompt, promptLength, promptMax, tooLong } = form;
  const { negativePrompt, setNegativePrompt, seed, setSeed, price, fieldErrors, formError, verifyNeeded, setOption, clearFieldError } = form;
  const { modeRef, referencesRef, seedRef, promptRef, negativePromptRef, durationRef, resolutionRef, aspectRatioRef, audioRef, formErrorRef } = form;

  const mentionOptions = references.attachments.map((a) => ({
    token: tokens.get(a.key) ?? '',
    description: `${t(`studio.references.kinds.${a.kind}`)} · ${a.name}`,
  }));
  const mentions = useMentions({
    textareaRef: promptRef,
    value: prompt,
    setValue: (v) => setPrompt(v),
    options: showReferences ? mentionOptions : [],
  });

  const submit = useSubmitGeneration({ onStarted: form.showSuccess, onFailed: form.showError });

  /** An image pasted anywhere in the form (Ctrl+V) becomes a reference. */
  const onPaste = (e: ClipboardEvent<HTMLFormElement>) => {
    if (!showReferences) return;
    const files = Array.from(e.clipboardData.files);
    if (!files.length) return;
    e.preventDefault();
    references.addFiles(files);
  };

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    // a second Enter or click in the same moment, before React has re-rendered the button as busy
    if (submit.inFlight()) return;
    const input = form.check();
    if (input) submit.send(input);
  };

  if (!model || !opts) {
    return <Alert tone="warning">{t('studio.composer.noModels')}</Alert>;
  }

  return (
    <form onSubmit={onSubmit} onPaste={onPaste} noValidate className="space-y-6" data-testid="composer">
      <ModelPicker models={models} value={model.id} onChange={form.chooseModel} />

      {model.modes.length > 1 && <ModePicker modes={model.modes} value={mode} onChange={form.chooseMode} error={fieldErrors.mode} checkedRef={modeRef} />}

      {showReferences && <ReferencesField mode={mode} slots={slots} api={references} error={fieldErrors.references} groupRef={referencesRef} />}

      <div className="relative flex flex-col gap-1.5">
        <div className="flex items-baseline justify-between gap-3">
          <label htmlFor={ids.prompt} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
            {t('studio.fields.prompt')}
            <span className="ms-0.5 text-red-600 dark:text-red-400" aria-hidden="true">
              *
            </span>
          </label>
          <p
            id={ids.counter}
            data-testid="prompt-counter"
            className={cn('text-xs tabular-nums', tooLong ? 'font-semibold text-red-600 dark:text-red-400' : 'text-zinc-500 dark:text-zinc-400')}
          >
            <span aria-hidden="true">{t('studio.fields.promptCount', { count: promptLength, max: promptMax })}</span>
            <span className="sr-only">{t('studio.fields.promptCountLabel', { count: promptLength, max: promptMax })}</span>
          </p>
        </div>
        <textarea
          ref={promptRef}
          id={ids.prompt}
          name="prompt"
          rows={5}
          required
          value={prompt}
          {...mentions.textareaProps}
          onChange={(e) => {
            setPrompt(e.target.value);
            mentions.refresh(e.target.value, e.target.selectionStart);
            clearFieldError('prompt');
          }}
          onKeyDown={(e) => {
            if (mentions.onKeyDown(e)) return;
            // Ctrl+Enter / Cmd+Enter generates from the prompt, as in most editors
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
          placeholder={t('studio.fields.promptPlaceholder')}
          aria-invalid={fieldErrors.prompt || tooLong ? true : undefined}
          aria-describedby={[fieldErrors.prompt && ids.promptError, unknown.length > 0 && ids.mentions, ids.counter].filter(Boolean).join(' ')}
          className={textareaClasses(fieldErrors.prompt || tooLong)}
        />
        {mentions.menu}
        {showReferences && references.attachments.length > 0 && !unknown.length && (
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('studio.references.mentions.hint')}</p>
        )}
        {unknown.length > 0 && (
          <p id={ids.mentions} className="text-xs font-medium text-amber-700 dark:text-amber-300" data-testid="unknown-mentions">
            {t('studio.references.mentions.unknown', { count: unknown.length, mentions: unknown.join(', ') })}
          </p>
        )}
        {fieldErrors.prompt && (
          <p id={ids.promptError} className="text-xs font-medium text-red-600 dark:text-red-400">
            {fieldErrors.prompt}
          </p>
        )}
      </div>

      {model.negativePrompt && (
        <div className="flex flex-col gap-1.5">
          <label htmlFor={ids.negative} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
            {t('studio.fields.negativePrompt')}
          </label>
          <textarea
            ref={negativePromptRef}
            id={ids.negative}
            name="negativePrompt"
            rows={2}
            maxLength={1000}
            value={negativePrompt}
            onChange={(e) => setNegativePrompt(e.target.value)}
            aria-invalid={fieldErrors.negativePrompt ? true : undefined}
            aria-describedby={[fieldErrors.negativePrompt && ids.negativeError, ids.negativeHint].filter(Boolean).join(' ')}
            className={textareaClasses(fieldErrors.negativePrompt)}
          />
          <p id={ids.negativeHint} className="text-xs text-zinc-500 dark:text-zinc-400">
            {t('studio.fields.negativePromptHint')}
          </p>
          {fieldErrors.negativePrompt && (
            <p id={ids.negativeError} className="text-xs font-medium text-red-600 dark:text-red-400">
              {fieldErrors.negativePrompt}
            </p>
          )}
        </div>
      )}

      <div className="grid grid-cols-2 gap-4">
        <Select
          ref={durationRef}
          label={t('studio.fields.duration')}
          name="duration"
          value={String(opts.duration)}
          onChange={(e) => setOption('duration', Number(e.target.value))}
          error={fieldErrors.duration}
        >
          {model.durations.map((d) => (
            <option key={d} value={String(d)}>
              {t('studio.fields.seconds', { count: d })}
            </option>
          ))}
        </Select>
        <Select
          ref={resolutionRef}
          label={t('studio.fields.resolution')}
          name="resolution"
          value={opts.resolution}
          onChange={(e) => setOption('resolution', e.target.value)}
          error={fieldErrors.resolution}
        >
          {model.resolutions.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </Select>
      </div>

      <AspectRatioPicker
        ratios={model.aspectRatios}
        value={opts.aspectRatio}
        onChange={(r) => setOption('aspectRatio', r)}
        error={fieldErrors.aspectRatio}
        checkedRef={aspectRatioRef}
      />

      {model.audio === 'optional' ? (
        <Checkbox
          ref={audioRef}
          label={t('studio.fields.audio')}
          name="audio"
          checked={opts.audio}
          onChange={(e) => setOption('audio', e.target.checked)}
          error={fieldErrors.audio}
        />
      ) : (
        <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="audio-note">
          {model.audio === 'always' ? t('studio.fields.audioAlways') : t('studio.fields.audioNever')}
        </p>
      )}

      {model.seed && (
        <div className="flex flex-col gap-1.5 sm:max-w-xs">
          <label htmlFor={ids.seed} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
            {t('studio.fields.seed')}
          </label>
          <input
            ref={seedRef}
            id={ids.seed}
            name="seed"
            inputMode="numeric"
            autoComplete="off"
            value={seed}
            onChange={(e) => {
              setSeed(e.target.value.replace(/[^0-9]/g, ''));
              clearFieldError('seed');
            }}
            placeholder={t('studio.fields.seedPlaceholder')}
            aria-invalid={fieldErrors.seed ? true : undefined}
            aria-describedby={fieldErrors.seed ? ids.seedError : undefined}
            className={cn(
              'h-10 w-full rounded-lg border bg-white px-3 text-sm text-zinc-900 shadow-sm focus:outline-2 dark:bg-zinc-900 dark:text-zinc-100',
              fieldErrors.seed
                ? 'border-red-500 focus:outline-red-500'
                : 'border-zinc-300 focus:border-brand-500 focus:outline-brand-500/40 dark:border-zinc-700',
            )}
          />
          {fieldErrors.seed && (
            <p id={ids.seedError} className="text-xs font-medium text-red-600 dark:text-red-400">
              {fieldErrors.seed}
            </p>
          )}
        </div>
      )}

      <SubmitBar
        me={me}
        model={model}
        price={price}
        balance={balance}
        verifyNeeded={verifyNeeded}
        formError={formError}
        errorRef={formErrorRef}
        pending={submit.pending}
        idBase={formId}
      />
    </form>
  );
}
