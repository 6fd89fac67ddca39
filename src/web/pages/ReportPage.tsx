import { useMutation } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { CheckCircleIcon } from '../components/icons';
import { Alert, Button, Card, Checkbox, EmailInput, EmptyState, Input, Select, TextArea } from '../components/ui';
import { useMe } from '../lib/auth';
import { errorText } from '../lib/errors';
import { DETAILS_MAX, reportPublic, reportReasons, type ReportReason } from '../lib/moderation';
import { usePageTitle } from '../lib/usePageTitle';

type Errors = Partial<Record<'url' | 'email' | 'name' | 'dmca', string>>;

/** /report: the public content and copyright (DMCA) report form, linked from the legal pages. No account needed. */
export function ReportPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('report.title'));
  const search = useSearch({ from: '/report' });
  const me = useMe().data;
  const [url, setUrl] = useState(search.url ?? '');
  const [email, setEmail] = useState(me?.email ?? '');
  const [name, setName] = useState(me?.name ?? '');
  const [reason, setReason] = useState<ReportReason>(search.reason === 'copyright' ? 'copyright' : 'other');
  const [details, setDetails] = useState('');
  const [dmca, setDmca] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const urlRef = useRef<HTMLInputElement>(null);
  const emailRef = useRef<HTMLInputElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const copyright = reason === 'copyright';

  const send = useMutation({
    mutationFn: () =>
      reportPublic({ url: url.trim(), email: email.trim(), name: name.trim(), reason, details: details.trim(), dmcaStatement: copyright && dmca }),
  });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const found: Errors = {};
    if (!url.trim()) found.url = t('report.urlRequired');
    if (!email.trim()) found.email = t('report.emailRequired');
    if (copyright && !name.trim()) found.name = t('report.nameRequired');
    if (copyright && !dmca) found.dmca = t('report.dmcaRequired');
    setErrors(found);
    if (found.url) return urlRef.current?.focus();
    if (found.email) return emailRef.current?.focus();
    if (found.name) return nameRef.current?.focus();
    if (found.dmca) return;
    send.mutate();
  };

  if (send.isSuccess) {
    return (
      <div className="mx-auto max-w-2xl px-4 py-12 sm:px-6" data-testid="report-page">
        <EmptyState
          icon={<CheckCircleIcon className="size-7" />}
          title={t('report.doneTitle')}
          description={t('report.doneBody', { reference: send.data.reference })}
          headingLevel={1}
          action={
            <Button
              variant="secondary"
              onClick={() => {
                send.reset();
                setUrl('');
                setDetails('');
                setDmca(false);
              }}
            >
              {t('report.another')}
            </Button>
          }
        >
          <p className="sr-only" role="status" data-testid="report-received">
            {t('report.doneTitle')}
          </p>
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="mx-auto max-w-2xl px-4 py-12 sm:px-6 sm:py-16" data-testid="report-page">
      <h1 className="text-3xl font-semibold tracking-tight text-zinc-900 sm:text-4xl dark:text-white">{t('report.title')}</h1>
      <p className="mt-3 text-base leading-relaxed text-zinc-600 dark:text-zinc-400">{t('report.lead')}</p>
      <Card padding="md" className="mt-8">
        <form onSubmit={onSubmit} noValidate className="space-y-5">
          <Input
            ref={urlRef}
            label={t('report.url')}
            hint={t('report.urlHint')}
            type="url"
            inputMode="url"
            required
            maxLength={2000}
            spellCheck={false}
            autoCapitalize="off"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            error={errors.url}
          />
          <Select label={t('report.reason')} required value={reason} onChange={(e) => setReason(e.target.value as ReportReason)}>
            {reportReasons.map((r) => (
              <option key={r} value={r}>
                {t(`moderation.reasons.${r}`)}
              </option>
            ))}
          </Select>
          <TextArea
            label={t('report.details')}
            hint={copyright ? t('report.detailsCopyright') : t('report.detailsHint')}
            rows={4}
            maxLength={DETAILS_MAX}
            value={details}
            onChange={(e) => setDetails(e.target.value)}
          />
          <div className="grid gap-5 sm:grid-cols-2">
            <EmailInput
              ref={emailRef}
              label={t('report.email')}
              hint={t('report.emailHint')}
              required
              maxLength={320}
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              error={errors.email}
            />
            <Input
              ref={nameRef}
              label={t('report.name')}
              hint={t('report.nameHint')}
              required={copyright}
              autoComplete="name"
              maxLength={200}
              value={name}
              onChange={(e) => setName(e.target.value)}
              error={errors.name}
            />
          </div>
          {copyright && (
            <Checkbox label={t('report.dmca')} checked={dmca} onChange={(e) => setDmca(e.target.checked)} error={errors.dmca} data-testid="report-dmca" />
          )}
          {send.isError && (
            <Alert tone="error" data-testid="report-error">
              {errorText(send.error, t, i18n.language)}
            </Alert>
          )}
          <div className="flex flex-col-reverse items-stretch gap-3 sm:flex-row sm:items-center sm:justify-between">
            <Link to="/legal/acceptable-use" className="text-sm font-medium text-brand-700 hover:underline dark:text-brand-300">
              {t('footer.acceptableUse')}
            </Link>
            <Button type="submit" loading={send.isPending} loadingText={t('report.submitting')} data-testid="report-send">
              {t('report.submit')}
            </Button>
          </div>
        </form>
      </Card>
    </div>
  );
}
