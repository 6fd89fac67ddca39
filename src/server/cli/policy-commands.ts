import { legalDocumentIds } from '../../shared/api/legal';
import { cliActor } from '../domain/admin/audit.service';
import { readLegalFile } from '../domain/privacy/policies.files';
import type { PlannedFile, PublishResult } from '../domain/privacy/policies.service';
import { AppError } from '../errors';
import type { Command } from './commands';

/**
 * `policy:publish` and `policy:list`: the operator publishes a new version of a legal document
 * (the same service start-up seeds with; a material change mails every active account and shows
 * a notice to signed-in users) and lists what is published.
 */

const describeFile = (f: PlannedFile, dryRun: boolean) => {
  const what = `${f.document} ${f.version} (${f.language})`;
  const material = f.material ? ', material change' : '';
  switch (f.outcome) {
    case 'published': {
      const replaces = f.currentVersion && f.currentVersion !== f.version ? `; replaces ${f.currentVersion} as the current version` : '';
      return `${what}: ${dryRun ? 'would be published' : 'published'}${material}${replaces}.`;
    }
    case 'unchanged':
      return `${what}: already published with this text; nothing to do.`;
    case 'conflict':
      return `${what}: already published with a different text; give the new text a new version.`;
  }
};

function describe(result: PublishResult, dryRun: boolean): string {
  const lines = result.files.map((f) => describeFile(f, dryRun));
  for (const m of result.mailings) {
    if (m.alreadyCreated) lines.push(`The notice of ${m.document} ${m.version} was already mailed; nobody is mailed again.`);
    else if (dryRun)
      lines.push(
        `Would mail ${m.recipients} account(s) about ${m.document} ${m.version}${m.subject ? ` (subject: "${m.subject}")` : ''}, and show the notice to signed-in users until they dismiss it.`,
      );
    else
      lines.push(
        `Mailing ${m.recipients} account(s) about ${m.document} ${m.version} (mailing ${m.id ?? m.dedupeKey}); signed-in users see the notice until they dismiss it.`,
      );
  }
  if (!result.mailings.length && result.files.some((f) => f.outcome === 'published'))
    lines.push(dryRun ? 'Not a material change: nobody would be mailed.' : 'Not a material change: nobody is mailed.');
  if (dryRun) lines.unshift('Dry run: nothing was published.');
  return lines.join('\n');
}

// (AppError rather than commands.ts's UsageError: a value import from commands.ts would be circular)
const usage = (message: string) => new AppError('invalid_request', message, 400);

export const policyCommands: Command[] = [
  {
    name: 'policy:publish',
    summary:
      'Publish a new version of a legal document from a Markdown file (--dry-run shows what would happen; a material change mails every active account).',
    usage: 'policy:publish --file en/privacy.md [--file es/privacy.md …] [--dry-run] [--by NAME] [--json]',
    options: {
      file: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
      by: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    // relative to where the CLI runs: made absolute before a running server gets the command
    pathOptions: ['file'],
    async run({ services }, v) {
      const given = v.file as unknown as string[] | undefined;
      if (!given?.length) throw usage('--file is required (repeat it to publish the languages of one version together).');
      const files = given.map((f) => readLegalFile(f));
      const dryRun = Boolean(v['dry-run']);
      const by = v.by === undefined ? 'cli' : String(v.by).trim().slice(0, 100) || 'cli';
      const result = dryRun ? await services.policies.plan(files) : await services.policies.publish(files, { publishedBy: by });
      if (!dryRun) {
        const actor = cliActor(v.by === undefined ? process.env : { ...process.env, SAVESORA_OPERATOR: by });
        for (const f of result.files.filter((x) => x.outcome === 'published')) {
          const mailing = result.mailings.find((m) => m.document === f.document && m.version === f.version);
          await services.audit.record(actor, {
            action: 'policy.publish',
            targetType: 'legal_document',
            targetId: `${f.document}/${f.language}`,
            before: { version: f.currentVersion ?? null },
            after: { version: f.version, material: f.material, ...(mailing?.id ? { mailing: mailing.id } : {}) },
          });
        }
      }
      if (v.json) return JSON.stringify({ dryRun, ...result });
      return describe(result, dryRun);
    },
  },
  {
    name: 'policy:list',
    summary: 'List the published versions of the legal documents (the current one marked).',
    usage: `policy:list [--document ${legalDocumentIds.join('|')}] [--json]`,
    options: { document: { type: 'string' }, json: { type: 'boolean', default: false } },
    async run({ services }, v) {
      if (v.document !== undefined && !(legalDocumentIds as readonly string[]).includes(String(v.document)))
        throw usage(`--document must be one of ${legalDocumentIds.join(', ')}.`);
      const rows = (await services.policies.list()).filter((r) => v.document === undefined || r.document === v.document);
      if (v.json) return JSON.stringify(rows.map((r) => ({ ...r, publishedAt: r.publishedAt.toISOString() })));
      if (!rows.length) return 'Nothing is published yet (the server publishes the shipped documents when it starts).';
      const head = ['DOCUMENT', 'VERSION', 'LANG', 'LAST UPDATED', 'PUBLISHED', 'MATERIAL', 'CURRENT', 'BY', 'TITLE'];
      const body = rows.map((r) => [
        r.document,
        r.version,
        r.language,
        r.lastUpdated,
        r.publishedAt.toISOString().slice(0, 16).replace('T', ' '),
        r.material,
        r.current ? 'yes' : '',
        r.publishedBy ?? 'shipped',
        r.title,
      ]);
      const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
      return [head, ...body]
        .map((row) =>
          row
            .map((c, i) => c.padEnd(widths[i] ?? 0))
            .join('  ')
            .trimEnd(),
        )
        .join('\n');
    },
  },
];
