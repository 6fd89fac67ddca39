import type { ReactNode } from 'react';
import { cn } from '../../lib/cn';

export interface EmptyStateProps {
  icon?: ReactNode;
  title: ReactNode;
  description?: ReactNode;
  /** buttons or links */
  action?: ReactNode;
  /** heading level of the title; h1 when the empty state is the whole page */
  headingLevel?: 1 | 2 | 3;
  className?: string;
  children?: ReactNode;
}

export function EmptyState({ icon, title, description, action, headingLevel = 2, className, children }: EmptyStateProps) {
  const Heading = `h${headingLevel}` as const;
  return (
    <div className={cn('mx-auto flex max-w-md flex-col items-center px-4 py-16 text-center', className)} data-testid="empty-state">
      {icon && (
        <div
          className="mb-5 flex size-14 items-center justify-center rounded-2xl bg-brand-50 text-brand-600 ring-1 ring-brand-100 dark:bg-brand-950/60 dark:text-brand-300 dark:ring-brand-900"
          aria-hidden="true"
        >
          {icon}
        </div>
      )}
      <Heading className="text-2xl font-semibold tracking-tight text-zinc-900 dark:text-white">{title}</Heading>
      {description && <p className="mt-2 text-base leading-relaxed text-zinc-600 dark:text-zinc-400">{description}</p>}
      {children}
      {action && <div className="mt-6 flex flex-wrap items-center justify-center gap-3">{action}</div>}
    </div>
  );
}
