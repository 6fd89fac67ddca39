import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Database } from '../db/client';
import { migrate } from '../db/migrate';
import { userRoles, type UserStatus } from '../db/schema';
import { AppError } from '../errors';
import type { Services } from '../context';
import { cliActor } from '../domain/admin/audit.service';
import { apiKeyScopes, type ApiKeyScope } from '../../shared/api/developer';
import { policyCommands } from './policy-commands';
import { mailingCommands } from './mailing-commands';
import { privacyCommands } from './privacy-commands';
import { exportCommands } from './export-commands';
import { auditCommands } from './audit-commands';
import { abuseCommands } from './abuse-commands';
import { json, table } from './format';

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
  /** options whose values are file paths: made absolute (against the CLI's folder) before a running server gets the command */
  pathOptions?: readonly string[];
  /** how long the CLI waits for a running server to answer this command (default 120 s) */
  timeoutSeconds?: number;
}

export class UsageError extends Error {}

/** The audit log's actor for a catalog command: the person at the terminal, or `--by NAME`. */
const operator = (v: Record<string, string | boolean | undefined>) =>
  typeof v.by === 'string' && v.by.trim() ? cliActor({ ...process.env, SAVESORA_OPERATOR: v.by.trim().slice(0, 100) }) : cliActor();
const reasonOf = (v: Record<string, string | boolean | undefined>) => (typeof v.reason === 'string' ? v.reason.trim().slice(0, 500) || null : null);

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
      const num = (name: string, value: string | boolean | undefined, fallback: number) => {
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
      const user = await services.users.findByEmail(String(v.email));
      if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);
      // the console's rules (the last active admin stays one) and an audit entry
      const u = await services.usersConsole.setRole(cliActor(), user.id, v.role as (typeof userRoles)[number]);
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
      const user = await services.users.findByEmail(String(v.email));
      if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);
      const u = await services.usersConsole.setStatus(cliActor(), user.id, status, v.reason === undefined ? null : String(v.reason));
      return `${u.email} is now ${u.status}; all of its sessions were ended.`;
    },
  },
  {
    name: 'user:delete',
    summary:
      'Delete an account: with --now at once (subscriptions canceled first; orders and safety cases kept under a pseudonym; what a legal hold covers stays until it ends), without it after the grace period (the user is mailed and may cancel).',
    usage: 'user:delete --email E --reason TEXT [--now] [--json]',
    options: { email: { type: 'string' }, reason: { type: 'string' }, now: { type: 'boolean', default: false }, json },
    async run({ services }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      if (!v.reason || !String(v.reason).trim()) throw new UsageError('--reason is required (it is kept with the deletion).');
      const user = await services.users.findByEmail(String(v.email));
      if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);
      const r = await services.usersConsole.deleteAccount(cliActor(), user.id, { when: v.now ? 'now' : 'grace', reason: String(v.reason) });
      if (r.outcome === 'scheduled') {
        if (v.json) return JSON.stringify({ outcome: 'scheduled', userId: user.id, deletionId: r.deletionId, dueAt: r.dueAt.toISOString() });
        return `${user.email} is scheduled for deletion on ${r.dueAt.toISOString().slice(0, 16).replace('T', ' ')} UTC (deletion ${r.deletionId}); they were signed out and mailed, and can cancel by signing in. Use --now to delete at once.`;
      }
      if (v.json) return JSON.stringify(r);
      const removed = `${r.removed.generations} creations and ${r.removed.media} references removed`;
      return r.outcome === 'deleted'
        ? `${user.email} is deleted: ${removed}; ${r.kept.orders ?? 0} orders and ${r.kept.moderationCases ?? 0} safety cases kept under the pseudonym ${r.subjectRef}.`
        : `${user.email} is closed and signed out: ${removed}; a legal hold keeps ${r.kept.generations} creations and ${r.kept.media} references, deleted when it ends.`;
    },
  },
  {
    name: 'user:reactivate',
    summary: "Lift a suspension or termination, and a payment dispute's hold on generation.",
    usage: 'user:reactivate --email E',
    options: { email: { type: 'string' } },
    async run({ services }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      const user = await services.users.findByEmail(String(v.email));
      if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);
      const u = await services.usersConsole.setStatus(cliActor(), user.id, 'active', null);
      return `${u.email} is active again.`;
    },
  },
  {
    name: 'credits:grant',
    summary: "Add credits to a user's balance (a ledger row with the reason; --amount=-N takes some back).",
    usage: 'credits:grant --email E --amount N --reason TEXT',
    options: { email: { type: 'string' }, amount: { type: 'string' }, reason: { type: 'string' } },
    async run({ services }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      if (!v.reason || !String(v.reason).trim()) throw new UsageError('--reason is required (it is kept in the ledger).');
      if (!/^-?\d{1,9}$/.test(String(v.amount ?? '')) || Number(v.amount) === 0)
        throw new UsageError('--amount must be a whole number of credits other than 0.');
      const amount = Number(v.amount);
      const user = await services.users.findByEmail(String(v.email));
      if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);
      // a deduction larger than the balance is a 409 that changes nothing
      const { balance } = await services.usersConsole.changeCredits(cliActor(), user.id, { amount, reason: String(v.reason) });
      return `${amount > 0 ? 'Granted' : 'Took back'} ${Math.abs(amount)} credits ${amount > 0 ? 'to' : 'from'} ${user.email}; balance ${balance}.`;
    },
  },
  {
    name: 'stats:rollup',
    summary: "Bring the console dashboard's aggregates up to date now (the admin.stats-rollup job does it every minute).",
    usage: 'stats:rollup [--json]',
    options: { json },
    async run({ services }, v) {
      const r = await services.stats.rollup();
      if (v.json) return JSON.stringify(r);
      const history = r.historyComplete ? 'history complete' : `history from ${r.historyFrom.toISOString()} (older weeks follow, one per run)`;
      return `Dashboard aggregates up to date through ${r.computedThrough.toISOString()}; ${history}.`;
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
      return (
        table(
          ['MODEL', 'AVAILABLE', 'LIFECYCLE', 'PRICE/S', 'ROUTES'],
          models.map((m) => [
            m.id,
            m.available ? 'yes' : `no (${m.unavailableReason ?? 'unknown'})`,
            m.lifecycle.state + (m.lifecycle.replacement ? ` -> ${m.lifecycle.replacement}` : ''),
            Object.entries(m.price.perSecond)
              .map(([r, c]) => `${r}=${c}`)
              .join(' ') + (m.overridden.price ? ' *' : ''),
            m.routes.map((r) => `${r.provider}${r.available ? '' : '(off)'}${r.unhealthyUntil ? '(resting)' : ''}`).join(' > ') || '-',
          ]),
        ) + '\n(* = price changed by an operator)'
      );
    },
  },
  {
    name: 'models:set',
    summary: 'Change a model at run time: enable/disable, price, lifecycle, route order.',
    usage:
      'models:set --model ID [--enable|--disable] [--price 720p=10,1080p=14] [--audio-per-second N] [--per-reference N] [--minimum N]\n' +
      '           [--lifecycle active|deprecated|retired] [--replacement ID] [--sunset YYYY-MM-DD] [--note TEXT] [--routes kie,fal] [--reason TEXT] [--by NAME]',
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
      reason: { type: 'string' },
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
      if (v.routes !== undefined)
        patch.routeOrder = String(v.routes)
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
      if (Object.keys(patch).length === 0) throw new UsageError('Nothing to change; see the usage.');
      const m = await services.catalogConsole.updateModel(operator(v), id, patch, reasonOf(v));
      return (
        `${m.id}: ${m.available ? 'available' : `unavailable (${m.unavailableReason ?? 'unknown'})`}, ${m.lifecycle.state}, ` +
        `price ${Object.entries(m.price.perSecond)
          .map(([r, c]) => `${r}=${c}`)
          .join(' ')} credits/s, routes ${m.routes.map((r) => r.provider).join(' > ') || 'none'}.`
      );
    },
  },
  {
    name: 'models:reset',
    summary: "Drop an operator's changes to a model (back to the built-in catalog).",
    usage: 'models:reset --model ID [--reason TEXT] [--by NAME]',
    options: { model: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' } },
    async run({ services }, v) {
      if (!v.model) throw new UsageError('--model is required.');
      const m = await services.catalogConsole.resetModel(operator(v), String(v.model), reasonOf(v));
      return `${m.id} is back to its built-in settings.`;
    },
  },
  {
    name: 'plans:list',
    summary: 'List the credit packs and subscriptions with their prices and provider ids.',
    usage: 'plans:list [--json]',
    options: { json },
    async run({ services }, v) {
      const plans = await services.billing.allPlans();
      if (v.json) return JSON.stringify(plans);
      return table(
        ['PLAN', 'KIND', 'CREDITS', 'PRICES', 'ACTIVE', 'PROVIDER IDS'],
        plans.map((p) => [
          p.id,
          p.kind === 'subscription' ? `subscription/${p.interval ?? 'month'}${p.rollover ? ' (rollover)' : ''}` : 'pack',
          String(p.credits),
          Object.entries(p.prices)
            .map(([c, a]) => `${c}=${a}`)
            .join(' '),
          p.active ? 'yes' : 'no',
          Object.entries(p.providerRefs)
            .map(([k, val]) => `${k}=${String(val)}`)
            .join(' ') || '-',
        ]),
      );
    },
  },
  {
    name: 'plans:set',
    summary: 'Create or change a plan: name, credits, prices (minor units), rollover, provider ids, on sale or not.',
    usage:
      'plans:set --plan ID [--name N] [--kind pack|subscription] [--credits N] [--prices usd=999,eur=899] [--interval month|year]\n' +
      '          [--rollover|--no-rollover] [--activate|--deactivate] [--highlight|--no-highlight] [--stripe-price price_…] [--creem-product prod_…] [--sort N]\n' +
      '          [--api-rate N|default]   (API requests per minute for subscribers of this plan)\n' +
      '          [--reason TEXT] [--by NAME]',
    options: {
      plan: { type: 'string' },
      name: { type: 'string' },
      kind: { type: 'string' },
      credits: { type: 'string' },
      prices: { type: 'string' },
      interval: { type: 'string' },
      rollover: { type: 'boolean' },
      'no-rollover': { type: 'boolean' },
      activate: { type: 'boolean' },
      deactivate: { type: 'boolean' },
      highlight: { type: 'boolean' },
      'no-highlight': { type: 'boolean' },
      'stripe-price': { type: 'string' },
      'creem-product': { type: 'string' },
      sort: { type: 'string' },
      'api-rate': { type: 'string' },
      reason: { type: 'string' },
      by: { type: 'string' },
    },
    async run({ services }, v) {
      // the rules (what a plan needs, valid prices and rates) are the catalog console's, the same as in the console
      if (!v.plan) throw new UsageError('--plan is required: lowercase letters, digits and dashes.');
      const id = String(v.plan);
      const current = await services.billing.plan(id);
      const whole = (name: string, value: unknown) => {
        if (!/^\d+$/.test(String(value))) throw new UsageError(`--${name} must be a whole number.`);
        return Number(value);
      };
      let prices: Record<string, number> | undefined;
      if (v.prices !== undefined) {
        prices = { ...(current?.prices ?? {}) };
        for (const pair of String(v.prices).split(',')) {
          const [cur, amount] = pair.split('=').map((x) => x.trim());
          if (!cur || amount === undefined) throw new UsageError('--prices takes CURRENCY=MINOR_UNITS pairs, e.g. usd=999,eur=899.');
          prices[cur] = whole('prices', amount);
        }
      }
      if (v.kind !== undefined && v.kind !== 'pack' && v.kind !== 'subscription') throw new UsageError('--kind must be pack or subscription.');
      if (v.interval !== undefined && v.interval !== 'month' && v.interval !== 'year') throw new UsageError('--interval must be month or year.');
      const flag = (on: string, off: string) => (v[on] ? true : v[off] ? false : undefined);
      const text = (value: string | boolean | undefined) => (value === undefined ? undefined : String(value));
      const p = await services.catalogConsole.savePlan(
        operator(v),
        id,
        {
          name: text(v.name),
          kind: v.kind,
          credits: v.credits === undefined ? undefined : whole('credits', v.credits),
          prices,
          interval: v.interval,
          rollover: flag('rollover', 'no-rollover'),
          active: flag('activate', 'deactivate'),
          highlighted: flag('highlight', 'no-highlight'),
          sort: v.sort === undefined ? undefined : whole('sort', v.sort),
          apiRequestsPerMinute: v['api-rate'] === undefined ? undefined : String(v['api-rate']) === 'default' ? null : whole('api-rate', v['api-rate']),
          providerRefs: { stripePriceId: text(v['stripe-price']), creemProductId: text(v['creem-product']) },
        },
        { create: true, reason: reasonOf(v) },
      );
      return `${p.id}: ${p.name}, ${p.kind}, ${p.credits} credits, ${Object.entries(p.prices)
        .map(([c, a]) => `${c}=${a}`)
        .join(' ')}, ${p.active ? 'on sale' : 'not on sale'}.`;
    },
  },
  {
    name: 'billing:orders',
    summary: "List a user's orders (or the latest of everyone's).",
    usage: 'billing:orders [--email E] [--limit N] [--json]',
    options: { email: { type: 'string' }, limit: { type: 'string' }, json },
    async run({ services }, v) {
      const limit = v.limit !== undefined ? Number(v.limit) : 20;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new UsageError('--limit must be 1 to 500.');
      const orders = await services.billing.latestOrders({ email: v.email ? String(v.email) : undefined, limit });
      if (v.json) return JSON.stringify(orders);
      return table(
        ['ORDER', 'CREATED', 'PLAN', 'AMOUNT', 'PROVIDER', 'STATUS', 'REFUNDED', 'CREDITS', 'SHORTFALL'],
        orders.map((o) => [
          o.id,
          o.createdAt.toISOString().slice(0, 16),
          o.planId,
          `${o.amountMinor} ${o.currency}`,
          o.provider,
          o.status,
          String(o.refundedMinor),
          `${o.creditsGranted - o.creditsClawedBack}/${o.credits}`,
          String(o.clawbackShortfall),
        ]),
      );
    },
  },
  {
    name: 'billing:refund',
    summary: 'Refund an order fully or partly through its payment provider; the credits bought are taken back.',
    usage: 'billing:refund --order ID [--amount MINOR_UNITS] [--reason TEXT] [--by NAME]',
    options: { order: { type: 'string' }, amount: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' } },
    async run({ services }, v) {
      if (!v.order) throw new UsageError('--order is required.');
      if (v.amount !== undefined && !/^\d+$/.test(String(v.amount))) throw new UsageError('--amount must be a whole number of minor units (cents).');
      const amountMinor = v.amount !== undefined ? Number(v.amount) : undefined;
      if (amountMinor === 0) throw new UsageError('--amount must be at least 1.');
      // the console's refund: the same rules, recorded in the audit log
      const { order: o } = await services.ordersConsole.refund(operator(v), String(v.order), { amountMinor, reason: reasonOf(v) });
      return (
        `${o.id}: ${o.status}, refunded ${o.refundedMinor} of ${o.paidMinor || o.amountMinor} ${o.currency}; credits taken back ${o.creditsClawedBack}` +
        (o.clawbackShortfall ? `, ${o.clawbackShortfall} already spent (recorded; the account is flagged)` : '') +
        '.'
      );
    },
  },
  {
    name: 'billing:reconcile',
    summary: 'Fetch recent payment events from the providers and apply any the webhooks missed.',
    usage: 'billing:reconcile [--hours N | --order ID] [--by NAME]',
    options: { hours: { type: 'string' }, order: { type: 'string' }, by: { type: 'string' } },
    async run({ services }, v) {
      if (v.order !== undefined) {
        // one order: the console's reconcile, recorded in the audit log
        const r = await services.ordersConsole.reconcileOrder(operator(v), String(v.order));
        return `${r.order.id}: ${r.order.status}; ${r.matched} of ${r.fetched} provider event(s) since ${r.since} were about this order, ${r.applied} of them missing and now applied.`;
      }
      const hours = v.hours !== undefined ? Number(v.hours) : 72;
      if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 30) throw new UsageError('--hours must be 1 to 720.');
      const r = await services.ordersConsole.reconcileAll(operator(v), { sinceHours: hours });
      return `Looked at ${r.fetched} provider event(s); applied ${r.applied} that were missing, and ${r.deferredApplied} that had been waiting.`;
    },
  },
  {
    name: 'apikey:create',
    summary: 'Create an API key for a user; prints the secret once.',
    usage: 'apikey:create --email E --name N [--scopes videos:read,videos:write] [--expires-days N] [--json]',
    options: { email: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'string' }, 'expires-days': { type: 'string' }, json },
    async run({ services }, v) {
      if (!v.email) throw new UsageError('--email is required.');
      if (!v.name) throw new UsageError('--name is required.');
      const scopes =
        v.scopes === undefined
          ? undefined
          : String(v.scopes)
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean);
      if (scopes && scopes.some((x) => !(apiKeyScopes as readonly string[]).includes(x)))
        throw new UsageError(`--scopes must be among ${apiKeyScopes.join(', ')}.`);
      const days = v['expires-days'] === undefined ? undefined : Number(v['expires-days']);
      if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650)) throw new UsageError('--expires-days must be 1 to 3650.');
      const u = await services.users.findByEmail(String(v.email));
      if (!u) throw new UsageError(`No user with the email ${String(v.email)}.`);
      const key = await services.developer.createKey(u.id, {
        name: String(v.name),
        ...(scopes ? { scopes: scopes as ApiKeyScope[] } : {}),
        ...(days ? { expiresInDays: days } : {}),
      });
      if (v.json) return JSON.stringify(key);
      return `Created key ${key.name} (${key.prefix}…, ${key.scopes.join(' ')}${key.expiresAt ? `, expires ${key.expiresAt.slice(0, 10)}` : ''}). The secret, shown only now:\n${key.secret}`;
    },
  },
  {
    name: 'secrets:reseal',
    summary: 'After rotating SESSION_SECRET: encrypt stored secrets (webhook endpoints, Google tokens) with the new one.',
    usage: 'secrets:reseal [--json]',
    options: { json },
    async run({ services }, v) {
      const r = await services.webhooks.resealSecrets();
      const o = await services.oauthTokens.reseal();
      await services.audit.record(cliActor(), { action: 'secrets.reseal', targetType: 'secrets', after: { webhookEndpoints: r, googleAccounts: o } });
      const st = await services.settings.resealSecrets();
      if (v.json) return JSON.stringify({ ...r, oauthAccounts: o, consoleSettings: st });
      const lines = [
        `Checked ${r.checked} webhook endpoint secret(s): ${r.resealed} moved to the current SESSION_SECRET.`,
        `Checked ${o.checked} Google account(s): ${o.resealed} had their stored tokens moved to the current SESSION_SECRET.`,
        `Checked ${st.checked} setting(s) saved in the console: ${st.resealed} moved to the current SESSION_SECRET.`,
      ];
      if (st.unreadable) lines.push(`${st.unreadable} console setting(s) no configured secret opens; set them again in the console (Settings).`);
      if (r.unreadable)
        lines.push(
          `${r.unreadable} could not be opened with SESSION_SECRET or SESSION_SECRET_PREVIOUS; their owners must delete and re-create those endpoints to get a new secret.`,
        );
      if (o.unreadable)
        lines.push(
          `${o.unreadable} Google account(s) hold tokens no configured secret opens; they are renewed the next time those people sign in with Google.`,
        );
      if (!r.unreadable && !o.unreadable && !st.unreadable)
        lines.push(
          'Nothing needs the old secret any more: SESSION_SECRET_PREVIOUS can be removed once links signed before the rotation have expired (7 days at most).',
        );
      return lines.join('\n');
    },
  },
  ...policyCommands,
  ...mailingCommands,
  ...privacyCommands,
  ...exportCommands,
  ...auditCommands,
  ...abuseCommands,
];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}

export function parseCommandArgs(cmd: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: cmd.options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0] ?? ''}\nUsage: npm run cli -- ${cmd.usage}`);
  }
}

/**
 * `argv` with the values of the command's path options made absolute against `cwd`, so that a
 * command handed to a running server (which has its own working folder) names the same files.
 */
export function withAbsolutePaths(cmd: Command, argv: string[], cwd: string): string[] {
  if (!cmd.pathOptions?.length) return argv;
  const out = [...argv];
  const { tokens } = parseArgs({ args: argv, options: cmd.options, strict: true, allowPositionals: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option' || !cmd.pathOptions.includes(token.name) || token.value === undefined) continue;
    const absolute = path.resolve(cwd, token.value);
    if (token.inlineValue) out[token.index] = `${token.rawName}=${absolute}`;
    else out[token.index + 1] = absolute;
  }
  return out;
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
    "Run npm run cli -- <command> --help for a command's options.",
    'With the embedded database, commands go to the running server when there is one.',
  ].join('\n');
}
