import { auditTrail, cliActor } from '../domain/admin/audit.service';
import { AppError } from '../errors';
import type { Command } from './commands';
import { json, table } from './format';

// (AppError rather than commands.ts's UsageError: a value import from commands.ts would be circular)
const usage = (message: string) => new AppError('invalid_request', message, 400);

const operator = (v: Record<string, string | boolean | undefined>) =>
  typeof v.by === 'string' && v.by.trim() ? cliActor({ ...process.env, SAVESORA_OPERATOR: v.by.trim().slice(0, 100) }) : cliActor();

const domainOf = (v: Record<string, string | boolean | undefined>) => {
  if (typeof v.domain !== 'string' || !v.domain.trim()) throw usage('--domain is required.');
  return v.domain;
};

/**
 * The operator's own disposable-mail domains (issue 19), besides the maintained list: sign-ups with
 * an address at one of them or any of its subdomains are refused. Each change is audited.
 */
export const abuseCommands: Command[] = [
  {
    name: 'abuse:domains:list',
    summary: 'List the disposable-mail domains you added (the maintained list applies too).',
    usage: 'abuse:domains:list [--json]',
    options: { json },
    async run({ services }, v) {
      const list = await services.emailRules.list();
      if (v.json) return JSON.stringify(list);
      const head = `The maintained list holds ${list.maintainedCount} domains.`;
      if (!list.items.length) return `${head} You have added none.`;
      return `${head}\n${table(
        ['DOMAIN', 'ADDED (UTC)', 'BY', 'NOTE'],
        list.items.map((d) => [d.domain, d.addedAt.slice(0, 19).replace('T', ' '), d.addedBy ?? '', d.note ?? '']),
      )}`;
    },
  },
  {
    name: 'abuse:domains:add',
    summary: 'Refuse sign-ups with addresses at a domain (and its subdomains).',
    usage: 'abuse:domains:add --domain D [--note TEXT] [--by NAME]',
    options: { domain: { type: 'string' }, note: { type: 'string' }, by: { type: 'string' } },
    async run({ services }, v) {
      const note = typeof v.note === 'string' ? v.note.trim().slice(0, 500) : undefined;
      const actor = operator(v);
      const d = await services.emailRules.add({ domain: domainOf(v), ...(note ? { note } : {}) }, actor.label, auditTrail(services.audit, actor));
      return `Sign-ups at ${d.domain} and its subdomains are refused from now on.`;
    },
  },
  {
    name: 'abuse:domains:remove',
    summary: 'Remove a domain you added from the disposable-mail list.',
    usage: 'abuse:domains:remove --domain D [--by NAME]',
    options: { domain: { type: 'string' }, by: { type: 'string' } },
    async run({ services }, v) {
      const domain = domainOf(v);
      await services.emailRules.remove(domain, auditTrail(services.audit, operator(v)));
      return `Removed ${domain.trim().toLowerCase()} from your list.`;
    },
  },
];
