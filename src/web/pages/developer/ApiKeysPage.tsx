import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useEffect, useId, useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { AlertIcon, TrashIcon } from '../../components/icons';
import { Alert, Badge, Button, buttonClasses, Card, Checkbox, Dialog, EmptyState, Input, Select, useToast } from '../../components/ui';
import { meQuery, useMe } from '../../lib/auth';
import { cn } from '../../lib/cn';
import {
  apiKeyScopes,
  apiKeysQuery,
  createApiKey,
  keyExpiries,
  keyState,
  revokeApiKey,
  type ApiKeyScope,
  type ApiKeyView,
  type CreatedApiKey,
} from '../../lib/developer';
import { dateTime, relativeTime } from '../../lib/format';
import { usePageTitle } from '../../lib/usePageTitle';
import { KeyIcon, PlusIcon } from '../../components/icons';
import { DeveloperVerifyNotice, developerErrorText, isEmailNotVerified, PageHeading, QueryState, SecretField } from './shared';

/** The catalogue key of a scope ("videos:read" → "read"): i18next reads ":" as a namespace separator. */
const scopeKey = (scope: ApiKeyScope) => (scope === 'videos:read' ? 'read' : 'write');

/** /developers/keys: the user's API keys; create one (its secret shown once), revoke one. */
export function ApiKeysPage() {
  const { t } = useTranslation();
  usePageTitle(`${t('developers.tabs.keys')} · ${t('developers.title')}`);
  const keys = useQuery(apiKeysQuery);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyView | null>(null);
  const formRef = useRef<HTMLDivElement>(null);
  const list = keys.data ?? [];
  // working keys first, then revoked and expired ones; newest first within each
  const sorted = [...list].sort((a, b) => Number(keyState(a) !== 'active') - Number(keyState(b) !== 'active') || b.createdAt.localeCompare(a.createdAt));

  return (
    <section aria-labelledby="keys-title" data-testid="api-keys">
      <PageHeading id="keys-title" title={t('developers.keys.title')} lead={t('developers.keys.lead')} />

      <div className="grid gap-8 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <div className="min-w-0">
          <QueryState
            pending={keys.isPending}
            error={keys.isError ? keys.error : null}
            onRetry={() => void keys.refetch()}
            loadingText={t('developers.keys.loading')}
            errorTitle={t('developers.keys.error')}
          >
            {list.length === 0 ? (
              <div className="rounded-2xl border border-dashed border-zinc-300 dark:border-zinc-700">
                <EmptyState
                  icon={<KeyIcon className="size-7" />}
                  title={t('developers.keys.emptyTitle')}
                  description={t('developers.keys.emptyBody')}
                  action={
                    <Button variant="secondary" onClick={() => formRef.current?.querySelector<HTMLInputElement>('input')?.focus()}>
                      <PlusIcon className="size-4" />
                      {t('developers.keys.create')}
                    </Button>
                  }
                />
              </div>
            ) : (
              <ul className="space-y-3" data-testid="api-key-list">
                {sorted.map((key) => (
                  <KeyRow key={key.id} apiKey={key} onRevoke={() => setRevoking(key)} />
                ))}
              </ul>
            )}
          </QueryState>
        </div>

        <div ref={formRef}>
          <CreateKeyForm onCreated={setCreated} />
        </div>
      </div>

      <NewKeyDialog created={created} onClose={() => setCreated(null)} />
      <RevokeDialog apiKey={revoking} onClose={() => setRevoking(null)} />
    </section>
  );
}

function KeyRow({ apiKey: key, onRevoke }: { apiKey: ApiKeyView; onRevoke: () => void }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const state = keyState(key);
  const when = (date: string) => (
    <time dateTime={date} title={dateTime(date, lang)}>
      {relativeTime(date, lang)}
    </time>
  );
  return (
    <li data-testid="api-key" data-key-id={key.id} data-state={state}>
      <Card padding="sm" className={cn('flex flex-col gap-3 sm:flex-row sm:items-start', state !== 'active' && 'opacity-75')}>
        <div className="min-w-0 flex-1">
          <div className="flex flex-wrap items-center gap-2">
            <h3 className="truncate text-base font-semibold text-zinc-900 dark:text-white" data-testid="api-key-name">
              {key.name}
            </h3>
            {state === 'revoked' && (
              <span
                className="inline-flex items-center rounded-full bg-red-100 px-2 py-0.5 text-xs font-semibold text-red-800 dark:bg-red-500/15 dark:text-red-300"
                data-testid="api-key-revoked"
              >
                {t('developers.keys.revoked')}
              </span>
            )}
            {state === 'expired' && <Badge tone="warning">{t('developers.keys.expired')}</Badge>}
            {state === 'active' && <Badge tone="success">{t('developers.keys.active')}</Badge>}
          </div>
          <p className="mt-1 flex flex-wrap items-center gap-2">
            <code
              className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200"
              aria-label={t('developers.keys.prefixLabel', { prefix: key.prefix })}
            >
              {key.prefix}…
            </code>
            {key.scopes.map((s) => (
              <Badge key={s} tone="brand">
                {t(`developers.scopes.${scopeKey(s)}.short`)}
              </Badge>
            ))}
          </p>
          <dl className="mt-2 grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-0.5 text-xs text-zinc-600 sm:grid-cols-[auto_minmax(0,1fr)_auto_minmax(0,1fr)] dark:text-zinc-400">
            <dt className="font-medium text-zinc-500 dark:text-zinc-500">{t('developers.keys.created')}</dt>
            <dd>{when(key.createdAt)}</dd>
            <dt className="font-medium text-zinc-500 dark:text-zinc-500">{t('developers.keys.lastUsed')}</dt>
            <dd data-testid="api-key-last-used">{key.lastUsedAt ? when(key.lastUsedAt) : t('developers.keys.never')}</dd>
            <dt className="font-medium text-zinc-500 dark:text-zinc-500">{t('developers.keys.expires')}</dt>
            <dd>{key.expiresAt ? when(key.expiresAt) : t('developers.keys.noExpiry')}</dd>
            {key.revokedAt && (
              <>
                <dt className="font-medium text-zinc-500 dark:text-zinc-500">{t('developers.keys.revokedAt')}</dt>
                <dd>{when(key.revokedAt)}</dd>
              </>
            )}
          </dl>
        </div>
        {state !== 'revoked' && (
          <Button variant="secondary" size="sm" onClick={onRevoke} className="self-start" data-testid="revoke-key">
            <TrashIcon className="size-4" />
            {t('developers.keys.revoke')}
            <span className="sr-only"> {key.name}</span>
          </Button>
        )}
      </Card>
    </li>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (key: CreatedApiKey) => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKeyScope[]>([...apiKeyScopes]);
  const [expiry, setExpiry] = useState<number>(0);
  const [nameError, setNameError] = useState<string | null>(null);
  const scopesId = useId();
  const nameRef = useRef<HTMLInputElement>(null);
  const verifyRef = useRef<HTMLDivElement>(null);
  const me = useMe().data;

  const create = useMutation({
    mutationFn: () => createApiKey(queryClient, { name: name.trim(), scopes, ...(expiry ? { expiresInDays: expiry } : {}) }),
    onSuccess: (key) => {
      setName('');
      setScopes([...apiKeyScopes]);
      setExpiry(0);
      onCreated(key);
    },
    // the account page (or another tab) may know better than this one whether the address is verified
    onError: (err) => {
      if (isEmailNotVerified(err)) void queryClient.invalidateQueries({ queryKey: meQuery.queryKey });
    },
  });
  // refused for an unverified address: say so with a way to get the link, not as a generic failure
  const verifyNeeded = create.isError && isEmailNotVerified(create.error);
  useEffect(() => {
    if (verifyNeeded) verifyRef.current?.focus();
  }, [verifyNeeded]);

  const submit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!name.trim()) {
      setNameError(t('developers.keys.nameRequired'));
      nameRef.current?.focus();
      return;
    }
    if (scopes.length === 0) return;
    create.mutate();
  };

  const toggle = (scope: ApiKeyScope, on: boolean) =>
    setScopes((list) => (on ? [...apiKeyScopes].filter((s) => s === scope || list.includes(s)) : list.filter((s) => s !== scope)));

  return (
    <Card padding="none" role="region" aria-labelledby="create-key-title" className="lg:sticky lg:top-24">
      <form onSubmit={submit} noValidate className="space-y-4 p-5" data-testid="create-key-form">
        <h3 id="create-key-title" className="text-base font-semibold text-zinc-900 dark:text-white">
          {t('developers.keys.createTitle')}
        </h3>
        <Input
          ref={nameRef}
          label={t('developers.keys.name')}
          hint={t('developers.keys.nameHint')}
          required
          maxLength={80}
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            setNameError(null);
          }}
          error={nameError}
          autoComplete="off"
          data-testid="key-name"
        />
        <fieldset aria-describedby={scopes.length === 0 ? `${scopesId}-error` : undefined}>
          <legend className="mb-2 text-sm font-medium text-zinc-800 dark:text-zinc-200">{t('developers.keys.scopes')}</legend>
          <div className="space-y-2">
            {apiKeyScopes.map((scope) => (
              <Checkbox
                key={scope}
                checked={scopes.includes(scope)}
                onChange={(e) => toggle(scope, e.target.checked)}
                label={
                  <>
                    <span className="font-medium">{t(`developers.scopes.${scopeKey(scope)}.short`)}</span>{' '}
                    <code className="font-mono text-xs text-zinc-500 dark:text-zinc-400">{scope}</code>
                    <span className="block text-xs text-zinc-500 dark:text-zinc-400">{t(`developers.scopes.${scopeKey(scope)}.description`)}</span>
                  </>
                }
                data-testid={`scope-${scope}`}
              />
            ))}
          </div>
          {scopes.length === 0 && (
            <p id={`${scopesId}-error`} className="mt-2 text-xs font-medium text-red-600 dark:text-red-400">
              {t('developers.keys.scopesRequired')}
            </p>
          )}
        </fieldset>
        <Select label={t('developers.keys.expiry')} value={String(expiry)} onChange={(e) => setExpiry(Number(e.target.value))} data-testid="key-expiry">
          {keyExpiries.map((days) => (
            <option key={days} value={days}>
              {days === 0 ? t('developers.keys.expiryNever') : t('developers.keys.expiryDays', { count: days })}
            </option>
          ))}
        </Select>
        {me && (verifyNeeded || !me.emailVerified) && (
          <div ref={verifyRef} tabIndex={-1} className="outline-none">
            <DeveloperVerifyNotice me={me} what="keys" tone={verifyNeeded ? 'error' : 'warning'} />
          </div>
        )}
        {create.isError && !verifyNeeded && <Alert tone="error">{developerErrorText(create.error, t, i18n.language)}</Alert>}
        <Button
          type="submit"
          className="w-full"
          loading={create.isPending}
          disabled={scopes.length === 0}
          loadingText={t('developers.keys.creating')}
          data-testid="create-key"
        >
          <PlusIcon className="size-4" />
          {t('developers.keys.create')}
        </Button>
      </form>
    </Card>
  );
}

/** The secret of a key just made: shown here once, never again. */
function NewKeyDialog({ created, onClose }: { created: CreatedApiKey | null; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog
      open={!!created}
      onClose={onClose}
      dismissible={false}
      title={t('developers.keys.newTitle', { name: created?.name ?? '' })}
      footer={
        <>
          <Link to="/developers" className={buttonClasses({ variant: 'secondary' })} onClick={onClose}>
            {t('developers.keys.toQuickStart')}
          </Link>
          <Button onClick={onClose} data-testid="new-key-done">
            {t('developers.keys.done')}
          </Button>
        </>
      }
    >
      {created && (
        <div className="space-y-4">
          <Alert tone="warning" title={t('developers.keys.onceTitle')}>
            {t('developers.keys.onceBody')}
          </Alert>
          <SecretField value={created.secret} label={t('developers.keys.secret')} data-testid="new-key-secret" />
          <p className="text-xs text-zinc-500 dark:text-zinc-400">{t('developers.keys.howToUse')}</p>
        </div>
      )}
    </Dialog>
  );
}

function RevokeDialog({ apiKey, onClose }: { apiKey: ApiKeyView | null; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const keepRef = useRef<HTMLButtonElement>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => revokeApiKey(queryClient, id),
    onSuccess: () => {
      toast({ tone: 'success', title: t('developers.keys.revokedToast', { name: apiKey?.name ?? '' }) });
      onClose();
    },
  });
  const close = () => {
    if (revoke.isPending) return;
    revoke.reset();
    onClose();
  };
  return (
    <Dialog
      open={!!apiKey}
      onClose={close}
      size="sm"
      title={t('developers.keys.revokeTitle', { name: apiKey?.name ?? '' })}
      description={t('developers.keys.revokeBody')}
      initialFocus={keepRef}
      footer={
        <>
          <Button ref={keepRef} variant="secondary" onClick={close} disabled={revoke.isPending}>
            {t('developers.keys.keep')}
          </Button>
          <Button variant="danger" onClick={() => apiKey && revoke.mutate(apiKey.id)} loading={revoke.isPending} data-testid="confirm-revoke">
            <AlertIcon className="size-4" />
            {t('developers.keys.revokeConfirm')}
          </Button>
        </>
      }
    >
      {revoke.isError && <Alert tone="error">{developerErrorText(revoke.error, t, i18n.language)}</Alert>}
    </Dialog>
  );
}
