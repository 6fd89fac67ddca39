import { and, eq, inArray } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { appSettings } from '../../db/schema';

/** SQL for the settings kept in the database (issue 18): `app_settings`, one sealed value per key. */

export type StoredSettingRow = typeof appSettings.$inferSelect;

/** The channel every process LISTENs on; the payload is the changed keys as JSON. */
export const SETTINGS_CHANNEL = 'settings_changed';

export async function listStoredSettings(db: DbHandle): Promise<StoredSettingRow[]> {
  return db.db.select().from(appSettings);
}

/** The rows of these keys, locked until the transaction ends (two saves of one key take turns). */
export async function lockStoredSettings(db: DbHandle, keys: readonly string[]): Promise<StoredSettingRow[]> {
  if (!keys.length) return [];
  return db.db
    .select()
    .from(appSettings)
    .where(inArray(appSettings.key, [...keys]))
    .for('update');
}

export async function upsertStoredSetting(db: DbHandle, row: StoredSettingRow): Promise<void> {
  await db.db
    .insert(appSettings)
    .values(row)
    .onConflictDoUpdate({ target: appSettings.key, set: { sealedValue: row.sealedValue, updatedAt: row.updatedAt, updatedBy: row.updatedBy } });
}

export async function deleteStoredSetting(db: DbHandle, key: string): Promise<void> {
  await db.db.delete(appSettings).where(eq(appSettings.key, key));
}

/** Re-sealed value, only if the row still holds what was read (a concurrent save wins). */
export async function replaceSealedSetting(db: DbHandle, key: string, expected: string, next: string): Promise<boolean> {
  const rows = await db.db
    .update(appSettings)
    .set({ sealedValue: next })
    .where(and(eq(appSettings.key, key), eq(appSettings.sealedValue, expected)))
    .returning({ key: appSettings.key });
  return rows.length > 0;
}

/** Announces a change to every process (sent at commit: inside a transaction, only a committed change is heard). */
export async function notifySettingsChanged(db: DbHandle, keys: readonly string[]): Promise<void> {
  await db.sql.query(`select pg_notify('${SETTINGS_CHANNEL}', $1)`, [JSON.stringify(keys)]);
}
