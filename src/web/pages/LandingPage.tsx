import { Link } from '@tanstack/react-router';
import type { ParseKeys } from 'i18next';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { publicModels, type PublicModelId } from '../../shared/catalog/public-models';
import {
  ArrowRightIcon,
  AtSignIcon,
  CheckIcon,
  ChevronDownIcon,
  CodeIcon,
  CoinsIcon,
  CreditCardIcon,
  CryptoIcon,
  FilmIcon,
  ImageIcon,
  LibraryIcon,
  MusicIcon,
  PlayIcon,
  ServerIcon,
  SparklesIcon,
} from '../components/icons';
import { buttonClasses, Card } from '../components/ui';
import { cn } from '../lib/cn';
import { usePageTitle } from '../lib/usePageTitle';

/** Per-model artwork for the model cards (presentation only). */
const modelArt: Record<PublicModelId, string> = {
  'veo-3.1': 'from-sky-400 via-blue-500 to-indigo-600',
  'kling-3.0': 'from-emerald-400 via-teal-500 to-cyan-600',
  'seedance-2.0': 'from-amber-400 via-orange-500 to-rose-500',
  'sora-2': 'from-violet-500 via-purple-500 to-fuchsia-500',
};

const features = [
  { key: 'references', icon: ImageIcon },
  { key: 'mentions', icon: AtSignIcon },
  { key: 'creations', icon: LibraryIcon },
  { key: 'api', icon: CodeIcon },
  { key: 'credits', icon: CoinsIcon },
  { key: 'selfHost', icon: ServerIcon },
] as const;

const pricingPoints = ['packs', 'success', 'oneBalance', 'payment'] as const;
const faqItems = ['whatIs', 'whichModel', 'failed', 'ownership', 'api'] as const;

export function LandingPage() {
  const { t } = useTranslation();
  usePageTitle(t('landing.title'));
  return (
    <>
      <Hero />
      <ModelsSection />
      <FeaturesSection />
      <PricingSection />
      <FaqSection />
      <CallToAction />
    </>
  );
}

function Section({ id, title, lead, children, className }: { id: string; title: string; lead?: string; children: ReactNode; className?: string }) {
  return (
    <section id={id} aria-labelledby={`${id}-title`} className={cn('scroll-mt-20 py-20 sm:py-24', className)}>
      <div className="mx-auto max-w-6xl px-4 sm:px-6">
        <div className="mx-auto max-w-2xl text-center">
          <h2 id={`${id}-title`} className="text-3xl font-semibold tracking-tight text-balance text-zinc-900 sm:text-4xl dark:text-white">
            {title}
          </h2>
          {lead && <p className="mt-4 text-lg text-pretty text-zinc-600 dark:text-zinc-400">{lead}</p>}
        </div>
        <div className="mt-12">{children}</div>
      </div>
    </section>
  );
}

function Hero() {
  const { t } = useTranslation();
  return (
    <section className="relative overflow-hidden" aria-labelledby="hero-title">
      {/* soft background glow */}
      <div aria-hidden="true" className="pointer-events-none absolute inset-0 -z-10">
        <div className="absolute -top-40 left-1/2 h-[36rem] w-[64rem] -translate-x-1/2 rounded-full bg-gradient-to-tr from-brand-200 via-fuchsia-100 to-sky-100 opacity-70 blur-3xl dark:from-brand-900/60 dark:via-fuchsia-950/40 dark:to-sky-950/40 dark:opacity-60" />
        <div className="absolute inset-0 bg-[linear-gradient(to_right,rgb(0_0_0/0.04)_1px,transparent_1px),linear-gradient(to_bottom,rgb(0_0_0/0.04)_1px,transparent_1px)] [mask-image:radial-gradient(ellipse_at_top,black,transparent_70%)] bg-[size:48px_48px] dark:bg-[linear-gradient(to_right,rgb(255_255_255/0.05)_1px,transparent_1px),linear-gradient(to_bottom,rgb(255_255_255/0.05)_1px,transparent_1px)]" />
      </div>

      <div className="mx-auto grid max-w-6xl items-center gap-14 px-4 pt-16 pb-20 sm:px-6 sm:pt-24 lg:grid-cols-[1.05fr_1fr] lg:gap-12 lg:pb-28">
        <div className="text-center lg:text-start">
          <p className="inline-flex items-center gap-2 rounded-full border border-brand-200 bg-white/70 px-3 py-1 text-xs font-medium text-brand-800 shadow-sm backdrop-blur dark:border-brand-800/70 dark:bg-zinc-900/70 dark:text-brand-200">
            <SparklesIcon className="size-3.5" />
            {t('landing.hero.eyebrow')}
          </p>
          <h1 id="hero-title" className="mt-6 text-4xl font-semibold tracking-tight text-balance text-zinc-900 sm:text-5xl lg:text-6xl dark:text-white">
            {t('landing.hero.title')}
          </h1>
          <p className="mx-auto mt-6 max-w-xl text-lg leading-relaxed text-pretty text-zinc-600 lg:mx-0 dark:text-zinc-400">{t('landing.hero.lead')}</p>
          <div className="mt-8 flex flex-col items-stretch justify-center gap-3 sm:flex-row sm:items-center lg:justify-start">
            <Link to="/sign-up" className={buttonClasses({ size: 'lg' })}>
              {t('landing.hero.primaryCta')}
              <ArrowRightIcon className="size-4" />
            </Link>
            <a href="/docs" className={buttonClasses({ variant: 'secondary', size: 'lg' })}>
              <CodeIcon className="size-4" />
              {t('landing.hero.secondaryCta')}
            </a>
          </div>
          <p className="mt-5 flex items-center justify-center gap-2 text-sm text-zinc-500 lg:justify-start dark:text-zinc-400">
            <CheckIcon className="size-4 text-emerald-600 dark:text-emerald-400" />
            {t('landing.hero.note')}
          </p>
        </div>

        <ComposerPreview />
      </div>
    </section>
  );
}

/** An illustration of the composer: not interactive, described to assistive technology by its label. */
function ComposerPreview() {
  const { t } = useTranslation();
  const refs = [
    { key: 'image1', label: '@image1', icon: ImageIcon, art: 'from-rose-300 to-orange-300 dark:from-rose-500/60 dark:to-orange-500/60' },
    { key: 'first', label: t('landing.composer.firstFrame'), icon: FilmIcon, art: 'from-sky-300 to-indigo-300 dark:from-sky-500/60 dark:to-indigo-500/60' },
    { key: 'last', label: t('landing.composer.lastFrame'), icon: FilmIcon, art: 'from-emerald-300 to-teal-300 dark:from-emerald-500/60 dark:to-teal-500/60' },
    { key: 'audio', label: t('landing.composer.audio'), icon: MusicIcon, art: 'from-violet-300 to-fuchsia-300 dark:from-violet-500/60 dark:to-fuchsia-500/60' },
  ];
  return (
    <div role="img" aria-label={t('landing.composer.label')} className="relative mx-auto w-full max-w-lg lg:max-w-none">
      <div
        aria-hidden="true"
        className="absolute -inset-4 -z-10 rounded-[2rem] bg-gradient-to-br from-brand-400/30 to-fuchsia-400/30 blur-2xl dark:from-brand-500/20 dark:to-fuchsia-500/20"
      />
      <div className="overflow-hidden rounded-2xl border border-zinc-200 bg-white/90 shadow-2xl shadow-brand-900/10 backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/90 dark:shadow-black/40">
        {/* preview frame */}
        <div className="relative aspect-video bg-gradient-to-br from-indigo-950 via-brand-900 to-fuchsia-900">
          <div className="absolute inset-0 bg-[radial-gradient(circle_at_30%_40%,rgb(244_114_182/0.45),transparent_45%),radial-gradient(circle_at_75%_65%,rgb(56_189_248/0.4),transparent_40%)]" />
          <div className="absolute inset-x-0 bottom-0 h-1/2 bg-gradient-to-t from-black/60 to-transparent" />
          <div className="absolute inset-0 flex items-center justify-center">
            <span className="flex size-14 items-center justify-center rounded-full bg-white/20 text-white ring-1 ring-white/40 backdrop-blur">
              <PlayIcon className="size-6 translate-x-0.5" />
            </span>
          </div>
          <div className="absolute inset-x-4 bottom-3 flex items-center gap-3 text-xs font-medium text-white/90">
            <span>{t('landing.composer.status')}</span>
            <span className="h-1 flex-1 overflow-hidden rounded-full bg-white/25">
              <span className="block h-full w-[72%] rounded-full bg-white" />
            </span>
          </div>
        </div>

        <div className="space-y-4 p-4 sm:p-5">
          {/* model chips */}
          <div className="flex flex-wrap items-center gap-1.5">
            <span className="me-1 text-xs font-medium text-zinc-500 dark:text-zinc-400">{t('landing.composer.model')}</span>
            {publicModels.map((m, i) => (
              <span
                key={m.id}
                className={cn(
                  'rounded-full px-2.5 py-1 text-xs font-medium',
                  i === 0 ? 'bg-brand-600 text-white dark:bg-brand-500' : 'bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300',
                )}
              >
                {m.name}
              </span>
            ))}
          </div>

          {/* prompt */}
          <p className="rounded-xl border border-zinc-200 bg-zinc-50 p-3 text-sm leading-relaxed text-zinc-700 dark:border-zinc-800 dark:bg-zinc-950/60 dark:text-zinc-300">
            {t('landing.composer.prompt')}{' '}
            <span className="rounded-md bg-brand-100 px-1.5 py-0.5 font-medium text-brand-800 dark:bg-brand-500/20 dark:text-brand-200">
              {t('landing.composer.mention')}
            </span>{' '}
            {t('landing.composer.promptAfter')}
          </p>

          {/* references */}
          <div>
            <p className="mb-2 text-xs font-medium text-zinc-500 dark:text-zinc-400">{t('landing.composer.references')}</p>
            <div className="grid grid-cols-4 gap-2">
              {refs.map(({ key, label, icon: Icon, art }) => (
                <div key={key} className="min-w-0">
                  <div className={cn('flex aspect-[4/3] items-center justify-center rounded-lg bg-gradient-to-br text-white', art)}>
                    <Icon className="size-5 drop-shadow" />
                  </div>
                  <p className="mt-1 truncate text-[11px] text-zinc-500 dark:text-zinc-400">{label}</p>
                </div>
              ))}
            </div>
          </div>

          <div className="flex items-center justify-between gap-3 border-t border-zinc-200 pt-4 dark:border-zinc-800">
            <span className="text-xs text-zinc-500 dark:text-zinc-400">{t('landing.composer.duration')}</span>
            <span className={buttonClasses({ size: 'sm', className: 'pointer-events-none' })}>
              <SparklesIcon className="size-4" />
              {t('landing.composer.generate')}
            </span>
          </div>
        </div>
      </div>
    </div>
  );
}

function ModelsSection() {
  const { t } = useTranslation();
  return (
    <Section id="models" title={t('landing.models.title')} lead={t('landing.models.lead')} className="bg-zinc-50 dark:bg-zinc-900/30">
      <ul className="grid gap-5 sm:grid-cols-2 lg:grid-cols-4" data-testid="model-list">
        {publicModels.map((model) => (
          <li key={model.id} data-model-id={model.id}>
            <Card padding="none" interactive className="h-full overflow-hidden">
              <div className={cn('relative flex h-28 items-end bg-gradient-to-br p-4', modelArt[model.id])}>
                <div aria-hidden="true" className="absolute inset-0 bg-[radial-gradient(circle_at_80%_20%,rgb(255_255_255/0.35),transparent_50%)]" />
                <span className="relative rounded-full bg-black/25 px-2.5 py-1 text-xs font-medium text-white backdrop-blur">
                  {t('landing.models.by', { vendor: model.vendor })}
                </span>
              </div>
              <div className="p-5">
                <h3 className="text-lg font-semibold text-zinc-900 dark:text-white">
                  <span className="sr-only">{model.vendor} </span>
                  {model.name}
                </h3>
                <p className="mt-2 text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{t(model.summaryKey as ParseKeys)}</p>
              </div>
            </Card>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function FeaturesSection() {
  const { t } = useTranslation();
  return (
    <Section id="features" title={t('landing.features.title')} lead={t('landing.features.lead')}>
      <ul className="grid gap-5 sm:grid-cols-2 lg:grid-cols-3">
        {features.map(({ key, icon: Icon }) => (
          <li key={key}>
            <Card className="h-full">
              <span className="flex size-11 items-center justify-center rounded-xl bg-brand-50 text-brand-600 ring-1 ring-brand-100 dark:bg-brand-950/60 dark:text-brand-300 dark:ring-brand-900">
                <Icon className="size-5" />
              </span>
              <h3 className="mt-4 text-base font-semibold text-zinc-900 dark:text-white">{t(`landing.features.items.${key}.title`)}</h3>
              <p className="mt-2 text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{t(`landing.features.items.${key}.body`)}</p>
            </Card>
          </li>
        ))}
      </ul>
    </Section>
  );
}

function PricingSection() {
  const { t } = useTranslation();
  return (
    <Section id="pricing" title={t('landing.pricing.title')} lead={t('landing.pricing.lead')} className="bg-zinc-50 dark:bg-zinc-900/30">
      <Card padding="none" className="mx-auto grid max-w-4xl overflow-hidden md:grid-cols-[1.3fr_1fr]">
        <div className="p-6 sm:p-8">
          <ul className="space-y-4">
            {pricingPoints.map((point) => (
              <li key={point} className="flex gap-3 text-sm text-zinc-700 sm:text-base dark:text-zinc-300">
                <CheckIcon className="mt-0.5 size-5 shrink-0 text-brand-600 dark:text-brand-400" />
                {t(`landing.pricing.points.${point}`)}
              </li>
            ))}
          </ul>
        </div>
        <div className="flex flex-col justify-between gap-6 border-t border-zinc-200 bg-gradient-to-br from-brand-50 to-fuchsia-50 p-6 sm:p-8 md:border-t-0 md:border-s dark:border-zinc-800 dark:from-brand-950/50 dark:to-fuchsia-950/30">
          <div>
            <h3 className="text-lg font-semibold text-zinc-900 dark:text-white">{t('landing.pricing.cardTitle')}</h3>
            <p className="mt-2 text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{t('landing.pricing.cardBody')}</p>
          </div>
          <div>
            <p className="text-xs font-medium tracking-wide text-zinc-500 uppercase dark:text-zinc-400">{t('landing.pricing.payWith')}</p>
            <div className="mt-2 flex gap-2">
              <span className="inline-flex items-center gap-1.5 rounded-lg border border-zinc-200 bg-white px-3 py-1.5 text-sm font-medium text-zinc-700 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-200">
                <CreditCardIcon className="size-4" />
                {t('landing.pricing.card')}
              </span>
              <span className="inline-flex items-center gap-1.5 rounded-lg border border-zinc-200 bg-white px-3 py-1.5 text-sm font-medium text-zinc-700 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-200">
                <CryptoIcon className="size-4" />
                {t('landing.pricing.crypto')}
              </span>
            </div>
          </div>
          <div className="flex flex-col gap-2">
            <Link to="/sign-up" className={buttonClasses({ className: 'w-full' })}>
              {t('landing.pricing.cta')}
              <ArrowRightIcon className="size-4" />
            </Link>
            <Link to="/pricing" className={buttonClasses({ variant: 'secondary', className: 'w-full' })} data-testid="see-all-plans">
              {t('landing.pricing.seeAll')}
            </Link>
          </div>
        </div>
      </Card>
    </Section>
  );
}

function FaqSection() {
  const { t } = useTranslation();
  return (
    <Section id="faq" title={t('landing.faq.title')}>
      <div className="mx-auto max-w-3xl divide-y divide-zinc-200 rounded-2xl border border-zinc-200 bg-white dark:divide-zinc-800 dark:border-zinc-800 dark:bg-zinc-900/60">
        {faqItems.map((key) => (
          <details key={key} className="group px-5 sm:px-6">
            <summary className="flex cursor-pointer list-none items-center justify-between gap-4 py-5 text-start font-medium text-zinc-900 dark:text-white">
              {t(`landing.faq.items.${key}.q`)}
              <ChevronDownIcon className="size-5 shrink-0 text-zinc-400 transition-transform group-open:rotate-180" />
            </summary>
            <p className="-mt-1 pb-5 text-sm leading-relaxed text-zinc-600 dark:text-zinc-400">{t(`landing.faq.items.${key}.a`)}</p>
          </details>
        ))}
      </div>
    </Section>
  );
}

function CallToAction() {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="cta-title" className="px-4 pb-20 sm:px-6 sm:pb-24">
      <div className="relative mx-auto max-w-6xl overflow-hidden rounded-3xl bg-gradient-to-br from-brand-700 via-brand-600 to-fuchsia-600 px-6 py-14 text-center shadow-xl sm:px-12 sm:py-16">
        <div aria-hidden="true" className="absolute inset-0 bg-[radial-gradient(circle_at_20%_0%,rgb(255_255_255/0.25),transparent_45%)]" />
        <h2 id="cta-title" className="relative text-3xl font-semibold tracking-tight text-balance text-white sm:text-4xl">
          {t('landing.cta.title')}
        </h2>
        <p className="relative mx-auto mt-4 max-w-xl text-lg text-brand-100">{t('landing.cta.body')}</p>
        <div className="relative mt-8 flex flex-col justify-center gap-3 sm:flex-row">
          <Link to="/sign-up" className={buttonClasses({ variant: 'secondary', size: 'lg', className: 'border-transparent' })}>
            {t('landing.cta.primary')}
            <ArrowRightIcon className="size-4" />
          </Link>
          <a
            href="/docs"
            className="inline-flex h-12 items-center justify-center rounded-lg px-6 text-base font-medium text-white ring-1 ring-white/50 transition-colors ring-inset hover:bg-white/10 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-white"
          >
            {t('landing.cta.secondary')}
          </a>
        </div>
      </div>
    </section>
  );
}
