import { z } from 'zod';

/** The one error shape of every failing request: `{"error":{"code","message"}}`. */
export const errorBody = z.object({
  error: z.object({
    code: z.string().describe('stable machine-readable code, e.g. not_found, invalid_request'),
    message: z.string().describe('a human-readable explanation'),
  }),
});
export type ErrorBody = z.infer<typeof errorBody>;
