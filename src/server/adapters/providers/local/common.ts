import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { ProviderError, type ProviderErrorKind } from '../provider';

/** What the local renderer's modules share: its id, its error, and two file helpers. */

export const PROVIDER = 'local' as const;

/** `lost`: another process took the lease over (we looked dead): stop, record nothing */
export type AbortReason = 'cancel' | 'close' | 'timeout' | 'lost';

export const localError = (kind: ProviderErrorKind, message: string, cause?: unknown) =>
  new ProviderError(PROVIDER, kind, message, cause === undefined ? {} : { cause });

export const errnoOf = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** Write a file atomically: a unique temporary name in the same directory, then rename. */
export async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, data, 'utf8');
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
