import { useId, type InputHTMLAttributes, type ReactNode, type Ref } from 'react';
import { cn } from '../../lib/cn';
import { FieldText, fieldClasses, RequiredMark } from './Field';

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
        {required && <RequiredMark />}
      </label>
      <input
        {...rest}
        id={inputId}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        className={fieldClasses(error)}
      />
      <FieldText id={hintId} text={hint} />
      <FieldText id={errorId} text={error} error />
    </div>
  );
}

/** An email field: the right keyboard, autofill, and no autocorrect or auto-capitalization. */
export function EmailInput(props: Omit<InputProps, 'type' | 'autoComplete' | 'inputMode' | 'spellCheck' | 'autoCapitalize'>) {
  return <Input type="email" name="email" autoComplete="email" inputMode="email" spellCheck={false} autoCapitalize="off" {...props} />;
}
