import { useQuery } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { useEffect, useMemo, useState, type ComponentProps, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import Markdown, { type Components } from 'react-markdown';
import type { LegalDocumentName, LegalDocumentView } from '../../shared/api/legal';
import { ChevronDownIcon, DocumentIcon } from '../components/icons';
import { PageLoadFailed, PageLoading } from '../components/PageStates';
import { Alert, Badge } from '../components/ui';
import { cn } from '../lib/cn';
import { headingAnchors, legalDate, legalDocumentQuery, tableOfContents, type TocEntry } from '../lib/legal';
import { usePageTitle } from '../lib/usePageTitle';

export type LegalDocument = 'privacy' | 'terms' | 'acceptableUse';

const documentIds: Record<LegalDocument, LegalDocumentName> = { privacy: 'privacy', terms: 'terms', acceptableUse: 'acceptable-use' };
const paths = { privacy: '/legal/privacy', terms: '/legal/terms', acceptableUse: '/legal/acceptable-use' } as const;

const legalNav = [
  { doc: 'privacy', to: '/legal/privacy', label: 'footer.privacy' },
  { doc: 'terms', to: '/legal/terms', label: 'footer.terms' },
  { doc: 'acceptableUse', to: '/legal/acceptable-use', label: 'footer.acceptableUse' },
  { doc: 'report', to: '/report', label: 'footer.report' },
] as const;

const headingClass = 'scroll-mt-24 font-semibold tracking-tight text-zinc-900 dark:text-white';

/**
 * How the document's Markdown becomes elements. Raw HTML in the text is never rendered (skipHtml),
 * images are dropped, links keep react-markdown's safe URL filter, and one `h1` stays the page's:
 * headings in the text start at `h2`.
 */
const components: Components = {
  h1: ({ node: _node, className, ...props }) => <h2 tabIndex={-1} {...props} className={cn(headingClass, 'mt-12 text-2xl', className)} />,
  h2: ({ node: _node, className, ...props }) => <h2 tabIndex={-1} {...props} className={cn(headingClass, 'mt-12 text-2xl', className)} />,
  h3: ({ node: _node, className, ...props }) => <h3 tabIndex={-1} {...props} className={cn(headingClass, 'mt-8 text-lg', className)} />,
  h4: ({ node: _node, className, ...props }) => <h4 {...props} className={cn(headingClass, 'mt-6 text-base', className)} />,
  p: ({ node: _node, ...props }) => <p {...props} className="mt-4 leading-relaxed" />,
  ul: ({ node: _node, ...props }) => <ul {...props} className="mt-4 list-disc space-y-2 ps-6 marker:text-zinc-400" />,
  ol: ({ node: _node, ...props }) => <ol {...props} className="mt-4 list-decimal space-y-2 ps-6 marker:text-zinc-400" />,
  li: ({ node: _node, ...props }) => <li {...props} className="leading-relaxed ps-1" />,
  strong: ({ node: _node, ...props }) => <strong {...props} className="font-semibold text-zinc-900 dark:text-white" />,
  code: ({ node: _node, ...props }) => <code {...props} className="rounded bg-zinc-100 px-1 py-0.5 text-[0.9em] dark:bg-zinc-800" />,
  blockquote: ({ node: _node, ...props }) => <blockquote {...props} className="mt-4 border-s-4 border-zinc-200 ps-4 italic dark:border-zinc-700" />,
  hr: () => <hr className="my-10 border-zinc-200 dark:border-zinc-800" />,
  a: ({ node: _node, href, children, ...props }: ComponentProps<'a'> & { node?: unknown }) => {
    const external = Boolean(href && /^https?:\/\//i.test(href) && !href.startsWith(window.location.origin));
    return (
      <a
        {...props}
        href={href}
        className="font-medium text-brand-700 underline underline-offset-2 hover:text-brand-900 dark:text-brand-300 dark:hover:text-brand-200"
        {...(external ? { target: '_blank', rel: 'noopener noreferrer' } : {})}
      >
        {children}
      </a>
    );
  },
};

function TableOfContents({ entries }: { entries: TocEntry[] }) {
  const { t } = useTranslation();
  // open beside the text on wide screens; folded above it on phones, where it would push the text far down
  const [wide] = useState(() => window.matchMedia('(min-width: 1024px)').matches);
  if (!entries.length) return null;
  return (
    <nav aria-labelledby="legal-toc-title" className="lg:sticky lg:top-24 lg:max-h-[calc(100dvh-8rem)] lg:overflow-y-auto" data-testid="legal-toc">
      <details open={wide} className="group rounded-xl border border-zinc-200 p-4 lg:border-0 lg:p-0 dark:border-zinc-800">
        <summary className="flex cursor-pointer list-none items-center justify-between gap-2 rounded text-sm font-semibold text-zinc-900 dark:text-white [&::-webkit-details-marker]:hidden">
          <span id="legal-toc-title">{t('legal.toc')}</span>
          <ChevronDownIcon className="size-4 transition-transform group-open:rotate-180" />
        </summary>
        <ol className="mt-3 space-y-1.5 text-sm">
          {entries.map((e) => (
            <li key={e.id} className={e.level === 3 ? 'ps-4' : undefined}>
              <a
                href={`#${e.id}`}
                className="block rounded text-zinc-600 hover:text-zinc-900 hover:underline dark:text-zinc-400 dark:hover:text-white"
                onClick={(ev) => {
                  const target = document.getElementById(e.id);
                  if (!target) return;
                  // move focus too, so keyboard and screen-reader users continue from the section
                  ev.preventDefault();
                  target.scrollIntoView({ block: 'start' });
                  target.focus({ preventScroll: true });
                  history.replaceState(history.state, '', `#${e.id}`);
                }}
              >
                {e.text}
              </a>
            </li>
          ))}
        </ol>
      </details>
    </nav>
  );
}

function Versions({ doc, data }: { doc: LegalDocument; data: LegalDocumentView }) {
  const { t, i18n } = useTranslation();
  return (
    <section aria-labelledby="legal-versions-title" className="mt-16 border-t border-zinc-200 pt-8 dark:border-zinc-800" data-testid="legal-versions">
      <h2 id="legal-versions-title" className="text-lg font-semibold text-zinc-900 dark:text-white">
        {t('legal.versions.title')}
      </h2>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">{t('legal.versions.intro')}</p>
      <ul className="mt-4 divide-y divide-zinc-200 dark:divide-zinc-800">
        {data.versions.map((v) => {
          const viewing = v.version === data.version;
          return (
            <li key={v.version} className="flex flex-col gap-1 py-3 sm:flex-row sm:items-start sm:gap-4" data-testid="legal-version">
              <div className="min-w-0 flex-1">
                <Link
                  to={paths[doc]}
                  search={v.current ? {} : { version: v.version }}
                  aria-current={viewing ? 'page' : undefined}
                  className={cn('text-sm font-medium hover:underline', viewing ? 'text-zinc-900 dark:text-white' : 'text-brand-700 dark:text-brand-300')}
                >
                  {t('legal.versions.open', { version: v.version, date: legalDate(v.lastUpdated, i18n.language) })}
                </Link>
                {v.summary && <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{v.summary}</p>}
              </div>
              <div className="flex flex-wrap gap-1.5">
                {v.current && <Badge tone="success">{t('legal.versions.current')}</Badge>}
                {v.material && <Badge tone="warning">{t('legal.versions.material')}</Badge>}
                {viewing && <Badge tone="brand">{t('legal.versions.viewing')}</Badge>}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function LegalNav() {
  const { t } = useTranslation();
  return (
    <nav aria-label={t('footer.legalLabel')} className="mb-8 flex flex-wrap gap-2">
      {legalNav.map((item) => (
        <Link
          key={item.doc}
          to={item.to}
          className="rounded-full border border-zinc-200 px-3 py-1 text-sm text-zinc-600 hover:border-zinc-300 hover:text-zinc-900 dark:border-zinc-800 dark:text-zinc-400 dark:hover:border-zinc-700 dark:hover:text-white"
          activeProps={{
            className: 'border-brand-300 bg-brand-50 text-brand-800 dark:border-brand-800 dark:bg-brand-950/50 dark:text-brand-200',
            'aria-current': 'page',
          }}
          activeOptions={{ includeSearch: false }}
        >
          {t(item.label)}
        </Link>
      ))}
    </nav>
  );
}

/** A legal document as the operator published it: the current version or an earlier one, with its outline and all versions. */
export function LegalPage({ doc }: { doc: LegalDocument }) {
  const { t, i18n } = useTranslation();
  const { version } = useSearch({ strict: false });
  const language = i18n.resolvedLanguage ?? 'en';
  const query = useQuery(legalDocumentQuery(documentIds[doc], language, version));
  const data = query.data;
  usePageTitle(data?.title ?? t(`legal.${doc}.title`));

  const toc = useMemo(() => (data ? tableOfContents(data.body) : []), [data]);
  const rehypePlugins = useMemo(() => [headingAnchors(toc)], [toc]);

  // a link to a section (`/legal/privacy#5-your-rights-and-choices`) lands there once the text is in
  useEffect(() => {
    if (!data || !window.location.hash) return;
    const target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    target?.scrollIntoView({ block: 'start' });
  }, [data]);

  let content: ReactNode;
  if (query.isPending) content = <PageLoading />;
  else if (query.isError)
    content = (
      <PageLoadFailed
        back={
          version ? (
            <Link to={paths[doc]} className="text-sm font-medium text-brand-700 hover:underline dark:text-brand-300">
              {t('legal.earlier.current')}
            </Link>
          ) : null
        }
        error={query.error}
        notFound={{ icon: <DocumentIcon className="size-6" />, title: t('legal.notFound.title'), body: t('legal.notFound.body') }}
        errorTitle={t('legal.loadFailed.title')}
        errorMessage={t('legal.loadFailed.body')}
        retryLabel={t('legal.loadFailed.retry')}
        onRetry={() => void query.refetch()}
      />
    );
  else {
    const d = query.data;
    const languageName = t(`language.names.${d.language}`, { defaultValue: d.language });
    content = (
      <>
        <header>
          <div className="flex items-center gap-3">
            <span className="flex size-10 shrink-0 items-center justify-center rounded-xl bg-brand-50 text-brand-600 dark:bg-brand-950/60 dark:text-brand-300">
              <DocumentIcon className="size-5" />
            </span>
            <h1 className="text-3xl font-semibold tracking-tight text-zinc-900 sm:text-4xl dark:text-white">{d.title}</h1>
          </div>
          <p className="mt-3 text-sm text-zinc-600 dark:text-zinc-400" data-testid="legal-last-updated">
            <span>{t('legal.lastUpdated', { date: legalDate(d.lastUpdated, i18n.language) })}</span>
            <span aria-hidden="true"> · </span>
            <span className="whitespace-nowrap">{t('legal.version', { version: d.version })}</span>
          </p>
        </header>

        <div className="mt-6 space-y-3">
          {!d.current && (
            <Alert
              tone="warning"
              title={t('legal.earlier.title')}
              data-testid="legal-earlier-version"
              action={
                <Link to={paths[doc]} className="font-semibold underline underline-offset-2">
                  {t('legal.earlier.current')}
                </Link>
              }
            >
              {t('legal.earlier.body', { version: d.version, date: legalDate(d.lastUpdated, i18n.language) })}
            </Alert>
          )}
          {d.language !== language && <Alert tone="info">{t('legal.languageFallback', { language: languageName })}</Alert>}
        </div>

        <div className="mt-8 grid gap-10 lg:grid-cols-[15rem_minmax(0,1fr)]">
          <aside>
            <TableOfContents entries={toc} />
          </aside>
          <article lang={d.language} className="min-w-0 max-w-3xl text-base text-zinc-700 dark:text-zinc-300" data-testid="legal-body">
            <Markdown skipHtml disallowedElements={['img']} rehypePlugins={rehypePlugins} components={components}>
              {d.body}
            </Markdown>
          </article>
        </div>

        <Versions doc={doc} data={d} />
      </>
    );
  }

  return (
    <div className="mx-auto max-w-6xl px-4 py-12 sm:px-6 sm:py-16">
      <LegalNav />
      {content}
    </div>
  );
}

// one component per document, for the router's lazily loaded routes
export const PrivacyPolicyPage = () => <LegalPage doc="privacy" />;
export const TermsPage = () => <LegalPage doc="terms" />;
export const AcceptableUsePage = () => <LegalPage doc="acceptableUse" />;
