import { z } from 'zod';

/** The one error shape of every failing request: `{"error":{"code","message"}}`. */
export const errorBody = z.object({
  error: z.object({
    code: z.string().describe('stable machine-readable code, e.g. not_found, invalid_request'),
    message: z.string().describe('a human-readable explanation'),
    fields: z
      .array(
        z.object({
          field: z.string().describe('dotted path of the bad field, e.g. duration or references.2.kind'),
          message: z.string(),
          allowed: z.array(z.unknown()).optional().describe('the values the field may take'),
        }),
      )
      .optional()
      .describe('one entry per bad field (validation errors)'),
  }),
});
export type ErrorBody = z.infer<typeof errorBody>;
