import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cliActor } from '../domain/admin/audit.service';
import { AppError } from '../errors';
import type { Command } from './commands';

// (AppError rather than commands.ts's UsageError: a value import from commands.ts would be circular)
const usage = (message: string) => new AppError('usage', message, 400);

/**
 * `user:export`: the same archive the export job builds (domain/privacy/export.archive.ts),
 * written straight to a local file in this process, without a job or the object store. The file
 * appears only once it is complete (written beside it under a temporary name, then renamed), and
 * an existing file is never overwritten.
 */
export const exportCommands: Command[] = [
  {
    name: 'user:export',
    summary: "Write a ZIP of a user's data (profile, creations and their files, orders, ledger, API and webhook records, moderation decisions…) to a file.",
    usage: 'user:export --email E --out FILE.zip [--json]',
    options: { email: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean', default: false } },
    pathOptions: ['out'],
    // a large account takes minutes; a running server writes the file itself, the CLI waits for it
    timeoutSeconds: 6 * 3600,
    async run({ services }, v) {
      if (!v.email) throw usage('--email is required.');
      if (!v.out || !String(v.out).trim()) throw usage('--out is required: the ZIP file to write, e.g. --out export.zip');
      const out = path.resolve(String(v.out));
      if (!out.toLowerCase().endsWith('.zip')) throw usage('--out must name a .zip file.');
      if (fs.existsSync(out)) throw new AppError('file_exists', `${out} already exists; choose another name (nothing was written).`, 409);
      if (!fs.existsSync(path.dirname(out))) throw new AppError('no_folder', `The folder ${path.dirname(out)} does not exist (nothing was written).`, 400);
      const user = await services.users.findByEmail(String(v.email));
      if (!user) throw new AppError('not_found', `No user with the email ${String(v.email)}.`, 404);

      const partial = path.join(path.dirname(out), `.${path.basename(out)}.${randomBytes(4).toString('hex')}.part`);
      const file = fs.createWriteStream(partial, { flags: 'wx', mode: 0o600 });
      try {
        const result = await services.exports.writeArchive(user.id, file);
        // durable, then visible under its name (never replacing a file that appeared meanwhile)
        const handle = await fs.promises.open(partial, 'r+');
        await handle.sync().finally(() => handle.close());
        await fs.promises.link(partial, out).catch(async (err: unknown) => {
          // a file system without hard links: copy, still refusing to replace a file
          if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
          await fs.promises.copyFile(partial, out, fs.constants.COPYFILE_EXCL);
        });
        await fs.promises.rm(partial, { force: true });
        await services.audit.record(cliActor(), { action: 'user.export', targetType: 'user', targetId: user.id, after: { file: out, bytes: result.bytes } });
        if (v.json) return JSON.stringify({ file: out, bytes: result.bytes, contents: result.contents });
        const counts = Object.entries(result.contents)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        return `Wrote ${out} (${result.bytes} bytes) for ${user.email}: ${counts}.`;
      } catch (err) {
        await fs.promises.rm(partial, { force: true }).catch(() => undefined);
        throw err;
      }
    },
  },
];
