import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import type { Me, UpdateMe } from '../../../shared/api/account';
import { Card } from '../../components/ui';
import { apiFetch } from '../../lib/api';
import { meQuery } from '../../lib/auth';

/** One section of the account page: a card with a heading (h2) and a short description. */
export function Section({
  id,
  title,
  description,
  icon,
  children,
  aside,
}: {
  id: string;
  title: ReactNode;
  description?: ReactNode;
  icon?: ReactNode;
  children: ReactNode;
  /** shown at the end of the heading row (a badge) */
  aside?: ReactNode;
}) {
  return (
    <Card padding="none" className="scroll-mt-24" aria-labelledby={`${id}-title`} id={id} data-testid={`section-${id}`} role="region">
      <div className="flex flex-col gap-1 border-b border-zinc-200 px-5 py-4 sm:px-6 dark:border-zinc-800">
        <div className="flex items-center gap-3">
          {icon && <span className="text-brand-600 dark:text-brand-300">{icon}</span>}
          <h2 id={`${id}-title`} className="text-base font-semibold text-zinc-900 dark:text-white">
            {title}
          </h2>
          {aside && <div className="ms-auto">{aside}</div>}
        </div>
        {description && <p className="text-sm text-zinc-600 dark:text-zinc-400">{description}</p>}
      </div>
      <div className="px-5 py-5 sm:px-6">{children}</div>
    </Card>
  );
}

/** PATCH /api/me; the answer is the new Me, put straight into the cache. */
export function useUpdateMe() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (patch: UpdateMe) => apiFetch<Me>('/api/me', { method: 'PATCH', body: patch }),
    onSuccess: (me) => queryClient.setQueryData(meQuery.queryKey, me),
  });
}
