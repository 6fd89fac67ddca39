import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HashListView, TermEditView } from '../../../src/shared/api/moderation-lists';
import { closeAll } from '../../helpers/close';
import { TestClient } from '../../helpers/client';
import { startGenerationsApp, type GenerationsApp } from '../generations/setup';

/** The operator's moderation lists over HTTP (issue 16): admin only, persisted, applied at once. */

let env: GenerationsApp;
let admin: Awaited<ReturnType<GenerationsApp['user']>>;
let moderator: Awaited<ReturnType<GenerationsApp['user']>>;
let user: Awaited<ReturnType<GenerationsApp['user']>>;

const pdq = (digit: string) => digit.repeat(64);
const sha = 'ab'.repeat(32);

beforeAll(async () => {
  env = await startGenerationsApp({}, { role: 'web' });
  admin = await env.user('lists-admin@example.com', 0);
  moderator = await env.user('lists-mod@example.com', 0);
  user = await env.user('lists-user@example.com', 100);
  await env.app.db.sql.query(`update users set role = 'admin' where id = $1`, [admin.userId]);
  await env.app.db.sql.query(`update users set role = 'moderator' where id = $1`, [moderator.userId]);
});

afterAll(() => closeAll(env));

describe('hash lists', () => {
  it('are for admins only', async () => {
    expect((await new TestClient(env.app.url).get('/api/moderation/hash-lists')).status).toBe(404);
    expect((await user.get('/api/moderation/hash-lists')).status).toBe(404);
    expect((await moderator.get('/api/moderation/hash-lists')).status).toBe(403);
    expect((await moderator.post('/api/moderation/terms', { op: 'add', list: 'sexual', language: 'en', term: 'x' })).status).toBe(403);
  });

  it('imports CSV and text, replaces by name, refuses a malformed line naming it, and deletes', async () => {
    const csv = `hash,kind,label\n${sha},sha256,"entry ""one"""\n${pdq('f')},pdq\n# comment\n${pdq('0')},pdq,zero\n`;
    const res = await admin.post('/api/moderation/hash-lists', { name: 'industry', category: 'sexual/minors', format: 'csv', content: csv });
    expect(res.status, res.body).toBe(201);
    const list = res.json<HashListView>();
    expect(list).toMatchObject({ name: 'industry', category: 'sexual/minors', pdqThreshold: 31, entries: { sha256: 1, pdq: 2 } });
    const [row] = await env.app.db.sql.query<{ label: string }>(`select label from moderation_hashes where kind = 'sha256' and list_id = $1`, [list.id]);
    expect(row!.label).toBe('entry "one"');

    const bad = await admin.post('/api/moderation/hash-lists', {
      name: 'industry',
      category: 'sexual',
      format: 'csv',
      content: `${sha},sha256\nnot-a-hash,pdq\n`,
    });
    expect(bad.status).toBe(400);
    expect(bad.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'invalid_hash_list',
      message: expect.stringMatching(/^Line 2:/),
    });
    // the refused import changed nothing
    expect((await admin.get('/api/moderation/hash-lists')).json<{ items: HashListView[] }>().items).toEqual([list]);

    const replaced = await admin.post('/api/moderation/hash-lists', {
      name: 'industry',
      category: 'violence',
      format: 'text',
      kind: 'pdq',
      content: pdq('1'),
      pdqThreshold: 10,
    });
    expect(replaced.status).toBe(201);
    expect(replaced.json<HashListView>()).toMatchObject({ id: list.id, category: 'violence', pdqThreshold: 10, entries: { sha256: 0, pdq: 1 } });
    expect((await admin.post('/api/moderation/hash-lists', { name: 'x', category: 'sexual', format: 'text', content: sha })).status).toBe(400);

    expect((await admin.delete(`/api/moderation/hash-lists/${list.id}`)).status).toBe(204);
    expect((await admin.delete(`/api/moderation/hash-lists/${list.id}`)).status).toBe(404);
    expect((await admin.get('/api/moderation/hash-lists')).json<{ items: unknown[] }>().items).toEqual([]);
  });
});

describe('term edits', () => {
  const submit = (prompt: string) => user.post('/api/generations', { model: 'local-preview', prompt, duration: 2, resolution: '480p' });

  it('an added term blocks prompts at once, a removal of it lets them through again, malformed and repeated edits are refused', async () => {
    expect((await submit('a zorbleflux dance in the rain')).status).toBe(202);
    const res = await admin.post('/api/moderation/terms', { op: 'add', list: 'sexual', language: 'en', term: 'zorbleflux' });
    expect(res.status, res.body).toBe(201);
    const edit = res.json<TermEditView>();
    expect(edit).toMatchObject({ op: 'add', list: 'sexual', language: 'en', term: 'zorbleflux', createdBy: admin.userId });
    const blocked = await submit('a zorbleflux dance in the rain');
    expect(blocked.status).toBe(422);
    expect(blocked.json<{ error: { code: string } }>().error.code).toBe('content_blocked');

    expect((await admin.post('/api/moderation/terms', { op: 'add', list: 'sexual', language: 'en', term: 'zorbleflux' })).status).toBe(409);
    const malformed = await admin.post('/api/moderation/terms', { op: 'add', list: 'no-such-list', language: 'en', term: 'x' });
    expect(malformed.status).toBe(400);
    expect(malformed.json<{ error: { code: string } }>().error.code).toBe('invalid_term');

    expect((await admin.get('/api/moderation/terms')).json<{ items: TermEditView[] }>().items).toEqual([edit]);
    expect((await admin.delete(`/api/moderation/terms/${edit.id}`)).status).toBe(204);
    expect((await submit('a zorbleflux dance in the rain')).status).toBe(202);
  });

  it('a removal from a built-in list is applied (the term no longer blocks)', async () => {
    expect((await submit('a nude statue in a museum')).status).toBe(422);
    const res = await admin.post('/api/moderation/terms', { op: 'remove', list: 'sexual', language: '*', term: 'nude' });
    expect(res.status, res.body).toBe(201);
    expect((await submit('a nude statue in a museum')).status).toBe(202);
    expect((await admin.delete(`/api/moderation/terms/${res.json<TermEditView>().id}`)).status).toBe(204);
  });
});
