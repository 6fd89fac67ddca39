/** Output helpers shared by the CLI's command files. */

/** The `--json` option: print the result as JSON instead of text. */
export const json = { type: 'boolean', default: false } as const;

/** Columns padded to the widest cell, two spaces apart. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
