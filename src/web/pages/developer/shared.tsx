import type { TFunction } from 'i18next';
import { useId, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { VerifyEmailNotice } from '../../components/auth/VerifyEmailNotice';
import { CheckIcon, CopyIcon } from '../../components/icons';
import { Button, useToast } from '../../components/ui';
import { ApiError } from '../../lib/api';
import { cn } from '../../lib/cn';
import { QueryState as PageQueryState } from '../../components/PageStates';
import { copyText } from '../../lib/developer';
import { errorText } from '../../lib/errors';

/** A button that copies `text`, says so for a moment, and falls back to selecting `selectTarget`. */
export function CopyButton({
  text,
  label,
  className,
  selectTarget,
  onDark = false,
  'data-testid': testId,
}: {
  text: string;
  /** what is copied, for the accessible name ("Copy code") */
  label: string;
  className?: string;
  /** an element whose text is selected when the clipboard is not available */
  selectTarget?: () => HTMLElement | null;
  /** on a dark surface (a code block): a quiet light-on-dark button */
  onDark?: boolean;
  'data-testid'?: string;
}) {
  const { t } = useTranslation();
  const { toast } = useToast();
  const [copied, setCopied] = useState(false);
  const timer = useRef<number | undefined>(undefined);

  const onClick = async () => {
    if (await copyText(text)) {
      setCopied(true);
      window.clearTimeout(timer.current);
      timer.current = window.setTimeout(() => setCopied(false), 2000);
      return;
    }
    const el = selectTarget?.();
    if (el) {
      if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) el.select();
      else {
        const range = document.createRange();
        range.selectNodeContents(el);
        const selection = window.getSelection();
        selection?.removeAllRanges();
        selection?.addRange(range);
      }
    }
    toast({ title: t('developers.copyFailed'), tone: 'info' });
  };

  const content = (
    <>
      {copied ? (
        <CheckIcon className={cn('size-4', onDark ? 'text-emerald-400' : 'text-emerald-600 dark:text-emerald-400')} />
      ) : (
        <CopyIcon className="size-4" />
      )}
      <span aria-hidden="true">{copied ? t('developers.copied') : t('developers.copy')}</span>
      {/* announced when the copy worked */}
      <span className="sr-only" role="status">
        {copied ? t('developers.copied') : ''}
      </span>
    </>
  );
  if (onDark) {
    return (
      <button
        type="button"
        onClick={() => void onClick()}
        aria-label={label}
        data-testid={testId}
        className={cn(
          'inline-flex h-8 shrink-0 items-center gap-2 rounded-lg px-3 text-sm font-medium text-zinc-200 transition-colors hover:bg-zinc-800 hover:text-white',
          'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-400',
          className,
        )}
      >
        {content}
      </button>
    );
  }
  return (
    <Button variant="secondary" size="sm" onClick={() => void onClick()} className={cn('shrink-0', className)} aria-label={label} data-testid={testId}>
      {content}
    </Button>
  );
}

/** A block of code with a title bar (language or file name) and a copy button. */
export function CodeBlock({ code, title, className }: { code: string; title: string; className?: string }) {
  const { t } = useTranslation();
  const preRef = useRef<HTMLPreElement>(null);
  const titleId = useId();
  return (
    <figure className={cn('overflow-hidden rounded-xl border border-zinc-800 bg-zinc-950 text-zinc-100', className)} aria-labelledby={titleId}>
      <figcaption className="flex items-center justify-between gap-3 border-b border-zinc-800 px-4 py-1.5">
        <span id={titleId} className="font-mono text-xs text-zinc-400">
          {title}
        </span>
        <CopyButton text={code} label={t('developers.copyCode', { what: title })} onDark className="-me-2" selectTarget={() => preRef.current} />
      </figcaption>
      {/* focusable so keyboard users can scroll long lines sideways */}
      <pre
        ref={preRef}
        tabIndex={0}
        className="overflow-x-auto p-4 font-mono text-[13px] leading-relaxed focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-brand-400"
      >
        <code>{code}</code>
      </pre>
    </figure>
  );
}

/** A secret shown in a read-only field with a copy button (new API key, webhook signing secret). */
export function SecretField({ value, label, 'data-testid': testId }: { value: string; label: string; 'data-testid'?: string }) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <div className="flex flex-col gap-1.5">
      <label htmlFor={id} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
      </label>
      <div className="flex flex-col gap-2 sm:flex-row">
        {/* a wrapping text area, so the whole secret is visible at once */}
        <textarea
          id={id}
          readOnly
          rows={2}
          value={value}
          spellCheck={false}
          autoComplete="off"
          onFocus={(e) => e.target.select()}
          className="w-full min-w-0 resize-none rounded-lg border border-zinc-300 bg-zinc-50 px-3 py-2 font-mono text-xs break-all text-zinc-900 shadow-sm focus:border-brand-500 focus:outline-2 focus:outline-brand-500/40 dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100"
          data-testid={testId}
        />
        <CopyButton text={value} label={t('developers.copySecret')} selectTarget={() => document.getElementById(id)} className="h-10 sm:self-start" />
      </div>
    </div>
  );
}

/** Loading, error (with retry) and content of a query-driven section, with the developer pages' wording. */
export function QueryState(props: { pending: boolean; error: unknown; onRetry: () => void; loadingText: string; errorTitle: string; children: ReactNode }) {
  const { t, i18n } = useTranslation();
  return (
    <PageQueryState
      {...props}
      errorMessage={props.error ? developerErrorText(props.error, t, i18n.language) : ''}
      retryLabel={t('developers.retry')}
      errorTestId="developer-error"
    />
  );
}

/** What to say about a failed developer request (the server's message, or our translation of its code). */
export function developerErrorText(err: unknown, t: TFunction, language: string): string {
  return errorText(err, t, language);
}

/** whether the server refused because the account's email address is not verified (403 `email_not_verified`) */
export const isEmailNotVerified = (err: unknown) => err instanceof ApiError && err.code === 'email_not_verified';

/**
 * Why creating a key or an endpoint cannot work yet, with a way to get the verification link
 * again (as the Studio does): a warning before anything is tried, an alert once the server refused.
 */
export function DeveloperVerifyNotice({ me, what, tone = 'warning' }: { me: Me; what: 'keys' | 'webhooks'; tone?: 'warning' | 'error' }) {
  const { t } = useTranslation();
  return (
    <VerifyEmailNotice
      me={me}
      tone={tone}
      title={t('developers.verify.title')}
      body={t(what === 'keys' ? 'developers.verify.keysBody' : 'developers.verify.webhooksBody', { email: me.email })}
      testId="developer-verify-notice"
    />
  );
}

/** An HTTP status as a small colored badge: 2xx green, 4xx amber, 5xx red. */
export function HttpStatusBadge({ status }: { status: number | null }) {
  const { t } = useTranslation();
  if (status === null) return <span className="text-zinc-400 dark:text-zinc-500">—</span>;
  const tone =
    status >= 500 || status === 0
      ? 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300'
      : status >= 400
        ? 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300'
        : status >= 300
          ? 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300'
          : 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300';
  return (
    <span className={cn('inline-flex items-center rounded-full px-2 py-0.5 font-mono text-xs font-semibold tabular-nums', tone)} data-testid="http-status">
      <span className="sr-only">{t('developers.httpStatus')} </span>
      {status}
    </span>
  );
}

/** The heading row of a developer sub-page: an h2, a short lead and optional actions. */
export function PageHeading({ id, title, lead, actions }: { id: string; title: ReactNode; lead?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
      <div className="min-w-0">
        <h2 id={id} className="text-xl font-semibold tracking-tight text-zinc-900 dark:text-white">
          {title}
        </h2>
        {lead && <p className="mt-1 max-w-2xl text-sm text-zinc-600 dark:text-zinc-400">{lead}</p>}
      </div>
      {actions && <div className="flex shrink-0 flex-wrap gap-2">{actions}</div>}
    </div>
  );
}
