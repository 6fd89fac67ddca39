import type { FastifyError, FastifyInstance } from 'fastify';
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
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

export const errorPayload = (code: string, message: string) => ({ error: { code, message } });

/** One error handler for the whole app: every failure answers `{"error":{"code","message"}}`. */
export function installErrorHandler(app: Pick<FastifyInstance, 'setErrorHandler'>): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof AppError) {
      // details.fields: one entry per bad field; details.extra: more machine-readable facts (e.g. balance and price)
      const details = (err.details ?? {}) as { fields?: unknown; extra?: Record<string, unknown> };
      const body = errorPayload(err.code, err.message);
      return reply.status(err.status).send({
        error: { ...body.error, ...(Array.isArray(details.fields) ? { fields: details.fields } : {}), ...(details.extra ?? {}) },
      });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const fields = err.validation.map((v) => ({
        field: String(v.instancePath ?? '').split('/').filter(Boolean).join('.') || String(err.validationContext ?? 'body'),
        message: String(v.message),
      }));
      const message = err.validation
        .map((v) => `${[err.validationContext, ...String(v.instancePath ?? '').split('/').filter(Boolean)].join('.')}: ${v.message}`)
        .join('; ');
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
