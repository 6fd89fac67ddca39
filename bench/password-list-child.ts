import fs from 'node:fs';
import { breachedKey, breachedListPath, breachedListSize, isBreachedPassword, warmPasswordList } from '../src/server/domain/users/breached-passwords';

/**
 * One measurement of the breached-password list in a fresh process (run by password-list.ts with
 * --expose-gc): `hashes` is the list as the server holds it (loaded by the first check), `warm`
 * the same loaded in the background by warmPasswordList() with the longest event-loop stall it
 * caused, `set` a Set of the same strings for comparison. Prints one JSON line.
 */
const mode = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function usage() {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { rss: m.rss, js: m.heapUsed + m.arrayBuffers };
}

const probes = ['password123', 'velvet tractor orbits seven lanterns', 'Qwerty123', 'a secret phrase 77'];
const before = usage();
const t0 = performance.now();
let entries: number;
let lookup: (p: string) => boolean;
let stallMs: number | null = null;
if (mode === 'warm') {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  await warmPasswordList();
  clearInterval(timer);
  stallMs = worst;
  entries = breachedListSize();
  lookup = isBreachedPassword;
} else if (mode === 'hashes') {
  entries = breachedListSize();
  lookup = isBreachedPassword;
} else if (mode === 'set') {
  const set = new Set<string>();
  for (const line of fs.readFileSync(breachedListPath(), 'utf8').split('\n')) {
    const key = breachedKey(line.replace(/\r$/, ''));
    // code points, as the password policy counts them
    if (Array.from(key).length >= 8) set.add(key);
  }
  entries = set.size;
  lookup = (p) => set.has(breachedKey(p));
} else {
  throw new Error(`unknown mode ${mode ?? '(none)'}`);
}
const loadMs = performance.now() - t0;
const after = usage();
const n = 200_000;
const t1 = performance.now();
let hits = 0;
for (let i = 0; i < n; i++) if (lookup(probes[i % probes.length]!)) hits++;
const lookupUs = ((performance.now() - t1) * 1000) / n;
if (hits !== n / 2) throw new Error(`expected ${n / 2} hits, got ${hits}`);
console.log(JSON.stringify({ mode, entries, loadMs, stallMs, rssMB: (after.rss - before.rss) / 2 ** 20, jsMB: (after.js - before.js) / 2 ** 20, lookupUs }));
