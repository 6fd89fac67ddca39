import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints, after the usual summary, the run's wall time and its slowest files and tests, so a CI log
 * shows where the time goes and whether the suite keeps to its targets (README: contributing).
 */
export default class DurationsReporter implements Reporter {
  private started = 0;
  private readonly top: number;

  /** (vitest passes the options when the reporter is named on the command line) */
  constructor(options: { top?: number } = {}) {
    this.top = options.top ?? 10;
  }

  onTestRunStart(): void {
    this.started = performance.now();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const wall = (performance.now() - this.started) / 1000;
    const files = modules.map((m) => ({ name: m.relativeModuleId, ...fileSeconds(m) })).sort((a, b) => b.total - a.total);
    const tests = modules
      .flatMap((m) =>
        [...m.children.allTests()].map((t) => ({ name: `${m.relativeModuleId} > ${t.fullName}`, seconds: (t.diagnostic()?.duration ?? 0) / 1000 })),
      )
      .sort((a, b) => b.seconds - a.seconds);
    const busy = files.reduce((sum, f) => sum + f.total, 0);
    const lines = [
      '',
      `Suite wall time ${wall.toFixed(1)} s for ${modules.length} files; the files took ${busy.toFixed(1)} s in all (import + tests and hooks)`,
      `Slowest files (import + tests and hooks):`,
      ...files.slice(0, this.top).map((f) => `  ${f.total.toFixed(1).padStart(6)} s  ${f.name} (import ${f.collect.toFixed(1)} s)`),
      `Slowest tests:`,
      ...tests.slice(0, this.top).map((t) => `  ${t.seconds.toFixed(1).padStart(6)} s  ${t.name}`),
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

function fileSeconds(m: TestModule): { total: number; collect: number } {
  const d = m.diagnostic();
  const collect = d.collectDuration / 1000;
  return { total: collect + d.duration / 1000, collect };
}
