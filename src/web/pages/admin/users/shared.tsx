import type { TFunction } from 'i18next';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { AdminUserFlag } from '../../../../shared/api/admin-users';
import { Badge } from '../../../components/ui';
import { ApiError } from '../../../lib/api';
import { cn } from '../../../lib/cn';
import { errorText } from '../../../lib/errors';
import type { UserRole, UserStatus } from './api';

/** table header and cell classes shared by the section's tables */
export const th = 'px-3 py-2.5 text-start text-xs font-semibold tracking-wide whitespace-nowrap text-zinc-500 uppercase dark:text-zinc-400';
export const td = 'px-3 py-2 align-top whitespace-nowrap';

/**
 * A table that scrolls sideways on a narrow screen: a labelled, keyboard-focusable region (relative,
 * so its screen-reader-only texts scroll with it instead of widening the page).
 */
/** A console table's column headings: text, or `{ label, end: true }` for a number column aligned to the end. */
export function TableHead({ columns }: { columns: readonly (string | { label: string; end?: boolean })[] }) {
  return (
    <thead className="border-b border-zinc-200 dark:border-zinc-800">
      <tr>
        {columns.map((c, i) => {
          const col = typeof c === 'string' ? { label: c, end: false } : c;
          return (
            <th key={i} scope="col" className={col.end ? `${th} text-end` : th}>
              {col.label}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}

export function ScrollTable({ label, minWidth = '40rem', children, testId }: { label: string; minWidth?: string; children: ReactNode; testId?: string }) {
  return (
    <div
      className="relative overflow-x-auto rounded-2xl border border-zinc-200 bg-white shadow-sm focus-visible:outline-2 focus-visible:outline-brand-500 dark:border-zinc-800 dark:bg-zinc-900/60"
      tabIndex={0}
      role="region"
      aria-label={label}
    >
      <table className="w-full text-sm" style={{ minWidth }} data-testid={testId}>
        <caption className="sr-only">{label}</caption>
        {children}
      </table>
    </div>
  );
}

export function RoleBadge({ role }: { role: UserRole }) {
  const { t } = useTranslation();
  return <Badge tone={role === 'user' ? 'neutral' : 'brand'}>{t(`admin.users.roles.${role}`)}</Badge>;
}

export function StatusBadge({ status }: { status: UserStatus }) {
  const { t } = useTranslation();
  if (status === 'active') return <Badge tone="success">{t('admin.users.statuses.active')}</Badge>;
  return (
    <span
      className={cn(
        'inline-flex items-center rounded-full px-2 py-0.5 text-xs font-semibold',
        status === 'terminated'
          ? 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300'
          : 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
      )}
    >
      {t(`admin.users.statuses.${status}`)}
    </span>
  );
}

export function FlagBadges({ flags }: { flags: readonly AdminUserFlag[] }) {
  const { t } = useTranslation();
  if (!flags.length) return null;
  return (
    <span className="flex flex-wrap gap-1">
      {flags.map((f) => (
        <Badge key={f} tone="warning">
          {t(`admin.users.flags.${f}`)}
        </Badge>
      ))}
    </span>
  );
}

/** One term and its value in a definition list. */
export function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="flex flex-col gap-0.5 py-1.5 sm:flex-row sm:justify-between sm:gap-4">
      <dt className="text-zinc-500 dark:text-zinc-400">{term}</dt>
      <dd className="min-w-0 font-medium break-words text-zinc-900 sm:text-end dark:text-zinc-100">{children}</dd>
    </div>
  );
}

/** "—" for an empty value */
export const dash = '—';

/**
 * What to tell the operator about a failed call: in English the server's own message (it carries
 * the numbers), in another language this section's translation of the code when it has one.
 */
export function usersErrorText(err: unknown, t: TFunction, language: string): string {
  if (err instanceof ApiError && !language.startsWith('en')) {
    const mine = t(`admin.users.errors.${err.code}` as never, { defaultValue: '' }) as string;
    if (mine) return mine;
  }
  return errorText(err, t, language);
}
