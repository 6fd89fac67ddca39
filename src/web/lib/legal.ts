import { queryOptions, type QueryClient } from '@tanstack/react-query';
import type { LegalDocumentName, LegalDocumentView, PolicyNoticeList } from '../../shared/api/legal';
import { apiFetch } from './api';

/** A legal document (the current version, or `version`) in `language`, with its versions. */
export const legalDocumentQuery = (document: LegalDocumentName, language: string, version: string | undefined) =>
  queryOptions({
    queryKey: ['legal', document, language, version ?? null] as const,
    queryFn: ({ signal }) => {
      const q = new URLSearchParams({ lang: language });
      if (version) q.set('version', version);
      return apiFetch<LegalDocumentView>(`/api/legal/${document}?${q.toString()}`, { signal });
    },
    staleTime: 5 * 60_000,
  });

/** The signed-in user's notices of material changes (dropped on sign-in and sign-out with the user's other queries). */
export const policyNoticesQuery = queryOptions({
  queryKey: ['policy-notices'] as const,
  queryFn: ({ signal }) => apiFetch<PolicyNoticeList>('/api/me/policy-notices', { signal }),
  staleTime: 5 * 60_000,
});

export async function dismissPolicyNotice(queryClient: QueryClient, document: LegalDocumentName, version: string): Promise<void> {
  await apiFetch<undefined>('/api/me/policy-notices/dismiss', { method: 'POST', body: { document, version } });
  queryClient.setQueryData(policyNoticesQuery.queryKey, (old) =>
    old ? { notices: old.notices.filter((n) => !(n.document === document && n.version === version)) } : old,
  );
}

/** `2026-12-07` as a date in the reader's language ("December 7, 2026"; the date has no time zone). */
export function legalDate(date: string, language: string): string {
  const d = new Date(`${date.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return date;
  return new Intl.DateTimeFormat(language, { dateStyle: 'long', timeZone: 'UTC' }).format(d);
}

export interface TocEntry {
  id: string;
  text: string;
  /** 2 or 3 */
  level: number;
}

/** A heading's anchor: lower case, accents dropped, anything else a dash (`1.1 Tu cuenta` -> `1-1-tu-cuenta`). */
export function slugify(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug || 'section';
}

/** The heading text without inline Markdown (emphasis, code, links, escapes). */
function plainHeading(md: string): string {
  return md
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<([^>\s]+)>/g, '$1')
    .replace(/\\([\\`*_{}[\]()#+\-.!<>|~])/g, '$1')
    .replace(/[*_`]/g, '')
    .trim();
}

/**
 * The table of contents of a Markdown text: its `#`, `##` and `###` headings outside code blocks,
 * in order, each with a unique anchor. The page gives the rendered headings the same anchors in
 * the same order (see `headingAnchors`).
 */
export function tableOfContents(markdown: string): TocEntry[] {
  const out: TocEntry[] = [];
  const used = new Map<string, number>();
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const f = /^ {0,3}([`~])\1\1/.exec(line);
    if (f) {
      const marker = f[1] ?? '';
      if (fence === null) fence = marker;
      else if (marker === fence) fence = null;
      continue;
    }
    if (fence !== null) continue;
    const h = /^ {0,3}(#{1,3})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (!h) continue;
    const [, hashes = '', heading = ''] = h;
    const text = plainHeading(heading);
    if (!text) continue;
    const base = slugify(text);
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    out.push({ id: n ? `${base}-${n + 1}` : base, text, level: Math.max(2, hashes.length) });
  }
  return out;
}

interface HastNode {
  type: string;
  tagName?: string;
  value?: string;
  properties?: Record<string, unknown>;
  children?: HastNode[];
}

const textOf = (node: HastNode): string => (node.type === 'text' ? (node.value ?? '') : (node.children ?? []).map(textOf).join(''));

/**
 * A rehype plugin for react-markdown: gives the h1-h3 headings the anchors of `toc`, in order
 * (when the counts differ, e.g. a heading style the outline does not read, each gets the slug of
 * its own text instead).
 */
export function headingAnchors(toc: readonly TocEntry[]) {
  return () => (tree: HastNode) => {
    const headings: HastNode[] = [];
    const walk = (node: HastNode) => {
      if (node.type === 'element' && /^h[1-3]$/.test(node.tagName ?? '')) headings.push(node);
      else for (const child of node.children ?? []) walk(child);
    };
    walk(tree);
    const used = new Map<string, number>();
    headings.forEach((node, i) => {
      let id = headings.length === toc.length ? toc[i]?.id : undefined;
      if (!id) {
        const base = slugify(textOf(node));
        const n = used.get(base) ?? 0;
        used.set(base, n + 1);
        id = n ? `${base}-${n + 1}` : base;
      }
      node.properties = { ...node.properties, id };
    });
  };
}
