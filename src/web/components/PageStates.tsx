import { Link, type LinkProps } from '@tanstack/react-router';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../lib/api';
import { ArrowRightIcon } from './icons';
import { Alert, Button, EmptyState, Spinner } from './ui';

/** "← Back to …" at the top of a page (the arrow turns in right-to-left languages). */
export function BackLink({ to, children }: { to: LinkProps['to']; children: ReactNode }) {
  return (
    <Link to={to} className="inline-flex items-center gap-1.5 rounded-md text-sm font-medium text-brand-700 hover:underline dark:text-brand-300">
      <ArrowRightIcon className="size-4 rotate-180 rtl:rotate-0" />
      {children}
    </Link>
  );
}

/** A detail page while its one query loads. */
export function PageLoading() {
  const { t } = useTranslation();
  return (
    <div className="flex justify-center py-24" role="status">
      <Spinner className="size-6 text-brand-600" />
      <span className="sr-only">{t('ui.loading')}</span>
    </div>
  );
}

/** A detail page whose query failed: "not found" for a 404 (another user's thing too), else the error with a retry. */
export function PageLoadFailed(props: {
  back: ReactNode;
  error: unknown;
  notFound: { icon: ReactNode; title: string; body: string };
  errorTitle: string;
  errorMessage: string;
  retryLabel: string;
  onRetry: () => void;
}) {
  const missing = props.error instanceof ApiError && props.error.status === 404;
  return (
    <div className="mx-auto max-w-3xl px-4 py-10 sm:px-6">
      {props.back}
      {missing ? (
        <EmptyState icon={props.notFound.icon} title={props.notFound.title} description={props.notFound.body} headingLevel={1} />
      ) : (
        <Alert
          tone="error"
          className="mt-6"
          title={props.errorTitle}
          action={
            <Button size="sm" variant="secondary" onClick={props.onRetry}>
              {props.retryLabel}
            </Button>
          }
        >
          {props.errorMessage}
        </Alert>
      )}
    </div>
  );
}

/** Loading, error (with retry) and content of a query-driven section of a page. */
export function QueryState({
  pending,
  error,
  onRetry,
  loadingText,
  errorTitle,
  errorMessage,
  retryLabel,
  errorTestId,
  children,
}: {
  pending: boolean;
  /** the query's error, or null when there is none to show */
  error: unknown;
  onRetry: () => void;
  loadingText: string;
  errorTitle: string;
  errorMessage: string;
  retryLabel: string;
  errorTestId?: string;
  children: ReactNode;
}) {
  if (pending) {
    return (
      <p className="flex items-center gap-2 py-10 text-sm text-zinc-500 dark:text-zinc-400" role="status">
        <Spinner className="size-4" />
        {loadingText}
      </p>
    );
  }
  if (error) {
    return (
      <Alert
        tone="error"
        title={errorTitle}
        data-testid={errorTestId}
        action={
          <Button size="sm" variant="secondary" onClick={onRetry}>
            {retryLabel}
          </Button>
        }
      >
        {errorMessage}
      </Alert>
    );
  }
  return <>{children}</>;
}
