import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CoinsIcon } from '../../components/icons';
import { Alert, Button, Card, Spinner } from '../../components/ui';
import { useMe } from '../../lib/auth';
import { useCredits } from '../../lib/credits';
import { useGenerationEvents, type GenerationView } from '../../lib/generations';
import { useModels } from '../../lib/models';
import { usePageTitle } from '../../lib/usePageTitle';
import { Composer } from './Composer';
import { GenerationList } from './GenerationList';
import { shortPrompt, studioErrorText } from './shared';
import { PageHeader } from '../../components/layout/PageHeader';

/** /studio: write a prompt, pick a model and its options, see the price, generate, and watch the videos arrive. */
export function StudioPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('studio.title'));
  const me = useMe();
  const models = useModels();
  const credits = useCredits();

  // status changes are announced politely in one place, not by every card (progress would be noisy)
  const [announcement, setAnnouncement] = useState('');
  const announce = useCallback(
    (g: GenerationView) => setAnnouncement(t('studio.list.announce', { prompt: shortPrompt(g.prompt, 40), status: t(`generation.status.${g.status}`) })),
    [t],
  );
  const live = useGenerationEvents((next, previous) => {
    if (previous && previous.status !== next.status) announce(next);
  });

  if (!me.data) {
    // the route waits for the user before rendering; this is only seen while signing out
    return (
      <div className="flex justify-center py-24" role="status">
        <Spinner className="size-6 text-brand-600" />
        <span className="sr-only">{t('ui.loading')}</span>
      </div>
    );
  }
  const user = me.data;

  return (
    <div className="mx-auto max-w-6xl px-4 py-10 sm:px-6 sm:py-12" data-testid="studio-page">
      <PageHeader title={t('studio.title')} lead={t('studio.lead')} className="mb-8">
        <Balance balance={credits.data?.balance} held={credits.data?.held} failed={credits.isError} />
      </PageHeader>

      <div className="grid gap-8 lg:grid-cols-2 lg:items-start">
        <section aria-labelledby="studio-composer-title">
          <Card padding="none">
            <h2
              id="studio-composer-title"
              className="border-b border-zinc-200 px-5 py-4 text-base font-semibold text-zinc-900 sm:px-6 dark:border-zinc-800 dark:text-white"
            >
              {t('studio.composer.title')}
            </h2>
            <div className="px-5 py-5 sm:px-6">
              {models.isPending ? (
                <p className="flex items-center gap-2 text-sm text-zinc-500 dark:text-zinc-400" role="status">
                  <Spinner className="size-4" />
                  {t('ui.loading')}
                </p>
              ) : models.isError ? (
                <Alert
                  tone="error"
                  title={t('studio.composer.modelsError')}
                  action={
                    <Button size="sm" variant="secondary" onClick={() => void models.refetch()}>
                      {t('studio.composer.retry')}
                    </Button>
                  }
                >
                  {studioErrorText(models.error, t, i18n.language)}
                </Alert>
              ) : (
                <Composer me={user} models={models.data} balance={credits.data?.balance} />
              )}
            </div>
          </Card>
        </section>

        <section aria-labelledby="studio-videos-title" className="min-w-0">
          <h2 id="studio-videos-title" className="mb-4 text-base font-semibold text-zinc-900 dark:text-white">
            {t('studio.list.title')}
          </h2>
          <GenerationList models={models.data ?? []} live={live} />
        </section>
      </div>

      <div aria-live="polite" aria-atomic="true" className="sr-only" data-testid="studio-announcer">
        {announcement}
      </div>
    </div>
  );
}

/** The spendable balance, and what is held for generations in progress. */
function Balance({ balance, held, failed }: { balance: number | undefined; held: number | undefined; failed: boolean }) {
  const { t } = useTranslation();
  return (
    <div
      className="inline-flex items-center gap-2 self-start rounded-full border border-zinc-200 bg-white px-3.5 py-1.5 text-sm shadow-sm sm:self-auto dark:border-zinc-800 dark:bg-zinc-900"
      data-testid="balance"
      data-balance={balance}
      data-held={held}
    >
      <CoinsIcon className="size-4 text-brand-600 dark:text-brand-300" />
      <span className="text-zinc-600 dark:text-zinc-400">{t('studio.balance.label')}</span>
      {balance === undefined ? (
        failed ? (
          <span className="text-zinc-500">{t('studio.balance.unavailable')}</span>
        ) : (
          <Spinner className="size-3.5 text-zinc-400" />
        )
      ) : (
        <span className="font-semibold text-zinc-900 tabular-nums dark:text-white" data-testid="balance-amount">
          {t('studio.balance.credits', { count: balance })}
        </span>
      )}
      {!!held && held > 0 && (
        <span className="text-zinc-500 tabular-nums dark:text-zinc-400" title={t('studio.balance.heldHint')} data-testid="balance-held">
          · {t('studio.balance.held', { count: held })}
        </span>
      )}
      {balance === 0 && !held && (
        // the welcome credits come once per person, with a verified address (issue 19): said where it matters
        <span className="text-zinc-500 dark:text-zinc-400" data-testid="balance-free-hint">
          · {t('studio.balance.freeOnce')}
        </span>
      )}
    </div>
  );
}
