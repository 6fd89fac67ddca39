import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { SessionInfo } from '../../../shared/api/account';
import { MonitorIcon, PhoneIcon, ShieldIcon, TabletIcon } from '../../components/icons';
import { Alert, Badge, Button, Spinner, useToast } from '../../components/ui';
import { apiFetch } from '../../lib/api';
import { errorText } from '../../lib/errors';
import { dateTime, relativeTime } from '../../lib/format';
import { regionName } from '../../lib/regions';
import { Section } from './shared';

const sessionsKey = ['sessions'] as const;

function DeviceIcon({ type, className }: { type: string | null; className?: string }) {
  const kind = (type ?? '').toLowerCase();
  if (kind === 'mobile' || kind === 'phone') return <PhoneIcon className={className} />;
  if (kind === 'tablet') return <TabletIcon className={className} />;
  return <MonitorIcon className={className} />;
}

export function SessionsSection() {
  const { t, i18n } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();
  const sessions = useQuery({
    queryKey: sessionsKey,
    queryFn: ({ signal }) => apiFetch<{ sessions: SessionInfo[] }>('/api/me/sessions', { signal }),
    select: (d) => [...d.sessions].sort((a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt.localeCompare(a.lastSeenAt)),
  });

  const revoke = useMutation({
    mutationFn: (id: string) => apiFetch<unknown>(`/api/me/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' }),
    onSuccess: () => toast({ title: t('account.sessions.revoked'), tone: 'success' }),
    onError: (err) => toast({ title: errorText(err, t, i18n.language), tone: 'error' }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: sessionsKey }),
  });
  const revokeOthers = useMutation({
    mutationFn: () => apiFetch<unknown>('/api/me/sessions/revoke-others', { method: 'POST', body: {} }),
    onSuccess: () => toast({ title: t('account.sessions.revokedOthers'), tone: 'success' }),
    onError: (err) => toast({ title: errorText(err, t, i18n.language), tone: 'error' }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: sessionsKey }),
  });

  const others = sessions.data?.filter((s) => !s.current).length ?? 0;

  return (
    <Section id="sessions" icon={<ShieldIcon className="size-5" />} title={t('account.sessions.title')} description={t('account.sessions.lead')}>
      {sessions.isPending ? (
        <p className="flex items-center gap-2 text-sm text-zinc-500" role="status">
          <Spinner className="size-4" />
          {t('ui.loading')}
        </p>
      ) : sessions.isError ? (
        <Alert tone="error">{errorText(sessions.error, t, i18n.language)}</Alert>
      ) : (
        <div className="space-y-4">
          <ul className="divide-y divide-zinc-200 dark:divide-zinc-800" data-testid="session-list">
            {sessions.data.map((s) => {
              const device = [s.browser, s.os].filter(Boolean).join(' · ') || t('account.sessions.unknownDevice');
              const where = [s.region ? regionName(s.region, i18n.language) : null, s.ip].filter(Boolean).join(' · ');
              return (
                <li key={s.id} className="flex items-center gap-4 py-3 first:pt-0 last:pb-0" data-current={s.current || undefined}>
                  <span className="flex size-10 shrink-0 items-center justify-center rounded-xl bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300">
                    <DeviceIcon type={s.deviceType} className="size-5" />
                    <span className="sr-only">{t(`account.sessions.device.${deviceKind(s.deviceType)}`)}</span>
                  </span>
                  <div className="min-w-0 flex-1">
                    <p className="flex flex-wrap items-center gap-2 text-sm font-medium text-zinc-900 dark:text-white">
                      <span className="truncate">{device}</span>
                      {s.current && <Badge tone="brand">{t('account.sessions.thisDevice')}</Badge>}
                    </p>
                    <p className="text-xs break-words text-zinc-500 dark:text-zinc-400">
                      {where && <>{where} · </>}
                      <time dateTime={s.lastSeenAt} title={dateTime(s.lastSeenAt, i18n.language)}>
                        {t('account.sessions.lastSeen', { when: relativeTime(s.lastSeenAt, i18n.language) })}
                      </time>
                    </p>
                  </div>
                  {!s.current && (
                    <Button
                      size="sm"
                      variant="ghost"
                      onClick={() => revoke.mutate(s.id)}
                      loading={revoke.isPending && revoke.variables === s.id}
                      aria-label={t('account.sessions.revokeLabel', { device })}
                    >
                      {t('account.sessions.revoke')}
                    </Button>
                  )}
                </li>
              );
            })}
          </ul>
          {others > 0 && (
            <Button variant="secondary" onClick={() => revokeOthers.mutate()} loading={revokeOthers.isPending}>
              {t('account.sessions.revokeOthers')}
            </Button>
          )}
        </div>
      )}
    </Section>
  );
}

function deviceKind(type: string | null): 'mobile' | 'tablet' | 'desktop' {
  const kind = (type ?? '').toLowerCase();
  return kind === 'mobile' || kind === 'phone' ? 'mobile' : kind === 'tablet' ? 'tablet' : 'desktop';
}
