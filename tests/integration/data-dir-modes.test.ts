import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig, type Config } from '../../src/server/config';
import { openDatabase, pgliteDir } from '../../src/server/db/client';
import { startPlatform } from '../../src/server/runtime';
import { ensurePgliteTemplate } from '../setup/template';

/**
 * DATA_DIR is private: after a start on the embedded database (file-backed PGlite, as `npm start`
 * runs it) nothing in it has a group or other permission bit, and a data folder left open by an
 * earlier version is repaired at start. The modes the test sets are set with chmod, which the
 * umask does not touch, so the result does not depend on the runner's umask.
 *
 * Creating a PGlite database takes 5-20 s here, so the database is written into DATA_DIR/pglite
 * from the migrated test template first (PGlite writes those files 0666, as it does its own).
 */

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-modes-'));
const dataDir = path.join(root, 'data');
beforeAll(async () => {
  const template = inject('pgliteTemplate') || (await ensurePgliteTemplate()); // '' on the PostgreSQL run
  fs.mkdirSync(dataDir);
  fs.chmodSync(dataDir, 0o755);
  const db = await openDatabase({ pgliteDataDir: pgliteDir(dataDir), loadDataDir: new Blob([fs.readFileSync(template)]) });
  await db.close();
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function configFor(dir: string): Config {
  // no DATABASE_URL on purpose (also on the PostgreSQL run): this is about the embedded database's files
  return {
    ...parseConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, LOG_LEVEL: 'info', NODE_ENV: 'test', LOCAL_PROVIDER: 'false' }),
    SESSION_SECRET: 'test-session-secret-that-is-long-enough-000',
    embeddedDatabase: true,
  };
}

/** start the web role on DATA_DIR, stop it, and answer its log lines */
async function startAndStop(dir: string): Promise<{ msg: string; fixed?: number }[]> {
  const lines: { msg: string; fixed?: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { msg: string });
      cb();
    },
  });
  const platform = await startPlatform({ config: configFor(dir), logger: pino({ level: 'debug' }, sink), role: 'web' });
  try {
    expect((await fetch(`${platform.url!}/readyz`)).status).toBe(200);
    return lines;
  } finally {
    await platform.stop({ graceful: false });
  }
}

/** every entry under dir (symlinks not followed) whose mode has a group or other bit */
function openEntries(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.mode & 0o077) out.push(`${path.relative(dir, p) || '.'} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
  return out;
}

const modeOf = (p: string) => fs.lstatSync(p).mode & 0o777;

describe('DATA_DIR permissions', () => {
  it('after a first start on a new DATA_DIR, nothing in it is open to group or others', async () => {
    expect(openEntries(dataDir).length).toBeGreaterThan(500); // the database files as PGlite wrote them
    await startAndStop(dataDir);
    expect(fs.existsSync(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
    const pgliteFiles = fs.readdirSync(path.join(dataDir, 'pglite'), { recursive: true }).length;
    expect(pgliteFiles).toBeGreaterThan(500); // the real embedded database, not an in-memory one
    expect(openEntries(dataDir)).toEqual([]);
    expect(modeOf(dataDir)).toBe(0o700);
    for (const sub of ['storage', 'outbox', 'c2pa', 'tmp', 'pglite']) expect(modeOf(path.join(dataDir, sub)), sub).toBe(0o700);
  }, 120_000);

  it('a data folder left open (0777 folders, 0666 files) is repaired at start; symbolic links are not followed', async () => {
    fs.chmodSync(dataDir, 0o755);
    fs.writeFileSync(path.join(dataDir, 'leftover.txt'), 'x');
    fs.chmodSync(path.join(dataDir, 'leftover.txt'), 0o666);
    fs.mkdirSync(path.join(dataDir, 'old', 'nested'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'old', 'nested', 'note.txt'), 'x');
    fs.chmodSync(path.join(dataDir, 'old', 'nested', 'note.txt'), 0o644);
    fs.chmodSync(path.join(dataDir, 'old', 'nested'), 0o777);
    fs.chmodSync(path.join(dataDir, 'old'), 0o777);
    fs.chmodSync(path.join(dataDir, 'pglite', 'PG_VERSION'), 0o666);
    // a link out of DATA_DIR: its target is not ours to change
    const outside = path.join(root, 'outside.txt');
    fs.writeFileSync(outside, 'x');
    fs.chmodSync(outside, 0o644);
    fs.symlinkSync(outside, path.join(dataDir, 'link-out'));
    expect(openEntries(dataDir).length).toBe(6);

    const lines = await startAndStop(dataDir);

    expect(openEntries(dataDir)).toEqual([]);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(path.join(dataDir, 'leftover.txt'))).toBe(0o600);
    expect(modeOf(path.join(dataDir, 'old'))).toBe(0o700);
    expect(modeOf(path.join(dataDir, 'old', 'nested'))).toBe(0o700);
    expect(modeOf(path.join(dataDir, 'old', 'nested', 'note.txt'))).toBe(0o600);
    expect(modeOf(path.join(dataDir, 'pglite', 'PG_VERSION'))).toBe(0o600);
    expect(modeOf(outside)).toBe(0o644);
    expect(fs.lstatSync(path.join(dataDir, 'link-out')).isSymbolicLink()).toBe(true);
    // the start says how many it repaired
    const repaired = lines.find((l) => l.msg.startsWith('DATA_DIR: removed group/other permissions'));
    expect(repaired?.fixed).toBe(6);
  }, 120_000);
});
