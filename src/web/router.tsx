import type { QueryClient } from '@tanstack/react-query';
import { createRootRouteWithContext, createRoute, createRouter, lazyRouteComponent, notFound, redirect } from '@tanstack/react-router';
import { can, isStaff, type ConsolePermission } from '../shared/api/admin';
import { parseDashboardRange, type DashboardRange } from '../shared/api/admin-dashboard';
import { useTranslation } from 'react-i18next';
import { AppLayout } from './components/layout/AppLayout';
import { Spinner } from './components/ui';
import { isModerator, meQuery, safeNext } from './lib/auth';
import { parseStudioDraft, type StudioDraft } from './lib/creations';
import { parseUsagePeriod, type UsagePeriod } from './lib/developer';
import { ForgotPasswordPage } from './pages/ForgotPasswordPage';
import { LandingPage } from './pages/LandingPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ResetPasswordPage } from './pages/ResetPasswordPage';
import { SignInPage } from './pages/SignInPage';
import { SignUpPage } from './pages/SignUpPage';
import { VerifyEmailPage } from './pages/VerifyEmailPage';

export interface RouterContext {
  queryClient: QueryClient;
}

/** A query-string value as text (the router parses `?ref=1234` as a number), or undefined. */
const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value || undefined : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;

/** The user in the cache, fetched only when there is none yet ('static': a cached answer is never stale here). */
const ensureMe = (queryClient: QueryClient) => queryClient.query({ ...meQuery, staleTime: 'static' });

/** The signed-in user for a route guard; null when signed out or when the server cannot say. */
async function currentUser(queryClient: QueryClient) {
  try {
    return await ensureMe(queryClient);
  } catch {
    return null;
  }
}

// Code-based route tree: one root layout, pages as children. The pages for visitors load with the
// app; the others (signed-in pages, developer pages, legal texts) are separate chunks fetched on the
// first visit or when a link to them is hovered (defaultPreload: 'intent').
const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: AppLayout,
  notFoundComponent: NotFoundPage,
});

const indexRoute = createRoute({ getParentRoute: () => rootRoute, path: '/', component: LandingPage });

const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-in',
  validateSearch: (s: Record<string, unknown>): { next?: string; error?: string; emailChanged?: string; reset?: string } => ({
    next: text(s.next),
    error: text(s.error),
    emailChanged: text(s.emailChanged),
    reset: text(s.reset),
  }),
  beforeLoad: async ({ context, search }) => {
    if (await currentUser(context.queryClient)) throw redirect({ href: safeNext(search.next), replace: true });
  },
  component: SignInPage,
});

const signUpRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/sign-up',
  validateSearch: (s: Record<string, unknown>): { ref?: string } => ({ ref: text(s.ref) }),
  beforeLoad: async ({ context }) => {
    if (await currentUser(context.queryClient)) throw redirect({ to: '/account', replace: true });
  },
  component: SignUpPage,
});

const forgotPasswordRoute = createRoute({ getParentRoute: () => rootRoute, path: '/forgot-password', component: ForgotPasswordPage });

const resetPasswordRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/reset-password',
  validateSearch: (s: Record<string, unknown>): { token?: string; error?: string } => ({ token: text(s.token), error: text(s.error) }),
  component: ResetPasswordPage,
});

const verifyEmailRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/verify-email',
  validateSearch: (s: Record<string, unknown>): { email?: string; error?: string } => ({ email: text(s.email), error: text(s.error) }),
  component: VerifyEmailPage,
});

const accountRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/account',
  // confirmDeletion=1: back from the Google sign-in that confirms an account deletion
  validateSearch: (s: Record<string, unknown>): { error?: string; confirmDeletion?: string } => ({
    error: text(s.error),
    confirmDeletion: text(s.confirmDeletion),
  }),
  beforeLoad: async ({ context, location, search }) => {
    const me = await ensureMe(context.queryClient);
    if (me) return;
    // a verification link that failed comes back here with ?error=, signed out: say so there
    if (search.error) throw redirect({ to: '/verify-email', search: { error: search.error }, replace: true });
    throw redirect({ to: '/sign-in', search: { next: location.pathname }, replace: true });
  },
  component: lazyRouteComponent(() => import('./pages/account/AccountPage'), 'AccountPage'),
});

/** Signed-out visitors of a page for members go to sign in first, and come back afterwards. */
async function requireSignedIn({ context, location }: { context: RouterContext; location: { pathname: string } }) {
  if (await ensureMe(context.queryClient)) return;
  throw redirect({ to: '/sign-in', search: { next: location.pathname }, replace: true });
}

const studioRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/studio',
  // a request to start from (Regenerate, Use as reference): read once by the composer
  validateSearch: (s: Record<string, unknown>): StudioDraft => parseStudioDraft(s),
  beforeLoad: requireSignedIn,
  component: lazyRouteComponent(() => import('./pages/studio/StudioPage'), 'StudioPage'),
});

const creationsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/creations',
  beforeLoad: requireSignedIn,
  component: lazyRouteComponent(() => import('./pages/creations/CreationsPage'), 'CreationsPage'),
});

const creationRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/creations/$id',
  beforeLoad: requireSignedIn,
  component: lazyRouteComponent(() => import('./pages/creations/CreationDetailPage'), 'CreationDetailPage'),
});

const accountCasesRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/account/cases',
  beforeLoad: requireSignedIn,
  component: lazyRouteComponent(() => import('./pages/account/CasesPage'), 'CasesPage'),
});

/** The trust & safety pages: moderators and admins only; anyone else is sent home (the server refuses them too). */
async function requireModerator({ context, location }: { context: RouterContext; location: { pathname: string } }) {
  const me = await ensureMe(context.queryClient);
  if (!me) throw redirect({ to: '/sign-in', search: { next: location.pathname }, replace: true });
  if (!isModerator(me)) throw redirect({ to: '/', replace: true });
}

const moderationQueueRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/moderation',
  beforeLoad: requireModerator,
  component: lazyRouteComponent(() => import('./pages/moderation/QueuePage'), 'QueuePage'),
});

const moderationCaseRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/moderation/cases/$id',
  beforeLoad: requireModerator,
  component: lazyRouteComponent(() => import('./pages/moderation/CasePage'), 'CasePage'),
});

const moderationHoldsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/moderation/holds',
  beforeLoad: requireModerator,
  component: lazyRouteComponent(() => import('./pages/moderation/HoldsPage'), 'HoldsPage'),
});

// the public content and copyright report form; `?url=` prefills the link (a "Report" link elsewhere)
const reportRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/report',
  validateSearch: (s: Record<string, unknown>): { url?: string; reason?: string } => ({ url: text(s.url), reason: text(s.reason) }),
  component: lazyRouteComponent(() => import('./pages/ReportPage'), 'ReportPage'),
});

// the public privacy request form (data rights, questions, a report about a child); `?kind=child` opens the child report
const privacyRequestRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/privacy-request',
  validateSearch: (s: Record<string, unknown>): { kind?: string } => ({ kind: text(s.kind) }),
  component: lazyRouteComponent(() => import('./pages/PrivacyRequestPage'), 'PrivacyRequestPage'),
});

/** The privacy request pages for operators: support and admins only; anyone else is sent home (the server refuses them too). */
async function requirePrivacyOperator({ context, location }: { context: RouterContext; location: { pathname: string } }) {
  const me = await ensureMe(context.queryClient);
  if (!me) throw redirect({ to: '/sign-in', search: { next: location.pathname }, replace: true });
  if (me.role !== 'support' && me.role !== 'admin') throw redirect({ to: '/', replace: true });
}

const privacyRequestsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/operator/privacy-requests',
  beforeLoad: requirePrivacyOperator,
  component: lazyRouteComponent(() => import('./pages/operator/PrivacyRequestsPage'), 'PrivacyRequestsPage'),
});

const privacyRequestDetailRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/operator/privacy-requests/$id',
  beforeLoad: requirePrivacyOperator,
  component: lazyRouteComponent(() => import('./pages/operator/PrivacyRequestDetailPage'), 'PrivacyRequestDetailPage'),
});

// where the unsubscribe link of a product-update email leads: asks before unsubscribing (no sign-in)
const unsubscribeRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/unsubscribe/$token',
  component: lazyRouteComponent(() => import('./pages/UnsubscribePage'), 'UnsubscribePage'),
});

const pricingRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/pricing',
  component: lazyRouteComponent(() => import('./pages/billing/PricingPage'), 'PricingPage'),
});

const billingRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/billing',
  // a provider sends the buyer back here with ?order=<id> (paid or pending) or ?canceled=1
  validateSearch: (s: Record<string, unknown>): { order?: string; canceled?: string } => ({ order: text(s.order), canceled: text(s.canceled) }),
  // like requireSignedIn, but the way back keeps the query string (the order to watch)
  beforeLoad: async ({ context, location }) => {
    if (await ensureMe(context.queryClient)) return;
    throw redirect({ to: '/sign-in', search: { next: location.href }, replace: true });
  },
  component: lazyRouteComponent(() => import('./pages/billing/BillingPage'), 'BillingPage'),
});

// /developers: API keys, usage and webhooks for the API, around a shared heading and sub-navigation
const developersRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/developers',
  beforeLoad: requireSignedIn,
  component: lazyRouteComponent(() => import('./pages/developer/DevelopersLayout'), 'DevelopersLayout'),
});

const developersQuickStartRoute = createRoute({
  getParentRoute: () => developersRoute,
  path: '/',
  component: lazyRouteComponent(() => import('./pages/developer/QuickStartPage'), 'QuickStartPage'),
});

const developersKeysRoute = createRoute({
  getParentRoute: () => developersRoute,
  path: '/keys',
  component: lazyRouteComponent(() => import('./pages/developer/ApiKeysPage'), 'ApiKeysPage'),
});

const developersUsageRoute = createRoute({
  getParentRoute: () => developersRoute,
  path: '/usage',
  validateSearch: (s: Record<string, unknown>): { days?: UsagePeriod } => ({ days: parseUsagePeriod(s.days) }),
  component: lazyRouteComponent(() => import('./pages/developer/UsagePage'), 'UsagePage'),
});

const developersWebhooksRoute = createRoute({
  getParentRoute: () => developersRoute,
  path: '/webhooks',
  component: lazyRouteComponent(() => import('./pages/developer/WebhooksPage'), 'WebhooksPage'),
});

const devMailboxRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/dev/mailbox',
  validateSearch: (s: Record<string, unknown>): { id?: string } => ({ id: text(s.id) }),
  component: lazyRouteComponent(() => import('./pages/DevMailboxPage'), 'DevMailboxPage'),
});

// `?version=` opens an earlier version of a legal document
const legalSearch = (s: Record<string, unknown>): { version?: string } => ({ version: text(s.version) });

const privacyRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/legal/privacy',
  validateSearch: legalSearch,
  component: lazyRouteComponent(() => import('./pages/LegalPage'), 'PrivacyPolicyPage'),
});

const termsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/legal/terms',
  validateSearch: legalSearch,
  component: lazyRouteComponent(() => import('./pages/LegalPage'), 'TermsPage'),
});

const acceptableUseRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/legal/acceptable-use',
  validateSearch: legalSearch,
  component: lazyRouteComponent(() => import('./pages/LegalPage'), 'AcceptableUsePage'),
});

/**
 * The operator console (/admin): staff only. A signed-out visitor is sent to sign in; a normal user
 * sees the not-found page, as the server answers 404 to them; each section also checks its own
 * permission (the server checks again on every call).
 */
const adminRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/admin',
  beforeLoad: async ({ context, location }) => {
    const me = await ensureMe(context.queryClient);
    if (!me) throw redirect({ to: '/sign-in', search: { next: location.href }, replace: true });
    // the first account of a fresh install (no admin yet) may open /admin/setup to claim the role
    if (!isStaff(me.role) && !(me.canClaimAdmin && location.pathname === '/admin/setup')) throw notFound();
  },
  component: lazyRouteComponent(() => import('./pages/admin/AdminLayout'), 'AdminLayout'),
});

/** A console section's guard: the not-found page without its permission. */
const allow =
  (permission: ConsolePermission) =>
  async ({ context }: { context: RouterContext }) => {
    const me = await ensureMe(context.queryClient);
    if (!can(me?.role, permission)) throw notFound();
  };

const adminIndexRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: '/',
  validateSearch: (s: Record<string, unknown>): { range?: DashboardRange } => ({ range: parseDashboardRange(s.range) }),
  // the dashboard for admins; the other roles start at their first section
  beforeLoad: async ({ context }) => {
    const me = await ensureMe(context.queryClient);
    if (can(me?.role, 'dashboard.view')) return;
    if (can(me?.role, 'users.view')) throw redirect({ to: '/admin/users', replace: true });
    throw redirect({ to: '/moderation', replace: true });
  },
  component: lazyRouteComponent(() => import('./pages/admin/DashboardPage'), 'DashboardPage'),
});

const adminSection = <P extends string>(path: P, permission: ConsolePermission, load: () => Promise<Record<string, unknown>>, name: string) =>
  createRoute({
    getParentRoute: () => adminRoute,
    path,
    beforeLoad: allow(permission),
    component: lazyRouteComponent(load as () => Promise<Record<string, React.ComponentType>>, name),
  });

const adminUsersRoute = adminSection('/users', 'users.view', () => import('./pages/admin/UsersPage'), 'UsersPage');
const adminUserRoute = adminSection('/users/$id', 'users.view', () => import('./pages/admin/UserDetailPage'), 'UserDetailPage');
const adminOrdersRoute = adminSection('/orders', 'orders.view', () => import('./pages/admin/OrdersPage'), 'OrdersPage');
const adminOrderRoute = adminSection('/orders/$id', 'orders.view', () => import('./pages/admin/OrderDetailPage'), 'OrderDetailPage');
const adminGenerationsRoute = adminSection('/generations', 'generations.view', () => import('./pages/admin/GenerationsPage'), 'GenerationsPage');
const adminGenerationRoute = adminSection('/generations/$id', 'generations.view', () => import('./pages/admin/GenerationDetailPage'), 'GenerationDetailPage');
const adminCatalogRoute = adminSection('/catalog', 'catalog.view', () => import('./pages/admin/CatalogPage'), 'CatalogPage');
const adminSettingsRoute = adminSection('/settings', 'settings.view', () => import('./pages/admin/SettingsPage'), 'SettingsPage');
const adminAuditRoute = adminSection('/audit', 'audit.view', () => import('./pages/admin/AuditPage'), 'AuditPage');
const adminRiskRoute = adminSection('/risk', 'risk.view', () => import('./pages/admin/RiskPage'), 'RiskPage');
const adminSetupRoute = createRoute({
  getParentRoute: () => adminRoute,
  path: '/setup',
  // admins see the checklist; the first account of a fresh install, the screen that offers it the role
  beforeLoad: async ({ context }) => {
    const me = await ensureMe(context.queryClient);
    if (!can(me?.role, 'setup.manage') && !me?.canClaimAdmin) throw notFound();
  },
  component: lazyRouteComponent(() => import('./pages/admin/SetupPage'), 'SetupPage'),
});

export const routeTree = rootRoute.addChildren([
  indexRoute,
  signInRoute,
  signUpRoute,
  forgotPasswordRoute,
  resetPasswordRoute,
  verifyEmailRoute,
  accountRoute,
  accountCasesRoute,
  studioRoute,
  creationsRoute,
  creationRoute,
  pricingRoute,
  billingRoute,
  developersRoute.addChildren([developersQuickStartRoute, developersKeysRoute, developersUsageRoute, developersWebhooksRoute]),
  devMailboxRoute,
  privacyRoute,
  termsRoute,
  acceptableUseRoute,
  reportRoute,
  privacyRequestRoute,
  privacyRequestsRoute,
  privacyRequestDetailRoute,
  unsubscribeRoute,
  moderationQueueRoute,
  moderationCaseRoute,
  moderationHoldsRoute,
  adminRoute.addChildren([
    adminIndexRoute,
    adminUsersRoute,
    adminUserRoute,
    adminOrdersRoute,
    adminOrderRoute,
    adminGenerationsRoute,
    adminGenerationRoute,
    adminCatalogRoute,
    adminSettingsRoute,
    adminAuditRoute,
    adminRiskRoute,
    adminSetupRoute,
  ]),
]);

/** Shown when a page's code or data takes more than a moment (a slow connection). */
function PagePending() {
  const { t } = useTranslation();
  return (
    <div role="status" className="flex items-center justify-center gap-2 py-24 text-sm text-zinc-500">
      <Spinner className="size-5" />
      {t('ui.loading')}
    </div>
  );
}

export function createAppRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    context: { queryClient },
    defaultPreload: 'intent',
    defaultNotFoundComponent: NotFoundPage,
    defaultPendingComponent: PagePending,
    scrollRestoration: true,
  });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
