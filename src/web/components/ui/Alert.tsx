import type { ReactNode } from 'react';
import { cn } from '../../lib/cn';
import { AlertIcon, CheckCircleIcon, InfoIcon } from '../icons';

export type AlertTone = 'info' | 'success' | 'warning' | 'error';

const tones: Record<AlertTone, { icon: typeof InfoIcon; className: string }> = {
  info: { icon: InfoIcon, className: 'border-brand-200 bg-brand-50 text-brand-900 dark:border-brand-900 dark:bg-brand-950/50 dark:text-brand-100' },
  success: {
    icon: CheckCircleIcon,
    className: 'border-emerald-200 bg-emerald-50 text-emerald-900 dark:border-emerald-900 dark:bg-emerald-950/40 dark:text-emerald-100',
  },
  warning: { icon: AlertIcon, className: 'border-amber-200 bg-amber-50 text-amber-900 dark:border-amber-900 dark:bg-amber-950/40 dark:text-amber-100' },
  error: { icon: AlertIcon, className: 'border-red-200 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950/40 dark:text-red-100' },
};

export interface AlertProps {
  tone?: AlertTone;
  title?: ReactNode;
  children?: ReactNode;
  /** buttons or links under the text */
  action?: ReactNode;
  className?: string;
  'data-testid'?: string;
}

/**
 * A message inside the page. Errors are announced at once (role="alert"), the others politely
 * (role="status"), so screen-reader users hear the outcome of a form.
 */
export function Alert({ tone = 'info', title, children, action, className, ...rest }: AlertProps) {
  const { icon: Icon, className: toneClass } = tones[tone];
  return (
    <div
      role={tone === 'error' ? 'alert' : 'status'}
      className={cn('flex gap-3 rounded-xl border p-4 text-sm', toneClass, className)}
      data-testid={rest['data-testid']}
    >
      <Icon className="mt-0.5 size-5 shrink-0" />
      <div className="min-w-0 flex-1 space-y-1">
        {title && <p className="font-semibold">{title}</p>}
        {children && <div className="leading-relaxed opacity-90">{children}</div>}
        {action && <div className="flex flex-wrap gap-2 pt-2">{action}</div>}
      </div>
    </div>
  );
}
