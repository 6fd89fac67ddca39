import { createHmac } from 'node:crypto';
import path from 'node:path';
import { StartupError } from '../../errors';
import { systemClock, type Clock } from '../clock';
import { createDiskStore } from './disk';
import { createS3Store } from './s3';
import type { ObjectStore } from './store';

export * from './store';
export {
  createDiskStore,
  verifyDiskSignature,
  FILES_PATH_PREFIX,
  type DiskObjectStore,
  type DiskStoreOptions,
  type SignedFileParams,
  type DiskSignatureVerdict,
} from './disk';
export { createS3Store, type S3ObjectStore, type S3StoreOptions } from './s3';

/**
 * The settings the object store needs (the app maps its Config onto this).
 *
 * - STORAGE_DRIVER: `disk` or `s3`; unset means `s3` when S3_BUCKET is set, otherwise `disk`.
 * - dataDir: the disk store lives in `<dataDir>/storage` unless STORAGE_DIR is set.
 * - PUBLIC_URL: the origin disk signed URLs point at (`<PUBLIC_URL>/files/<key>?...`).
 * - FILES_SIGNING_SECRET: HMAC key for disk signed URLs (>= 32 chars); see deriveFilesSigningSecret.
 * - S3_*: bucket, region (default `auto` suits R2; AWS wants its region), endpoint (unset for AWS),
 *   keys (both unset: the SDK's default credential chain), path-style addressing, and the public
 *   endpoint presigned URLs are signed for when browsers reach the store at another address.
 */
export interface StorageSettings {
  STORAGE_DRIVER?: 'disk' | 's3';
  dataDir: string;
  STORAGE_DIR?: string;
  PUBLIC_URL: string;
  FILES_SIGNING_SECRET: string | readonly string[];
  S3_ENDPOINT?: string;
  S3_REGION: string;
  S3_BUCKET?: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
  S3_FORCE_PATH_STYLE: boolean;
  S3_PUBLIC_ENDPOINT?: string;
}

/**
 * Build the configured store; its signed URLs are dated by `clock`. Throws StartupError naming the
 * setting that is wrong.
 */
export function createObjectStore(settings: StorageSettings, clock: Pick<Clock, 'nowMs'> = systemClock): ObjectStore {
  const now = () => clock.nowMs();
  const driver = settings.STORAGE_DRIVER ?? (settings.S3_BUCKET ? 's3' : 'disk');
  if (driver === 's3') {
    if (!settings.S3_BUCKET) throw new StartupError('Invalid setting S3_BUCKET: STORAGE_DRIVER=s3 needs a bucket name.');
    if (Boolean(settings.S3_ACCESS_KEY_ID) !== Boolean(settings.S3_SECRET_ACCESS_KEY)) {
      const missing = settings.S3_ACCESS_KEY_ID ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID';
      throw new StartupError(`Invalid setting ${missing}: set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither.`);
    }
    return createS3Store({
      region: settings.S3_REGION,
      bucket: settings.S3_BUCKET,
      forcePathStyle: settings.S3_FORCE_PATH_STYLE,
      now,
      ...(settings.S3_ENDPOINT ? { endpoint: settings.S3_ENDPOINT } : {}),
      ...(settings.S3_ACCESS_KEY_ID ? { accessKeyId: settings.S3_ACCESS_KEY_ID } : {}),
      ...(settings.S3_SECRET_ACCESS_KEY ? { secretAccessKey: settings.S3_SECRET_ACCESS_KEY } : {}),
      ...(settings.S3_PUBLIC_ENDPOINT ? { publicUrl: settings.S3_PUBLIC_ENDPOINT } : {}),
    });
  }
  try {
    return createDiskStore({
      root: settings.STORAGE_DIR ? path.resolve(settings.STORAGE_DIR) : path.join(settings.dataDir, 'storage'),
      publicUrl: settings.PUBLIC_URL,
      signingSecret: settings.FILES_SIGNING_SECRET,
      now,
    });
  } catch (err) {
    throw new StartupError(`Invalid storage settings: ${(err as Error).message}.`);
  }
}

/**
 * A signing key for disk file URLs derived from SESSION_SECRET, for when FILES_SIGNING_SECRET is not
 * set: every web instance shares SESSION_SECRET, so every instance verifies every URL, and a leaked
 * file URL key does not reveal the session secret.
 */
export function deriveFilesSigningSecret(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('savesora/files-url/v1').digest('base64url');
}

/** The store the settings describe (FILES_SIGNING_SECRET may list several keys, comma-separated, to rotate). */
export function storeFromConfig(
  config: Omit<StorageSettings, 'FILES_SIGNING_SECRET'> & {
    FILES_SIGNING_SECRET?: string;
    SESSION_SECRET: string;
    SESSION_SECRET_PREVIOUS?: readonly string[];
  },
  clock: Pick<Clock, 'nowMs'> = systemClock,
): ObjectStore {
  return createObjectStore(
    {
      ...config,
      // derived keys follow a SESSION_SECRET rotation: links signed before it work until they expire
      FILES_SIGNING_SECRET:
        config.FILES_SIGNING_SECRET?.split(',').map((s) => s.trim()) ??
        [config.SESSION_SECRET, ...(config.SESSION_SECRET_PREVIOUS ?? [])].map(deriveFilesSigningSecret),
    },
    clock,
  );
}
