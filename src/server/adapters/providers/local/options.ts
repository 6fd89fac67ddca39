import os from 'node:os';
import path from 'node:path';

export interface LocalProviderOptions {
  /** renders go to `<dataDir>/renders/<upstreamId>/` */
  dataDir: string;
  /** the FFMPEG_PATH setting; default: system ffmpeg, else the npm static build */
  ffmpegPath?: string;
  /** parallel ffmpeg processes */
  concurrency: number;
  logger?: LocalLogger;
  /** one render's limit; default 10 minutes */
  renderTimeoutMs?: number;
  /** how often the rendering process refreshes its lease (and checks for a cancel); default 2 s */
  leaseRefreshMs?: number;
  /**
   * a lease not refreshed for this long belongs to a dead process and is taken over; default 15 s
   * (raised to at least twice `leaseRefreshMs`). Hosts sharing a volume need roughly synced clocks.
   */
  leaseStaleMs?: number;
  /**
   * folders file:// references may point into (checked on the real path, so symlinks and `..`
   * cannot escape); default: `[dataDir]`. data: and http(s) references are not affected.
   */
  allowedRoots?: string[];
}

export interface LocalLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The options with their defaults and bounds applied. */
export interface LocalSettings {
  /** `<dataDir>/renders`, absolute */
  rendersDir: string;
  ffmpegPath: string | undefined;
  concurrency: number;
  renderTimeoutMs: number;
  leaseRefreshMs: number;
  leaseStaleMs: number;
  /** absolute */
  allowedRoots: string[];
  /** written into the leases this process holds */
  host: string;
  log: LocalLogger | undefined;
}

export function resolveSettings(opts: LocalProviderOptions): LocalSettings {
  const log = opts.logger;
  const leaseRefreshMs = Math.max(10, opts.leaseRefreshMs ?? 2_000);
  const leaseStaleMs = Math.max(opts.leaseStaleMs ?? 15_000, 2 * leaseRefreshMs);
  if (opts.leaseStaleMs !== undefined && leaseStaleMs !== opts.leaseStaleMs) {
    log?.warn({ leaseStaleMs: opts.leaseStaleMs, leaseRefreshMs, using: leaseStaleMs }, 'local renderer: leaseStaleMs raised to twice leaseRefreshMs');
  }
  return {
    rendersDir: path.resolve(opts.dataDir, 'renders'),
    ffmpegPath: opts.ffmpegPath,
    concurrency: Math.max(1, Math.floor(opts.concurrency || 1)),
    renderTimeoutMs: opts.renderTimeoutMs ?? 10 * 60_000,
    leaseRefreshMs,
    leaseStaleMs,
    allowedRoots: (opts.allowedRoots ?? [opts.dataDir]).map((r) => path.resolve(r)),
    host: os.hostname(),
    log,
  };
}
