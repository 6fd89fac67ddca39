import path from 'node:path';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { redactUrl } from '../config';
import { StartupError } from '../errors';
import * as schema from './schema';

export type Schema = typeof schema;
export type Drizzle = PgDatabase<PgQueryResultHKT, Schema>;

/** Raw SQL with positional parameters ($1, $2 ...). Same behaviour on PGlite and on a server. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** several statements, no parameters */
  exec(text: string): Promise<void>;
}

/** The executeSql hook pg-boss uses (multi-statement SQL goes through `exec` on PGlite). */
export interface BossDb {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** What repositories and services receive: the root connection or an open transaction. */
export interface DbHandle {
  db: Drizzle;
  sql: Sql;
  /** the same connection or transaction for the job queue: a job sent through it exists only if the transaction commits */
  bossDb: BossDb;
}

export interface Database extends DbHandle {
  kind: 'pglite' | 'pg';
  /** Runs fn in one transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(fn: (tx: DbHandle) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a trivial query (readiness checks). */
  ping(): Promise<void>;
  /**
   * LISTEN on a channel (NOTIFY from any process on this database reaches every listener).
   * Resolves to a function that stops listening.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
  /** PGlite only: the whole data dir as a gzipped tarball (test templates, backups) */
  dumpDataDir?(): Promise<Blob>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent the embedded PGlite is used */
  url?: string | undefined;
  /** PGlite data directory; `memory://` or undefined for in-memory */
  pgliteDataDir?: string | undefined;
  /** PGlite data-dir tarball to start from (test templates) */
  loadDataDir?: Blob | File | undefined;
  poolSize?: number;
  applicationName?: string;
}

/** Open the database and prove it answers. Fails with a StartupError naming the problem. */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const database = opts.url ? await openPg(opts.url, opts) : await openPglite(opts);
  // closing twice (a stopping app and its owner, say) is harmless
  const close = database.close.bind(database);
  let closing: Promise<void> | null = null;
  database.close = () => (closing ??= close());
  return database;
}

export function pgliteDir(dataDir: string): string {
  return path.join(dataDir, 'pglite');
}

async function openPglite(opts: OpenDatabaseOptions): Promise<Database> {
  let client: PGlite;
  try {
    client = await PGlite.create(opts.pgliteDataDir ?? 'memory://', opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {});
  } catch (err) {
    throw new StartupError(`Cannot open the embedded database in ${opts.pgliteDataDir ?? 'memory://'}: ${describe(err)}.`);
  }
  const sqlOf = (c: PGlite | PGliteTransaction): Sql => ({
    async query<T>(text: string, params?: unknown[]) {
      return (await c.query<T>(text, params)).rows;
    },
    async exec(text: string) {
      await c.exec(text);
    },
  });
  const bossDbOf = (c: PGlite | PGliteTransaction): BossDb => ({
    async executeSql(text, values) {
      if (values && values.length > 0) return { rows: (await c.query(text, values)).rows };
      const results = await c.exec(text);
      return { rows: results.flatMap((r) => r.rows) };
    },
  });
  const db = drizzlePglite(client, { schema }) as unknown as Drizzle;
  return {
    kind: 'pglite',
    db,
    sql: sqlOf(client),
    bossDb: bossDbOf(client),
    transaction: (fn) => client.transaction((t) => fn({ db: drizzlePglite(t as unknown as PGlite, { schema }), sql: sqlOf(t), bossDb: bossDbOf(t) })),
    ping: async () => {
      await client.query('select 1');
    },
    listen: async (channel, onPayload) => {
      assertChannel(channel);
      return client.listen(channel, onPayload);
    },
    close: () => client.close(),
    dumpDataDir: async () => client.dumpDataDir('gzip'),
  };
}

async function openPg(url: string, opts: OpenDatabaseOptions): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    application_name: opts.applicationName ?? 'save-sora',
  });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StartupError(`Cannot connect to the database at DATABASE_URL ${redactUrl(url)}: ${describe(err)}.`);
  }
  const listener = pgListener(url, opts.applicationName ?? 'save-sora');
  const sqlOf = (c: pg.Pool | pg.PoolClient): Sql => ({
    async query<T>(text: string, params?: unknown[]) {
      return (await c.query(text, params)).rows as T[];
    },
    async exec(text: string) {
      await c.query(text);
    },
  });
  // several statements in one text come back as one result each
  const bossDbOf = (c: pg.Pool | pg.PoolClient): BossDb => ({
    async executeSql(text, values) {
      // (pg's Result always has a rows array, empty for statements that return none)
      const result = (await c.query(text, values)) as unknown as pg.QueryResult<Record<string, unknown>> | pg.QueryResult<Record<string, unknown>>[];
      return { rows: Array.isArray(result) ? result.flatMap((r) => r.rows) : result.rows };
    },
  });
  return {
    kind: 'pg',
    db: drizzlePg(pool, { schema }) as unknown as Drizzle,
    sql: sqlOf(pool),
    bossDb: bossDbOf(pool),
    ping: async () => {
      await pool.query('select 1');
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ db: drizzlePg(client, { schema }), sql: sqlOf(client), bossDb: bossDbOf(client) });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    listen: (channel, onPayload) => {
      assertChannel(channel);
      return listener.add(channel, onPayload);
    },
    close: async () => {
      await listener.close();
      await pool.end();
    },
  };
}

const assertChannel = (channel: string) => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
};

/**
 * One dedicated connection per process for LISTEN (a pooled connection would drop its LISTENs when
 * released). Opened on first use; after a lost connection it reconnects and listens again.
 */
function pgListener(url: string, applicationName: string) {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client> | null = null;
  let closed = false;

  const connect = (): Promise<pg.Client> =>
    (connecting ??= (async () => {
      const c = new pg.Client({ connectionString: url, application_name: `${applicationName}:listen` });
      c.on('notification', (n) => {
        for (const h of handlers.get(n.channel) ?? []) h(n.payload ?? '');
      });
      c.on('error', () => {
        client = null;
        connecting = null;
        if (!closed) setTimeout(() => void reconnect(), 1000).unref();
      });
      await c.connect();
      for (const channel of handlers.keys()) await c.query(`LISTEN ${channel}`);
      client = c;
      return c;
    })().catch((err: unknown) => {
      connecting = null;
      throw err;
    }));

  const reconnect = async () => {
    if (closed || handlers.size === 0) return;
    await connect().catch(() => {
      // (close() may have run while connecting)
      if (!closed) setTimeout(() => void reconnect(), 2000).unref();
    });
  };

  return {
    async add(channel: string, handler: (payload: string) => void) {
      const set = handlers.get(channel) ?? new Set();
      const first = set.size === 0;
      set.add(handler);
      handlers.set(channel, set);
      const c = client ?? (await connect());
      if (first) await c.query(`LISTEN ${channel}`);
      return async () => {
        set.delete(handler);
        if (set.size === 0) {
          handlers.delete(channel);
          await client?.query(`UNLISTEN ${channel}`).catch(() => {});
        }
      };
    },
    async close() {
      closed = true;
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}

/** A one-line description of a connection or database error (AggregateError has no message). */
export function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  if (err instanceof Error) return err.message || (err as NodeJS.ErrnoException).code || err.name;
  return String(err);
}
