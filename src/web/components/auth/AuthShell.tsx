import { useEffect, useRef, type ReactNode } from 'react';
import { cn } from '../../lib/cn';
import { Card } from '../ui';

/** The frame of the sign-in pages: a centred card with a heading (the page's h1) and a lead. */
export function AuthShell({
  title,
  description,
  icon,
  children,
  footer,
  className,
  testId,
  focusTitle,
}: {
  title: ReactNode;
  description?: ReactNode;
  icon?: ReactNode;
  children?: ReactNode;
  /** under the card: links to the other pages */
  footer?: ReactNode;
  className?: string;
  testId?: string;
  /** move focus (and the view) to the heading when shown: for a result that replaces a form */
  focusTitle?: boolean;
}) {
  const titleRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (!focusTitle) return;
    window.scrollTo({ top: 0 });
    titleRef.current?.focus();
  }, [focusTitle]);
  return (
    <div className={cn('mx-auto w-full max-w-md px-4 py-10 sm:py-16', className)} data-testid={testId}>
      <Card padding="none" className="p-6 sm:p-8">
        {icon && (
          <div
            aria-hidden="true"
            className="mb-5 flex size-12 items-center justify-center rounded-2xl bg-brand-50 text-brand-600 ring-1 ring-brand-100 dark:bg-brand-950/60 dark:text-brand-300 dark:ring-brand-900"
          >
            {icon}
          </div>
        )}
        <h1 ref={titleRef} tabIndex={-1} className="text-2xl font-semibold tracking-tight text-zinc-900 outline-none dark:text-white">
          {title}
        </h1>
        {description && <p className="mt-2 text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{description}</p>}
        <div className="mt-6">{children}</div>
      </Card>
      {footer && <div className="mt-6 text-center text-sm text-zinc-600 dark:text-zinc-400">{footer}</div>}
    </div>
  );
}

/** A text link in the auth pages' style. */
export const authLink = 'font-medium text-brand-700 underline-offset-4 hover:underline dark:text-brand-300';

/** "or", between the Google button and the email form. */
export function OrDivider({ label }: { label: string }) {
  return (
    <div className="my-6 flex items-center gap-3 text-xs font-medium tracking-wide text-zinc-500 uppercase dark:text-zinc-400">
      <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" aria-hidden="true" />
      {label}
      <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" aria-hidden="true" />
    </div>
  );
}
