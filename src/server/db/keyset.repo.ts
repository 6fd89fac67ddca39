import type { DbHandle } from './client';

/**
 * Keyset pagination, newest first, on `(created_at, id)`. The cursor carries created_at in exact
 * microseconds: a JS Date would round it to milliseconds and could skip rows created within the
 * same millisecond. A malformed cursor yields null (callers answer 400).
 */
export interface KeysetPage<T> {
  items: T[];
  nextCursor: string | null;
}

function decodeCursor(cursor: string): { micros: string; id: string } | null {
  const [micros, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!micros || !id || !/^\d{1,17}$/.test(micros) || id.length > 100) return null;
  return { micros, id };
}

/**
 * `select * from <table> where <where> [and after cursor] order by created_at desc, id desc`, one
 * page of `limit`. `where` uses `$1..$n` for `params`; the cursor's parameters come after them.
 */
export async function keysetPage<T extends { id: string }>(
  db: DbHandle,
  opts: { table: string; where: string[]; params: unknown[]; limit: number; cursor?: string | undefined; map: (raw: Record<string, unknown>) => T },
): Promise<KeysetPage<T> | null> {
  const params = [...opts.params];
  const where = [...opts.where];
  if (opts.cursor) {
    const c = decodeCursor(opts.cursor);
    if (!c) return null;
    params.push(c.micros, c.id);
    where.push(`(created_at, id) < (timestamptz 'epoch' + $${params.length - 1}::bigint * interval '1 microsecond', $${params.length})`);
  }
  params.push(opts.limit + 1);
  const raw = await db.sql.query(
    `select *, (extract(epoch from created_at) * 1000000)::bigint::text as created_micros from ${opts.table}
      where ${where.join(' and ')} order by created_at desc, id desc limit $${params.length}`,
    params,
  );
  const items = raw.slice(0, opts.limit).map(opts.map);
  const last = raw[opts.limit - 1];
  return {
    items,
    nextCursor: raw.length > opts.limit && last ? Buffer.from(`${String(last.created_micros)}|${String(last.id)}`).toString('base64url') : null,
  };
}
