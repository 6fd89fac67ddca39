import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ArrowRightIcon, CheckCircleIcon, ShieldIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { Alert, Button, Card, EmptyState, Spinner, TextArea } from '../../components/ui';
import { cn } from '../../lib/cn';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { APPEAL_MAX, APPEAL_MIN, appealCase, myCasesQuery, type UserCaseView } from '../../lib/moderation';
import { usePageTitle } from '../../lib/usePageTitle';
import { BackLink } from '../../components/PageStates';

/** What a case means for the user, in a word: under review, or what was decided. */
const stateOf = (c: UserCaseView) => (c.status === 'open' ? 'open' : (c.outcome ?? 'allowed'));

function AppealForm({ item, onCancel, onDone }: { item: UserCaseView; onCancel: () => void; onDone: () => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const textRef = useRef<HTMLTextAreaElement>(null);
  const appeal = useMutation({ mutationFn: () => appealCase(queryClient, item.id, text.trim()), onSuccess: onDone });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (text.trim().length < APPEAL_MIN) {
      setError(t('account.cases.appeal.tooShort', { min: APPEAL_MIN }));
      textRef.current?.focus();
      return;
    }
    appeal.mutate();
  };

  return (
    <form onSubmit={onSubmit} noValidate className="mt-4 space-y-3" data-testid="appeal-form">
      <TextArea
        ref={textRef}
        label={t('account.cases.appeal.text')}
        hint={t('account.cases.appeal.hint', { min: APPEAL_MIN, max: APPEAL_MAX })}
        required
        rows={4}
        maxLength={APPEAL_MAX}
        value={text}
        autoFocus
        onChange={(e) => {
          setText(e.target.value);
          setError(undefined);
        }}
        error={error}
        data-testid="appeal-text"
      />
      {appeal.isError && <Alert tone="error">{errorText(appeal.error, t, i18n.language)}</Alert>}
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        <Button variant="secondary" onClick={onCancel}>
          {t('account.cases.appeal.cancel')}
        </Button>
        <Button type="submit" loading={appeal.isPending} loadingText={t('account.cases.appeal.submitting')} data-testid="appeal-submit">
          {t('account.cases.appeal.submit')}
        </Button>
      </div>
    </form>
  );
}

function CaseCard({ item: c }: { item: UserCaseView }) {
  const { t, i18n } = useTranslation();
  const [appealing, setAppealing] = useState(false);
  const [appealed, setAppealed] = useState(false);
  const state = stateOf(c);
  return (
    <li data-testid="user-case" data-id={c.id} data-state={state}>
      <Card padding="md">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <h2 className="text-base font-semibold text-zinc-900 dark:text-white">{t(`account.cases.subject.${c.subject}`)}</h2>
          <span
            className={cn(
              'rounded-full px-2 py-0.5 text-xs font-semibold',
              state === 'open'
                ? 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300'
                : state === 'allowed'
                  ? 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300'
                  : 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
            )}
            data-testid="user-case-state"
          >
            {t(`account.cases.state.${state}`)}
          </span>
        </div>
        <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
          <time dateTime={c.openedAt}>{t('account.cases.opened', { date: dateTime(c.openedAt, i18n.language) })}</time>
        </p>
        {c.reason && (
          <div className="mt-3 text-sm">
            <p className="font-medium text-zinc-700 dark:text-zinc-300">{t('account.cases.reason')}</p>
            <p className="whitespace-pre-wrap break-words text-zinc-900 dark:text-zinc-100" data-testid="user-case-reason">
              {c.reason}
            </p>
          </div>
        )}
        {c.generationId && (
          <Link
            to="/creations/$id"
            params={{ id: c.generationId }}
            className="mt-3 inline-flex items-center gap-1 text-sm font-medium text-brand-700 hover:underline dark:text-brand-300"
          >
            {t('account.cases.openCreation')}
            <ArrowRightIcon className="size-4 rtl:rotate-180" />
          </Link>
        )}
        {(appealed || c.appealedAt) && (
          <div className="mt-3 text-sm text-zinc-700 dark:text-zinc-300" role={appealed ? 'status' : undefined} data-testid="user-case-appealed">
            <p>{appealed || !c.appealedAt ? t('account.cases.appeal.done') : t('account.cases.appealed', { date: dateTime(c.appealedAt, i18n.language) })}</p>
            {c.status === 'open' && !appealed && <p className="text-zinc-500 dark:text-zinc-400">{t('account.cases.appealReview')}</p>}
          </div>
        )}
        {c.canAppeal && !appealing && (
          <div className="mt-4">
            <Button variant="secondary" size="sm" onClick={() => setAppealing(true)} data-testid="appeal-open">
              {t('account.cases.appeal.button')}
            </Button>
          </div>
        )}
        {c.canAppeal && appealing && (
          <AppealForm
            item={c}
            onCancel={() => setAppealing(false)}
            onDone={() => {
              setAppealing(false);
              setAppealed(true);
            }}
          />
        )}
      </Card>
    </li>
  );
}

/** /account/cases: the user's content under review or acted on, the reasons, and the one appeal. */
export function CasesPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('account.cases.title'));
  const cases = useQuery(myCasesQuery);

  return (
    <div className="mx-auto max-w-3xl px-4 py-10 sm:px-6 sm:py-14" data-testid="cases-page">
      <BackLink to="/account">{t('account.cases.back')}</BackLink>
      <PageHeader className="mt-4" title={t('account.cases.title')} lead={t('account.cases.lead')} />
      {cases.isPending ? (
        <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
          <Spinner className="size-4" />
          {t('account.cases.loading')}
        </p>
      ) : cases.isError ? (
        <Alert
          tone="error"
          title={t('account.cases.error')}
          action={
            <Button size="sm" variant="secondary" onClick={() => void cases.refetch()}>
              {t('account.cases.retry')}
            </Button>
          }
        >
          {errorText(cases.error, t, i18n.language)}
        </Alert>
      ) : !cases.data.length ? (
        <EmptyState icon={<CheckCircleIcon className="size-7" />} title={t('account.cases.emptyTitle')} description={t('account.cases.emptyBody')} />
      ) : (
        <ul className="space-y-4" data-testid="user-cases">
          {cases.data.map((c) => (
            <CaseCard key={c.id} item={c} />
          ))}
        </ul>
      )}
    </div>
  );
}

/** The account page's link to the content reviews. */
export function CasesLink() {
  const { t } = useTranslation();
  return (
    <Link
      to="/account/cases"
      className="flex items-center gap-3 rounded-2xl border border-zinc-200 bg-white p-5 shadow-sm hover:border-zinc-300 sm:px-6 dark:border-zinc-800 dark:bg-zinc-900/60 dark:hover:border-zinc-700"
      data-testid="account-cases-link"
    >
      <ShieldIcon className="size-5 shrink-0 text-brand-600 dark:text-brand-300" />
      <span className="min-w-0 flex-1">
        <span className="block text-base font-semibold text-zinc-900 dark:text-white">{t('account.cases.link')}</span>
        <span className="block text-sm text-zinc-600 dark:text-zinc-400">{t('account.cases.linkLead')}</span>
      </span>
      <ArrowRightIcon className="size-4 shrink-0 text-zinc-400 rtl:rotate-180" />
    </Link>
  );
}
