import { useMutation, useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useEffect, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { Me } from '../../../shared/api/account';
import { useResendVerification } from '../../components/auth/CheckInbox';
import { CheckIcon, CoinsIcon, CreditCardIcon, CryptoIcon, ShieldIcon } from '../../components/icons';
import { Alert, Badge, Button, Card, EmptyState, Spinner } from '../../components/ui';
import { ApiError } from '../../lib/api';
import { useMe } from '../../lib/auth';
import { billingErrorText, formatMoney, formatNumber, plansQuery, startCheckout, type PaymentProviderName, type PlanView } from '../../lib/billing';
import { cn } from '../../lib/cn';
import { errorText } from '../../lib/errors';
import { usePageTitle } from '../../lib/usePageTitle';

const providerIcons: Record<PaymentProviderName, typeof CreditCardIcon> = {
  stripe: CreditCardIcon,
  creem: CreditCardIcon,
  nowpayments: CryptoIcon,
};

interface Purchase {
  plan: string;
  provider: PaymentProviderName;
  currency: string;
}

/** /pricing: the credit packs and subscriptions on sale, in a chosen currency, each bought through a provider's hosted page. */
export function PricingPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t('pricing.title'));
  const navigate = useNavigate();
  const me = useMe();
  const plans = useQuery(plansQuery);

  const currencies = plans.data?.currencies ?? [];
  const [chosenCurrency, setCurrency] = useState<string | null>(null);
  const currency = chosenCurrency && currencies.includes(chosenCurrency) ? chosenCurrency : currencies[0];

  // the purchase whose provider page the browser is being sent to; the buttons stay busy until it leaves
  const [redirecting, setRedirecting] = useState<Purchase | null>(null);
  // coming back with the browser's Back button restores the page as it was left: make it usable again
  useEffect(() => {
    const onPageShow = (e: PageTransitionEvent) => e.persisted && setRedirecting(null);
    window.addEventListener('pageshow', onPageShow);
    return () => window.removeEventListener('pageshow', onPageShow);
  }, []);

  const checkout = useMutation({
    mutationFn: (p: Purchase) => startCheckout(p),
    onSuccess: ({ url }, p) => {
      setRedirecting(p);
      window.location.assign(url);
    },
    onError: (err) => {
      // the session ended since the page loaded: sign in again and come back here
      if (err instanceof ApiError && err.status === 401) void navigate({ to: '/sign-in', search: { next: '/pricing' } });
    },
  });

  const signedOut = me.data === null || me.isError;
  const buy = (p: Purchase) => {
    if (signedOut) {
      void navigate({ to: '/sign-in', search: { next: '/pricing' } });
      return;
    }
    checkout.reset();
    checkout.mutate(p);
  };
  const busy = checkout.isPending || redirecting !== null;
  const active = checkout.isPending ? checkout.variables : redirecting;
  const failed = checkout.isError && !(checkout.error instanceof ApiError && checkout.error.status === 401) ? checkout.variables : undefined;

  const packs = plans.data?.plans.filter((p) => p.kind === 'pack') ?? [];
  const subscriptions = plans.data?.plans.filter((p) => p.kind === 'subscription') ?? [];

  const card = (plan: PlanView, currency: string) => (
    <PlanCard
      key={plan.id}
      plan={plan}
      currency={currency}
      language={i18n.language}
      busy={busy}
      active={active?.plan === plan.id ? active.provider : undefined}
      redirecting={redirecting?.plan === plan.id}
      error={failed?.plan === plan.id ? billingErrorText(checkout.error, t, i18n.language) : undefined}
      onBuy={(provider) => buy({ plan: plan.id, provider, currency })}
    />
  );

  return (
    <div className="mx-auto max-w-6xl px-4 py-10 sm:px-6 sm:py-12" data-testid="pricing-page">
      <header className="mx-auto mb-8 max-w-2xl text-center">
        <h1 className="text-3xl font-semibold tracking-tight text-balance text-zinc-900 sm:text-4xl dark:text-white">{t('pricing.title')}</h1>
        <p className="mt-3 text-base text-pretty text-zinc-600 sm:text-lg dark:text-zinc-400">{t('pricing.lead')}</p>
      </header>

      {me.data && !me.data.emailVerified && <VerifyToBuy me={me.data} />}

      {plans.isPending ? (
        <p className="flex items-center justify-center gap-2 py-16 text-sm text-zinc-500 dark:text-zinc-400" role="status">
          <Spinner className="size-4" />
          {t('pricing.loading')}
        </p>
      ) : plans.isError ? (
        <Alert
          tone="error"
          title={t('pricing.error')}
          className="mx-auto max-w-2xl"
          data-testid="plans-error"
          action={
            <Button size="sm" variant="secondary" onClick={() => void plans.refetch()}>
              {t('pricing.retry')}
            </Button>
          }
        >
          {errorText(plans.error, t, i18n.language)}
        </Alert>
      ) : plans.data.plans.length === 0 || !currency ? (
        <div className="rounded-2xl border border-dashed border-zinc-300 dark:border-zinc-700">
          <EmptyState icon={<CoinsIcon className="size-7" />} title={t('pricing.noneTitle')} description={t('pricing.noneBody')} />
        </div>
      ) : (
        <>
          {currencies.length > 1 && <CurrencySwitch currencies={currencies} value={currency} onChange={setCurrency} />}

          {packs.length > 0 && (
            <PlanGroup id="packs" title={t('pricing.packs.title')} lead={t('pricing.packs.lead')}>
              {packs.map((p) => card(p, currency))}
            </PlanGroup>
          )}
          {subscriptions.length > 0 && (
            <PlanGroup id="subscriptions" title={t('pricing.subscriptions.title')} lead={t('pricing.subscriptions.lead')}>
              {subscriptions.map((p) => card(p, currency))}
            </PlanGroup>
          )}

          <p
            className="mx-auto mt-10 flex max-w-2xl items-start justify-center gap-2 text-center text-sm text-zinc-600 dark:text-zinc-400"
            data-testid="payment-note"
          >
            <ShieldIcon className="mt-0.5 size-4 shrink-0 text-emerald-600 dark:text-emerald-400" />
            <span>{t('pricing.secureNote')}</span>
          </p>
          {signedOut && (
            <p className="mt-3 text-center text-sm text-zinc-600 dark:text-zinc-400">
              {t('pricing.signInNote')}{' '}
              <Link to="/sign-in" search={{ next: '/pricing' }} className="font-medium text-brand-700 hover:underline dark:text-brand-300">
                {t('nav.signIn')}
              </Link>
            </p>
          )}
          {me.data && (
            <p className="mt-3 text-center text-sm">
              <Link to="/billing" className="font-medium text-brand-700 hover:underline dark:text-brand-300">
                {t('pricing.seeBilling')}
              </Link>
            </p>
          )}
        </>
      )}
    </div>
  );
}

/** "Verify your email before buying", with a button that sends the link again. */
function VerifyToBuy({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const resend = useResendVerification();
  return (
    <Alert
      tone="warning"
      title={t('pricing.verify.title')}
      className="mx-auto mb-8 max-w-2xl"
      data-testid="pricing-verify-notice"
      action={
        resend.isSuccess ? undefined : (
          <Button size="sm" variant="secondary" onClick={() => resend.mutate(me.email)} loading={resend.isPending}>
            {t('studio.verify.resend')}
          </Button>
        )
      }
    >
      <p>{t('pricing.verify.body', { email: me.email })}</p>
      {resend.isSuccess && <p className="mt-1 font-medium">{t('studio.verify.resent')}</p>}
      {resend.isError && <p className="mt-1 font-medium">{errorText(resend.error, t, i18n.language)}</p>}
    </Alert>
  );
}

/** The currencies prices are shown (and charged) in, as a row of radio buttons. */
function CurrencySwitch({ currencies, value, onChange }: { currencies: string[]; value: string; onChange: (c: string) => void }) {
  const { t } = useTranslation();
  return (
    <fieldset className="mb-10 flex flex-wrap items-center justify-center gap-3" data-testid="currency-switch">
      <legend className="sr-only">{t('pricing.currency')}</legend>
      <span aria-hidden="true" className="text-sm font-medium text-zinc-700 dark:text-zinc-300">
        {t('pricing.currency')}
      </span>
      <div className="inline-flex rounded-lg border border-zinc-300 bg-white p-0.5 shadow-sm dark:border-zinc-700 dark:bg-zinc-900">
        {currencies.map((c) => (
          <label
            key={c}
            className={cn(
              'cursor-pointer rounded-md px-3 py-1.5 text-sm font-semibold uppercase transition-colors has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-brand-500',
              c === value ? 'bg-brand-600 text-white dark:bg-brand-500' : 'text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800',
            )}
          >
            <input
              type="radio"
              name="currency"
              value={c}
              checked={c === value}
              onChange={() => onChange(c)}
              className="sr-only"
              data-testid={`currency-${c}`}
            />
            {c}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function PlanGroup({ id, title, lead, children }: { id: string; title: string; lead: string; children: ReactNode }) {
  return (
    <section aria-labelledby={`${id}-title`} className="mt-10 first-of-type:mt-0" data-testid={`plans-${id}`}>
      <div className="mb-5">
        <h2 id={`${id}-title`} className="scroll-mt-20 text-xl font-semibold text-zinc-900 dark:text-white">
          {title}
        </h2>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{lead}</p>
      </div>
      <ul className="grid gap-5 md:grid-cols-2 lg:grid-cols-3">{children}</ul>
    </section>
  );
}

function PlanCard({
  plan,
  currency,
  language,
  busy,
  active,
  redirecting,
  error,
  onBuy,
}: {
  plan: PlanView;
  currency: string;
  language: string;
  busy: boolean;
  /** the provider being checked out with, when this plan is being bought */
  active: PaymentProviderName | undefined;
  redirecting: boolean;
  error: string | undefined;
  onBuy: (provider: PaymentProviderName) => void;
}) {
  const { t } = useTranslation();
  const price = plan.prices[currency];
  const subscription = plan.kind === 'subscription';
  const interval = plan.interval ?? 'month';
  const credits = formatNumber(plan.credits, language);
  const titleId = `plan-${plan.id}-title`;

  const features = [
    subscription ? t(`pricing.creditsPer.${interval}`, { count: plan.credits, credits }) : t('pricing.credits', { count: plan.credits, credits }),
    ...plan.examples.map((e) => t('pricing.example', { count: e.count, number: formatNumber(e.count, language), seconds: e.seconds, model: e.modelName })),
    ...(subscription
      ? [plan.rollover ? t(`pricing.rollover.${interval}`) : t(`pricing.expire.${interval}`), t('pricing.cancelAnytime')]
      : [t('pricing.neverExpire')]),
  ];

  const buyLabel = subscription ? t('pricing.subscribe') : t('pricing.buy');
  const several = plan.providers.length > 1;
  const [firstProvider] = plan.providers;

  return (
    <li data-plan-id={plan.id} data-testid={`plan-${plan.id}`}>
      <Card
        padding="none"
        className={cn(
          'relative flex h-full flex-col p-6',
          plan.highlighted && 'border-brand-500 ring-2 ring-brand-500 dark:border-brand-400 dark:ring-brand-400',
        )}
      >
        <div className="flex items-start justify-between gap-3">
          <h3 id={titleId} className="text-lg font-semibold text-zinc-900 dark:text-white">
            {plan.name}
          </h3>
          {plan.highlighted && (
            <Badge tone="brand" className="shrink-0">
              <span data-testid="plan-highlighted">{t('pricing.popular')}</span>
            </Badge>
          )}
        </div>

        <p className="mt-4 flex items-baseline gap-1.5" data-testid="plan-price">
          {price === undefined ? (
            <span className="text-sm text-zinc-500 dark:text-zinc-400">{t('pricing.notInCurrency', { currency: currency.toUpperCase() })}</span>
          ) : (
            <>
              <span className="text-4xl font-semibold tracking-tight text-zinc-900 tabular-nums dark:text-white">
                {formatMoney(price, currency, language, { compact: true })}
              </span>
              <span className="text-sm text-zinc-500 dark:text-zinc-400">{subscription ? t(`pricing.per.${interval}`) : t('pricing.oneTime')}</span>
            </>
          )}
        </p>

        <ul className="mt-5 flex-1 space-y-2.5 text-sm text-zinc-700 dark:text-zinc-300">
          {features.map((f, i) => (
            <li key={i} className="flex gap-2.5">
              <CheckIcon className="mt-0.5 size-4 shrink-0 text-brand-600 dark:text-brand-400" />
              <span className={i === 0 ? 'font-semibold text-zinc-900 dark:text-white' : undefined}>{f}</span>
            </li>
          ))}
        </ul>

        <div className="mt-6 border-t border-zinc-200 pt-5 dark:border-zinc-800">
          {firstProvider === undefined || price === undefined ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">{t('pricing.unavailable')}</p>
          ) : several ? (
            <div role="group" aria-label={t('pricing.payWithPlan', { plan: plan.name })}>
              <p className="mb-2 text-xs font-medium tracking-wide text-zinc-500 uppercase dark:text-zinc-400">{t('pricing.payWith')}</p>
              <div className="flex flex-col gap-2">
                {plan.providers.map((provider, i) => {
                  const Icon = providerIcons[provider];
                  return (
                    <Button
                      key={provider}
                      variant={i === 0 ? (plan.highlighted ? 'primary' : 'secondary') : 'secondary'}
                      className="w-full"
                      onClick={() => onBuy(provider)}
                      disabled={busy}
                      loading={active === provider}
                      loadingText={redirecting ? t('pricing.redirecting') : t('pricing.starting')}
                      aria-label={t('pricing.buyWith', { action: buyLabel, plan: plan.name, provider: t(`pricing.providers.${provider}`) })}
                      data-testid={`buy-${plan.id}-${provider}`}
                    >
                      <Icon className="size-4" />
                      {t(`pricing.providers.${provider}`)}
                    </Button>
                  );
                })}
              </div>
            </div>
          ) : (
            <>
              <Button
                variant={plan.highlighted ? 'primary' : 'secondary'}
                className="w-full"
                onClick={() => onBuy(firstProvider)}
                disabled={busy}
                loading={active !== undefined}
                loadingText={redirecting ? t('pricing.redirecting') : t('pricing.starting')}
                aria-label={t('pricing.buyWith', { action: buyLabel, plan: plan.name, provider: t(`pricing.providers.${firstProvider}`) })}
                data-testid={`buy-${plan.id}`}
              >
                {buyLabel}
              </Button>
              <p className="mt-2 text-center text-xs text-zinc-500 dark:text-zinc-400">
                {t('pricing.paidWith', { provider: t(`pricing.providers.${firstProvider}`) })}
              </p>
            </>
          )}
          {error && (
            <Alert tone="error" className="mt-3" data-testid={`checkout-error-${plan.id}`}>
              {error}
            </Alert>
          )}
        </div>
      </Card>
    </li>
  );
}
