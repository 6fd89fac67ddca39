import { useId, type InputHTMLAttributes, type ReactNode, type Ref } from 'react';
import { cn } from '../../lib/cn';

export interface InputProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> {
  label: ReactNode;
  /** help text under the field */
  hint?: ReactNode;
  /** error text; marks the field invalid */
  error?: ReactNode;
  id?: string;
  /** hide the label visually (still read by screen readers) */
  hideLabel?: boolean;
  ref?: Ref<HTMLInputElement>;
}

export function Input({ label, hint, error, id, hideLabel, className, required, ...rest }: InputProps) {
  const autoId = useId();
  const inputId = id ?? `input-${autoId}`;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  const describedBy = [errorId, hintId, rest['aria-describedby']].filter(Boolean).join(' ') || undefined;

  return (
    <div className={cn('flex flex-col gap-1.5', className)}>
      <label htmlFor={inputId} className={cn('text-sm font-medium text-zinc-800 dark:text-zinc-200', hideLabel && 'sr-only')}>
        {label}
        {required && (
          <span className="ms-0.5 text-red-600 dark:text-red-400" aria-hidden="true">
            *
          </span>
        )}
      </label>
      <input
        {...rest}
        id={inputId}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        className={cn(
          'h-10 w-full rounded-lg border bg-white px-3 text-sm text-zinc-900 shadow-sm transition-colors placeholder:text-zinc-400',
          'focus:outline-2 focus:outline-offset-0 disabled:cursor-not-allowed disabled:opacity-60',
          'dark:bg-zinc-900 dark:text-zinc-100 dark:placeholder:text-zinc-500',
          error
            ? 'border-red-500 focus:outline-red-500 dark:border-red-400'
            : 'border-zinc-300 focus:border-brand-500 focus:outline-brand-500/40 dark:border-zinc-700',
        )}
      />
      {hint && (
        <p id={hintId} className="text-xs text-zinc-500 dark:text-zinc-400">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} className="text-xs font-medium text-red-600 dark:text-red-400">
          {error}
        </p>
      )}
    </div>
  );
}

/** An email field: the right keyboard, autofill, and no autocorrect or auto-capitalization. */
export function EmailInput(props: Omit<InputProps, 'type' | 'autoComplete' | 'inputMode' | 'spellCheck' | 'autoCapitalize'>) {
  return <Input type="email" name="email" autoComplete="email" inputMode="email" spellCheck={false} autoCapitalize="off" {...props} />;
}
