import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { useId, useRef, useState, type RefObject, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { EyeIcon, EyeOffIcon, FilmIcon } from '../../components/icons';
import { Alert, Button, Checkbox, TextArea } from '../../components/ui';
import { cn } from '../../lib/cn';
import { errorText } from '../../lib/errors';
import { relativeTime } from '../../lib/format';
import { decide, evidenceUrl, moderationDecisions, REASON_MAX, type CaseDetail, type ModerationDecision, type QueueItem } from '../../lib/moderation';

/** The keys of the queue and what they decide (c asks to confirm: it reports to NCMEC). */
export const decisionKeys: Record<string, ModerationDecision> = {
  a: 'allow',
  r: 'remove',
  s: 'remove_strike',
  u: 'suspend',
  t: 'terminate',
  c: 'escalate_csam',
};
export const keyOfDecision = (d: ModerationDecision) => Object.entries(decisionKeys).find(([, v]) => v === d)?.[0] ?? '';

/** "sexual/minors" -> the catalogue's `sexual_minors`; a report's reason ("copyright"); else as it came. */
export function categoryLabel(t: TFunction, category: string | null | undefined): string {
  if (!category) return t('moderation.case.none');
  const key = category.replace(/[/-]/g, '_');
  return t(`moderation.category.${key}` as never, { defaultValue: t(`moderation.reasons.${key}` as never, { defaultValue: category }) });
}

export const inputLabel = (t: TFunction, input: string | null | undefined) => (input ? t(`moderation.input.${input}` as never, { defaultValue: input }) : '');

/** Whether the key press belongs to a text field or a control that uses letters itself. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
}

/** The subject, automatic action and severity of a case, as small labels. */
export function CaseTags({ item }: { item: QueueItem }) {
  const { t } = useTranslation();
  const tone =
    item.action === 'block'
      ? 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300'
      : item.action === 'flag'
        ? 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300'
        : 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300';
  const chip = 'inline-flex items-center rounded-full px-2 py-0.5 text-xs font-semibold';
  return (
    <span className="flex flex-wrap items-center gap-1.5">
      <span className={cn(chip, 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300')} data-testid="case-subject">
        {t(`moderation.subject.${item.subject}`)}
      </span>
      <span className={cn(chip, tone)}>{t(`moderation.action.${item.action}`)}</span>
      <span className={cn(chip, 'bg-zinc-100 text-zinc-700 tabular-nums dark:bg-zinc-800 dark:text-zinc-300')}>
        {t('moderation.queue.severity', { value: item.severity })}
      </span>
      {item.outcome && (
        <span className={cn(chip, 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200')} data-testid="case-outcome">
          {t(`moderation.outcome.${item.outcome}`)}
        </span>
      )}
      {item.appealPending && (
        <span className={cn(chip, 'bg-fuchsia-100 text-fuchsia-800 dark:bg-fuchsia-500/15 dark:text-fuchsia-200')}>{t('moderation.queue.appealPending')}</span>
      )}
    </span>
  );
}

/**
 * One piece of evidence: an image or video from the evidence route, blurred until revealed (the
 * button, or `v` in the queue). A blurred video shows no controls and does not play.
 */
export function EvidencePreview({
  caseId,
  preview,
  revealed,
  onToggle,
  size = 'md',
}: {
  caseId: string;
  preview: QueueItem['previews'][number];
  revealed: boolean;
  onToggle: () => void;
  size?: 'sm' | 'md';
}) {
  const { t } = useTranslation();
  const url = evidenceUrl(caseId, preview.evidenceId);
  const type = preview.contentType ?? '';
  const input = inputLabel(t, preview.input);
  const media = type.startsWith('image/') ? (
    <img src={url} alt={t('moderation.preview.imageAlt', { input })} className="size-full object-contain" loading="lazy" draggable={false} />
  ) : type.startsWith('video/') ? (
    <video
      src={url}
      muted
      playsInline
      preload="metadata"
      controls={revealed}
      tabIndex={revealed ? 0 : -1}
      aria-label={t('moderation.preview.imageAlt', { input })}
      className="size-full object-contain"
    />
  ) : (
    <FilmIcon className="size-8 text-zinc-400" />
  );

  return (
    <figure className="min-w-0" data-testid="evidence" data-revealed={revealed}>
      <div
        className={cn(
          'relative flex items-center justify-center overflow-hidden rounded-lg bg-zinc-900',
          size === 'sm' ? 'aspect-video w-40 sm:w-48' : 'aspect-video w-full',
        )}
      >
        <div className={cn('size-full transition-[filter] duration-150', !revealed && 'pointer-events-none scale-110 blur-2xl')} aria-hidden={!revealed}>
          {media}
        </div>
        {!revealed && (
          <span className="pointer-events-none absolute inset-x-2 bottom-2 rounded bg-black/60 px-2 py-1 text-center text-[11px] font-medium text-white">
            {t('moderation.preview.hidden')}
          </span>
        )}
      </div>
      <figcaption className="mt-1.5 flex flex-wrap items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
        <span className="font-medium">{input}</span>
        <button
          type="button"
          onClick={onToggle}
          aria-pressed={revealed}
          aria-label={revealed ? t('moderation.preview.blurLabel', { input }) : t('moderation.preview.revealLabel', { input })}
          className="inline-flex items-center gap-1 rounded-md px-1.5 py-0.5 font-medium text-brand-700 hover:bg-brand-50 focus-visible:outline-2 focus-visible:outline-brand-500 dark:text-brand-300 dark:hover:bg-brand-950/50"
          data-testid="evidence-toggle"
        >
          {revealed ? <EyeOffIcon className="size-3.5" /> : <EyeIcon className="size-3.5" />}
          {revealed ? t('moderation.preview.blur') : t('moderation.preview.reveal')}
        </button>
        {revealed && (
          <a href={url} target="_blank" rel="noreferrer noopener" className="font-medium text-brand-700 hover:underline dark:text-brand-300">
            {t('moderation.preview.file')}
          </a>
        )}
      </figcaption>
    </figure>
  );
}

/** The text inputs of a case (prompts, report details), quoted. */
export function CaseTexts({ texts, clamp }: { texts: QueueItem['texts']; clamp?: boolean }) {
  const { t } = useTranslation();
  if (!texts.length) return null;
  return (
    <dl className="space-y-1.5 text-sm">
      {texts.map((x, i) => (
        <div key={`${x.input}-${i}`} className="min-w-0">
          <dt className="text-xs font-semibold text-zinc-500 dark:text-zinc-400">{inputLabel(t, x.input)}</dt>
          <dd className={cn('break-words whitespace-pre-wrap text-zinc-900 dark:text-zinc-100', clamp && 'line-clamp-3')} data-testid="case-text">
            {x.text}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * The decision form: one of the six decisions, a reason (required; kept in the audit log and
 * shown to the user for removals and suspensions) and, to escalate as CSAM, an explicit
 * confirmation. Used on the case page and in the queue's dialog.
 */
export function DecisionForm({
  item,
  initial,
  onDone,
  onCancel,
  reasonRef: givenReasonRef,
}: {
  item: QueueItem;
  initial?: ModerationDecision;
  onDone?: (detail: CaseDetail) => void;
  onCancel?: () => void;
  /** the reason field, for a dialog to focus first */
  reasonRef?: RefObject<HTMLTextAreaElement | null>;
}) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const legendId = useId();
  const [decision, setDecision] = useState<ModerationDecision | ''>(initial ?? '');
  const [reason, setReason] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  const [errors, setErrors] = useState<{ decision?: string; reason?: string; confirm?: string }>({});
  const ownReasonRef = useRef<HTMLTextAreaElement>(null);
  const reasonRef = givenReasonRef ?? ownReasonRef;

  const mutation = useMutation({
    mutationFn: (d: ModerationDecision) => decide(queryClient, item.id, { decision: d, reason: reason.trim() }),
    onSuccess: (detail) => onDone?.(detail),
  });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const found: typeof errors = {};
    if (!decision) found.decision = t('moderation.decide.decisionRequired');
    if (!reason.trim()) found.reason = t('moderation.decide.reasonRequired');
    if (decision === 'escalate_csam' && !confirmed) found.confirm = t('moderation.decide.confirmCsamRequired');
    setErrors(found);
    if (found.reason) return reasonRef.current?.focus();
    if (!decision || found.confirm) return;
    mutation.mutate(decision);
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" data-testid="decision-form">
      {item.appealPending && <Alert tone="info">{t('moderation.decide.appealReopened')}</Alert>}
      <fieldset aria-labelledby={legendId}>
        <legend id={legendId} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
          {t('moderation.decide.legend')}
        </legend>
        <div className="mt-2 grid gap-2 sm:grid-cols-2">
          {moderationDecisions.map((d) => (
            <label
              key={d}
              className={cn(
                'flex cursor-pointer gap-3 rounded-lg border p-3 text-sm has-[input:focus-visible]:outline-2 has-[input:focus-visible]:outline-brand-500',
                decision === d
                  ? d === 'escalate_csam'
                    ? 'border-red-500 bg-red-50 dark:border-red-400 dark:bg-red-950/40'
                    : 'border-brand-500 bg-brand-50 dark:border-brand-400 dark:bg-brand-950/40'
                  : 'border-zinc-200 hover:border-zinc-300 dark:border-zinc-800 dark:hover:border-zinc-700',
              )}
            >
              <input
                type="radio"
                name={`decision-${item.id}`}
                value={d}
                checked={decision === d}
                onChange={() => {
                  setDecision(d);
                  setConfirmed(false);
                }}
                className="mt-0.5 size-4 shrink-0 accent-brand-600"
                data-testid={`decision-${d}`}
              />
              <span className="min-w-0">
                <span className="flex items-center gap-2 font-medium text-zinc-900 dark:text-white">
                  {t(`moderation.decision.${d}`)}
                  <kbd className="rounded border border-zinc-300 px-1 font-mono text-[10px] text-zinc-500 dark:border-zinc-700" aria-hidden="true">
                    {keyOfDecision(d)}
                  </kbd>
                </span>
                <span className="mt-0.5 block text-xs text-zinc-600 dark:text-zinc-400">{t(`moderation.decisionHelp.${d}`)}</span>
              </span>
            </label>
          ))}
        </div>
        {errors.decision && !decision && <p className="mt-1 text-xs font-medium text-red-600 dark:text-red-400">{errors.decision}</p>}
      </fieldset>
      <TextArea
        ref={reasonRef}
        label={t('moderation.decide.reason')}
        hint={t('moderation.decide.reasonHint')}
        required
        maxLength={REASON_MAX}
        value={reason}
        onChange={(e) => {
          setReason(e.target.value);
          if (errors.reason) setErrors((x) => ({ ...x, reason: undefined }));
        }}
        error={errors.reason}
        data-testid="decision-reason"
      />
      {decision === 'escalate_csam' && (
        <Checkbox
          label={t('moderation.decide.confirmCsam')}
          checked={confirmed}
          onChange={(e) => setConfirmed(e.target.checked)}
          error={errors.confirm}
          data-testid="decision-confirm-csam"
        />
      )}
      {mutation.isError && (
        <Alert tone="error" title={t('moderation.decide.failed')} data-testid="decision-error">
          {errorText(mutation.error, t, i18n.language)}
        </Alert>
      )}
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        {onCancel && (
          <Button variant="secondary" onClick={onCancel}>
            {t('moderation.decide.cancel')}
          </Button>
        )}
        <Button
          type="submit"
          variant={decision === 'escalate_csam' || decision === 'terminate' ? 'danger' : 'primary'}
          loading={mutation.isPending}
          loadingText={t('moderation.decide.submitting')}
          data-testid="decision-submit"
        >
          {t('moderation.decide.submit')}
        </Button>
      </div>
    </form>
  );
}

/** "Opened 3 hours ago" for a case. */
export const openedText = (t: TFunction, iso: string, language: string) => t('moderation.queue.opened', { time: relativeTime(iso, language) });
