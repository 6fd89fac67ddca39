import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * `npm run bench -- password-list`: the breached-password list (password-policy.ts) as the server
 * holds it, sorted 64-bit hashes, beside a Set of the same strings. Each is measured cold in its
 * own process: entries, load time (read + index), memory growth (RSS, and JS heap + array buffers
 * after a full GC), the cost of one lookup, and for the start-up warm-up the longest event-loop stall.
 */
export async function passwordListBench(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  console.log(`breached-password list; cores: ${os.cpus().length}; node ${process.version}; each figure the median of ${runs} cold processes`);
  for (const mode of ['hashes', 'warm', 'set'] as const) {
    const results: { entries: number; loadMs: number; stallMs: number; rssMB: number; jsMB: number; lookupUs: number }[] = [];
    for (let i = 0; i < runs; i++) {
      const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', new URL('./password-list-child.ts', import.meta.url).pathname, mode], {
        encoding: 'utf8',
      });
      results.push(JSON.parse(out.trim().split('\n').pop()!));
    }
    const median = (k: keyof (typeof results)[number]) => results.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
    if (mode === 'warm') {
      console.log(
        `  the same loaded by warmPasswordList() at start-up: ${median('loadMs').toFixed(0)} ms in the background, longest event-loop stall ${median('stallMs').toFixed(0)} ms`,
      );
      continue;
    }
    const label = mode === 'hashes' ? 'sorted 64-bit hashes (used)' : 'Set of strings (baseline)  ';
    console.log(
      `${label} ${median('entries')} entries  load ${median('loadMs').toFixed(0)} ms  RSS +${median('rssMB').toFixed(1)} MB  JS heap+buffers +${median('jsMB').toFixed(1)} MB  lookup ${median('lookupUs').toFixed(2)} µs`,
    );
  }
}
