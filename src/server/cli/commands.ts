import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Database } from '../db/client';
import { migrate } from '../db/migrate';
import { userRoles, type UserStatus } from '../db/schema';
import { AppError } from '../errors';
import type { Services } from '../context';
import { applyLedgerEntry, InsufficientCredits } from '../domain/credits/credits.repo';

/** What a CLI command may use; the same whether it runs in the CLI process or in a running server. */
export interface CommandContext {
  database: Database;
  services: Services;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CommandContext, values: Record<string, string | boolean | undefined>): Promise<string>;
}

export class UsageError extends Error {}

const json = { type: 'boolean', default: false } as const;

export const commands: Command[] = [
  {
    name: 'migrate',
    summary: 'Apply pending database migrations (start-up does this too).',
    usage: 'migrate',
    options: {},
    async run({ database }) {
      const { applied, total } = await migrate(database);
      return applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}.` : `Database is up to date (${total} migrations).`;
    },
  },
  {
    name: 'user:create',
    summary: 'Create a user with an email and password.',
    usage: 'user:create --email E --password P [--name N] [--role user|support|moderator|admin] [--credits N] [--json]',
    options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, credits: { type: 'string' }, json },
    async run({ services }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      if (!v.password) throw new UsageError('--password is required.');
      if (v.role !== undefined && !(userRoles as readonly string[]).includes(String(v.role))) {
        throw new UsageError(`--role must be one of ${userRoles.join(', ')}.`);
      }
      let credits = 0;
      if (v.credits !== undefined) {
        if (!/^\d+$/.test(String(v.credits))) throw new UsageError('--credits must be a whole number of credits (0 or more).');
        credits = Number(v.credits);
      }
      const user = await services.users.create({
        email: String(v.email),
        password: String(v.password),
        name: v.name === undefined ? '' : String(v.name),
        role: (v.role as (typeof userRoles)[number] | undefined) ?? 'user',
        credits,
      });
      if (v.json) return JSON.stringify(user);
      return `Created ${user.role} ${user.email} (id ${user.id}) with ${user.credits} credits.`;
    },
  },
  {
    name: 'user:list',
    summary: 'List users with their role, status and credit balance.',
    usage: 'user:list [--limit N] [--offset N] [--json]',
    options: { limit: { type: 'string' }, offset: { type: 'string' }, json },
    async run({ services }, v) {
      const num = (name: string, value: unknown, fallback: number) => {
        if (value === undefined) return fallback;
        if (!/^\d+$/.test(String(value))) throw new UsageError(`--${name} must be a whole number.`);
        return Number(value);
      };
      const users = await services.users.list({ limit: num('limit', v.limit, 100), offset: num('offset', v.offset, 0) });
      if (v.json) return JSON.stringify(users);
      if (!users.length) return 'No users yet. Create one with: npm run cli -- user:create --email E --password P';
      return table(
        ['EMAIL', 'ROLE', 'STATUS', 'CREDITS', 'CREATED', 'ID'],
        users.map((u) => [u.email, u.role, u.status, String(u.credits), u.createdAt.toISOString().slice(0, 19).replace('T', ' '), u.id]),
      );
    },
  },
  {
    name: 'user:role',
    summary: 'Give a user a role (user, support, moderator, admin).',
    usage: 'user:role --email E --role user|support|moderator|admin',
    options: { email: { type: 'string' }, role: { type: 'string' } },
    async run({ services }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      if (!(userRoles as readonly string[]).includes(String(v.role))) throw new UsageError(`--role must be one of ${userRoles.join(', ')}.`);
      const u = await services.users.setRole(String(v.email), v.role as (typeof userRoles)[number]);
      return `${u.email} is now ${u.role}.`;
    },
  },
  {
    name: 'user:suspend',
    summary: 'Suspend (or with --terminate, terminate) an account: signs it out and blocks sign-in and generation.',
    usage: 'user:suspend --email E [--reason TEXT] [--terminate]',
    options: { email: { type: 'string' }, reason: { type: 'string' }, terminate: { type: 'boolean', default: false } },
    async run({ services }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      const status: UserStatus = v.terminate ? 'terminated' : 'suspended';
      const u = await services.users.setStatus(String(v.email), status, v.reason === undefined ? undefined : String(v.reason));
      return `${u.email} is now ${u.status}; all of its sessions were ended.`;
    },
  },
  {
    name: 'user:reactivate',
    summary: 'Lift a suspension or termination.',
    usage: 'user:reactivate --email E',
    options: { email: { type: 'string' } },
    async run({ services }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      const u = await services.users.setStatus(String(v.email), 'active');
      return `${u.email} is active again.`;
    },
  },
  {
    name: 'credits:grant',
    summary: "Add credits to a user's balance (a ledger row with the reason; --amount=-N takes some back).",
    usage: 'credits:grant --email E --amount N --reason TEXT',
    options: { email: { type: 'string' }, amount: { type: 'string' }, reason: { type: 'string' } },
    async run({ database }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      if (!v.reason || !String(v.reason).trim()) throw new UsageError('--reason is required (it is kept in the ledger).');
      if (!/^-?\d{1,9}$/.test(String(v.amount ?? '')) || Number(v.amount) === 0) throw new UsageError('--amount must be a whole number of credits other than 0.');
      const amount = Number(v.amount);
      const [user] = await database.sql.query<{ id: string; email: string }>('select id, email from users where lower(email) = lower($1)', [String(v.email)]);
      if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);
      let balance: number | null;
      try {
        balance = await database.transaction((tx) =>
          applyLedgerEntry(tx, { userId: user.id, kind: amount > 0 ? 'grant' : 'adjustment', amount, reason: String(v.reason).trim(), reference: 'cli' }),
        );
      } catch (err) {
        if (err instanceof InsufficientCredits) throw new AppError('insufficient_credits', `${user.email} has fewer than ${-amount} spendable credits.`, 409);
        throw err;
      }
      return `${amount > 0 ? 'Granted' : 'Took back'} ${Math.abs(amount)} credits ${amount > 0 ? 'to' : 'from'} ${user.email}; balance ${balance}.`;
    },
  },
  {
    name: 'queue:probe',
    summary: 'Send probe jobs and report which worker ran each (checks that workers are alive).',
    usage: 'queue:probe [--count N] [--timeout SECONDS] [--json]',
    options: { count: { type: 'string' }, timeout: { type: 'string' }, json },
    async run({ services }, v) {
      const count = v.count === undefined ? 1 : Number(v.count);
      const timeout = v.timeout === undefined ? 15 : Number(v.timeout);
      if (!Number.isInteger(count) || count < 1 || count > 1000) throw new UsageError('--count must be a whole number from 1 to 1000.');
      if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 600) throw new UsageError('--timeout must be a number of seconds from 1 to 600.');
      const token = await services.probes.send(count);
      const result = await services.probes.waitFor(token, count, timeout * 1000);
      if (v.json) return JSON.stringify(result);
      const byWorker = new Map<string, number>();
      for (const r of result.runs) byWorker.set(r.workerId, (byWorker.get(r.workerId) ?? 0) + 1);
      const lines = [...byWorker].map(([w, n]) => `  ${w}: ${n}`);
      const head = `${result.runs.length} of ${count} probe job(s) ran within ${timeout}s.`;
      if (result.runs.length < count) throw new AppError('probe_timeout', `${head} Is a worker running (npm start, or --role=worker)?`, 504);
      return [head, ...lines].join('\n');
    },
  },
  {
    name: 'models:list',
    summary: 'List the video models with availability, price rule, lifecycle and route order.',
    usage: 'models:list [--json]',
    options: { json },
    async run({ services }, v) {
      const models = await services.catalog.list();
      if (v.json) return JSON.stringify(models);
      return table(
        ['MODEL', 'AVAILABLE', 'LIFECYCLE', 'PRICE/S', 'ROUTES'],
        models.map((m) => [
          m.id,
          m.available ? 'yes' : `no (${m.unavailableReason})`,
          m.lifecycle.state + (m.lifecycle.replacement ? ` -> ${m.lifecycle.replacement}` : ''),
          Object.entries(m.price.perSecond).map(([r, c]) => `${r}=${c}`).join(' ') + (m.overridden.price ? ' *' : ''),
          m.routes.map((r) => `${r.provider}${r.available ? '' : '(off)'}${r.unhealthyUntil ? '(resting)' : ''}`).join(' > ') || '-',
        ]),
      ) + '\n(* = price changed by an operator)';
    },
  },
  {
    name: 'models:set',
    summary: 'Change a model at run time: enable/disable, price, lifecycle, route order.',
    usage:
      'models:set --model ID [--enable|--disable] [--price 720p=10,1080p=14] [--audio-per-second N] [--per-reference N] [--minimum N]\n' +
      '           [--lifecycle active|deprecated|retired] [--replacement ID] [--sunset YYYY-MM-DD] [--note TEXT] [--routes kie,fal] [--by NAME]',
    options: {
      model: { type: 'string' },
      enable: { type: 'boolean' },
      disable: { type: 'boolean' },
      price: { type: 'string' },
      'audio-per-second': { type: 'string' },
      'per-reference': { type: 'string' },
      minimum: { type: 'string' },
      lifecycle: { type: 'string' },
      replacement: { type: 'string' },
      sunset: { type: 'string' },
      note: { type: 'string' },
      routes: { type: 'string' },
      by: { type: 'string' },
    },
    async run({ services }, v) {
      if (!v.model) throw new UsageError('--model is required.');
      const id = String(v.model);
      const current = await services.catalog.get(id);
      if (!current) throw new UsageError(`Unknown model ${id}.`);
      if (v.enable && v.disable) throw new UsageError('Use --enable or --disable, not both.');
      const number = (name: string, value: unknown) => {
        const n = Number(value);
        if (!/^\d+(\.\d+)?$/.test(String(value)) || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number (0 or more).`);
        return n;
      };
      const patch: Parameters<Services['catalog']['update']>[1] = {};
      if (v.enable) patch.enabled = true;
      if (v.disable) patch.enabled = false;
      const priceFlags = ['price', 'audio-per-second', 'per-reference', 'minimum'] as const;
      if (priceFlags.some((f) => v[f] !== undefined)) {
        const price = structuredClone(current.price);
        if (v.price !== undefined) {
          price.perSecond = { ...price.perSecond };
          for (const pair of String(v.price).split(',')) {
            const [res, rate] = pair.split('=');
            if (!res || rate === undefined) throw new UsageError('--price takes RESOLUTION=CREDITS pairs, e.g. 720p=10,1080p=14.');
            price.perSecond[res.trim()] = number('price', rate.trim());
          }
        }
        if (v['audio-per-second'] !== undefined) price.audioPerSecond = number('audio-per-second', v['audio-per-second']);
        if (v['per-reference'] !== undefined) price.perReference = number('per-reference', v['per-reference']);
        if (v.minimum !== undefined) price.minimum = number('minimum', v.minimum);
        patch.price = price;
      }
      if (['lifecycle', 'replacement', 'sunset', 'note'].some((f) => v[f] !== undefined)) {
        const lifecycle = { ...current.lifecycle };
        if (v.lifecycle !== undefined) lifecycle.state = String(v.lifecycle) as typeof lifecycle.state;
        if (v.replacement !== undefined) lifecycle.replacement = String(v.replacement);
        if (v.sunset !== undefined) lifecycle.sunsetDate = String(v.sunset);
        if (v.note !== undefined) lifecycle.note = String(v.note);
        patch.lifecycle = lifecycle;
      }
      if (v.routes !== undefined) patch.routeOrder = String(v.routes).split(',').map((p) => p.trim()).filter(Boolean);
      if (Object.keys(patch).length === 0) throw new UsageError('Nothing to change; see the usage.');
      const m = await services.catalog.update(id, patch, v.by ? String(v.by) : 'cli');
      return `${m.id}: ${m.available ? 'available' : `unavailable (${m.unavailableReason})`}, ${m.lifecycle.state}, ` +
        `price ${Object.entries(m.price.perSecond).map(([r, c]) => `${r}=${c}`).join(' ')} credits/s, routes ${m.routes.map((r) => r.provider).join(' > ') || 'none'}.`;
    },
  },
  {
    name: 'models:reset',
    summary: "Drop an operator's changes to a model (back to the built-in catalog).",
    usage: 'models:reset --model ID',
    options: { model: { type: 'string' } },
    async run({ services }, v) {
      if (!v.model) throw new UsageError('--model is required.');
      const m = await services.catalog.reset(String(v.model));
      return `${m.id} is back to its built-in settings.`;
    },
  },
];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}

export function parseCommandArgs(cmd: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: cmd.options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}\nUsage: npm run cli -- ${cmd.usage}`);
  }
}

/** Parse and run; used by the CLI process and by the server's admin socket alike. */
export async function runCommand(ctx: CommandContext, name: string, argv: string[]): Promise<string> {
  const cmd = findCommand(name);
  if (!cmd) throw new UsageError(`Unknown command "${name}". Run npm run cli -- --help for the list.`);
  return cmd.run(ctx, parseCommandArgs(cmd, argv));
}

export function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Save Sora operator CLI',
    '',
    'Usage: npm run cli -- <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run npm run cli -- <command> --help for a command\'s options.',
    'With the embedded database, commands go to the running server when there is one.',
  ].join('\n');
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
