import { z } from 'zod';
import { moderationCategory } from './moderation';

/**
 * The operator's moderation lists (issue 16, admin only): imported known-bad hash lists, and edits
 * to the built-in term lists of the text rules.
 */

export const hashListView = z.object({
  id: z.string(),
  name: z.string(),
  /** what a match means (a CSAM list: sexual/minors, which is escalated automatically) */
  category: moderationCategory,
  /** PDQ matches at or under this Hamming distance */
  pdqThreshold: z.number().int(),
  entries: z.object({ sha256: z.number().int(), pdq: z.number().int() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type HashListView = z.infer<typeof hashListView>;

/** Import a list, or replace the list of that name whole. */
export const importHashListBody = z.object({
  name: z.string().trim().min(1).max(100),
  category: moderationCategory,
  /** `text`: one hex hash per line, all of `kind`; `csv`: `hash,kind[,label]` per line */
  format: z.enum(['text', 'csv']),
  kind: z.enum(['sha256', 'pdq']).optional(),
  /** the list itself (at most 20 MB of text) */
  content: z.string().min(1).max(20_000_000),
  pdqThreshold: z.number().int().min(0).max(64).default(31),
});

export const termEditView = z.object({
  id: z.string(),
  op: z.enum(['add', 'remove']),
  /** the built-in list: a category (`sexual`, ...) or a signal of the combination rules (`minor`, ...) or `allow` */
  list: z.string(),
  /** ISO 639-1 (`en`, `es`, ...), or `*` (removals: from every language) */
  language: z.string(),
  term: z.string(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});
export type TermEditView = z.infer<typeof termEditView>;

export const termEditBody = z.object({
  op: z.enum(['add', 'remove']),
  list: z.string().trim().min(1).max(40),
  language: z.string().trim().min(1).max(20),
  term: z.string().trim().min(1).max(200),
});
