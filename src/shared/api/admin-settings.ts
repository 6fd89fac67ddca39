import { z } from 'zod';

/**
 * The console's settings and first-run setup (issue 18). Settings are environment variables
 * (src/server/config.ts) an admin may also set in the console: the environment wins where it sets
 * one, then the value stored in the database (sealed with the secret box), then the default.
 * Secrets are write-only: the API says whether one is set and shows a short hint, never the value.
 */

export const settingGroupIds = [
  'kie',
  'fal',
  'providers',
  'stripe',
  'creem',
  'nowpayments',
  'mail',
  'moderation',
  'credits',
  'limits',
  'abuse',
  'storage',
] as const;
export const settingGroupId = z.enum(settingGroupIds);
export type SettingGroupId = z.infer<typeof settingGroupId>;

/** The parties a "test connection" button can reach. */
export const connectionTestIds = ['kie', 'fal', 'stripe', 'creem', 'nowpayments', 'smtp'] as const;
export const connectionTestId = z.enum(connectionTestIds);
export type ConnectionTestId = z.infer<typeof connectionTestId>;

/** The settings each connection test uses (the only ones it may be given typed values of). */
export const connectionTestKeys: Record<ConnectionTestId, readonly string[]> = {
  kie: ['KIE_API_KEY', 'KIE_BASE_URL'],
  fal: ['FAL_KEY', 'FAL_QUEUE_URL'],
  stripe: ['STRIPE_SECRET_KEY', 'STRIPE_API_BASE'],
  creem: ['CREEM_API_KEY', 'CREEM_API_BASE'],
  nowpayments: ['NOWPAYMENTS_API_KEY', 'NOWPAYMENTS_API_BASE'],
  smtp: ['SMTP_URL'],
};

/** `live`: every web and worker process applies a change within a second; `restart`: at the next start. */
export const settingApply = z.enum(['live', 'restart']);
export const settingSource = z.enum(['environment', 'database', 'default']);
export const settingInput = z.enum(['text', 'url', 'secret', 'number', 'boolean', 'select']);

export const settingView = z.object({
  /** the environment variable's name */
  key: z.string(),
  group: settingGroupId,
  input: settingInput,
  /** the values a `select` takes */
  options: z.array(z.string()).optional(),
  secret: z.boolean(),
  apply: settingApply,
  /** false when the environment sets it, or for settings the console only shows (storage) */
  editable: z.boolean(),
  /** shown only: change it in the environment and restart */
  readOnly: z.boolean(),
  source: settingSource,
  /** the value in effect as text (never for a secret; null: unset) */
  value: z.string().nullable(),
  defaultValue: z.string().nullable(),
  /** a value is set (secrets, and every other setting) */
  set: z.boolean(),
  /** secrets: the last four characters (or the address of an SMTP URL without its password) */
  hint: z.string().nullable(),
  /** a `restart` setting whose stored value is not the one this process runs with */
  pendingRestart: z.boolean(),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
export type SettingView = z.infer<typeof settingView>;

export const settingGroupView = z.object({
  id: settingGroupId,
  /** the connection this group's "test" button checks */
  test: connectionTestId.nullable(),
  settings: z.array(settingView),
});
export type SettingGroupView = z.infer<typeof settingGroupView>;

export const settingsView = z.object({ groups: z.array(settingGroupView), canEdit: z.boolean() });
export type SettingsView = z.infer<typeof settingsView>;

/** A value as the environment would give it; null clears the stored value (back to the default). */
const settingValue = z.string().max(4096).nullable();

/** PUT /api/admin/settings */
export const updateSettingsBody = z.object({
  values: z.record(z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, { message: 'must be a setting name such as KIE_API_KEY' }), settingValue),
});
export type UpdateSettingsBody = z.infer<typeof updateSettingsBody>;

export const updateSettingsResult = settingsView.extend({
  /** the settings whose stored value changed (one audit entry each) */
  changed: z.array(z.string()),
});
export type UpdateSettingsResult = z.infer<typeof updateSettingsResult>;

/** POST /api/admin/settings/test/:provider: values typed but not saved yet (blank secrets: the stored ones) */
export const connectionTestBody = z.object({ values: z.record(z.string(), z.string().max(4096)).optional() }).optional();
export const connectionTestParams = z.object({ provider: connectionTestId });
export const connectionTestResult = z.object({
  ok: z.boolean(),
  /** what the other side answered, in a line (no secrets) */
  detail: z.string(),
  /** how long the call took */
  ms: z.number().int(),
});
export type ConnectionTestResult = z.infer<typeof connectionTestResult>;

// --- first run ------------------------------------------------------------------------------------

export const setupGroupIds = ['providers', 'payments', 'mail', 'storage', 'policies', 'moderation'] as const;
export const setupItemIds = [
  'provider.local',
  'provider.kie',
  'provider.fal',
  'payments.stripe',
  'payments.creem',
  'payments.nowpayments',
  'mail',
  'storage',
  'policies',
  'moderation.lists',
] as const;
export type SetupItemId = (typeof setupItemIds)[number];

export const setupItem = z.object({
  id: z.enum(setupItemIds),
  group: z.enum(setupGroupIds),
  configured: z.boolean(),
  /** the facts its one-line explanation names (a driver, a count, a host) */
  facts: z.record(z.string(), z.union([z.string(), z.number()])),
  /** where to configure it: `/admin/settings#KEY` or a console page */
  link: z.string(),
});
export type SetupItem = z.infer<typeof setupItem>;

export const setupChecklist = z.object({ items: z.array(setupItem) });
export type SetupChecklist = z.infer<typeof setupChecklist>;

/** POST /api/setup/claim-admin */
export const claimAdminResult = z.object({ role: z.literal('admin') });
