import fs from 'node:fs';
import path from 'node:path';

/**
 * DATA_DIR holds the embedded database, generated secrets, the C2PA key, stored media and mail:
 * nothing in it is for other users of the machine.
 *
 * - The server and the CLI set the umask to 0077 before creating anything (`usePrivateUmask`), so
 *   what they create is 0700 / 0600.
 * - PGlite does not honour the umask for its files (measured: 968 files 0666 even under umask
 *   0077; its directories do follow it), so DATA_DIR and its folders are 0700: nothing below them
 *   can be reached by anyone else whatever its own mode.
 * - At start, the modes of everything in DATA_DIR are repaired (`repairModes`): group and other
 *   bits are removed (0700 directories, 0600 files, owner bits untouched), without following
 *   symbolic links. This fixes data folders made by earlier versions and the files PGlite has
 *   just created. The disk store (`storage`, which can hold millions of files: a walk costs about
 *   1.6 s per 100,000 files here) is walked in full once, on the first start that finds no
 *   `.modes-repaired` marker; later starts look only at its top, since what this version stores
 *   there is created private.
 */

export const PRIVATE_UMASK = 0o077;

/** Folders of DATA_DIR created private at start (the embedded database makes `pglite` itself). */
export const DATA_SUBDIRS = ['storage', 'outbox', 'c2pa', 'tmp'] as const;

/** written once everything in DATA_DIR, the disk store included, has been repaired */
export const MODES_MARKER = '.modes-repaired';

/** large folders walked in full only while the marker is missing */
const LARGE_SUBDIRS = ['storage'];

/** Set the process umask to 0077. No-op where the umask cannot be set (worker threads). */
export function usePrivateUmask(): void {
  try {
    process.umask(PRIVATE_UMASK);
  } catch {
    /* worker threads cannot change the umask; the repair below still applies */
  }
}

export interface RepairResult {
  /** entries whose group/other bits were removed */
  fixed: number;
  /** entries looked at */
  checked: number;
  /** entries that could not be changed (not ours): path and reason */
  failed: { path: string; error: string }[];
}

/**
 * Remove group and other permission bits from `root` and everything below it. Symbolic links are
 * neither changed nor followed (a link in DATA_DIR cannot make us chmod a file elsewhere).
 * Directories in `shallow` are repaired with their direct entries, but not walked further.
 */
export function repairModes(root: string, opts: { shallow?: readonly string[] } = {}): RepairResult {
  const result: RepairResult = { fixed: 0, checked: 0, failed: [] };
  const shallow = new Set((opts.shallow ?? []).map((p) => path.resolve(p)));
  const visit = (p: string, depth = Infinity) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (err) {
      // gone meanwhile (a temporary file): nothing to repair
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') result.failed.push({ path: p, error: (err as Error).message });
      return;
    }
    if (st.isSymbolicLink()) return;
    result.checked++;
    if (st.mode & 0o077) {
      try {
        fs.chmodSync(p, st.mode & 0o7700);
        result.fixed++;
      } catch (err) {
        result.failed.push({ path: p, error: (err as Error).message });
      }
    }
    if (!st.isDirectory() || depth <= 0) return;
    let entries: string[];
    try {
      entries = fs.readdirSync(p);
    } catch (err) {
      result.failed.push({ path: p, error: (err as Error).message });
      return;
    }
    for (const name of entries) {
      const child = path.join(p, name);
      visit(child, shallow.has(path.resolve(child)) ? 1 : depth - 1);
    }
  };
  visit(root);
  return result;
}

/** What Save Sora itself keeps at the top of DATA_DIR. */
const OWN_ENTRIES = [...DATA_SUBDIRS, 'pglite', 'secrets.json', MODES_MARKER];

/**
 * DATA_DIR set to a folder that is also something else (`DATA_DIR=.` in a checkout, a home folder):
 * then only our own entries are repaired, never the user's other files.
 */
function sharedFolder(dataDir: string): boolean {
  return ['package.json', '.git', 'node_modules', '.bashrc', '.profile'].some((n) => fs.existsSync(path.join(dataDir, n)));
}

function repairIn(dataDir: string): RepairResult {
  const shallow = largeFolders(dataDir);
  if (!sharedFolder(dataDir)) return repairModes(dataDir, { shallow });
  const total: RepairResult = { fixed: 0, checked: 0, failed: [] };
  for (const name of OWN_ENTRIES) {
    const p = path.join(dataDir, name);
    if (!fs.existsSync(p)) continue;
    const r = repairModes(p, { shallow });
    total.fixed += r.fixed;
    total.checked += r.checked;
    total.failed.push(...r.failed);
  }
  return total;
}

/** The disk store's folder is walked in full only until the marker exists. */
function largeFolders(dataDir: string): string[] {
  return fs.existsSync(path.join(dataDir, MODES_MARKER)) ? LARGE_SUBDIRS.map((d) => path.join(dataDir, d)) : [];
}

/**
 * Make DATA_DIR and its folders exist as private directories, then repair the modes of
 * everything in it. Returns what the repair did (the caller logs it).
 */
export function prepareDataDir(dataDir: string, subdirs: readonly string[] = DATA_SUBDIRS): RepairResult {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const sub of subdirs) fs.mkdirSync(path.join(dataDir, sub), { recursive: true, mode: 0o700 });
  const marker = path.join(dataDir, MODES_MARKER);
  const full = !fs.existsSync(marker);
  const result = repairIn(dataDir);
  if (full && result.failed.length === 0) {
    fs.writeFileSync(marker, 'Every file and folder in this DATA_DIR was made private (0700/0600); see src/server/lib/data-dir.ts.\n', { mode: 0o600 });
  }
  return result;
}

/** Repair what start-up has just created (the same walk, the disk store only at its top once repaired). */
export function repairDataDir(dataDir: string): RepairResult {
  return repairIn(dataDir);
}
