import type { z } from 'zod';
import { systemClock, type Clock } from '../../adapters/clock';
import { parseHashList } from '../../adapters/moderation/hash-matcher';
import { createTextRulesClassifier, type TermOverrides } from '../../adapters/moderation/text-rules';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import type { HashListView, importHashListBody, termEditBody, TermEditView } from '../../../shared/api/moderation-lists';
import {
  deleteHashList,
  deleteTermEdit,
  insertTermEdit,
  listHashLists,
  listTermEdits,
  replaceHashList,
  type HashListRow,
  type TermEditRow,
} from './lists.repo';
import type { Screener } from './screen';
import type { AuditTrail } from '../admin/audit.service';

/**
 * The operator's lists, persisted: hash lists (imported from the programmes' deliveries, replaced
 * whole by name) and edits to the built-in term lists. An edit is checked before it is saved (a
 * malformed list line or term is a 400 naming it) and the screener reloads at once; other
 * processes notice the change on their next screening (screen.ts).
 */

/** (`audit`, an operator's action, writes the audit log entry in the change's transaction) */
export interface ListsService {
  hashLists(): Promise<HashListView[]>;
  importHashList(actorId: string, body: z.infer<typeof importHashListBody>, audit?: AuditTrail): Promise<HashListView>;
  deleteHashList(id: string, audit?: AuditTrail): Promise<void>;
  termEdits(): Promise<TermEditView[]>;
  addTermEdit(actorId: string, body: z.infer<typeof termEditBody>, audit?: AuditTrail): Promise<TermEditView>;
  deleteTermEdit(id: string, audit?: AuditTrail): Promise<void>;
}

const hashListAudit = (l: HashListRow) => ({ name: l.name, category: l.category, pdqThreshold: l.pdqThreshold, entryCount: l.entryCount });
const termEditAudit = (e: Pick<TermEditRow, 'op' | 'list' | 'language' | 'term'>) => ({ op: e.op, list: e.list, language: e.language, term: e.term });

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

    async importHashList(actorId, body, audit) {
      const entries = parseHashList({ format: body.format, content: body.content, ...(body.kind ? { kind: body.kind } : {}) });
      const row = await database.transaction(async (tx) => {
        const now = clock.now();
        const list = await replaceHashList(tx, { name: body.name, category: body.category, pdqThreshold: body.pdqThreshold, createdBy: actorId, entries }, now);
        const replaced = list.createdAt.getTime() !== now.getTime();
        if (audit) await audit({ action: 'hash_list.import', targetType: 'hash_list', targetId: list.id, after: { ...hashListAudit(list), replaced } }, tx);
        return list;
      });
      await screener.reload();
      const view = (await views()).find((v) => v.id === row.id);
      if (!view) throw new Error('the imported list is not listed');
      return view;
    },

    async deleteHashList(id, audit) {
      const row = isId(id)
        ? await database.transaction(async (tx) => {
            const gone = await deleteHashList(tx, id);
            if (gone && audit)
              await audit({ action: 'hash_list.delete', targetType: 'hash_list', targetId: gone.id, before: hashListAudit(gone), after: null }, tx);
            return gone;
          })
        : null;
      if (!row) throw notFound('That hash list');
      await screener.reload();
    },

    async termEdits() {
      return (await listTermEdits(database)).map(termView);
    },

    async addTermEdit(actorId, body, audit) {
      const edit = { op: body.op, list: body.list, language: body.language.toLowerCase(), term: body.term };
      try {
        // the rules refuse a malformed edit at construction: check it with every saved edit before saving
        createTextRulesClassifier(overridesOf([...(await listTermEdits(database)), edit]));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new AppError('invalid_term', `This edit cannot be used: ${message}`, 400, { fields: [{ field: 'term', message }] });
      }
      const row = await database.transaction(async (tx) => {
        const added = await insertTermEdit(tx, { ...edit, createdBy: actorId }, clock.now());
        if (added && audit)
          await audit({ action: 'term_edit.add', targetType: 'term_edit', targetId: added.id, before: null, after: termEditAudit(added) }, tx);
        return added;
      });
      if (!row) throw new AppError('term_exists', 'This edit is already saved.', 409);
      await screener.reload();
      return termView(row);
    },

    async deleteTermEdit(id, audit) {
      const row = isId(id)
        ? await database.transaction(async (tx) => {
            const gone = await deleteTermEdit(tx, id);
            if (gone && audit)
              await audit({ action: 'term_edit.delete', targetType: 'term_edit', targetId: gone.id, before: termEditAudit(gone), after: null }, tx);
            return gone;
          })
        : null;
      if (!row) throw notFound('That term edit');
      await screener.reload();
    },
  };
}
