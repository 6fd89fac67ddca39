import { useQuery } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { Fragment, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { z } from 'zod';
import type { mailboxList, mailboxMessage } from '../../shared/api/account';
import { InboxIcon } from '../components/icons';
import { Alert, Card, EmptyState, Spinner } from '../components/ui';
import { apiFetch } from '../lib/api';
import { useAuthConfig } from '../lib/auth';
import { cn } from '../lib/cn';
import { errorText } from '../lib/errors';
import { dateTime, relativeTime } from '../lib/format';
import { usePageTitle } from '../lib/usePageTitle';
import { NotFoundPage } from './NotFoundPage';

type MailboxList = z.infer<typeof mailboxList>;
type MailboxMessage = z.infer<typeof mailboxMessage>;

const URL_PATTERN = /https?:\/\/[^\s<>"'()]+[^\s<>"'().,;:!?]/g;

/** Plain text with its http(s) URLs turned into links (same tab). Everything else stays text. */
export function linkify(text: string): ReactNode[] {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = match[0];
    const start = match.index;
    let safe = false;
    try {
      safe = ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {
      /* not a URL after all */
    }
    if (!safe) continue;
    if (start > last) parts.push(text.slice(last, start));
    parts.push(
      <a key={start} href={url} className="break-all text-brand-700 underline underline-offset-2 dark:text-brand-300">
        {url}
      </a>,
    );
    last = start + url.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** The development mailbox: what this installation "sent" while no SMTP server is configured. */
export function DevMailboxPage() {
  const { t } = useTranslation();
  usePageTitle(t('mailbox.title'));
  const config = useAuthConfig();
  if (config.isPending)
    return (
      <div className="flex justify-center py-24" role="status">
        <Spinner className="size-6 text-brand-600" />
        <span className="sr-only">{t('ui.loading')}</span>
      </div>
    );
  if (!config.data?.devMailbox) return <NotFoundPage />;
  return <Mailbox />;
}

function Mailbox() {
  const { t, i18n } = useTranslation();
  const search = useSearch({ from: '/dev/mailbox' });
  const list = useQuery({
    queryKey: ['dev-mailbox'],
    queryFn: ({ signal }) => apiFetch<MailboxList>('/api/dev/mailbox', { signal }),
    refetchInterval: 3000,
    staleTime: 0,
  });
  const selected = search.id;

  return (
    <div className="mx-auto max-w-6xl px-4 py-10 sm:px-6" data-testid="dev-mailbox">
      <div className="mb-6">
        <h1 className="text-2xl font-semibold tracking-tight text-zinc-900 sm:text-3xl dark:text-white">{t('mailbox.title')}</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{t('mailbox.lead')}</p>
      </div>
      <div className="grid gap-6 lg:grid-cols-[22rem_1fr]">
        <Card padding="none" className="self-start overflow-hidden">
          <h2 className="sr-only">{t('mailbox.messages')}</h2>
          {list.isPending ? (
            <p className="flex items-center gap-2 p-4 text-sm text-zinc-500" role="status">
              <Spinner className="size-4" /> {t('ui.loading')}
            </p>
          ) : list.isError ? (
            <div className="p-4">
              <Alert tone="error">{errorText(list.error, t, i18n.language)}</Alert>
            </div>
          ) : list.data.messages.length === 0 ? (
            <EmptyState icon={<InboxIcon className="size-7" />} title={t('mailbox.empty')} description={t('mailbox.emptyLead')} className="py-10" />
          ) : (
            <ul className="max-h-[70vh] divide-y divide-zinc-200 overflow-y-auto dark:divide-zinc-800" data-testid="mailbox-list">
              {list.data.messages.map((m) => (
                <li key={m.id}>
                  <Link
                    to="/dev/mailbox"
                    search={{ id: m.id }}
                    aria-current={m.id === selected ? 'true' : undefined}
                    className={cn(
                      'block px-4 py-3 transition-colors hover:bg-zinc-50 dark:hover:bg-zinc-800/60',
                      m.id === selected && 'bg-brand-50 dark:bg-brand-950/40',
                    )}
                    data-testid="mailbox-item"
                  >
                    <span className="block truncate text-sm font-medium text-zinc-900 dark:text-white">{m.subject}</span>
                    <span className="mt-0.5 flex justify-between gap-2 text-xs text-zinc-500 dark:text-zinc-400">
                      <span className="truncate">{m.to}</span>
                      <time dateTime={m.date} title={dateTime(m.date, i18n.language)} className="shrink-0">
                        {relativeTime(m.date, i18n.language)}
                      </time>
                    </span>
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </Card>
        <div className="min-w-0">
          {selected ? <MessageView id={selected} /> : <p className="text-sm text-zinc-500 dark:text-zinc-400">{t('mailbox.pick')}</p>}
        </div>
      </div>
    </div>
  );
}

function MessageView({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const message = useQuery({
    queryKey: ['dev-mailbox', id],
    queryFn: ({ signal }) => apiFetch<MailboxMessage>(`/api/dev/mailbox/${encodeURIComponent(id)}`, { signal }),
    staleTime: Infinity,
  });
  if (message.isPending)
    return (
      <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
        <Spinner className="size-4" /> {t('ui.loading')}
      </p>
    );
  if (message.isError) return <Alert tone="error">{errorText(message.error, t, i18n.language)}</Alert>;
  const m = message.data;
  return (
    <article className="space-y-4" data-testid="mailbox-message">
      <Card padding="none" className="overflow-hidden">
        <header className="space-y-1 border-b border-zinc-200 px-5 py-4 dark:border-zinc-800">
          <h2 className="text-lg font-semibold text-zinc-900 dark:text-white">{m.subject}</h2>
          <dl className="grid grid-cols-[auto_1fr] gap-x-3 text-sm text-zinc-600 dark:text-zinc-400">
            <dt>{t('mailbox.to')}</dt>
            <dd className="break-all">{m.to}</dd>
            <dt>{t('mailbox.date')}</dt>
            <dd>{dateTime(m.date, i18n.language)}</dd>
          </dl>
        </header>
        <div className="px-5 py-4">
          <h3 className="mb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400">{t('mailbox.text')}</h3>
          <pre className="font-sans text-sm leading-relaxed whitespace-pre-wrap text-zinc-800 dark:text-zinc-200" data-testid="mailbox-text">
            {linkify(m.text).map((part, i) => (
              <Fragment key={i}>{part}</Fragment>
            ))}
          </pre>
        </div>
      </Card>
      {m.html && (
        <Card padding="none" className="overflow-hidden">
          <h3 className="border-b border-zinc-200 px-5 py-3 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:border-zinc-800 dark:text-zinc-400">
            {t('mailbox.html')}
          </h3>
          {/* sandbox="" : no scripts, no same-origin, no navigation: only a picture of the mail */}
          <iframe title={t('mailbox.htmlFrame', { subject: m.subject })} sandbox="" srcDoc={m.html} className="h-[32rem] w-full bg-white" />
        </Card>
      )}
    </article>
  );
}
