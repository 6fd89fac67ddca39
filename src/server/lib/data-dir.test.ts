import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MODES_MARKER, prepareDataDir, repairDataDir, repairModes } from './data-dir';

/** Modes are set with chmod (the umask does not apply), so nothing here depends on the runner's umask. */
const roots: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'savesora-datadir-'));
  roots.push(d);
  return d;
};
afterEach(() => {
  for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const file = (p: string, mode: number) => {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, 'x');
  fs.chmodSync(p, mode);
};
const dir = (p: string, mode: number) => {
  fs.mkdirSync(p, { recursive: true });
  fs.chmodSync(p, mode);
};
const modeOf = (p: string) => fs.lstatSync(p).mode & 0o777;

describe('repairModes', () => {
  it('removes group and other bits, keeps the owner bits, and counts what it changed', () => {
    const root = tmp();
    file(path.join(root, 'a'), 0o666);
    file(path.join(root, 'ro'), 0o444);
    file(path.join(root, 'ok'), 0o600);
    dir(path.join(root, 'sub'), 0o777);
    file(path.join(root, 'sub', 'b'), 0o640);
    fs.chmodSync(root, 0o755);
    const r = repairModes(root);
    expect([r.fixed, r.checked, r.failed]).toEqual([5, 6, []]);
    expect([
      modeOf(root),
      modeOf(path.join(root, 'a')),
      modeOf(path.join(root, 'ro')),
      modeOf(path.join(root, 'sub')),
      modeOf(path.join(root, 'sub', 'b')),
    ]).toEqual([0o700, 0o600, 0o400, 0o700, 0o600]);
    expect(repairModes(root).fixed).toBe(0);
  });

  it('neither changes nor follows symbolic links', () => {
    const root = tmp();
    const elsewhere = tmp();
    file(path.join(elsewhere, 'theirs'), 0o644);
    dir(path.join(elsewhere, 'folder'), 0o755);
    file(path.join(elsewhere, 'folder', 'inside'), 0o644);
    fs.symlinkSync(path.join(elsewhere, 'theirs'), path.join(root, 'to-file'));
    fs.symlinkSync(path.join(elsewhere, 'folder'), path.join(root, 'to-folder'));
    fs.chmodSync(root, 0o700);
    expect(repairModes(root).fixed).toBe(0);
    expect([modeOf(path.join(elsewhere, 'theirs')), modeOf(path.join(elsewhere, 'folder')), modeOf(path.join(elsewhere, 'folder', 'inside'))]).toEqual([
      0o644, 0o755, 0o644,
    ]);
  });
});

describe('prepareDataDir', () => {
  it('creates DATA_DIR and its folders 0700 and repairs everything once, the disk store included', () => {
    const root = path.join(tmp(), 'data');
    dir(path.join(root, 'storage', 'objects', 'ab'), 0o755);
    file(path.join(root, 'storage', 'objects', 'ab', 'video.mp4'), 0o640);
    const first = prepareDataDir(root);
    expect(first.failed).toEqual([]);
    for (const sub of ['', 'storage', 'outbox', 'c2pa', 'tmp']) expect(modeOf(path.join(root, sub)), sub || '.').toBe(0o700);
    expect(modeOf(path.join(root, 'storage', 'objects', 'ab', 'video.mp4'))).toBe(0o600);
    expect(modeOf(path.join(root, MODES_MARKER))).toBe(0o600);
  });

  it('once the marker exists, the disk store is looked at only at its top; the rest in full', () => {
    const root = path.join(tmp(), 'data');
    prepareDataDir(root);
    file(path.join(root, 'storage', 'objects', 'cd', 'deep.mp4'), 0o644);
    fs.chmodSync(path.join(root, 'storage', 'objects'), 0o755);
    file(path.join(root, 'pglite', 'base', '1', '1234'), 0o666);
    const r = repairDataDir(root);
    expect(modeOf(path.join(root, 'storage', 'objects'))).toBe(0o700);
    expect(modeOf(path.join(root, 'pglite', 'base', '1', '1234'))).toBe(0o600);
    // deep in the store: left as it is (what this version stores is created private)
    expect(modeOf(path.join(root, 'storage', 'objects', 'cd', 'deep.mp4'))).toBe(0o644);
    expect(r.failed).toEqual([]);
  });

  it('DATA_DIR shared with other things (DATA_DIR=. in a checkout): only its own entries are repaired', () => {
    const root = tmp();
    file(path.join(root, 'package.json'), 0o644);
    file(path.join(root, 'src', 'main.ts'), 0o644);
    file(path.join(root, 'secrets.json'), 0o644);
    file(path.join(root, 'pglite', 'base', 'PG_VERSION'), 0o666);
    const r = prepareDataDir(root);
    expect(modeOf(path.join(root, 'package.json'))).toBe(0o644);
    expect(modeOf(path.join(root, 'src', 'main.ts'))).toBe(0o644);
    expect(modeOf(path.join(root, 'secrets.json'))).toBe(0o600);
    expect(modeOf(path.join(root, 'pglite', 'base', 'PG_VERSION'))).toBe(0o600);
    expect(r.failed).toEqual([]);
  });
});
