import type { FastifyBodyParser, FastifyInstance } from 'fastify';
import { NO_CONTROL_CHARACTERS } from '../../../shared/api/text';
import { AppError } from '../../errors';

/** Deepest nesting of objects and arrays a JSON body may have (ours need 4 at most). */
export const MAX_JSON_DEPTH = 64;

/** Percent-encoded C0 control characters other than tab, line feed and carriage return. */
const ENCODED_CONTROL = /%(?:0[0-8bcef]|1[0-9a-f])/i;

/** `application/json`'s relatives: `application/merge-patch+json`, `application/vnd.api+json`, ... */
const JSON_SUFFIX_TYPE = /^application\/[^\s/;]+\+json\b/i;

/**
 * true when `text` nests objects and arrays deeper than `max`. Counts brackets outside strings
 * on the raw text, so a body never has to be parsed (or walked by recursive code that would
 * overflow the stack) to be refused.
 */
export function jsonNestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/** true when a string (or an object key) anywhere in a parsed JSON value holds a control character */
function holdsControlCharacters(value: unknown): boolean {
  if (typeof value === 'string') return !NO_CONTROL_CHARACTERS.test(value);
  if (Array.isArray(value)) return value.some(holdsControlCharacters);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([k, v]) => !NO_CONTROL_CHARACTERS.test(k) || holdsControlCharacters(v));
  }
  return false;
}

/**
 * Hostile bodies and URLs stop here, before any route handler or Better Auth sees them:
 *
 * - JSON (`application/json` and `application/*+json`) is parsed by Fastify's own secure parser
 *   (prototype-poisoning protection as configured on the app: `__proto__` and `constructor.prototype`
 *   keys are refused), within the route's body limit (1 MB unless a route says otherwise), after a
 *   scan of its nesting depth: deeper than {@link MAX_JSON_DEPTH} answers 400. Malformed or empty
 *   JSON answers 400 as before (Fastify's errors, rendered by each surface's error handler). A
 *   route without a body schema (Better Auth's) also gets 400 for a control character in any
 *   string of the body; routes with a schema say which field (`safeText()`).
 * - A URL with a percent-encoded control character (`%00`, `%1B`, ...) in its path or query answers
 *   400: no id, cursor or search term of ours contains one, and PostgreSQL cannot store NUL.
 *
 * Call once on the root instance, before the routes are registered.
 */
export function installBodyGuard(
  app: Pick<FastifyInstance, 'initialConfig' | 'getDefaultJsonParser' | 'removeContentTypeParser' | 'addContentTypeParser' | 'addHook'>,
): void {
  const { onProtoPoisoning = 'error', onConstructorPoisoning = 'error' } = app.initialConfig;
  const parseJson = app.getDefaultJsonParser(onProtoPoisoning, onConstructorPoisoning);

  const parser: FastifyBodyParser<string> = (req, text, done) => {
    if (jsonNestedDeeperThan(text, MAX_JSON_DEPTH)) {
      done(new AppError('bad_request', `The JSON body is nested too deeply (more than ${MAX_JSON_DEPTH} levels of objects and arrays).`, 400), undefined);
      return;
    }
    // Fastify's default JSON parser is the callback kind: it answers through the callback, at once,
    // and returns nothing (the type also allows a promise-returning parser, which it is not)
    void parseJson(req, text, (err, body) => {
      // routes with a body schema refuse control characters field by field (`safeText()`); the
      // rest (Better Auth's routes) get the same rule here, before the value reaches the database
      if (!err && !req.routeOptions.schema?.body && holdsControlCharacters(body)) {
        done(new AppError('invalid_request', 'The request must not contain control characters (such as NUL) in its text.', 400), undefined);
        return;
      }
      done(err, body);
    });
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
  app.addContentTypeParser(JSON_SUFFIX_TYPE, { parseAs: 'string' }, parser);

  app.addHook('onRequest', async (req) => {
    if (ENCODED_CONTROL.test(req.raw.url ?? '')) {
      throw new AppError('invalid_request', 'The URL must not contain control characters (such as %00).', 400);
    }
  });
}
