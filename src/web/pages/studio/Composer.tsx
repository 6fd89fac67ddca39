import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useEffectEvent, useId, useRef, useState, type ClipboardEvent, type ReactNode, type Ref, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import type { GenerationInput, ReferenceInput } from '../../../shared/catalog/request-schema';
import type { GenerationMode } from '../../../shared/catalog/vocabulary';
import { SparklesIcon } from '../../components/icons';
import { Alert, Button, Checkbox, Select, useToast } from '../../components/ui';
import { ApiError } from '../../lib/api';
import { meQuery } from '../../lib/auth';
import { cn } from '../../lib/cn';
import { isDraftEmpty, type StudioDraft } from '../../lib/creations';
import { creditsQuery } from '../../lib/credits';
import { applyGeneration, createGeneration, GenerationRequestError, newIdempotencyKey } from '../../lib/generations';
import { effectiveAudio, modelsQuery, priceOf, type ModelView } from '../../lib/models';
import { ModelPicker } from './ModelPicker';
import { acceptsReferences, kindLimits, slotsFor, tokensOf, type Attachment } from './references/model';
import { ReferencesField } from './references/ReferencesField';
import { useAttachments } from './references/useAttachments';
import { unknownMentions, useMentions } from './references/useMentions';
import { studioErrorText, VerifyNotice } from './shared';

/** The fields of the form, in the order the eye meets them (the first one with an error gets the focus). */
const fieldOrder = ['mode', 'references', 'prompt', 'negativePrompt', 'duration', 'resolution', 'aspectRatio', 'audio', 'seed'] as const;
type FieldName = (typeof fieldOrder)[number];
type FieldErrors = Partial<Record<FieldName, string>>;
const isFieldName = (f: string): f is FieldName => (fieldOrder as readonly string[]).includes(f);
/** The form field a server message belongs to: `references.2.kind` is about the references. */
const fieldOfIssue = (f: string): string => (f.startsWith('references') ? 'references' : f);

/** The mode a model starts in: the draft's when it has it, else one that fits the references handed over. */
function initialMode(m: ModelView | undefined, draft: StudioDraft | undefined): GenerationMode {
  if (!m) return 'text-to-video';
  if (draft?.mode && m.modes.includes(draft.mode)) return draft.mode;
  const refs = draft?.refs ?? [];
  if (refs.length) {
    const images = refs.filter((r) => r.kind === 'image').length;
    if (images === refs.length && images === 1 && m.modes.includes('image-to-video')) return 'image-to-video';
    if (images === refs.length && images === 2 && m.modes.includes('first-last-frame')) return 'first-last-frame';
    if (m.modes.includes('reference')) return 'reference';
    if (m.modes.includes('image-to-video')) return 'image-to-video';
  }
  return m.modes.includes('text-to-video') ? 'text-to-video' : (m.modes[0] ?? 'text-to-video');
}

interface Options {
  duration: number;
  resolution: string;
  aspectRatio: string;
  audio: boolean;
}

const defaultsOf = (m: ModelView): Options => ({
  duration: m.defaultDuration,
  resolution: m.defaultResolution,
  aspectRatio: m.defaultAspectRatio,
  audio: m.defaultAudio,
});

interface FormError {
  message: string;
  detail?: string;
  code: string;
}

const textareaClasses = (error: unknown) =>
  cn(
    'block w-full resize-y rounded-lg border bg-white px-3 py-2 text-sm leading-relaxed text-zinc-900 shadow-sm transition-colors placeholder:text-zinc-400',
    'focus:outline-2 focus:outline-offset-0 disabled:cursor-not-allowed disabled:opacity-60',
    'dark:bg-zinc-900 dark:text-zinc-100 dark:placeholder:text-zinc-500',
    error
      ? 'border-red-500 focus:outline-red-500 dark:border-red-400'
      : 'border-zinc-300 focus:border-brand-500 focus:outline-brand-500/40 dark:border-zinc-700',
  );

/** What the request says about a reference that is ready: the uploaded file, or the URL it was given as. */
function referenceInputOf(a: Attachment): ReferenceInput {
  if (a.mediaId) return { kind: a.kind, mediaId: a.mediaId };
  if (a.url) return { kind: a.kind, url: a.url };
  throw new Error(`reference ${a.name} has neither an upload nor a URL`);
}

/** Which way a frame of this ratio faces. */
function orientationKey(ratio: string): 'landscape' | 'portrait' | 'square' {
  const [w, h] = ratio.split(':').map(Number);
  if (!w || !h || w === h) return 'square';
  return w > h ? 'landscape' : 'portrait';
}

export interface ComposerProps {
  me: Me;
  models: ModelView[];
  /** spendable credits, when known */
  balance: number | undefined;
}

/** The form that starts a generation with the chosen model, mode, options and references. */
export function Composer({ me, models, balance }: ComposerProps) {
  const { t, i18n } = useTranslation();
  // a request to start from ("Regenerate with these settings", "Use as reference"): the studio's
  // search params, read once when the composer first shows, then dropped from the address
  const search = useSearch({ from: '/studio' });
  const navigate = useNavigate();
  const [draft] = useState<StudioDraft | undefined>(() => (isDraftEmpty(search) ? undefined : search));
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const formId = useId();
  const ids = {
    prompt: `${formId}-prompt`,
    counter: `${formId}-prompt-count`,
    promptError: `${formId}-prompt-error`,
    negative: `${formId}-negative`,
    negativeHint: `${formId}-negative-hint`,
    negativeError: `${formId}-negative-error`,
    price: `${formId}-price`,
    blocked: `${formId}-blocked`,
    mentions: `${formId}-mentions`,
    seed: `${formId}-seed`,
    seedError: `${formId}-seed-error`,
  };

  const firstAvailable = models.find((m) => m.available);
  // a draft's model when this server can run it; else, for references, one that takes them
  const draftModel = (() => {
    if (!draft) return undefined;
    const named = models.find((m) => m.available && m.id === draft.model);
    const kinds = new Set((draft.refs ?? []).map((r) => r.kind));
    const takes = (m: ModelView) => [...kinds].every((k) => !!m.references[k]);
    if (named && takes(named)) return named;
    return kinds.size ? (models.find((m) => m.available && takes(m)) ?? named) : named;
  })();
  const [modelId, setModelId] = useState<string | undefined>((draftModel ?? firstAvailable)?.id);
  const model = models.find((m) => m.id === modelId) ?? firstAvailable;
  const [options, setOptions] = useState<Options | null>(() =>
    model
      ? {
          duration: draft?.duration ?? model.defaultDuration,
          resolution: draft?.resolution ?? model.defaultResolution,
          aspectRatio: draft?.aspectRatio ?? model.defaultAspectRatio,
          audio: draft?.audio ?? model.defaultAudio,
        }
      : null,
  );
  const [modeChoice, setModeChoice] = useState<GenerationMode>(() => initialMode(model, draft));
  const mode: GenerationMode = model && model.modes.includes(modeChoice) ? modeChoice : initialMode(model, undefined);
  const [seed, setSeed] = useState(draft?.seed !== undefined ? String(draft.seed) : '');
  const [prompt, setPrompt] = useState(draft?.prompt ?? '');
  const [negativePrompt, setNegativePrompt] = useState('');
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<FormError | null>(null);
  const [verifyNeeded, setVerifyNeeded] = useState(false);

  const slots = model ? slotsFor(model, mode) : { kinds: {}, total: 0, min: 0 };
  const showReferences = acceptsReferences(slots);
  const references = useAttachments(model, slots);
  const tokens = tokensOf(references.attachments);
  const sentAttachments = showReferences ? references.attachments : [];
  const unknown = unknownMentions(prompt, showReferences ? tokens.values() : []);

  // the draft is read once, when the composer first shows
  const draftRead = useRef(false);
  const readDraft = useEffectEvent((read: NonNullable<typeof draft>) => {
    if (read.refs?.length) references.setFromDraft(read.refs);
    void navigate({ to: '/studio', search: {}, replace: true });
  });
  useEffect(() => {
    if (draftRead.current || !draft) return;
    draftRead.current = true;
    readDraft(draft);
  }, [draft]);

  // one ref per field (not an object of refs: React reads a property of one as a ref read during render)
  const modeRef = useRef<HTMLInputElement>(null);
  const referencesRef = useRef<HTMLFieldSetElement>(null);
  const seedRef = useRef<HTMLInputElement>(null);
  const promptRef = useRef<HTMLTextAreaElement>(null);
  const negativePromptRef = useRef<HTMLTextAreaElement>(null);
  const durationRef = useRef<HTMLSelectElement>(null);
  const resolutionRef = useRef<HTMLSelectElement>(null);
  const aspectRatioRef = useRef<HTMLInputElement>(null);
  const audioRef = useRef<HTMLInputElement>(null);
  const formErrorRef = useRef<HTMLDivElement>(null);
  // where the focus goes once an error is on screen (a field, or the message by the button)
  const [focusRequest, setFocusRequest] = useState<{ target: FieldName | 'form'; n: number } | null>(null);
  const requestFocus = (target: FieldName | 'form') => setFocusRequest((r) => ({ target, n: (r?.n ?? 0) + 1 }));

  // the models arrive after the first render: keep the first available one chosen from then on
  // (state adjusted while rendering, as React advises, rather than in an effect that renders twice)
  if (!modelId && firstAvailable) setModelId(firstAvailable.id);
  const focusTarget = useEffectEvent((target: FieldName | 'form') => {
    const fields = {
      mode: modeRef,
      references: referencesRef,
      seed: seedRef,
      prompt: promptRef,
      negativePrompt: negativePromptRef,
      duration: durationRef,
      resolution: resolutionRef,
      aspectRatio: aspectRatioRef,
      audio: audioRef,
    } satisfies Record<FieldName, unknown>;
    return target === 'form' ? formErrorRef.current : fields[target].current;
  });
  useEffect(() => {
    if (focusRequest) focusTarget(focusRequest.target)?.focus();
  }, [focusRequest]);

  const chooseModel = (id: string) => {
    const next = models.find((m) => m.id === id);
    setModelId(id);
    // another model: start from its defaults (the prompts and references stay)
    if (next) {
      setOptions(defaultsOf(next));
      if (!next.modes.includes(mode)) setModeChoice(initialMode(next, undefined));
    }
    setFieldErrors({});
    setFormError(null);
  };

  const chooseMode = (next: GenerationMode) => {
    setModeChoice(next);
    setFieldErrors((f) => ({ ...f, mode: undefined, references: undefined }));
    references.clearNotices();
  };

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

  /** An image pasted anywhere in the form (Ctrl+V) becomes a reference. */
  const onPaste = (e: ClipboardEvent<HTMLFormElement>) => {
    if (!showReferences) return;
    const files = Array.from(e.clipboardData.files);
    if (!files.length) return;
    e.preventDefault();
    references.addFiles(files);
  };

  // the choices, each one checked against the model (a refetched list may allow other values)
  const opts: Options | null = model
    ? {
        duration: options && model.durations.includes(options.duration) ? options.duration : model.defaultDuration,
        resolution: options && model.resolutions.includes(options.resolution) ? options.resolution : model.defaultResolution,
        aspectRatio: options && model.aspectRatios.includes(options.aspectRatio) ? options.aspectRatio : model.defaultAspectRatio,
        audio: options ? options.audio : model.defaultAudio,
      }
    : null;
  const audio = model && opts ? effectiveAudio(model, opts.audio) : false;
  const price =
    model && opts ? priceOf(model, { durationSeconds: opts.duration, resolution: opts.resolution, audio, referenceCount: sentAttachments.length }) : null;
  const promptLength = prompt.trim().length;
  const promptMax = model?.promptMaxLength ?? 0;
  const tooLong = !!model && promptLength > promptMax;
  const short = balance !== undefined && price !== null && price > balance;
  const unavailable = !!model && !model.available;

  /**
   * The request being sent, or the last one whose answer never came (network failure, 5xx). Each
   * press gets a fresh Idempotency-Key, except a press that repeats such an unanswered request
   * unchanged: it reuses the key, so if the first one did arrive, the server answers with that
   * generation instead of starting a second one.
   */
  const attempt = useRef<{ key: string; body: string; inFlight: boolean; unanswered: boolean } | null>(null);

  const submit = useMutation({
    mutationFn: ({ input, key }: { input: GenerationInput; key: string }) => createGeneration(input, key),
    onSuccess: (generation) => {
      attempt.current = null;
      applyGeneration(queryClient, generation);
      void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
      setFieldErrors({});
      setFormError(null);
      setVerifyNeeded(false);
      toast({ title: t('studio.started'), description: t('studio.startedBody'), tone: 'success' });
    },
    onError: (err) => {
      const status = err instanceof ApiError ? err.status : 0;
      if (attempt.current) attempt.current = { ...attempt.current, inFlight: false, unanswered: status === 0 || status >= 500 };
      const code = err instanceof ApiError ? err.code : 'unexpected';
      if (code === 'email_not_verified') {
        void queryClient.invalidateQueries({ queryKey: meQuery.queryKey });
        setVerifyNeeded(true);
        setFormError(null);
        requestFocus('form');
        return;
      }
      if (code === 'insufficient_credits') void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
      if (code === 'model_unavailable' || code === 'model_retired') void queryClient.invalidateQueries({ queryKey: modelsQuery.queryKey });

      const found: FieldErrors = {};
      const others: string[] = [];
      if (err instanceof GenerationRequestError) {
        for (const issue of err.fields) {
          const field = fieldOfIssue(issue.field);
          if (isFieldName(field) && fieldShown(field)) found[field] = found[field] ? `${found[field]} ${issue.message}` : issue.message;
          else others.push(issue.message);
        }
      }
      setFieldErrors(found);
      const firstField = fieldOrder.find((f) => found[f]);
      let detail: string | undefined;
      if (err instanceof GenerationRequestError && code === 'insufficient_credits' && err.price !== undefined && err.balance !== undefined) {
        detail = t('studio.errors.insufficientDetail', { price: err.price, balance: err.balance });
      } else if (others.length) detail = others.join(' ');
      const message = firstField && !others.length ? t('studio.errors.fixFields') : studioErrorText(err, t, i18n.language);
      setFormError({ code, message, detail });
      requestFocus(firstField ?? 'form');
    },
  });

  /** whether a field is on screen for this model (the server may name one we do not show) */
  function fieldShown(field: FieldName): boolean {
    if (field === 'negativePrompt') return !!model?.negativePrompt;
    if (field === 'audio') return model?.audio === 'optional';
    if (field === 'seed') return !!model?.seed;
    if (field === 'references') return showReferences;
    if (field === 'mode') return (model?.modes.length ?? 0) > 1;
    return true;
  }

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    // a second Enter or click in the same moment, before React has re-rendered the button as busy
    if (!model || !opts || attempt.current?.inFlight) return;
    const found: FieldErrors = {};
    if (!promptLength) found.prompt = t('studio.fields.promptRequired');
    else if (tooLong) found.prompt = t('studio.fields.promptTooLong', { model: model.name, max: promptMax, count: promptLength });
    else if (unknown.length) found.prompt = t('studio.references.mentions.unknown', { count: unknown.length, mentions: unknown.join(', ') });
    if (showReferences) {
      const list = references.attachments;
      if (list.some((a) => a.state === 'uploading')) found.references = t('studio.references.errors.stillUploading');
      else if (list.some((a) => a.state === 'failed')) found.references = t('studio.references.errors.removeFailed');
      else if (mode === 'image-to-video' && list.length !== 1) found.references = t('studio.references.errors.needOne');
      else if (mode === 'first-last-frame' && list.length !== 2) found.references = t('studio.references.errors.needTwo');
      else if (list.length < slots.min) found.references = t('studio.references.errors.needSome');
      else if (list.length > slots.total) found.references = t('studio.references.errors.tooMany', { count: slots.total });
      else {
        const over = kindLimits(slots).find(([kind, { max }]) => list.filter((a) => a.kind === kind).length > max);
        const foreign = list.find((a) => !slots.kinds[a.kind]);
        if (foreign) found.references = t('studio.references.errors.kindInMode', { kind: t(`studio.references.kinds.${foreign.kind}`) });
        else if (over) {
          const [kind, { max }] = over;
          found.references = t('studio.references.errors.tooManyKind', { count: max, kind: t(`studio.references.kindsPlural.${kind}`, { count: max }) });
        }
      }
    }
    const seedText = seed.trim();
    const seedValue = seedText === '' ? undefined : Number(seedText);
    if (model.seed && seedValue !== undefined && (!Number.isInteger(seedValue) || seedValue < 0 || seedValue > 4_294_967_295)) {
      found.seed = t('studio.fields.seedInvalid');
    }
    setFieldErrors(found);
    setFormError(null);
    setVerifyNeeded(false);
    const firstProblem = fieldOrder.find((f) => found[f]);
    if (firstProblem) {
      requestFocus(firstProblem);
      return;
    }
    const referenceInputs = sentAttachments.map(referenceInputOf);
    const input: GenerationInput = {
      model: model.id,
      mode,
      prompt: prompt.trim(),
      duration: opts.duration,
      resolution: opts.resolution,
      aspectRatio: opts.aspectRatio,
      ...(model.audio === 'optional' ? { audio: opts.audio } : {}),
      ...(model.negativePrompt && negativePrompt.trim() ? { negativePrompt: negativePrompt.trim() } : {}),
      ...(model.seed && seedValue !== undefined ? { seed: seedValue } : {}),
      ...(referenceInputs.length ? { references: referenceInputs } : {}),
    };
    const body = JSON.stringify(input);
    const previous = attempt.current;
    const key = previous?.unanswered && previous.body === body ? previous.key : newIdempotencyKey();
    attempt.current = { key, body, inFlight: true, unanswered: false };
    submit.mutate({ input, key });
  };

  const setOption = <K extends keyof Options>(key: K, value: Options[K]) => {
    if (!opts) return;
    setOptions({ ...opts, [key]: value });
    setFieldErrors((f) => (f[key as FieldName] ? { ...f, [key]: undefined } : f));
  };

  if (!model || !opts) {
    return <Alert tone="warning">{t('studio.composer.noModels')}</Alert>;
  }

  const blockedReason = unavailable ? t('studio.modelUnavailable', { model: model.name }) : short ? t('studio.price.notEnough', { price, balance }) : undefined;

  return (
    <form onSubmit={onSubmit} onPaste={onPaste} noValidate className="space-y-6" data-testid="composer">
      <ModelPicker models={models} value={model.id} onChange={chooseModel} />

      {model.modes.length > 1 && <ModePicker modes={model.modes} value={mode} onChange={chooseMode} error={fieldErrors.mode} checkedRef={modeRef} />}

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
            if (fieldErrors.prompt) setFieldErrors((f) => ({ ...f, prompt: undefined }));
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
              if (fieldErrors.seed) setFieldErrors((f) => ({ ...f, seed: undefined }));
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

      <div className="space-y-3 border-t border-zinc-200 pt-5 dark:border-zinc-800">
        {(verifyNeeded || !me.emailVerified) && (
          <div ref={verifyNeeded ? formErrorRef : undefined} tabIndex={-1} className="outline-none">
            <VerifyNotice me={me} tone={verifyNeeded ? 'error' : 'warning'} />
          </div>
        )}
        {formError && (
          <div ref={formErrorRef} tabIndex={-1} className="outline-none">
            <Alert tone="error" data-testid="composer-error">
              <p>{formError.message}</p>
              {formError.detail && <p className="mt-1">{formError.detail}</p>}
            </Alert>
          </div>
        )}
        <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
          <div role="status" className="min-w-0 text-sm">
            <p id={ids.price} className="font-medium text-zinc-900 dark:text-white" data-testid="price" data-credits={price ?? undefined}>
              {price === null ? t('studio.price.unknown') : t('studio.price.cost', { count: price })}
            </p>
            {blockedReason && (
              <p id={ids.blocked} className="mt-1 text-red-700 dark:text-red-300" data-testid="submit-blocked">
                {blockedReason}
                {short && !unavailable && <span className="block text-xs text-zinc-600 dark:text-zinc-400">{t('studio.price.notEnoughHint')}</span>}
              </p>
            )}
          </div>
          <Button
            type="submit"
            size="lg"
            className="shrink-0"
            loading={submit.isPending}
            loadingText={t('studio.submitting')}
            disabled={!!blockedReason}
            aria-describedby={blockedReason ? ids.blocked : ids.price}
          >
            <SparklesIcon className="size-5" />
            {t('studio.submit')}
          </Button>
        </div>
      </div>
    </form>
  );
}

/** The model's modes as radio chips: text only, from an image, first and last frame, references. */
/** A row of radio chips with a legend and an error line (modes, aspect ratios). */
function ChipRadioGroup<T extends string>({
  legend,
  options,
  value,
  onChange,
  error,
  checkedRef,
  testId,
  chipClassName,
  children,
}: {
  legend: string;
  options: readonly T[];
  value: T;
  onChange: (value: T) => void;
  error?: string;
  checkedRef: Ref<HTMLInputElement>;
  testId: string;
  chipClassName: string;
  children: (option: T) => ReactNode;
}) {
  const name = useId();
  const errorId = `${name}-error`;
  return (
    <fieldset aria-describedby={error ? errorId : undefined} data-testid={testId}>
      <legend className="mb-1.5 text-sm font-medium text-zinc-800 dark:text-zinc-200">{legend}</legend>
      <div className="flex flex-wrap gap-2">
        {options.map((option) => {
          const checked = option === value;
          return (
            <label
              key={option}
              className={cn(
                'inline-flex cursor-pointer items-center rounded-lg border px-3 text-sm font-medium transition-colors',
                chipClassName,
                'has-[input:focus-visible]:outline-2 has-[input:focus-visible]:outline-offset-2 has-[input:focus-visible]:outline-brand-500',
                checked
                  ? 'border-brand-500 bg-brand-50 text-brand-800 ring-1 ring-brand-500 dark:border-brand-400 dark:bg-brand-950/50 dark:text-brand-100 dark:ring-brand-400'
                  : 'border-zinc-300 bg-white text-zinc-700 hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300 dark:hover:bg-zinc-800',
                error && !checked && 'border-red-500 dark:border-red-400',
              )}
            >
              <input
                ref={checked ? checkedRef : undefined}
                type="radio"
                name={name}
                value={option}
                checked={checked}
                onChange={() => onChange(option)}
                aria-invalid={error ? true : undefined}
                className="sr-only"
              />
              {children(option)}
            </label>
          );
        })}
      </div>
      {error && (
        <p id={errorId} className="mt-1.5 text-xs font-medium text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </fieldset>
  );
}

function ModePicker(props: {
  modes: GenerationMode[];
  value: GenerationMode;
  onChange: (mode: GenerationMode) => void;
  error?: string;
  checkedRef: Ref<HTMLInputElement>;
}) {
  const { t } = useTranslation();
  const { modes, ...rest } = props;
  return (
    <ChipRadioGroup legend={t('studio.fields.mode')} options={modes} testId="mode-picker" chipClassName="min-h-10 py-1.5" {...rest}>
      {(m) => t(`generation.mode.${m}`)}
    </ChipRadioGroup>
  );
}

/** The frame's shape, drawn: a small outline box in the ratio's proportions. */
function RatioShape({ ratio }: { ratio: string }) {
  const [w = 1, h = 1] = ratio.split(':').map(Number);
  const scale = 16 / Math.max(w, h);
  return (
    <span className="flex size-5 items-center justify-center" aria-hidden="true">
      <span className="rounded-[3px] border-[1.5px] border-current" style={{ width: `${Math.max(6, w * scale)}px`, height: `${Math.max(6, h * scale)}px` }} />
    </span>
  );
}

/** Aspect ratios as a row of radio chips, each showing the frame's shape. */
function AspectRatioPicker(props: { ratios: string[]; value: string; onChange: (ratio: string) => void; error?: string; checkedRef: Ref<HTMLInputElement> }) {
  const { t } = useTranslation();
  const { ratios, ...rest } = props;
  return (
    <ChipRadioGroup legend={t('studio.fields.aspectRatio')} options={ratios} testId="aspect-ratio" chipClassName="h-10 gap-2 tabular-nums" {...rest}>
      {(r) => (
        <>
          <RatioShape ratio={r} />
          <span>{r}</span>
          <span className="sr-only">{t(`studio.fields.orientation.${orientationKey(r)}`)}</span>
        </>
      )}
    </ChipRadioGroup>
  );
}
