import { eq } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { modelSettings, plans } from '../../db/schema';
import type { ModelSettingsRow } from '../catalog/catalog.repo';
import type { PlanRow } from '../billing/billing.repo';

/**
 * SQL for the console's catalog changes (issue 18): each change reads the row it changes under a
 * lock, so the audit entry's "before" is what the change replaced even when two operators edit at once.
 */

/** The model's settings row, locked for the transaction (created empty, i.e. "as built in", when missing). */
export async function lockModelSettings(tx: DbHandle, modelId: string, now: Date): Promise<ModelSettingsRow> {
  await tx.db.insert(modelSettings).values({ modelId, updatedAt: now }).onConflictDoNothing({ target: modelSettings.modelId });
  const [row] = await tx.db.select().from(modelSettings).where(eq(modelSettings.modelId, modelId)).for('update');
  if (!row) throw new Error(`the settings row of ${modelId} is missing`);
  return row;
}

/** Every model's settings row, locked (a reorder changes many). */
export async function lockAllModelSettings(tx: DbHandle): Promise<ModelSettingsRow[]> {
  return tx.db.select().from(modelSettings).for('update');
}

export type ModelOverrides = Partial<Pick<ModelSettingsRow, 'enabled' | 'price' | 'lifecycle' | 'routeOrder' | 'position'>>;

/** Sets the given columns (undefined: left as is; null: back to built-in); returns the row. */
export async function writeModelSettings(tx: DbHandle, modelId: string, set: ModelOverrides, by: string, now: Date): Promise<ModelSettingsRow> {
  const [row] = await tx.db
    .insert(modelSettings)
    .values({ modelId, ...set, updatedAt: now, updatedBy: by })
    .onConflictDoUpdate({ target: modelSettings.modelId, set: { ...set, updatedAt: now, updatedBy: by } })
    .returning();
  if (!row) throw new Error('the model settings upsert returned no row');
  return row;
}

/** The plan, locked for the transaction; null when there is none. */
export async function lockPlan(tx: DbHandle, id: string): Promise<PlanRow | null> {
  const [row] = await tx.db.select().from(plans).where(eq(plans.id, id)).for('update');
  return row ?? null;
}
