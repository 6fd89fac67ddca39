import fs from 'node:fs';
import path from 'node:path';
import type { MailingKind } from '../db/schema';
import { cliActor } from '../domain/admin/audit.service';
import { parseMailingFile, type MailingContent, type MailingSummary } from '../domain/privacy/mailings.service';
import { supportedLanguages } from '../../shared/languages';
import { AppError } from '../errors';
import type { Command, CommandContext } from './commands';

/**
 * Mailings from the command line (privacy policy 4.5, 2 and 5): the business-transfer notice to
 * every account, a product update to those who opted in (each with a preview and a dry run), and
 * the progress of every mailing. The server's workers do the sending.
 *
 * The file is JSON. A business transfer:
 *   {"key": "acme-2027", "newOwner": "Acme Media Inc.", "effectiveDate": "2027-03-01",
 *    "message": {"en": "…", "es": "…"}, "url": "https://…"}            (url optional)
 * A product update:
 *   {"key": "2027-01-news", "title": {"en": "…", "es": "…"}, "body": {"en": "…", "es": "…"},
 *    "url": "https://…", "buttonLabel": {"en": "…", "es": "…"}}      (url and buttonLabel optional)
 * `key` names the mailing: running the command again with the same key mails nobody again.
 */

// (AppError rather than commands.ts's UsageError: a value import from commands.ts would be circular)
const usage = (message: string) => new AppError('invalid_request', message, 400);

const fileKinds = {
  'business-transfer': { prefix: 'business-transfer:', audience: 'every active or suspended account (a service notice: email preferences do not apply)' },
  'product-update': { prefix: 'product-update:', audience: 'the active, verified accounts that opted in to product updates' },
} as const;

function readFile(file: unknown): string {
  if (typeof file !== 'string' || !file.trim()) throw usage('--file is required (a JSON file; see the usage).');
  // relative paths are resolved where the command runs (the server's folder when it is handed to a running server)
  const resolved = path.resolve(file);
  try {
    const stat = fs.statSync(resolved);
    if (!stat.isFile()) throw usage(`${resolved} is not a file.`);
    if (stat.size > 1024 * 1024) throw usage(`${resolved} is larger than 1 MB; a mailing is a few paragraphs.`);
    return fs.readFileSync(resolved, 'utf8');
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw usage(`Cannot read ${resolved}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
  }
}

function previewText(ctx: CommandContext, kind: MailingKind, content: MailingContent): string {
  return supportedLanguages
    .map((lang) => {
      const m = ctx.services.mailings.preview(kind, content, lang);
      const headers = Object.entries(m.headers).map(([k, v]) => `${k}: ${v}\n`);
      return `--- ${lang} ---\nSubject: ${m.subject}\n${headers.join('')}\n${m.text.trimEnd()}`;
    })
    .join('\n\n');
}

function fileCommand(name: string, kind: keyof typeof fileKinds, summary: string): Command {
  const { prefix, audience } = fileKinds[kind];
  return {
    name,
    summary,
    usage: `${name} --file FILE.json [--dry-run] [--json]`,
    options: { file: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    async run(ctx, v) {
      const { key, content } = parseMailingFile(kind, readFile(v.file));
      const dedupeKey = `${prefix}${key}`;
      const mailings = ctx.services.mailings;
      if (v['dry-run']) {
        const [existing] = await mailings.status({ idOrKey: dedupeKey, limit: 1 });
        const recipients = existing ? 0 : await mailings.countRecipients(kind);
        if (v.json) {
          const previews = Object.fromEntries(supportedLanguages.map((l) => [l, mailings.preview(kind, content, l)]));
          return JSON.stringify({ dryRun: true, dedupeKey, alreadyCreated: existing?.id ?? null, recipients, previews });
        }
        const head = existing
          ? `Dry run: nothing was sent. A mailing with the key ${key} was already created on ${existing.createdAt.toISOString().slice(0, 16).replace('T', ' ')} (${existing.id}): running this again would mail nobody.`
          : `Dry run: nothing was sent. It would mail ${recipients} account(s): ${audience}.`;
        return `${head}\n\n${previewText(ctx, kind, content)}`;
      }
      // the mailing and its audit entry commit together
      const r = await ctx.database.transaction(async (tx) => {
        const made = await mailings.create({ kind, dedupeKey, content, createdBy: 'cli' }, tx);
        if (made.created)
          await ctx.services.audit.record(
            cliActor(),
            { action: 'mailing.create', targetType: 'mailing', targetId: made.id, after: { kind, key: dedupeKey, recipients: made.recipients } },
            tx,
          );
        return made;
      });
      if (v.json) return JSON.stringify(r);
      return r.created
        ? `Mailing ${r.id} created for ${r.recipients} account(s). The server's workers send it in the background; follow it with: npm run cli -- mailing:status --id ${r.id}`
        : `A mailing with the key ${key} already exists (${r.id}, ${r.recipients} recipient(s)): nobody was mailed again.`;
    },
  };
}

const row = (m: MailingSummary) => [
  m.id,
  m.kind,
  m.dedupeKey,
  m.status,
  m.createdAt.toISOString().slice(0, 16).replace('T', ' '),
  String(m.sent),
  String(m.pending),
  String(m.failed),
  String(m.skipped),
];

export const mailingCommands: Command[] = [
  fileCommand(
    'notice:business-transfer',
    'business-transfer',
    'Mail the change-of-ownership notice (policy 4.5) to every account, from a JSON file (--dry-run previews it and counts the accounts).',
  ),
  fileCommand(
    'mail:product-update',
    'product-update',
    'Mail a product update to the accounts that opted in, from a JSON file (--dry-run previews it and counts the accounts).',
  ),
  {
    name: 'mailing:status',
    summary: 'Show the mailings (notices and product updates) and how many of their recipients were sent, are pending, failed or were skipped.',
    usage: 'mailing:status [--id ID_OR_KEY] [--limit N] [--json]',
    options: { id: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean', default: false } },
    async run({ services }, v) {
      const limit = v.limit === undefined ? 20 : Number(v.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw usage('--limit must be a whole number from 1 to 500.');
      const id = v.id === undefined ? undefined : String(v.id).trim();
      const rows = await services.mailings.status({ limit, ...(id ? { idOrKey: id } : {}) });
      if (v.json) return JSON.stringify(rows.map((m) => ({ ...m, createdAt: m.createdAt.toISOString(), finishedAt: m.finishedAt?.toISOString() ?? null })));
      if (!rows.length) return id ? `No mailing has the id or key ${id}.` : 'No mailing was created yet.';
      const head = ['ID', 'KIND', 'KEY', 'STATUS', 'CREATED', 'SENT', 'PENDING', 'FAILED', 'SKIPPED'];
      const body = rows.map(row);
      const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
      const line = (r: string[]) =>
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd();
      return [line(head), ...body.map(line)].join('\n');
    },
  },
];
