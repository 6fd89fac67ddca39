import type { ReactNode } from 'react';
import { cn } from '../../lib/cn';

/** The title row of an app page: h1, a one-line lead, and actions on the right (below on phones). */
export function PageHeader({ title, lead, children, className }: { title: string; lead: string; children?: ReactNode; className?: string }) {
  return (
    <header className={cn('mb-6 flex flex-col gap-4 sm:flex-row sm:items-end sm:justify-between', className)}>
      <div className="min-w-0">
        <h1 className="text-2xl font-semibold tracking-tight text-zinc-900 sm:text-3xl dark:text-white">{title}</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{lead}</p>
      </div>
      {children}
    </header>
  );
}
