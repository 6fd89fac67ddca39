import { useId, useState, type InputHTMLAttributes, type ReactNode, type Ref, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import { useTranslation } from 'react-i18next';
import { cn } from '../../lib/cn';
import { EyeIcon, EyeOffIcon } from '../icons';

/** the border, colours and focus ring every field shares */
const fieldSurface = (error: unknown) =>
  cn(
    'w-full rounded-lg border bg-white text-sm text-zinc-900 shadow-sm transition-colors placeholder:text-zinc-400',
    'focus:outline-2 focus:outline-offset-0 disabled:cursor-not-allowed disabled:opacity-60',
    'dark:bg-zinc-900 dark:text-zinc-100 dark:placeholder:text-zinc-500',
    error
      ? 'border-red-500 focus:outline-red-500 dark:border-red-400'
      : 'border-zinc-300 focus:border-brand-500 focus:outline-brand-500/40 dark:border-zinc-700',
  );

/** one-line fields (inputs, selects) */
export const fieldClasses = (error: unknown) => cn('h-10 px-3', fieldSurface(error));

/** A field's hint or error line (referenced by the field's aria-describedby). */
export function FieldText({ id, text, error }: { id?: string | undefined; text: ReactNode; error?: boolean }) {
  if (!id || !text) return null;
  return (
    <p id={id} className={error ? 'text-xs font-medium text-red-600 dark:text-red-400' : 'text-xs text-zinc-500 dark:text-zinc-400'}>
      {text}
    </p>
  );
}

export function RequiredMark() {
  return (
    <span className="ms-0.5 text-red-600 dark:text-red-400" aria-hidden="true">
      *
    </span>
  );
}

export interface SelectProps extends Omit<SelectHTMLAttributes<HTMLSelectElement>, 'id'> {
  label: ReactNode;
  hint?: ReactNode;
  error?: ReactNode;
  id?: string;
  ref?: Ref<HTMLSelectElement>;
}

/** A labelled native <select>, styled like Input (native for keyboard and mobile pickers). */
export function Select({ label, hint, error, id, className, required, children, ...rest }: SelectProps) {
  const autoId = useId();
  const selectId = id ?? `select-${autoId}`;
  const hintId = hint ? `${selectId}-hint` : undefined;
  const errorId = error ? `${selectId}-error` : undefined;
  return (
    <div className={cn('flex flex-col gap-1.5', className)}>
      <label htmlFor={selectId} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
        {required && <RequiredMark />}
      </label>
      <select
        {...rest}
        id={selectId}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={[errorId, hintId].filter(Boolean).join(' ') || undefined}
        className={cn(fieldClasses(error), 'pe-8')}
      >
        {children}
      </select>
      <FieldText id={hintId} text={hint} />
      <FieldText id={errorId} text={error} error />
    </div>
  );
}

export interface CheckboxProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'type'> {
  label: ReactNode;
  error?: ReactNode;
  id?: string;
  ref?: Ref<HTMLInputElement>;
}

export function Checkbox({ label, error, id, className, ...rest }: CheckboxProps) {
  const autoId = useId();
  const boxId = id ?? `checkbox-${autoId}`;
  const errorId = error ? `${boxId}-error` : undefined;
  return (
    <div className={cn('flex flex-col gap-1.5', className)}>
      <div className="flex items-start gap-3">
        <input
          {...rest}
          id={boxId}
          type="checkbox"
          aria-invalid={error ? true : undefined}
          aria-describedby={errorId}
          className="mt-0.5 size-4 shrink-0 rounded border-zinc-300 accent-brand-600 dark:border-zinc-600"
        />
        <label htmlFor={boxId} className="text-sm leading-snug text-zinc-800 dark:text-zinc-200">
          {label}
        </label>
      </div>
      <FieldText id={errorId} text={error} error />
    </div>
  );
}

export interface PasswordInputProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'type'> {
  label: ReactNode;
  hint?: ReactNode;
  error?: ReactNode;
  id?: string;
  /** a link or note at the end of the label row (e.g. "Forgot password?") */
  labelAside?: ReactNode;
  ref?: Ref<HTMLInputElement>;
}

/** A password field with a show/hide button. */
export function PasswordInput({ label, hint, error, id, labelAside, className, required, ...rest }: PasswordInputProps) {
  const { t } = useTranslation();
  const [visible, setVisible] = useState(false);
  const autoId = useId();
  const inputId = id ?? `password-${autoId}`;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  return (
    <div className={cn('flex flex-col gap-1.5', className)}>
      <div className="flex items-baseline justify-between gap-3">
        <label htmlFor={inputId} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
          {label}
          {required && <RequiredMark />}
        </label>
        {labelAside}
      </div>
      <div className="relative">
        <input
          {...rest}
          id={inputId}
          type={visible ? 'text' : 'password'}
          required={required}
          spellCheck={false}
          autoCapitalize="off"
          aria-invalid={error ? true : undefined}
          aria-describedby={[errorId, hintId].filter(Boolean).join(' ') || undefined}
          className={cn(fieldClasses(error), 'pe-11')}
        />
        <button
          type="button"
          onClick={() => setVisible((v) => !v)}
          aria-pressed={visible}
          aria-label={t('auth.fields.showPassword')}
          title={visible ? t('auth.fields.hidePassword') : t('auth.fields.showPassword')}
          aria-controls={inputId}
          className="absolute inset-y-0 end-0 flex w-10 items-center justify-center rounded-e-lg text-zinc-500 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-white"
        >
          {visible ? <EyeOffIcon className="size-4.5" /> : <EyeIcon className="size-4.5" />}
        </button>
      </div>
      <FieldText id={hintId} text={hint} />
      <FieldText id={errorId} text={error} error />
    </div>
  );
}

export interface TextAreaProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'> {
  label: ReactNode;
  /** help text under the field */
  hint?: ReactNode;
  /** error text; marks the field invalid */
  error?: ReactNode;
  id?: string;
  ref?: Ref<HTMLTextAreaElement>;
}

/** A labelled multi-line field, styled like Input. */
export function TextArea({ label, hint, error, id, className, required, ref, ...rest }: TextAreaProps) {
  const autoId = useId();
  const fieldId = id ?? `textarea-${autoId}`;
  const hintId = hint ? `${fieldId}-hint` : undefined;
  const errorId = error ? `${fieldId}-error` : undefined;
  return (
    <div className={cn('flex flex-col gap-1.5', className)}>
      <label htmlFor={fieldId} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
        {required && <RequiredMark />}
      </label>
      <textarea
        rows={3}
        {...rest}
        ref={ref}
        id={fieldId}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={[errorId, hintId].filter(Boolean).join(' ') || undefined}
        className={cn('px-3 py-2', fieldSurface(error))}
      />
      <FieldText id={hintId} text={hint} />
      <FieldText id={errorId} text={error} error />
    </div>
  );
}
