import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type SubmitEvent } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { ChevronDownIcon, EyeIcon, TrashIcon } from '../../components/icons';
import { Alert, Badge, Button, Card, Checkbox, Dialog, EmptyState, Input, useToast } from '../../components/ui';
import { ApiError } from '../../lib/api';
import { meQuery, useMe } from '../../lib/auth';
import { cn } from '../../lib/cn';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  deliveriesQuery,
  retryDelivery,
  revealWebhookSecret,
  sendTestEvent,
  updateWebhookEndpoint,
  webhookEndpointsQuery,
  webhookEventTypes,
  type WebhookDeliveryView,
  type WebhookEndpointView,
  type WebhookEndpointWithSecret,
  type WebhookEventType,
} from '../../lib/developer';
import { dateTime, relativeTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { PlusIcon, RetryIcon, SendIcon, WebhookIcon } from '../../components/icons';
import { CodeBlock, DeveloperVerifyNotice, developerErrorText, HttpStatusBadge, isEmailNotVerified, PageHeading, QueryState, SecretField } from './shared';

/** /developers/webhooks: where video.completed and video.failed events go, their secrets and delivery logs. */
export function WebhooksPage() {
  const { t } = useTranslation();
  usePageTitle(`${t('developers.tabs.webhooks')} · ${t('developers.title')}`);
  const endpoints = useQuery(webhookEndpointsQuery);
  const [secret, setSecret] = useState<{ endpoint: WebhookEndpointWithSecret; isNew: boolean } | null>(null);
  const [deleting, setDeleting] = useState<WebhookEndpointView | null>(null);
  const formRef = useRef<HTMLDivElement>(null);
  const list = endpoints.data ?? [];

  return (
    <section aria-labelledby="webhooks-title" data-testid="webhooks">
      <PageHeading id="webhooks-title" title={t('developers.webhooks.title')} lead={t('developers.webhooks.lead')} />

      <div className="grid gap-8 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <div className="min-w-0">
          <QueryState
            pending={endpoints.isPending}
            error={endpoints.isError ? endpoints.error : null}
            onRetry={() => void endpoints.refetch()}
            loadingText={t('developers.webhooks.loading')}
            errorTitle={t('developers.webhooks.error')}
          >
            {list.length === 0 ? (
              <div className="rounded-2xl border border-dashed border-zinc-300 dark:border-zinc-700">
                <EmptyState
                  icon={<WebhookIcon className="size-7" />}
                  title={t('developers.webhooks.emptyTitle')}
                  description={t('developers.webhooks.emptyBody')}
                  action={
                    <Button variant="secondary" onClick={() => formRef.current?.querySelector<HTMLInputElement>('input')?.focus()}>
                      <PlusIcon className="size-4" />
                      {t('developers.webhooks.add')}
                    </Button>
                  }
                />
              </div>
            ) : (
              <ul className="space-y-4" data-testid="webhook-endpoints">
                {list.map((endpoint) => (
                  <EndpointCard
                    key={endpoint.id}
                    endpoint={endpoint}
                    onSecret={(e) => setSecret({ endpoint: e, isNew: false })}
                    onDelete={() => setDeleting(endpoint)}
                  />
                ))}
              </ul>
            )}
          </QueryState>
        </div>

        {/* on a phone the form comes right after the list; on a wide screen it stays beside it */}
        <div ref={formRef} className="lg:row-span-2">
          <AddEndpointForm onCreated={(e) => setSecret({ endpoint: e, isNew: true })} />
        </div>

        <div className="min-w-0 lg:col-start-1">
          <VerifyHelp />
        </div>
      </div>

      <SecretDialog value={secret} onClose={() => setSecret(null)} />
      <DeleteDialog endpoint={deleting} onClose={() => setDeleting(null)} />
    </section>
  );
}

function EventBadges({ events }: { events: string[] }) {
  return (
    <>
      {events.map((e) => (
        <Badge key={e} tone="brand" className="font-mono">
          {e}
        </Badge>
      ))}
    </>
  );
}

function EndpointCard({
  endpoint,
  onSecret,
  onDelete,
}: {
  endpoint: WebhookEndpointView;
  onSecret: (e: WebhookEndpointWithSecret) => void;
  onDelete: () => void;
}) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const [showLog, setShowLog] = useState(false);
  const logId = useId();
  const headingId = useId();
  const lang = i18n.language;

  const toggle = useMutation({
    mutationFn: (enabled: boolean) => updateWebhookEndpoint(queryClient, endpoint.id, { enabled }),
    onError: (err) => toast({ tone: 'error', title: t('developers.webhooks.toggleFailed'), description: developerErrorText(err, t, lang) }),
  });
  const reveal = useMutation({
    mutationFn: () => revealWebhookSecret(endpoint.id),
    onSuccess: onSecret,
    onError: (err) => toast({ tone: 'error', title: t('developers.webhooks.revealFailed'), description: developerErrorText(err, t, lang) }),
  });
  const test = useMutation({
    mutationFn: () => sendTestEvent(queryClient, endpoint.id),
    onSuccess: () => {
      setShowLog(true);
      toast({ tone: 'success', title: t('developers.webhooks.testSent'), description: t('developers.webhooks.testSentBody') });
    },
    onError: (err) => {
      if (isEmailNotVerified(err)) void queryClient.invalidateQueries({ queryKey: meQuery.queryKey });
      toast({ tone: 'error', title: t('developers.webhooks.testFailed'), description: developerErrorText(err, t, lang) });
    },
  });
  const enabled = toggle.isPending ? toggle.variables : endpoint.enabled;

  return (
    <li data-testid="webhook-endpoint" data-endpoint-id={endpoint.id} data-enabled={endpoint.enabled}>
      <Card padding="none" role="group" aria-labelledby={headingId}>
        <div className="flex flex-col gap-4 p-4 sm:flex-row sm:items-start sm:p-5">
          <div className="min-w-0 flex-1">
            <h3 id={headingId} className="font-mono text-sm font-semibold break-all text-zinc-900 dark:text-white" data-testid="webhook-url">
              {endpoint.url}
            </h3>
            {endpoint.description && <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{endpoint.description}</p>}
            <p className="mt-2 flex flex-wrap items-center gap-2">
              <EventBadges events={endpoint.events} />
              <span className="text-xs text-zinc-500 dark:text-zinc-400">
                {t('developers.webhooks.added')}{' '}
                <time dateTime={endpoint.createdAt} title={dateTime(endpoint.createdAt, lang)}>
                  {relativeTime(endpoint.createdAt, lang)}
                </time>
              </span>
            </p>
          </div>
          <Switch
            checked={enabled}
            disabled={toggle.isPending}
            onChange={(on) => toggle.mutate(on)}
            label={t('developers.webhooks.enabled')}
            description={endpoint.url}
            testId="webhook-enabled"
          />
        </div>
        <div className="flex flex-wrap items-center gap-2 border-t border-zinc-200 px-4 py-3 sm:px-5 dark:border-zinc-800">
          <Button
            variant="ghost"
            size="sm"
            aria-expanded={showLog}
            aria-controls={logId}
            onClick={() => setShowLog((s) => !s)}
            data-testid="webhook-deliveries-toggle"
          >
            <ChevronDownIcon className={cn('size-4 transition-transform', showLog && 'rotate-180')} />
            {t('developers.webhooks.deliveries')}
          </Button>
          <div className="ms-auto flex flex-wrap gap-2">
            <Button variant="secondary" size="sm" onClick={() => reveal.mutate()} loading={reveal.isPending} data-testid="webhook-reveal">
              <EyeIcon className="size-4" />
              {t('developers.webhooks.reveal')}
            </Button>
            <Button
              variant="secondary"
              size="sm"
              onClick={() => test.mutate()}
              loading={test.isPending}
              disabled={!endpoint.enabled}
              data-testid="webhook-test"
            >
              <SendIcon className="size-4" />
              {t('developers.webhooks.test')}
            </Button>
            <Button
              variant="ghost"
              size="sm"
              onClick={onDelete}
              className="text-red-700 hover:bg-red-50 hover:text-red-800 dark:text-red-400 dark:hover:bg-red-950/40"
              data-testid="webhook-delete"
            >
              <TrashIcon className="size-4" />
              {t('developers.webhooks.delete')}
            </Button>
          </div>
        </div>
        <div id={logId} hidden={!showLog} className="border-t border-zinc-200 px-4 py-4 sm:px-5 dark:border-zinc-800">
          {showLog && <DeliveriesLog endpointId={endpoint.id} />}
        </div>
      </Card>
    </li>
  );
}

/** An on/off switch (a button with role="switch"), labelled, usable with Space and Enter. */
function Switch({
  checked,
  onChange,
  label,
  description,
  disabled,
  testId,
}: {
  checked: boolean;
  onChange: (on: boolean) => void;
  label: string;
  /** extra words for screen readers (which endpoint) */
  description?: string;
  disabled?: boolean;
  testId?: string;
}) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      disabled={disabled}
      onClick={() => onChange(!checked)}
      className="group inline-flex shrink-0 items-center gap-2 self-start rounded-full p-0.5 text-sm font-medium text-zinc-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-500 disabled:opacity-60 dark:text-zinc-300"
      data-testid={testId}
    >
      <span
        className={cn(
          'relative inline-flex h-6 w-11 shrink-0 items-center rounded-full transition-colors',
          checked ? 'bg-brand-600 dark:bg-brand-500' : 'bg-zinc-300 group-hover:bg-zinc-400 dark:bg-zinc-700',
        )}
        aria-hidden="true"
      >
        <span
          className={cn(
            'inline-block size-5 rounded-full bg-white shadow transition-transform',
            checked ? 'translate-x-5.5 rtl:-translate-x-5.5' : 'translate-x-0.5 rtl:-translate-x-0.5',
          )}
        />
      </span>
      {label}
      {description && <span className="sr-only">: {description}</span>}
    </button>
  );
}

const deliveryTones: Record<WebhookDeliveryView['status'], string> = {
  pending: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  delivered: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300',
  failed: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
};

function DeliveriesLog({ endpointId }: { endpointId: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const log = useInfiniteQuery({
    ...deliveriesQuery(endpointId),
    // while something is on its way, look again every few seconds
    refetchInterval: (query) => (query.state.data?.pages.some((p) => p.deliveries.some((d) => d.status === 'pending')) ? 3_000 : false),
  });
  const retry = useMutation({
    mutationFn: (d: WebhookDeliveryView) => retryDelivery(queryClient, d),
    onSuccess: () => toast({ tone: 'success', title: t('developers.webhooks.retryQueued') }),
    onError: (err) => toast({ tone: 'error', title: t('developers.webhooks.retryFailed'), description: developerErrorText(err, t, lang) }),
  });
  const deliveries = log.data?.pages.flatMap((p) => p.deliveries) ?? [];
  const when = (date: string) => (
    <time dateTime={date} title={dateTime(date, lang)}>
      {relativeTime(date, lang)}
    </time>
  );

  return (
    <div data-testid="webhook-deliveries">
      <h4 className="mb-3 text-sm font-semibold text-zinc-900 dark:text-white">{t('developers.webhooks.deliveriesTitle')}</h4>
      <QueryState
        pending={log.isPending}
        error={log.isError && !log.data ? log.error : null}
        onRetry={() => void log.refetch()}
        loadingText={t('developers.webhooks.deliveriesLoading')}
        errorTitle={t('developers.webhooks.deliveriesError')}
      >
        {deliveries.length === 0 ? (
          <p className="text-sm text-zinc-500 dark:text-zinc-400" data-testid="webhook-deliveries-empty">
            {t('developers.webhooks.deliveriesEmpty')}
          </p>
        ) : (
          <ul className="divide-y divide-zinc-200 dark:divide-zinc-800">
            {deliveries.map((d) => (
              <li key={d.id} className="flex flex-col gap-2 py-3 sm:flex-row sm:items-start" data-testid="webhook-delivery" data-status={d.status}>
                <div className="min-w-0 flex-1 text-sm">
                  <p className="flex flex-wrap items-center gap-2">
                    <span className={cn('inline-flex items-center gap-1.5 rounded-full px-2 py-0.5 text-xs font-semibold', deliveryTones[d.status])}>
                      {d.status === 'pending' && <span className="size-1.5 animate-pulse rounded-full bg-current" aria-hidden="true" />}
                      {t(`developers.webhooks.status.${d.status}`)}
                    </span>
                    <code className="font-mono text-xs text-zinc-800 dark:text-zinc-200">{d.eventType}</code>
                    <HttpStatusBadge status={d.lastStatus} />
                  </p>
                  <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
                    {t('developers.webhooks.attempts', { count: d.attempts })}
                    {' · '}
                    {t('developers.webhooks.createdAt')} {when(d.createdAt)}
                    {d.deliveredAt && (
                      <>
                        {' · '}
                        {t('developers.webhooks.deliveredAt')} {when(d.deliveredAt)}
                      </>
                    )}
                    {d.status === 'pending' && d.nextAttemptAt && (
                      <>
                        {' · '}
                        {t('developers.webhooks.nextAttempt')} {when(d.nextAttemptAt)}
                      </>
                    )}
                  </p>
                  {d.lastError && <p className="mt-1 text-xs break-words text-red-700 dark:text-red-400">{d.lastError}</p>}
                </div>
                {d.status !== 'delivered' && (
                  <Button
                    variant="secondary"
                    size="sm"
                    className="self-start"
                    onClick={() => retry.mutate(d)}
                    loading={retry.isPending && retry.variables.id === d.id}
                    disabled={retry.isPending}
                    data-testid="webhook-retry"
                  >
                    <RetryIcon className="size-4" />
                    {t('developers.webhooks.retry')}
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
        {log.hasNextPage && (
          <div className="mt-3 flex justify-center">
            <Button
              variant="secondary"
              size="sm"
              onClick={() => void log.fetchNextPage()}
              loading={log.isFetchingNextPage}
              loadingText={t('developers.webhooks.loadingMore')}
            >
              {t('developers.webhooks.loadMore')}
            </Button>
          </div>
        )}
        {log.isFetchNextPageError && (
          <Alert tone="error" className="mt-3">
            {developerErrorText(log.error, t, lang)}
          </Alert>
        )}
      </QueryState>
    </div>
  );
}

function AddEndpointForm({ onCreated }: { onCreated: (e: WebhookEndpointWithSecret) => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<WebhookEventType[]>([...webhookEventTypes]);
  const [urlError, setUrlError] = useState<string | null>(null);
  const urlRef = useRef<HTMLInputElement>(null);
  const verifyRef = useRef<HTMLDivElement>(null);
  const eventsId = useId();
  const me = useMe().data;

  const create = useMutation({
    mutationFn: () => createWebhookEndpoint(queryClient, { url: url.trim(), events, ...(description.trim() ? { description: description.trim() } : {}) }),
    onSuccess: (e) => {
      setUrl('');
      setDescription('');
      setEvents([...webhookEventTypes]);
      onCreated(e);
    },
    onError: (err) => {
      if (isEmailNotVerified(err)) void queryClient.invalidateQueries({ queryKey: meQuery.queryKey });
      // a URL the server refuses (not http(s), private address…) belongs next to the field
      if (err instanceof ApiError && err.status === 400) {
        setUrlError(err.message || t('developers.webhooks.urlInvalid'));
        urlRef.current?.focus();
      }
    },
  });

  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const value = url.trim();
    let valid = false;
    try {
      valid = /^https?:$/.test(new URL(value).protocol);
    } catch {
      valid = false;
    }
    if (!valid) {
      setUrlError(value ? t('developers.webhooks.urlInvalid') : t('developers.webhooks.urlRequired'));
      urlRef.current?.focus();
      return;
    }
    if (events.length === 0) return;
    create.mutate();
  };

  const toggle = (type: WebhookEventType, on: boolean) =>
    setEvents((list) => (on ? webhookEventTypes.filter((e) => e === type || list.includes(e)) : list.filter((e) => e !== type)));
  // refused for an unverified address: say so with a way to get the link, not as a generic failure
  const verifyNeeded = create.isError && isEmailNotVerified(create.error);
  const showServerError = create.isError && !verifyNeeded && !(create.error instanceof ApiError && create.error.status === 400);
  useEffect(() => {
    if (verifyNeeded) verifyRef.current?.focus();
  }, [verifyNeeded]);

  return (
    <Card padding="none" role="region" aria-labelledby="add-endpoint-title" className="lg:sticky lg:top-24">
      <form onSubmit={submit} noValidate className="space-y-4 p-5" data-testid="add-endpoint-form">
        <h3 id="add-endpoint-title" className="text-base font-semibold text-zinc-900 dark:text-white">
          {t('developers.webhooks.addTitle')}
        </h3>
        <Input
          ref={urlRef}
          type="url"
          inputMode="url"
          label={t('developers.webhooks.url')}
          placeholder="https://example.com/webhooks/savesora"
          required
          maxLength={2048}
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          value={url}
          onChange={(e) => {
            setUrl(e.target.value);
            setUrlError(null);
          }}
          error={urlError}
          data-testid="webhook-url-input"
        />
        <Input
          label={t('developers.webhooks.description')}
          hint={t('developers.webhooks.descriptionHint')}
          maxLength={200}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          autoComplete="off"
        />
        <fieldset aria-describedby={events.length === 0 ? `${eventsId}-error` : undefined}>
          <legend className="mb-2 text-sm font-medium text-zinc-800 dark:text-zinc-200">{t('developers.webhooks.events')}</legend>
          <div className="space-y-2">
            {webhookEventTypes.map((type) => (
              <Checkbox
                key={type}
                checked={events.includes(type)}
                onChange={(e) => toggle(type, e.target.checked)}
                label={
                  <>
                    <code className="font-mono text-xs font-semibold">{type}</code>
                    <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                      {t(`developers.webhooks.eventHelp.${type === 'video.completed' ? 'completed' : 'failed'}`)}
                    </span>
                  </>
                }
              />
            ))}
          </div>
          {events.length === 0 && (
            <p id={`${eventsId}-error`} className="mt-2 text-xs font-medium text-red-600 dark:text-red-400">
              {t('developers.webhooks.eventsRequired')}
            </p>
          )}
        </fieldset>
        {me && (verifyNeeded || !me.emailVerified) && (
          <div ref={verifyRef} tabIndex={-1} className="outline-none">
            <DeveloperVerifyNotice me={me} what="webhooks" tone={verifyNeeded ? 'error' : 'warning'} />
          </div>
        )}
        {showServerError && <Alert tone="error">{developerErrorText(create.error, t, i18n.language)}</Alert>}
        <Button
          type="submit"
          className="w-full"
          loading={create.isPending}
          disabled={events.length === 0}
          loadingText={t('developers.webhooks.adding')}
          data-testid="add-endpoint"
        >
          <PlusIcon className="size-4" />
          {t('developers.webhooks.add')}
        </Button>
      </form>
    </Card>
  );
}

function SecretDialog({ value, onClose }: { value: { endpoint: WebhookEndpointWithSecret; isNew: boolean } | null; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog
      open={!!value}
      onClose={onClose}
      title={value?.isNew ? t('developers.webhooks.createdTitle') : t('developers.webhooks.secretTitle')}
      description={value?.endpoint.url}
      footer={
        <Button onClick={onClose} data-testid="webhook-secret-done">
          {t('developers.keys.done')}
        </Button>
      }
    >
      {value && (
        <div className="space-y-3">
          <SecretField value={value.endpoint.secret} label={t('developers.webhooks.signingSecret')} data-testid="webhook-secret" />
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('developers.webhooks.secretHelp')}</p>
        </div>
      )}
    </Dialog>
  );
}

function DeleteDialog({ endpoint, onClose }: { endpoint: WebhookEndpointView | null; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const keepRef = useRef<HTMLButtonElement>(null);
  const remove = useMutation({
    mutationFn: (id: string) => deleteWebhookEndpoint(queryClient, id),
    onSuccess: () => {
      toast({ tone: 'success', title: t('developers.webhooks.deleted') });
      onClose();
    },
  });
  const close = () => {
    if (remove.isPending) return;
    remove.reset();
    onClose();
  };
  return (
    <Dialog
      open={!!endpoint}
      onClose={close}
      size="sm"
      title={t('developers.webhooks.deleteTitle')}
      description={t('developers.webhooks.deleteBody', { url: endpoint?.url ?? '' })}
      initialFocus={keepRef}
      footer={
        <>
          <Button ref={keepRef} variant="secondary" onClick={close} disabled={remove.isPending}>
            {t('developers.webhooks.keep')}
          </Button>
          <Button variant="danger" onClick={() => endpoint && remove.mutate(endpoint.id)} loading={remove.isPending} data-testid="confirm-delete-endpoint">
            {t('developers.webhooks.deleteConfirm')}
          </Button>
        </>
      }
    >
      {remove.isError && <Alert tone="error">{developerErrorText(remove.error, t, i18n.language)}</Alert>}
    </Dialog>
  );
}

const verifySample = `import { Webhook } from 'standardwebhooks';

const wh = new Webhook(process.env.SAVESORA_WEBHOOK_SECRET); // "whsec_…"

// use the raw body: the signature covers the exact bytes sent
app.post('/webhooks/savesora', express.raw({ type: 'application/json' }), (req, res) => {
  let event;
  try {
    event = wh.verify(req.body, req.headers); // checks webhook-id, webhook-timestamp, webhook-signature
  } catch {
    return res.status(400).end();
  }
  if (event.type === 'video.completed') {
    // event.data: the video, as GET /v1/videos/{id} returns it
  }
  res.status(204).end();
});`;

function VerifyHelp() {
  const { t } = useTranslation();
  const code = 'rounded bg-zinc-100 px-1 py-0.5 font-mono text-[0.85em] text-zinc-900 dark:bg-zinc-800 dark:text-zinc-100';
  return (
    <section aria-labelledby="verify-title" className="text-sm leading-relaxed text-zinc-700 dark:text-zinc-300" data-testid="webhooks-verify">
      <h3 id="verify-title" className="text-base font-semibold text-zinc-900 dark:text-white">
        {t('developers.webhooks.verifyTitle')}
      </h3>
      <p className="mt-1">
        <Trans
          i18nKey="developers.webhooks.verifyBody"
          components={{
            code: <code className={code} />,
            spec: (
              <a
                href="https://www.standardwebhooks.com/"
                className="font-medium text-brand-700 hover:underline dark:text-brand-300"
                rel="noreferrer"
                target="_blank"
              />
            ),
          }}
        />
      </p>
      <p className="mt-2">
        <Trans i18nKey="developers.webhooks.verifyRetries" components={{ code: <code className={code} /> }} />
      </p>
      <CodeBlock className="mt-3" title="Node.js · standardwebhooks" code={verifySample} />
    </section>
  );
}
