import { z } from 'zod';

export const healthResponse = z.object({ status: z.literal('ok') });

export const readyChecks = z.object({
  database: z.enum(['ok', 'fail']),
  queue: z.enum(['ok', 'fail']),
  /** only when the rate-limit counters are in Redis (REDIS_URL) */
  redis: z.enum(['ok', 'fail']).optional(),
});

export const readyResponse = z.object({ status: z.literal('ready'), checks: readyChecks });

export const notReadyResponse = z.object({
  error: z.object({ code: z.literal('not_ready'), message: z.string() }),
  checks: readyChecks,
});

export const metaResponse = z.object({
  name: z.string(),
  version: z.string(),
  /** where people write about their account, their data and this policy (SUPPORT_EMAIL) */
  supportEmail: z.string(),
  /** days operators have to answer a privacy request (PRIVACY_REQUEST_DUE_DAYS) */
  privacyRequestDueDays: z.number().int(),
});
export type Meta = z.infer<typeof metaResponse>;
