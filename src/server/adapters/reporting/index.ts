import { createCyberTiplineReporter, type CyberTiplineOptions } from './cybertipline';
import type { CsamReporter } from './reporter';

export * from './reporter';
export { CYBERTIPLINE_PRODUCTION_URL, CYBERTIPLINE_TEST_URL } from './cybertipline';

/**
 * The CSAM reporter for this server: NCMEC's CyberTipline at `baseUrl` (its test host
 * `CYBERTIPLINE_TEST_URL` until the operator is cleared for production). Throws at once when the
 * base URL, the credentials or the reporter contact are unusable.
 */
export function createCsamReporter(opts: CyberTiplineOptions): CsamReporter {
  return createCyberTiplineReporter(opts);
}

export type { CyberTiplineOptions as CsamReporterOptions };
