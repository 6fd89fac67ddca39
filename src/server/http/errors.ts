import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError } from '../errors';

/** Codes for Fastify's own 4xx errors, so clients get a stable code rather than FST_ERR_*. */
const statusCodes: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

export const errorPayload = (code: string, message: string) => ({ error: { code, message } });

/**
 * PostgreSQL errors (SQLSTATE, the same `code` from `pg` and from PGlite) that only a bad value in
 * the request causes, with what to tell the client. A backstop: request schemas refuse these values
 * first (`safeText()` and limits), but a value that slips through must answer 400, not 500. The
 * database's own message is never shown (it quotes SQL and values).
 */
const INPUT_DATA_ERRORS: Record<string, string> = {
  '22021': 'The request contains characters that cannot be stored, such as NUL bytes.', // character_not_in_repertoire
  '22P05': 'The request contains characters that cannot be stored, such as NUL bytes.', // untranslatable_character
  '22001': 'A value in the request is too long.', // string_data_right_truncation
  '54000': 'A value in the request is too long.', // program_limit_exceeded (index row too big)
  '22003': 'A number in the request is out of range.', // numeric_value_out_of_range
  '22P02': 'A value in the request is not in the expected format.', // invalid_text_representation (uuid, number)
  '22018': 'A value in the request is not in the expected format.', // invalid_character_value_for_cast
  '22007': 'A date or time in the request is not valid.', // invalid_datetime_format
  '22008': 'A date or time in the request is out of range.', // datetime_field_overflow
  '22009': 'A date or time in the request is not valid.', // invalid_time_zone_displacement_value
  '22015': 'A date or time in the request is out of range.', // interval_field_overflow
  '22019': 'A search pattern in the request is not valid.', // invalid_escape_character
  '22025': 'A search pattern in the request is not valid.', // invalid_escape_sequence
  '2201B': 'A search pattern in the request is not valid.', // invalid_regular_expression
  '2201W': 'A paging value in the request is out of range.', // invalid_row_count_in_limit_clause
  '2201X': 'A paging value in the request is out of range.', // invalid_row_count_in_result_offset_clause
};

/**
 * Errors of @fastify/multipart's parser (busboy) that a malformed request causes: no or a wrong
 * boundary, a body cut short. They arrive as plain Errors (no status), from `req.file()`,
 * `req.parts()` or a file stream. Its limit errors (parts, fields, files, size) carry 413 already.
 */
const MULTIPART_ERRORS = [
  /^Multipart: Boundary not found$/,
  /^Boundary required$/,
  /^Missing Content-Type-header\.?$/,
  /^Unsupported Content-Type\.?$/,
  /^Unexpected end of multipart data$/,
  /terminated early due to unexpected end of multipart data$/,
];

/** the PostgreSQL error in `err` or its causes (Drizzle wraps them), if any */
function databaseErrorIn(err: unknown): { code: string } | undefined {
  for (let e = err, i = 0; e && typeof e === 'object' && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const { code, severity } = e as { code?: unknown; severity?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string') return { code };
  }
  return undefined;
}

/**
 * The client's fault hidden in an unexpected error: a database data exception caused by a value
 * in the request, or a malformed multipart body, as a 400 AppError (`invalid_request`). Undefined
 * for everything else. Used by every error handler (this one and the OpenAI surface's).
 */
export function clientErrorOf(err: unknown, req?: Pick<FastifyRequest, 'headers'>): AppError | undefined {
  if (err instanceof AppError) return undefined;
  const db = databaseErrorIn(err);
  if (db) {
    const message = INPUT_DATA_ERRORS[db.code];
    return message ? new AppError('invalid_request', message, 400) : undefined;
  }
  if (err instanceof Error && !(err as FastifyError).statusCode && MULTIPART_ERRORS.some((re) => re.test(err.message))) {
    const type = req?.headers['content-type'] ?? '';
    if (!req || /^multipart\//i.test(type)) {
      return new AppError(
        'invalid_request',
        'The multipart/form-data body could not be read: it is malformed, cut short, or its boundary is missing or wrong.',
        400,
      );
    }
  }
  return undefined;
}

/** One error handler for the whole app: every failure answers `{"error":{"code","message"}}`. */
export function installErrorHandler(app: Pick<FastifyInstance, 'setErrorHandler'>): void {
  app.setErrorHandler((caught: FastifyError, req, reply) => {
    const mapped = clientErrorOf(caught, req);
    if (mapped) req.log.warn({ err: caught }, 'request refused: %s', mapped.message);
    const err = (mapped ?? caught) as FastifyError;
    if (err instanceof AppError) {
      // details.fields: one entry per bad field; details.extra: more machine-readable facts (e.g. balance and price)
      const details = (err.details ?? {}) as { fields?: unknown; extra?: Record<string, unknown> };
      const body = errorPayload(err.code, err.message);
      return reply.status(err.status).send({
        error: { ...body.error, ...(Array.isArray(details.fields) ? { fields: details.fields } : {}), ...(details.extra ?? {}) },
      });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const pathOf = (v: { instancePath: string }) => v.instancePath.split('/').filter(Boolean);
      const fields = err.validation.map((v) => ({
        field: pathOf(v).join('.') || (err.validationContext ?? 'body'),
        message: v.message ?? 'is invalid',
      }));
      const message = err.validation.map((v) => `${[err.validationContext, ...pathOf(v)].join('.')}: ${v.message ?? 'is invalid'}`).join('; ');
      return reply.status(400).send({ error: { ...errorPayload('invalid_request', message).error, fields } });
    }
    if (err.validation) {
      return reply.status(400).send(errorPayload('invalid_request', err.message));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500 && !isResponseSerializationError(err)) {
      return reply.status(status).send(errorPayload(statusCodes[status] ?? 'bad_request', err.message));
    }
    req.log.error({ err }, 'request failed');
    return reply
      .status(500)
      .send(errorPayload('internal_error', `Something went wrong on our side. Please try again; if it keeps happening, quote request id ${req.id}.`));
  });
}

/**
 * Fastify's `frameworkErrors`: what its router answers before any hook or error handler runs (a
 * URL whose percent-encoding does not decode, a path parameter longer than 100 characters), in
 * our error shape.
 */
export function answerFrameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode ?? 500;
  if (status >= 500) {
    req.log.error({ err }, 'request failed');
    void reply
      .status(500)
      .send(errorPayload('internal_error', `Something went wrong on our side. Please try again; if it keeps happening, quote request id ${req.id}.`));
    return;
  }
  const message =
    err.code === 'FST_ERR_BAD_URL'
      ? 'The URL is not valid: it has a malformed percent-encoding.'
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'A part of the URL is too long.'
        : err.message;
  void reply.status(status).send(errorPayload(statusCodes[status] ?? 'bad_request', message));
}
