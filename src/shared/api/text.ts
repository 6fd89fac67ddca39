import { z } from 'zod';

/**
 * Free text in requests: refuse NUL and the other C0 control characters (tab, line feed and
 * carriage return stay allowed). PostgreSQL cannot store NUL in text at all (it answers error
 * 22021), and the others only ever arrive from scripts probing the API, so every request schema
 * that accepts text uses `safeText()` or `withoutControlCharacters(schema)` and answers 400 naming
 * the field. Response schemas do not: what we send was checked on the way in.
 */

export const CONTROL_CHARACTERS_MESSAGE = 'must not contain control characters';

/** A string of no C0 control character other than \t, \n and \r (the OpenAPI `pattern` too). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point; \p{Cc} would need the u flag, which JSON Schema patterns lack
export const NO_CONTROL_CHARACTERS = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$/;

/**
 * Adds the control-character check to a string format schema (`z.url()`, ...). A refinement rather
 * than a pattern, so the OpenAPI document keeps the schema's `format`.
 */
export function withoutControlCharacters<S extends z.ZodStringFormat>(schema: S): S {
  return schema.refine((value) => NO_CONTROL_CHARACTERS.test(value), { error: CONTROL_CHARACTERS_MESSAGE });
}

/** `z.string()` that refuses control characters; chain `.trim()`, `.min()`, `.max()` as usual. */
export function safeText(params?: Parameters<typeof z.string>[0]): z.ZodString {
  return z.string(params).regex(NO_CONTROL_CHARACTERS, { error: CONTROL_CHARACTERS_MESSAGE });
}
