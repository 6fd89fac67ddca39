import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useRef, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ShieldIcon } from '../../components/icons';
import { PageHeader } from '../../components/layout/PageHeader';
import { Alert, Button, Card, Dialog, Input, Select, Spinner, TextArea, useToast } from '../../components/ui';
import { useMe } from '../../lib/auth';
import { cn } from '../../lib/cn';
import { errorText } from '../../lib/errors';
import { dateTime } from '../../lib/format';
import { holdsQuery, holdSubjects, isAdmin, isHoldActive, placeHold, REASON_MAX, releaseHold, type HoldSubject, type HoldView } from '../../lib/moderation';
import { usePageTitle } from '../../lib/usePageTitle';
import { BackLink } from '../../components/PageStates';

/** `<input type="datetime-local">` value -> ISO date-time, or undefined when empty or unreadable. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const ms = Date.parse(local);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function PlaceHoldForm() {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const [kind, setKind] = useState<HoldSubject>('user');
  const [subjectId, setSubjectId] = useState('');
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState('');
  const [errors, setErrors] = useState<{ subjectId?: string; reason?: string }>({});
  const idRef = useRef<HTMLInputElement>(null);
  const reasonRef = useRef<HTMLTextAreaElement>(null);

  const place = useMutation({
    mutationFn: () => placeHold(queryClient, { subjectKind: kind, subjectId: subjectId.trim(), reason: reason.trim(), expiresAt: isoOf(expires) }),
    onSuccess: () => {
      toast({ title: t('moderation.holds.place.done'), tone: 'success' });
      setSubjectId('');
      setReason('');
      setExpires('');
    },
  });

  const onSubmit = (e: SubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    const found: typeof errors = {};
    if (!subjectId.trim()) found.subjectId = t('moderation.holds.place.idRequired');
    if (!reason.trim()) found.reason = t('moderation.holds.place.reasonRequired');
    setErrors(found);
    if (found.subjectId) return idRef.current?.focus();
    if (found.reason) return reasonRef.current?.focus();
    place.mutate();
  };

  return (
    <Card padding="md">
      <h2 className="text-base font-semibold text-zinc-900 dark:text-white">{t('moderation.holds.place.title')}</h2>
      <form onSubmit={onSubmit} noValidate className="mt-4 space-y-4" data-testid="place-hold">
        <div className="grid gap-4 sm:grid-cols-[12rem_1fr]">
          <Select label={t('moderation.holds.place.kind')} value={kind} onChange={(e) => setKind(e.target.value as HoldSubject)}>
            {holdSubjects.map((k) => (
              <option key={k} value={k}>
                {t(`moderation.holds.kinds.${k}`)}
              </option>
            ))}
          </Select>
          <Input
            ref={idRef}
            label={t('moderation.holds.place.subjectId')}
            required
            value={subjectId}
            maxLength={100}
            spellCheck={false}
            autoCapitalize="off"
            onChange={(e) => setSubjectId(e.target.value)}
            error={errors.subjectId}
          />
        </div>
        <TextArea
          ref={reasonRef}
          label={t('moderation.holds.place.reason')}
          required
          maxLength={REASON_MAX}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          error={errors.reason}
          rows={2}
        />
        <Input
          type="datetime-local"
          label={t('moderation.holds.place.expires')}
          hint={t('moderation.holds.place.expiresHint')}
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
          className="sm:max-w-xs"
        />
        {place.isError && <Alert tone="error">{errorText(place.error, t, i18n.language)}</Alert>}
        <div className="flex justify-end">
          <Button type="submit" loading={place.isPending} loadingText={t('moderation.holds.place.submitting')}>
            {t('moderation.holds.place.submit')}
          </Button>
        </div>
      </form>
    </Card>
  );
}

function ReleaseDialog({ hold, onClose }: { hold: HoldView | null; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const { toast } = useToast();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const release = useMutation({
    mutationFn: (h: HoldView) => releaseHold(queryClient, h.id, reason.trim()),
    onSuccess: () => {
      toast({ title: t('moderation.holds.releaseDone'), tone: 'success' });
      setReason('');
      onClose();
    },
  });
  const submit = () => {
    if (!hold) return;
    if (!reason.trim()) {
      setError(t('moderation.holds.place.reasonRequired'));
      reasonRef.current?.focus();
      return;
    }
    release.mutate(hold);
  };
  return (
    <Dialog
      open={!!hold}
      onClose={onClose}
      title={t('moderation.holds.releaseTitle')}
      description={t('moderation.holds.releaseLead')}
      initialFocus={reasonRef}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            {t('moderation.holds.cancel')}
          </Button>
          <Button variant="danger" onClick={submit} loading={release.isPending} data-testid="release-submit">
            {t('moderation.holds.releaseSubmit')}
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        <TextArea
          ref={reasonRef}
          label={t('moderation.holds.releaseReason')}
          required
          maxLength={REASON_MAX}
          value={reason}
          onChange={(e) => {
            setReason(e.target.value);
            setError(undefined);
          }}
          error={error}
          rows={2}
        />
        {release.isError && <Alert tone="error">{errorText(release.error, t, i18n.language)}</Alert>}
      </div>
    </Dialog>
  );
}

/** /moderation/holds: every legal hold; moderators and admins place them, admins release them. */
export function HoldsPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('moderation.holds.title'));
  const me = useMe().data;
  const admin = isAdmin(me);
  const holds = useQuery(holdsQuery);
  const [releasing, setReleasing] = useState<HoldView | null>(null);

  return (
    <div className="mx-auto max-w-5xl px-4 py-8 sm:px-6 sm:py-10" data-testid="moderation-holds">
      <BackLink to="/moderation">{t('moderation.holds.back')}</BackLink>
      <PageHeader className="mt-4" title={t('moderation.holds.title')} lead={t('moderation.holds.lead')} />
      <div className="space-y-8">
        <PlaceHoldForm />
        <section aria-labelledby="holds-list" className="space-y-3">
          <h2 id="holds-list" className="text-base font-semibold text-zinc-900 dark:text-white">
            {t('moderation.holds.listTitle')}
          </h2>
          {!admin && <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('moderation.holds.adminOnly')}</p>}
          {holds.isPending ? (
            <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
              <Spinner className="size-4" />
              {t('moderation.holds.loading')}
            </p>
          ) : holds.isError ? (
            <Alert
              tone="error"
              title={t('moderation.holds.error')}
              action={
                <Button size="sm" variant="secondary" onClick={() => void holds.refetch()}>
                  {t('moderation.holds.retry')}
                </Button>
              }
            >
              {errorText(holds.error, t, i18n.language)}
            </Alert>
          ) : !holds.data.length ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">{t('moderation.holds.empty')}</p>
          ) : (
            <ul className="space-y-3" data-testid="holds-list">
              {holds.data.map((h) => {
                const active = isHoldActive(h);
                const state = h.releasedAt ? 'released' : active ? 'active' : 'expired';
                const kind = t(`moderation.holds.kinds.${h.subjectKind}`);
                return (
                  <li key={h.id} data-testid="hold" data-state={state}>
                    <Card padding="sm" className="flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
                      <div className="min-w-0 space-y-1 text-sm">
                        <p className="flex flex-wrap items-center gap-2">
                          <ShieldIcon className="size-4 text-brand-600 dark:text-brand-300" />
                          <span className="font-semibold text-zinc-900 dark:text-white">{kind}</span>
                          <span className="font-mono text-xs break-all text-zinc-600 dark:text-zinc-400">{h.subjectId}</span>
                          <span
                            className={cn(
                              'rounded-full px-2 py-0.5 text-xs font-semibold',
                              state === 'active'
                                ? 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300'
                                : 'bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400',
                            )}
                          >
                            {t(`moderation.holds.state.${state}`)}
                          </span>
                        </p>
                        <p className="break-words text-zinc-800 dark:text-zinc-200">{h.reason}</p>
                        <p className="text-xs text-zinc-500 dark:text-zinc-400">
                          {t('moderation.holds.placed', { date: dateTime(h.placedAt, i18n.language) })} ·{' '}
                          {h.expiresAt ? t('moderation.holds.until', { date: dateTime(h.expiresAt, i18n.language) }) : t('moderation.holds.untilReleased')}
                          {h.caseId && (
                            <>
                              {' · '}
                              <Link
                                to="/moderation/cases/$id"
                                params={{ id: h.caseId }}
                                className="font-medium text-brand-700 hover:underline dark:text-brand-300"
                              >
                                {t('moderation.holds.case')} {h.caseId.slice(0, 8)}
                              </Link>
                            </>
                          )}
                        </p>
                        {h.releasedAt && (
                          <p className="text-xs text-zinc-500 dark:text-zinc-400">
                            {t('moderation.holds.releasedOn', { date: dateTime(h.releasedAt, i18n.language), reason: h.releaseReason ?? '' })}
                          </p>
                        )}
                      </div>
                      {admin && active && (
                        <Button
                          size="sm"
                          variant="secondary"
                          onClick={() => setReleasing(h)}
                          aria-label={t('moderation.holds.releaseLabel', { kind, id: h.subjectId })}
                          className="shrink-0 self-start"
                        >
                          {t('moderation.holds.release')}
                        </Button>
                      )}
                    </Card>
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      </div>
      <ReleaseDialog hold={releasing} onClose={() => setReleasing(null)} />
    </div>
  );
}
