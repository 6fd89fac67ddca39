import { z } from 'zod';

/**
 * Data exports (privacy policy 5, access and portability): a ZIP of everything the account holds,
 * built by a background job and delivered by a link that expires.
 */

export const exportStatuses = ['queued', 'building', 'ready', 'failed', 'expired'] as const;
export type ExportStatus = (typeof exportStatuses)[number];

export const exportView = z.object({
  id: z.string(),
  status: z.enum(exportStatuses),
  /** true when an operator started it on the user's behalf (a request that arrived by mail) */
  byOperator: z.boolean(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** the download works until then (ready exports) */
  expiresAt: z.string().nullable(),
  sizeBytes: z.number().int().nullable(),
  /** what the archive holds, per record kind (ready exports) */
  contents: z.record(z.string(), z.number().int()).nullable(),
  /** while it is being built: items written so far of the total */
  progress: z.object({ done: z.number().int(), total: z.number().int() }).nullable(),
  /** true when the download works now */
  downloadable: z.boolean(),
});
export type ExportView = z.infer<typeof exportView>;

export const exportList = z.object({
  items: z.array(exportView),
  /** how many days a finished export's link works */
  linkDays: z.number().int(),
  /** how many exports a user may ask for in 24 hours */
  perDay: z.number().int(),
});
export type ExportList = z.infer<typeof exportList>;

/** POST /api/me/exports takes no options (an empty JSON object, or no body). */
export const requestExportBody = z.strictObject({}).optional();

export const exportIdParams = z.object({ id: z.string().min(1).max(100) });

/** GET /api/exports/:id/download?token=… (the link in the mail; no session needed) */
export const exportTokenQuery = z.object({ token: z.string().min(1).max(200) });
