import { createHash } from 'node:crypto';

/**
 * Session tokens at rest: Better Auth keeps the session token it puts in the cookie in
 * `sessions.token` and finds the session by it. This wraps its database adapter so that the table
 * holds only a SHA-256 of the token: every write stores the hash, every lookup by token hashes the
 * value it is given, and rows found by token come back carrying the token they were asked for (so
 * Better Auth's own bookkeeping, which matches rows to tokens, keeps working). A database dump
 * therefore holds nothing a cookie could be made from. Tokens are 32 random characters, so an
 * unsalted hash is enough: there is nothing to guess.
 */
export const SESSION_TOKEN_HASH_PREFIX = 'sha256:';
const HASHED = /^sha256:[A-Za-z0-9_-]{43}$/;

export function hashSessionToken(token: string): string {
  return SESSION_TOKEN_HASH_PREFIX + createHash('sha256').update(token).digest('base64url');
}

interface Where {
  field: string;
  value: unknown;
  operator?: string;
  connector?: string;
}

/** The adapter methods we touch; anything else passes through unchanged. */
interface AdapterLike {
  create(data: { model: string; data: Record<string, unknown>; [k: string]: unknown }): Promise<unknown>;
  findOne(data: { model: string; where: Where[]; [k: string]: unknown }): Promise<unknown>;
  findMany(data: { model: string; where?: Where[] | undefined; [k: string]: unknown }): Promise<unknown[]>;
  count(data: { model: string; where?: Where[] | undefined }): Promise<number>;
  update(data: { model: string; where: Where[]; update: Record<string, unknown> }): Promise<unknown>;
  updateMany(data: { model: string; where: Where[]; update: Record<string, unknown> }): Promise<number>;
  delete(data: { model: string; where: Where[] }): Promise<void>;
  deleteMany(data: { model: string; where: Where[] }): Promise<number>;
  consumeOne?(data: { model: string; where: Where[] }): Promise<unknown>;
  incrementOne?(data: { model: string; where: Where[]; increment: Record<string, number>; set?: Record<string, unknown> }): Promise<unknown>;
  transaction?: unknown;
}

const isSession = (model: string) => model === 'session' || model === 'sessions';

/**
 * Maps where-clauses on `token` to their hashes and remembers hash -> original so results can be
 * given back their original token. `allowHashed`: a value that already is a hash (Better Auth may
 * delete sessions by the tokens it listed, which are hashes) is used as it is; lookups never allow
 * it, so a stolen hash cannot stand in for a cookie's token.
 */
function mapWhere(where: Where[], allowHashed: boolean): { where: Where[]; originals: Map<string, string> };
function mapWhere(where: Where[] | undefined, allowHashed: boolean): { where: Where[] | undefined; originals: Map<string, string> };
function mapWhere(where: Where[] | undefined, allowHashed: boolean): { where: Where[] | undefined; originals: Map<string, string> } {
  const originals = new Map<string, string>();
  const one = (v: unknown): unknown => {
    if (typeof v !== 'string') return v;
    if (allowHashed && HASHED.test(v)) return v;
    const h = hashSessionToken(v);
    originals.set(h, v);
    return h;
  };
  return {
    originals,
    where: where?.map((w) => (w.field === 'token' ? { ...w, value: Array.isArray(w.value) ? w.value.map(one) : one(w.value) } : w)),
  };
}

function restore<T>(row: T, originals: Map<string, string>): T {
  if (!row || typeof row !== 'object') return row;
  const token = (row as { token?: unknown }).token;
  if (typeof token === 'string' && originals.has(token)) return { ...row, token: originals.get(token) };
  return row;
}

function hashData(data: Record<string, unknown>): { data: Record<string, unknown>; originals: Map<string, string> } {
  const originals = new Map<string, string>();
  if (typeof data.token !== 'string') return { data, originals };
  const h = hashSessionToken(data.token);
  originals.set(h, data.token);
  return { data: { ...data, token: h }, originals };
}

export function withHashedSessionTokens<A extends object>(adapter: A): A {
  const a = adapter as unknown as AdapterLike;
  const wrapped: AdapterLike = {
    ...a,
    async create(args) {
      if (!isSession(args.model)) return a.create(args);
      const { data, originals } = hashData(args.data);
      return restore(await a.create({ ...args, data }), originals);
    },
    async findOne(args) {
      if (!isSession(args.model)) return a.findOne(args);
      const { where, originals } = mapWhere(args.where, false);
      return restore(await a.findOne({ ...args, where }), originals);
    },
    async findMany(args) {
      if (!isSession(args.model)) return a.findMany(args);
      const { where, originals } = mapWhere(args.where, false);
      return (await a.findMany({ ...args, where })).map((r) => restore(r, originals));
    },
    async count(args) {
      if (!isSession(args.model)) return a.count(args);
      return a.count({ ...args, where: mapWhere(args.where, false).where });
    },
    async update(args) {
      if (!isSession(args.model)) return a.update(args);
      const { where, originals } = mapWhere(args.where, false);
      const { data: update, originals: fromUpdate } = hashData(args.update);
      for (const [k, v] of fromUpdate) originals.set(k, v);
      return restore(await a.update({ ...args, where, update }), originals);
    },
    async updateMany(args) {
      if (!isSession(args.model)) return a.updateMany(args);
      return a.updateMany({ ...args, where: mapWhere(args.where, false).where, update: hashData(args.update).data });
    },
    async delete(args) {
      if (!isSession(args.model)) return a.delete(args);
      return a.delete({ ...args, where: mapWhere(args.where, true).where });
    },
    async deleteMany(args) {
      if (!isSession(args.model)) return a.deleteMany(args);
      return a.deleteMany({ ...args, where: mapWhere(args.where, true).where });
    },
  };
  if (a.consumeOne) {
    const consumeOne = a.consumeOne.bind(a);
    wrapped.consumeOne = async (args) => {
      if (!isSession(args.model)) return consumeOne(args);
      const { where, originals } = mapWhere(args.where, false);
      return restore(await consumeOne({ ...args, where }), originals);
    };
  }
  if (a.incrementOne) {
    const incrementOne = a.incrementOne.bind(a);
    wrapped.incrementOne = async (args) => {
      if (!isSession(args.model)) return incrementOne(args);
      const { where, originals } = mapWhere(args.where, false);
      return restore(await incrementOne({ ...args, where }), originals);
    };
  }
  if (typeof a.transaction === 'function') {
    const transaction = a.transaction.bind(a) as (cb: (trx: object) => Promise<unknown>) => Promise<unknown>;
    wrapped.transaction = (cb: (trx: object) => Promise<unknown>) => transaction((trx) => cb(withHashedSessionTokens(trx)));
  }
  return wrapped as unknown as A;
}
