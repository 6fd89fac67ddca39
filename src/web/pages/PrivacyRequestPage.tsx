import { useMutation, useQuery } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CheckCircleIcon } from '../components/icons';
import { Alert, Button, Card, EmailInput, EmptyState, Input, Select, TextArea } from '../components/ui';
import { useMe } from '../lib/auth';
import { errorText } from '../lib/errors';
import { isSupportedLanguage } from '../i18n';
import { metaQuery, PRIVACY_MESSAGE_MAX, privacyRequestKinds, sendPrivacyRequest, type PrivacyRequestKind } from '../lib/privacy-requests';
import { usePageTitle } from '../lib/usePageTitle';

type Field = 'email' | 'subjectEmail' | 'message';
type Errors = Partial<Record<Field, string>>;

const isKind = (value: unknown): value is PrivacyRequestKind => typeof value === 'string' && (privacyRequestKinds as readonly string[]).includes(value);

/** A date in the reader's language, without the time ("March 5, 2027"). */
const longDate = (iso: string, language: string) => new Intl.DateTimeFormat(language, { dateStyle: 'long' }).format(new Date(iso));

/**
 * /privacy-request: anyone (signed in or not) asks about their data, objects, asks for a deletion,
 * or reports an account they believe a child uses. Linked from the footer and the privacy policy;
 * `?kind=child` opens the child report.
 */
export function PrivacyRequestPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('privacyRequests.form.title'));
  const search = useSearch({ from: '/privacy-request' });
  const me = useMe().data;
  const meta = useQuery(metaQuery);
  const [kind, setKind] = useState<PrivacyRequestKind>(isKind(search.kind) ? search.kind : 'access');
  const [email, setEmail] = useState(me?.email ?? '');
  const [name, setName] = useState(me?.name ?? '');
  const [subjectEmail, setSubjectEmail] = useState('');
  const [message, setMessage] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const emailRef = useRef<HTMLInputElement>(null);
  const subjectEmailRef = useRef<HTMLInputElement>(null);
  const messageRef = useRef<HTMLTextAreaElement>(null);
  const child = kind === 'child';
  const language = isSupportedLanguage(i18n.resolvedLanguage) ? i18n.resolvedLanguage : undefined;

  const send = useMutation({
    mutationFn: () =>
      sendPrivacyRequest({
        kind,
        email: email.trim(),
        name: name.trim(),
        message: message.trim(),
        ...(child ? { subjectEmail: subjectEmail.trim() } : {}),
        ...(language ? { language } : {}),
      }),
  });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const found: Errors = {};
    if (!email.trim()) found.email = t('privacyRequests.form.emailRequired');
    if (child && !subjectEmail.trim()) found.subjectEmail = t('privacyRequests.form.subjectEmailRequired');
    if (!message.trim()) found.message = t('privacyRequests.form.messageRequired');
    setErrors(found);
    if (found.subjectEmail) return subjectEmailRef.current?.focus();
    if (found.message) return messageRef.current?.focus();
    if (found.email) return emailRef.current?.focus();
    send.mutate();
  };

  const supportEmail = meta.data?.supportEmail;

  if (send.isSuccess) {
    const r = send.data;
    return (
      <div className="mx-auto max-w-2xl px-4 py-12 sm:px-6" data-testid="privacy-request-page">
        <EmptyState
          icon={<CheckCircleIcon className="size-7" />}
          title={t('privacyRequests.form.doneTitle')}
          description={t('privacyRequests.form.doneBody', { reference: r.reference, email: email.trim(), date: longDate(r.dueAt, i18n.language) })}
          headingLevel={1}
          action={
            <Button
              variant="secondary"
              onClick={() => {
                send.reset();
                setMessage('');
                setSubjectEmail('');
              }}
            >
              {t('privacyRequests.form.another')}
            </Button>
          }
        >
          <p className="mt-3 text-sm text-zinc-600 dark:text-zinc-400">{t('privacyRequests.form.doneReceipt', { email: r.supportEmail })}</p>
          <p className="mt-4 font-mono text-lg font-semibold tracking-wide text-zinc-900 dark:text-white" data-testid="privacy-request-reference">
            {r.reference}
          </p>
          <p className="sr-only" role="status" data-testid="privacy-request-received">
            {t('privacyRequests.form.doneTitle')}
          </p>
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="mx-auto max-w-2xl px-4 py-12 sm:px-6 sm:py-16" data-testid="privacy-request-page">
      <h1 className="text-3xl font-semibold tracking-tight text-zinc-900 sm:text-4xl dark:text-white">{t('privacyRequests.form.title')}</h1>
      <p className="mt-3 text-base leading-relaxed text-zinc-600 dark:text-zinc-400">
        {meta.data ? t('privacyRequests.form.lead', { count: meta.data.privacyRequestDueDays }) : t('privacyRequests.form.leadNoDays')}
      </p>
      {supportEmail && (
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400" data-testid="privacy-request-support">
          {t('privacyRequests.form.writeInstead')}{' '}
          <a href={`mailto:${supportEmail}`} className="font-medium text-brand-700 hover:underline dark:text-brand-300">
            {supportEmail}
          </a>
        </p>
      )}
      {me && (
        <Alert tone="info" className="mt-6">
          {t('privacyRequests.form.signedIn', { email: me.email })}{' '}
          {(kind === 'access' || kind === 'export' || kind === 'deletion' || kind === 'correction') && (
            <>
              {t('privacyRequests.form.selfService')}{' '}
              <Link to="/account" className="font-medium underline">
                {t('privacyRequests.form.accountLink')}
              </Link>
            </>
          )}
        </Alert>
      )}
      <Card padding="md" className="mt-8">
        <form onSubmit={onSubmit} noValidate className="space-y-5">
          <Select
            label={t('privacyRequests.form.kind')}
            required
            value={kind}
            onChange={(e) => isKind(e.target.value) && setKind(e.target.value)}
            data-testid="privacy-request-kind"
          >
            {privacyRequestKinds.map((k) => (
              <option key={k} value={k}>
                {t(`privacyRequests.form.kinds.${k}`)}
              </option>
            ))}
          </Select>
          {child && (
            <>
              <Alert tone="warning">{t('privacyRequests.form.childNote')}</Alert>
              <EmailInput
                ref={subjectEmailRef}
                name="subjectEmail"
                label={t('privacyRequests.form.subjectEmail')}
                hint={t('privacyRequests.form.subjectEmailHint')}
                required
                maxLength={320}
                value={subjectEmail}
                onChange={(e) => setSubjectEmail(e.target.value)}
                error={errors.subjectEmail}
              />
            </>
          )}
          <TextArea
            ref={messageRef}
            label={t('privacyRequests.form.message')}
            hint={child ? t('privacyRequests.form.messageChildHint') : t('privacyRequests.form.messageHint')}
            required
            rows={5}
            maxLength={PRIVACY_MESSAGE_MAX}
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            error={errors.message}
          />
          <div className="grid gap-5 sm:grid-cols-2">
            <EmailInput
              ref={emailRef}
              label={t('privacyRequests.form.email')}
              hint={t('privacyRequests.form.emailHint')}
              required
              maxLength={320}
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              error={errors.email}
            />
            <Input
              label={t('privacyRequests.form.name')}
              hint={t('privacyRequests.form.nameHint')}
              autoComplete="name"
              maxLength={200}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </div>
          {send.isError && (
            <Alert tone="error" data-testid="privacy-request-error">
              {errorText(send.error, t, i18n.language)}
            </Alert>
          )}
          <div className="flex flex-col-reverse items-stretch gap-3 sm:flex-row sm:items-center sm:justify-between">
            <Link to="/legal/privacy" className="text-sm font-medium text-brand-700 hover:underline dark:text-brand-300">
              {t('privacyRequests.form.policyLink')}
            </Link>
            <Button type="submit" loading={send.isPending} loadingText={t('privacyRequests.form.submitting')} data-testid="privacy-request-send">
              {t('privacyRequests.form.submit')}
            </Button>
          </div>
        </form>
      </Card>
    </div>
  );
}
