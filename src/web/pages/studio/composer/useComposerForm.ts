import { useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useEffectEvent, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { GenerationInput } from '../../../../shared/catalog/request-schema';
import type { GenerationMode } from '../../../../shared/catalog/vocabulary';
import { ApiError } from '../../../lib/api';
import { isDraftEmpty, type StudioDraft } from '../../../lib/creations';
import { GenerationRequestError } from '../../../lib/generations';
import { effectiveAudio, priceOf, type ModelView } from '../../../lib/models';
import { acceptsReferences, kindLimits, slotsFor, tokensOf } from '../references/model';
import { useAttachments } from '../references/useAttachments';
import { unknownMentions } from '../references/useMentions';
import { studioErrorText } from '../shared';
import {
  checkedOptions,
  defaultsOf,
  draftModelOf,
  draftOptionsOf,
  firstFieldWithError,
  initialMode,
  referenceInputOf,
  serverFieldErrors,
  type FieldErrors,
  type FieldName,
  type FormError,
  type Options,
} from './form';

/**
 * The composer's state: the chosen model, mode, options, prompts, seed and references (started
 * from a draft handed over in the address, once), the errors under the fields and by the button,
 * and where the focus goes when one appears. `check()` validates before sending; `showError()`
 * places a server's answer (a 4xx with per-field messages) on the fields it is about.
 */
export function useComposerForm(models: ModelView[]) {
  const { t, i18n } = useTranslation();
  // a request to start from ("Regenerate with these settings", "Use as reference"): the studio's
  // search params, read once when the composer first shows, then dropped from the address
  const search = useSearch({ from: '/studio' });
  const navigate = useNavigate();
  const [draft] = useState<StudioDraft | undefined>(() => (isDraftEmpty(search) ? undefined : search));

  const firstAvailable = models.find((m) => m.available);
  const draftModel = draftModelOf(models, draft);
  const [modelId, setModelId] = useState<string | undefined>((draftModel ?? firstAvailable)?.id);
  const model = models.find((m) => m.id === modelId) ?? firstAvailable;
  const [options, setOptions] = useState<Options | null>(() => (model ? draftOptionsOf(model, draft) : null));
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

  const opts: Options | null = model ? checkedOptions(model, options) : null;
  const audio = model && opts ? effectiveAudio(model, opts.audio) : false;
  const price =
    model && opts ? priceOf(model, { durationSeconds: opts.duration, resolution: opts.resolution, audio, referenceCount: sentAttachments.length }) : null;
  const promptLength = prompt.trim().length;
  const promptMax = model?.promptMaxLength ?? 0;
  const tooLong = !!model && promptLength > promptMax;

  const setOption = <K extends keyof Options>(key: K, value: Options[K]) => {
    if (!opts) return;
    setOptions({ ...opts, [key]: value });
    setFieldErrors((f) => (f[key as FieldName] ? { ...f, [key]: undefined } : f));
  };

  /** The field was edited: its error (if any) goes. */
  const clearFieldError = (field: FieldName) => {
    if (fieldErrors[field]) setFieldErrors((f) => ({ ...f, [field]: undefined }));
  };

  /** whether a field is on screen for this model (the server may name one we do not show) */
  function fieldShown(field: FieldName): boolean {
    if (field === 'negativePrompt') return !!model?.negativePrompt;
    if (field === 'audio') return model?.audio === 'optional';
    if (field === 'seed') return !!model?.seed;
    if (field === 'references') return showReferences;
    if (field === 'mode') return (model?.modes.length ?? 0) > 1;
    return true;
  }

  /**
   * Validate the form: the request to send, or undefined when something must be fixed first (the
   * errors are shown and the first field with one gets the focus) or there is no model to use.
   */
  const check = (): GenerationInput | undefined => {
    if (!model || !opts) return undefined;
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
    const firstProblem = firstFieldWithError(found);
    if (firstProblem) {
      requestFocus(firstProblem);
      return undefined;
    }
    const referenceInputs = sentAttachments.map(referenceInputOf);
    return {
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
  };

  /** The generation started: no error is left on screen. */
  const showSuccess = () => {
    setFieldErrors({});
    setFormError(null);
    setVerifyNeeded(false);
  };

  /** The server refused (or never answered): its messages go under their fields or by the button, and the focus follows. */
  const showError = (err: unknown) => {
    const code = err instanceof ApiError ? err.code : 'unexpected';
    if (code === 'email_not_verified') {
      setVerifyNeeded(true);
      setFormError(null);
      requestFocus('form');
      return;
    }
    const { found, others } = serverFieldErrors(err, fieldShown);
    setFieldErrors(found);
    const firstField = firstFieldWithError(found);
    let detail: string | undefined;
    if (err instanceof GenerationRequestError && code === 'insufficient_credits' && err.price !== undefined && err.balance !== undefined) {
      detail = t('studio.errors.insufficientDetail', { price: err.price, balance: err.balance });
    } else if (others.length) detail = others.join(' ');
    const message = firstField && !others.length ? t('studio.errors.fixFields') : studioErrorText(err, t, i18n.language);
    setFormError({ code, message, detail });
    requestFocus(firstField ?? 'form');
  };

  return {
    model,
    mode,
    opts,
    slots,
    showReferences,
    references,
    tokens,
    unknown,
    prompt,
    setPrompt,
    promptLength,
    promptMax,
    tooLong,
    negativePrompt,
    setNegativePrompt,
    seed,
    setSeed,
    price,
    fieldErrors,
    formError,
    verifyNeeded,
    chooseModel,
    chooseMode,
    setOption,
    clearFieldError,
    check,
    showSuccess,
    showError,
    modeRef,
    referencesRef,
    seedRef,
    promptRef,
    negativePromptRef,
    durationRef,
    resolutionRef,
    aspectRatioRef,
    audioRef,
    formErrorRef,
  };
}

export type ComposerForm = ReturnType<typeof useComposerForm>;
