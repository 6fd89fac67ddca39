import type { z } from 'zod';
import { systemClock, type Clock } from '../../adapters/clock';
import { parseHashList } from '../../adapters/moderation/hash-matcher';
import { createTextRulesClassifier, type TermOverrides } from '../../adapters/moderation/text-rules';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import type { HashListView, importHashListBody, termEditBody, TermEditView } from '../../../shared/api/moderation-lists';
import { deleteHashList, deleteTermEdit, insertTermEdit, listHashLists, listTermEdits, replaceHashList, type TermEditRow } from './lists.repo';
import type { Screener } from './screen';

/**
 * The operator's lists, persisted: hash lists (imported from the programmes' deliveries, replaced
 * whole by name) and edits to the built-in term lists. An edit is checked before it is saved (a
 * malformed list line or term is a 400 naming it) and the screener reloads at once; other
 * processes notice the change on their next screening (screen.ts).
 */

export interface ListsService {
  hashLists(): Promise<HashListView[]>;
  importHashList(actorId: string, body: z.infer<typeof importHashListBody>): Promise<HashListView>;
  deleteHashList(id: string): Promise<void>;
  termEdits(): Promise<TermEditView[]>;
  addTermEdit(actorId: string, body: z.infer<typeof termEditBody>): Promise<TermEditView>;
  deleteTermEdit(id: string): Promise<void>;
}

const isId = (id: string) => /^[0-9a-f-]{36}$/i.test(id);

const termView = (r: TermEditRow): TermEditView => ({
  id: r.id,
  op: r.op as 'add' | 'remove',
  list: r.list,
  language: r.language,
  term: r.term,
  createdBy: r.createdBy,
  createdAt: r.createdAt.toISOString(),
});

export function overridesOf(edits: readonly Pick<TermEditRow, 'op' | 'list' | 'language' | 'term'>[]) {
  const extraTerms: TermOverrides = {};
  const removedTerms: TermOverrides = {};
  for (const e of edits) {
    const target = e.op === 'add' ? extraTerms : removedTerms;
    const byLang = (target[e.list as keyof TermOverrides] ??= {});
    byLang[e.language] = [...(byLang[e.language] ?? []), e.term];
  }
  return { extraTerms, removedTerms };
}

export function createListsService(deps: { database: Database; screener: Screener; clock?: Pick<Clock, 'now'> }): ListsService {
  const { database, screener } = deps;
  const clock = deps.clock ?? systemClock;

  async function views(): Promise<HashListView[]> {
    return (await listHashLists(database)).map((l) => ({
      id: l.id,
      name: l.name,
      category: l.category as HashListView['category'],
      pdqThreshold: l.pdqThreshold,
      entries: { sha256: l.sha256, pdq: l.pdq },
      createdAt: l.createdAt.toISOString(),
      updatedAt: l.updatedAt.toISOString(),
    }));
  }

  return {
    hashLists: views,

    async importHashList(actorId, body) {
      const entries = parseHashList({ format: body.format, content: body.content, ...(body.kind ? { kind: body.kind } : {}) });
      const row = await database.transaction((tx) =>
        replaceHashList(tx, { name: body.name, category: body.category, pdqThreshold: body.pdqThreshold, createdBy: actorId, entries }, clock.now()),
      );
      await screener.reload();
      const view = (await views()).find((v) => v.id === row.id);
      if (!view) throw new Error('the imported list is not listed');
      return view;
    },

    async deleteHashList(id) {
      const row = isId(id) ? await deleteHashList(database, id) : null;
      if (!row) throw notFound('That hash list');
      await screener.reload();
    },

    async termEdits() {
      return (await listTermEdits(database)).map(termView);
    },

    async addTermEdit(actorId, body) {
      const edit = { op: body.op, list: body.list, language: body.language.toLowerCase(), term: body.term };
      try {
        // the rules refuse a malformed edit at construction: check it with every saved edit before saving
        createTextRulesClassifier(overridesOf([...(await listTermEdits(database)), edit]));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new AppError('invalid_term', `This edit cannot be used: ${message}`, 400, { fields: [{ field: 'term', message }] });
      }
      const row = await insertTermEdit(database, { ...edit, createdBy: actorId }, clock.now());
      if (!row) throw new AppError('term_exists', 'This edit is already saved.', 409);
      await screener.reload();
      return termView(row);
    },

    async deleteTermEdit(id) {
      const row = isId(id) ? await deleteTermEdit(database, id) : null;
      if (!row) throw notFound('That term edit');
      await screener.reload();
    },
  };
}
